"""Every claim an import records must fit its fact's kind (``ledger.facts``).

One :class:`FactBook` per import knows each fact's rules: the store's (the events
of its ``fact`` aggregate, read once per fact) and those this input declares or
infers as it goes. Both pipelines (``recording.Batch`` and ``recording.Stream``)
ask it, in the order they record: :meth:`FactBook.check_page` for a page that
goes in whole, :meth:`FactBook.check` and :meth:`FactBook.declare` record by
record. A fact never declared takes the kind of its first claim: the book then
gives the caller a ``Fact.Inferred`` event to record just before that claim, so
the kind is in the log, and a later import (or the read model) needs no
guessing. Each distinct (fact, value signature) is checked once an import.

A ledger written before facts had kinds holds claims and no fact: the first
import that meets one records, before anything else, the kind each fact's first
claim gives it (:meth:`FactBook.backfill`), reading the log once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from eventsourcing.utils import get_topic

from incident_ledger.ledger.domain import Claim, Fact
from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.facts import (
    FactKind,
    FactRules,
    inferred_kind,
    misfit,
    number_as_text,
    shown,
    signature,
)
from incident_ledger.ledger.leaves import canonical_json_text, framed_leaf, leaf_frame, recorded_key
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.ledger.stores.recorder import Appender, NewRow

if TYPE_CHECKING:
    from incident_ledger.ledger.application import Ledger

NewEvents = list[tuple[NewRow, bytes]]
"""Events to record, as stored rows with their Merkle leaf hashes."""

_CLAIM_TOPICS = frozenset({Claim.Recorded.TOPIC, Claim.RecordedAsCorrection.TOPIC})
_DECLARATION_TOPICS = frozenset({Fact.Declared.TOPIC, Fact.Redeclared.TOPIC})
_SCAN_PAGE = 5_000


class FactBook:
    """What one import knows of facts' rules, and the checks every claim passes."""

    def __init__(
        self, ledger: Ledger, appender: Appender, timestamp: datetime, *, store_empty: bool
    ) -> None:
        self.ledger = ledger
        self.appender = appender
        self.timestamp = timestamp
        self.rules: dict[str, FactRules | None] = {}
        """Fact aggregate id → its rules now (None: no claim nor declaration yet)."""
        self.versions: dict[str, int] = {}
        self.declared: dict[str, str] = {}
        """Fact aggregate id → canonical data of its declaration in force."""
        self.stored: set[str] = set()
        """Facts the store held before this import (their claims may be in the store)."""
        self.fitting: set[tuple[str, str]] = set()
        """(fact, signature) pairs known to fit their fact's rules now."""
        self.legacy_checked = store_empty
        self.backfilled = 0
        """Events ``backfill`` recorded."""

    # --- claims ---------------------------------------------------------------------

    def check_page(
        self,
        kinds: Sequence[str],
        fact_ids: Sequence[str],
        sigs: Sequence[str],
        aggregate_ids: Sequence[str],
        where: Callable[[int], str],
        first: dict[tuple[str, str], int] | None = None,
    ) -> list[tuple[int, NewEvents]]:
        """Check every claim of a page that holds no declaration; the ``Fact.Inferred``
        events to record, each with the place in the page of the claim it must precede.
        Raises ``BadInputError`` for a misfit. ``first``: the page's ``first_places``,
        when the page came with them."""
        if first is None:
            first = first_places(fact_ids, sigs)
        new = first.keys() - self.fitting
        if not new:
            return []
        pending = sorted(first[pair] for pair in new)
        unknown = {fact_ids[i] for i in pending if fact_ids[i] not in self.rules}
        if unknown:  # the store's rules of the page's new facts, in one query
            self.backfill()
            self.load(unknown)
        events: list[tuple[int, NewEvents]] = []
        for i in pending:
            if kinds[i] == "fact":
                continue
            claim = aggregate_ids[i].split(":", 1)[1]
            inferred = self.check(fact_ids[i], sigs[i], where(i), claim)
            if inferred:
                events.append((i, inferred))
        return events

    def check(self, fact: str, sig: str, where: str, claim: str) -> NewEvents:
        """Check one claim (``where`` names its line); the ``Fact.Inferred`` event to record
        just before it when it is the first claim of a fact never declared."""
        if (fact, sig) in self.fitting:
            return []
        if fact not in self.rules:  # known rules were read after the backfill, if any
            self.backfill()
            self.load([fact])
        rules = self.rules[fact]
        events: NewEvents = []
        if rules is None:
            kind = _inferred_kind(sig)
            if kind is None:
                raise BadInputError(f"{where}: value: {number_as_text(sig)}")
            rules = FactRules(kind)
            events.append(self._inferred(fact, rules, claim))
        problem = _misfit(rules, sig)
        if problem is not None:
            raise BadInputError(f"{where}: {_message(fact, rules, sig, problem)}")
        self.fitting.add((fact, sig))
        return events

    def _inferred(self, fact: str, rules: FactRules, claim: str) -> tuple[NewRow, bytes]:
        leaf = inferred_leaf(fact, rules.kind.value, claim, recorded_key(self.timestamp))
        self.rules[fact], self.versions[fact] = rules, 1
        row = self.ledger.leaf_mapper.row_from_leaf(fact, 1, _INFERRED_TOPIC, leaf)
        return row, leaf_hash(leaf)

    def _row(self, event: Any) -> tuple[NewRow, bytes]:
        row, leaf = self.ledger.leaf_mapper.row_with_leaf(event)
        return row, leaf_hash(leaf)

    # --- declarations -----------------------------------------------------------------

    def declare(self, fact: str, data: str, where: str) -> tuple[str, NewEvents]:
        """A ``fact`` record (its canonical ``data``): ``("new", [])`` when it creates the
        fact (its own creation event goes in as usual), ``("same", [])`` when that is the
        declaration in force, else ``("changed", [the Fact.Redeclared event])``. Bad
        input when a claim already recorded for the fact does not fit it."""
        self.backfill()
        self.load([fact])
        fields = orjson.loads(data)
        rules = FactRules.from_fields(fields)
        current = self.rules[fact]
        if current is None:
            self.rules[fact], self.versions[fact], self.declared[fact] = rules, 1, data
            return "new", []
        if self.declared.get(fact) == data:
            return "same", []
        self._check_recorded(fact, rules, where)
        version = self.versions[fact] + 1
        event = Fact.Redeclared(
            originator_id=fact,
            originator_version=version,
            timestamp=self.timestamp,
            **{name: fields.get(name) for name in _DECLARATION_FIELDS},
        )
        self.rules[fact], self.versions[fact], self.declared[fact] = rules, version, data
        self.fitting = {pair for pair in self.fitting if pair[0] != fact}
        return "changed", [self._row(event)]

    def _check_recorded(self, fact: str, rules: FactRules, where: str) -> None:
        """Every claim of the fact recorded so far (by this import, and by the store when
        it held the fact) must fit a new declaration."""
        sigs = {sig for known, sig in self.fitting if known == fact}
        if fact in self.stored:
            sigs |= set(self._stored_signatures(fact))
        for sig in sorted(sigs):
            problem = misfit(rules, sig)
            if problem is not None:
                field, reason = problem
                raise BadInputError(
                    f"{where}: kind: the fact's claims already recorded include "
                    f"{shown(sig)}, which does not fit {rules.words()} ({field}: {reason})"
                )

    def _stored_signatures(self, fact: str) -> Iterable[str]:
        """The signatures of the store's claims of a fact. The event store has no index by
        fact, so this reads the log: only a declaration that changes a fact already
        claimed in an earlier import needs it."""
        incident, _, key = fact.split(":", 1)[1].partition("/")
        for data in self._stored_claims():
            if data.get("incident") == incident and data.get("fact") == key:
                yield signature(data.get("value"), data.get("qualifier"), data.get("unit"))

    def _stored_claims(self) -> Iterable[dict[str, Any]]:
        """The data of every claim event in the store, in ledger order."""
        mapper = self.ledger.leaf_mapper
        position = 0
        while True:
            rows = self.appender.view.event_rows(position, _SCAN_PAGE)
            if not rows:
                return
            for row in rows:
                if row[3] in _CLAIM_TOPICS:
                    data = orjson.loads(mapper.plain(row[4]))["data"]
                    data["id"] = row[1].split(":", 1)[1]
                    yield data
            position = rows[-1][0]

    # --- the store ------------------------------------------------------------------

    def load(self, facts: Iterable[str]) -> None:
        """Read the rules of facts not known yet from the store, in one query."""
        wanted = sorted({fact for fact in facts if fact not in self.rules})
        if not wanted:
            return
        found = self.appender.view.events_of_each(wanted)
        for fact in wanted:
            events = found.get(fact)
            if not events:
                self.rules[fact] = None
                continue
            self.stored.add(fact)
            self.versions[fact] = events[-1].originator_version
            rules: FactRules | None = None
            for stored in events:
                data = orjson.loads(self.ledger.leaf_mapper.plain(stored.state))["data"]
                if stored.topic in _DECLARATION_TOPICS:
                    rules = FactRules.from_fields(data)
                    self.declared[fact] = canonical_json_text(
                        {k: v for k, v in data.items() if v is not None}
                    )
                elif rules is None:
                    rules = FactRules.from_fields(data, declared=False)
            self.rules[fact] = rules

    def backfill(self) -> None:
        """In a ledger written before facts had kinds (claims, and no fact at all), record
        the kind each fact's first claim gives it, once, before anything else."""
        if self.legacy_checked:
            return
        self.legacy_checked = True
        view = self.appender.view
        has_claims = view.any_creation_between(Claim.aggregate_id(""), Claim.kind + ";")
        if not has_claims or view.any_creation_between(Fact.aggregate_id(""), Fact.kind + ";"):
            return
        events: NewEvents = []
        seen: set[str] = set()
        for data in self._stored_claims():
            fact = f"{Fact.kind}:{data['incident']}/{data['fact']}"
            if fact in seen:
                continue
            seen.add(fact)
            sig = signature(data.get("value"), data.get("qualifier"), data.get("unit"))
            kind = inferred_kind(sig) or FactKind.TEXT  # v1 read such a value as text
            events.append(self._inferred(fact, FactRules(kind), data["id"]))
            self.stored.add(fact)
        if events:
            self.appender.append([row for row, _ in events], [digest for _, digest in events])
            self.backfilled = len(events)


_DECLARATION_FIELDS = (
    "incident",
    "key",
    "kind",
    "unit",
    "cumulative",
    "tolerance",
    "choices",
    "label",
    "label_ar",
)


def first_places(fact_ids: Sequence[str], sigs: Sequence[str]) -> dict[tuple[str, str], int]:
    """The place of the first claim of each (fact, value signature) pair in a page (records
    without a signature left out): what ``FactBook.check_page`` checks. Made where a page is
    validated, on the helpers' cores, when it can be (``streaming.ValidatedPage``)."""
    # A dict built from zips runs in C: a Python loop over every record cost more than
    # the checks. Built backwards, so that each pair keeps its first place.
    backwards = zip(reversed(fact_ids), reversed(sigs), strict=True)
    first = dict(zip(backwards, range(len(fact_ids) - 1, -1, -1), strict=True))
    return {pair: place for pair, place in first.items() if pair[1]}


def _message(fact: str, rules: FactRules, sig: str, problem: tuple[str, str]) -> str:
    incident, _, key = fact.split(":", 1)[1].partition("/")
    field, reason = problem
    how = "declared" if rules.declared else "as its first claim made it"
    what = shown(sig) if field == "value" else "it"
    return (
        f"{field}: {what} does not fit fact '{key}' of incident '{incident}', "
        f"{rules.words()} ({how}): {reason}"
    )


def inferred_event(fact: str, kind: str, claim: str, timestamp: datetime) -> Fact.Inferred:
    """The ``Fact.Inferred`` event by which a fact takes the kind of its first claim."""
    incident, _, key = fact.split(":", 1)[1].partition("/")
    return Fact.Inferred(
        originator_id=fact,
        originator_version=1,
        timestamp=timestamp,
        originator_topic=Fact.Inferred.aggregate_topic,
        incident=incident,
        key=key,
        kind=kind,
        claim=claim,
    )


def inferred_leaf(fact: str, kind: str, claim: str, recorded: str) -> bytes:
    """``leaf_bytes(inferred_event(...))`` made from its frame, without the event: a hot
    incident's import gives tens of thousands of facts their kinds (a test holds the two
    equal)."""
    incident, _, key = fact.split(":", 1)[1].partition("/")
    data = canonical_json_text({"claim": claim, "incident": incident, "key": key, "kind": kind})
    return framed_leaf(*_INFERRED_FRAME, fact, recorded, data)


_INFERRED_TOPIC = get_topic(Fact.Inferred)
_INFERRED_FRAME = leaf_frame(_INFERRED_TOPIC, 1, getattr(Fact.Inferred, "class_version", 1))


# An import meets the same few signatures for fact after fact (a whole number, a date,
# the same word): each is read once a process, for the kind a fact's first claim gives it
# and for whether it fits a fact's rules (the rules of facts never declared are those of
# their kind alone, equal from one fact to the next).
_inferred_kind = lru_cache(maxsize=4096)(inferred_kind)
_misfit = lru_cache(maxsize=4096)(misfit)
