"""The rules an import's records keep, whichever way they are recorded: one method each.

Records arrive validated (``ledger.records``); what only the ledger can check is
checked here, against the store and the rest of the input: an id names one record
(``Checks.check_reuse``), a reference names a record in the ledger or in this input
(``require_references``), a claim is corrected once (``correct``), a claim fits its
fact's kind (``check_kind``, with ``imports.kinds``).

Both ways of recording (``recording.Batch`` for a spooled input, ``recording.Stream``
for pages as they arrive) call these methods for every record they take one by one.
Their fast paths put a page in straight from its columns, and are taken only when no
rule could refuse or change a record of the page (``Batch._all_new``,
``Stream._all_new``). A new rule goes here, as a method under its own heading; both
record-by-record paths (``Batch._add``, ``Stream._add_records``) call it, and both
``_all_new`` send a page it applies to the record-by-record way.

Over 400 lines: every rule an import keeps is here, so that one rule lives in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from eventsourcing.persistence import StoredEvent

from incident_ledger.ledger.batch_check import batch_of
from incident_ledger.ledger.claim_ends import End, Standing
from incident_ledger.ledger.desk_domain import Erratum, Review
from incident_ledger.ledger.domain import (
    Claim,
    LedgerAggregate,
    creation_data,
    is_creation_of,
)
from incident_ledger.ledger.errors import BadInputError, ConflictError
from incident_ledger.ledger.imports.id_filter import IdFilter
from incident_ledger.ledger.imports.kinds import FactBook, NewEvents
from incident_ledger.ledger.imports.spool import Spooled
from incident_ledger.ledger.imports.unended import Unended, unended
from incident_ledger.ledger.incident_chains import Concerns
from incident_ledger.ledger.leaves import recorded_key
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.ledger.stores.recorder import Appender, NewRow
from incident_ledger.ledger.times import surely_before

if TYPE_CHECKING:
    from incident_ledger.ledger.application import Ledger

SMALL_STORE = 1_000
"""A store of at most this many events has its ids read once when an import begins, so
that a page's ids need not be looked up in it (``recording.Stream.known_is_all``)."""
KNOWN_LIMIT = 200_000
"""Ids remembered as existing before the memo is dropped (memory stays bounded)."""
FORGOTTEN_FIRST = "claim:"
"""The ids the memo drops when it is full: claims, nearly all of an import's records and
referenced by few (their ends). The rest — reports, incidents, sources, facts — are what
every claim references, and would be asked of the store again page after page; they are
kept while they take at most half the memo."""


@dataclass
class Outcome:
    """What an append did."""

    added: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    events: int = 0
    proposed: bool = False
    """Whether what it added waits for an editor's review (set where it is asked)."""

    @property
    def added_total(self) -> int:
        """How many records were new."""
        return sum(self.added.values())


class Checks:
    """An import's records checked against the store and the rest of the input: what
    both ways of recording share — the import's time, what it knows exists, the claims
    it corrected — and the rules, one method each (below), that both call."""

    def __init__(
        self,
        ledger: Ledger,
        appender: Appender,
        timestamp: datetime,
        *,
        store_empty: bool = False,
        locate: Callable[[str], str | None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.appender = appender
        self.timestamp = timestamp
        self.recorded = recorded_key(timestamp)
        self.locate = locate
        """Where in the input a record of this import already stored is (its line), to
        name it when a later record reuses its id; None: not known."""
        self._this_import = f',"recorded_at":"{self.recorded}"'.encode()
        self.facts = FactBook(ledger, appender, timestamp, store_empty=store_empty)
        """Each fact's kind: every claim recorded must fit it (``imports.kinds``)."""
        self.known: set[str] = set()
        """Aggregate ids known to be in the store (or appended by this import)."""
        self.known_is_all = False
        """Whether ``known`` holds every id in the store, so that the store need not be
        asked: true while it holds every id of a small store read when the import began
        (``SMALL_STORE``) and all the import recorded since."""
        self.store_ids: IdFilter | None = None
        """Every id in the store, as a filter (``imports.id_filter``), once ``known`` held
        them all and grew too large to keep: an id it does not hold need not be asked."""
        self.corrected: dict[str, tuple[str, str]] = {}
        """Claims this import has corrected so far: the id of the correction that replaced
        each, and where the input holds it."""
        self.retracted: dict[str, tuple[str, str]] = {}
        """Claims this import has retracted so far, likewise."""
        self.ended_incidents: dict[str, str] = {}
        """The incident of each claim ended since the caller last took them (claim id →
        incident), so that the chains need not look the claims up again."""
        self.published: dict[str, str] = {}
        """The ``published_at`` of reports read so far, by report id (``_published``)."""
        self.outcome = Outcome()
        self.page_claims: dict[str, list[StoredEvent]] = {}
        """The stored events of the claims the page's corrections reference, read for the
        page in one query (the store does not change while a page is checked); an id
        asked for that the store lacks maps to an empty list."""
        self.page_desk: dict[str, list[StoredEvent]] = {}
        """The desk's errata and reviews of those claims, read in the same query."""
        self._may_void: bool | None = None
        """Whether the store holds any erratum or review (None: not asked yet)."""

    def stored_among(self, ids: set[str]) -> set[str]:
        """Which of these ids the store holds, asked of it but for those the filter of its
        ids surely lacks (``store_ids``)."""
        asked = ids if self.store_ids is None else self.store_ids.perhaps(ids)
        return self.appender.view.existing(sorted(asked))

    def _read_corrected_claims(self, kinds: Sequence[str], ref_lists: Sequence[list[str]]) -> None:
        """Read, in one query, the stored events of the claims a page's corrections
        reference (``page_claims``), rather than one query per correction."""
        claim_ids = {
            ref
            for kind, refs in zip(kinds, ref_lists, strict=True)
            if kind in ("correction", "retraction")
            for ref in refs
            if ref.startswith("claim:")
        }
        if not claim_ids:
            self.page_claims = {}
            return
        desk = (
            {f"{kind}:{claim_id}" for claim_id in claim_ids for kind in ("erratum", "review")}
            if self._desk_voids()
            else set()
        )
        found = self.appender.view.events_of_each(sorted(claim_ids | desk))
        self.page_claims = {claim_id: found.get(claim_id, []) for claim_id in claim_ids}
        self.page_desk = {aggregate_id: found.get(aggregate_id, []) for aggregate_id in desk}
        reports = {
            ref[7:]
            for kind, refs in zip(kinds, ref_lists, strict=True)
            if kind in ("correction", "retraction")
            for ref in refs
            if ref.startswith("report:")
        }
        plain = self.ledger.leaf_mapper.plain
        for events in self.page_claims.values():
            if events and events[0].originator_version == 1:
                reports.add(str(orjson.loads(plain(events[0].state))["data"].get("report")))
        self._read_published(reports)

    def _read_published(self, reports: set[str]) -> dict[str, str]:
        """When the stored reports among these that are not remembered yet were published,
        read in one query from their leaves (a report is never changed) and remembered
        while there is room (``_published``)."""
        unread = sorted(f"report:{report}" for report in reports - self.published.keys())
        plain = self.ledger.leaf_mapper.plain
        read = {
            aggregate_id[7:]: str(orjson.loads(plain(state))["data"].get("published_at"))
            for aggregate_id, (_, state) in self.appender.view.creation_states(unread).items()
        }
        if len(self.published) < KNOWN_LIMIT:
            self.published.update(read)
        return read

    def remember_published(
        self, kinds: Sequence[str], record_ids: Sequence[str], datas: Sequence[str]
    ) -> None:
        """Remember when the reports among new records (their kinds, ids and creation data)
        were published (``published``), while there is room: ends of claims cite them, and
        reading them back from the store cost more than the checks of ends do."""
        published = self.published
        if "report" not in kinds:
            return
        for kind, record_id, data in zip(kinds, record_ids, datas, strict=True):
            if kind == "report" and len(published) < KNOWN_LIMIT:
                published[record_id] = str(orjson.loads(data).get("published_at"))

    def _in_input(self, aggregate_id: str) -> Spooled | None:
        """The record of this input under an aggregate id not yet in the store, if any."""
        raise NotImplementedError

    # --- rule: an id names one record ------------------------------------------------

    def check_reuse(
        self, spooled: Spooled, earlier: Spooled | None, found: tuple[str, bytes] | None
    ) -> None:
        """A record under an id already used — by ``earlier`` in this input, else in the
        store (``found``: its creation (topic, state) when read with the page, None when
        not read) — must be that very record: it is counted unchanged. Else bad input
        naming where the other one is; a conflict if the store no longer holds it."""
        if earlier is not None:
            same = earlier.kind == spooled.kind and earlier.data == spooled.data
            other, where = earlier.kind, f" ({earlier.where})"
        elif self._stored_as(spooled, found):
            same, other, where = True, spooled.kind, ""
        else:
            compared = self._stored_record_as(spooled)
            if compared is None:  # not stored after all: the memo of ids was wrong
                raise ConflictError(f"{spooled.where}: the store changed during the import")
            same, other = compared
            where = " in the ledger"
            if found is not None and self._this_import in self.ledger.leaf_mapper.plain(found[1]):
                earlier_where = self.locate(spooled.aggregate_id) if self.locate else None
                where = f" ({earlier_where or 'earlier in this input'})"
        if not same:
            raise reused_id(spooled, other, where)
        self.outcome.unchanged += 1

    # --- rule: a reference names a record in the ledger or in this input --------------

    def require_references(
        self, ref_ids: list[str], in_input: Callable[[str], bool], record: Callable[[], Spooled]
    ) -> None:
        """Check a record's references the store does not hold: each must be in this
        input (``in_input``), else bad input naming the first missing one. ``record``
        gives the record, read only to name a missing reference."""
        for aggregate_id in ref_ids:
            if aggregate_id in self.known:
                continue
            if not in_input(aggregate_id):
                raise missing_reference(record(), aggregate_id)
            self.known.add(aggregate_id)

    # --- rule: a claim is corrected once ---------------------------------------------

    def correct(self, spooled: Spooled, events: list[NewRow], digests: list[bytes]) -> None:
        """Queue the event by which a correction's claim is replaced: the claim must be
        in the ledger or this input, and not corrected already (``corrected_twice``;
        one corrected by another writer is a conflict, ``Claim.supersede``)."""
        target = self._load_claim(spooled, str(spooled.target))
        self._not_voided(spooled, target)
        self._not_retracted_here(spooled, target.id)
        fields = spooled.fields  # read once: the rules below each need some of them
        self._check_same_incident(spooled, fields, target)
        self._check_same_fact(spooled, fields, target)
        self._not_published_before(spooled, fields, target)
        try:
            target.supersede(spooled.record_id, self.timestamp, self._standing(target))
        except (ConflictError, BadInputError) as error:
            raise type(error)(f"{spooled.where}: {error}") from None
        self.corrected[target.id] = (spooled.record_id, spooled.where)
        self._ended(target)
        self._queue_events(target, events, digests)

    # --- rule: a claim is ended once: retracted once, never both corrected and retracted

    def retract(self, spooled: Spooled, events: list[NewRow], digests: list[bytes]) -> None:
        """Queue the event by which a retraction ends its claim (``Claim.Retracted``): a
        claim retracted or corrected earlier in this input is bad input naming both lines;
        one another writer ended first is a conflict naming what ended it and when
        (``Claim.retract``), and the event store's version check makes two writers ending
        one claim at once collide."""
        claim_id = str(spooled.ended_claim)
        aggregate_id = Claim.aggregate_id(claim_id)
        earlier = self.retracted.get(aggregate_id)
        if earlier is not None:
            raise BadInputError(
                f"{spooled.where}: claim: claim '{claim_id}' is already retracted by "
                f"'{earlier[0]}' ({earlier[1]} of this input)"
            )
        corrected = self.corrected.get(aggregate_id)
        if corrected is not None:
            raise BadInputError(
                f"{spooled.where}: claim: claim '{claim_id}' is corrected by '{corrected[0]}' "
                f"({corrected[1]} of this input); retract '{corrected[0]}' instead"
            )
        target = self._load_claim(spooled, claim_id)
        self._not_voided(spooled, target)
        self._not_published_before(spooled, spooled.fields, target)
        try:
            target.retract(spooled.record_id, self.timestamp, self._standing(target))
        except (ConflictError, BadInputError) as error:
            raise type(error)(f"{spooled.where}: {error}") from None
        self.retracted[target.id] = (spooled.record_id, spooled.where)
        self._ended(target)
        self._queue_events(target, events, digests)

    def _ended(self, target: Claim | Unended) -> None:
        incident = getattr(target.record, "incident", None)
        if type(incident) is str:
            self.ended_incidents[target.id.split(":", 1)[1]] = incident

    def _not_retracted_here(self, spooled: Spooled, aggregate_id: str) -> None:
        earlier = self.retracted.get(aggregate_id)
        if earlier is not None:
            raise BadInputError(
                f"{spooled.where}: claim: claim '{aggregate_id.split(':', 1)[1]}' is retracted "
                f"by '{earlier[0]}' ({earlier[1]} of this input): a retracted claim is not "
                "corrected"
            )

    def _check_same_incident(
        self, spooled: Spooled, fields: dict[str, Any], target: Claim | Unended
    ) -> None:
        """A correction (its ``fields``) replaces a claim of the same incident: it never
        moves one."""
        incident, own = fields.get("incident"), getattr(target.record, "incident", None)
        if incident != own:
            raise BadInputError(
                f"{spooled.where}: incident: a correction stays in its claim's incident "
                f"('{own}'), not '{incident}'"
            )

    def _check_same_fact(
        self, spooled: Spooled, fields: dict[str, Any], target: Claim | Unended
    ) -> None:
        """A correction (its ``fields``) replaces its claim's fact unless it says it changes
        the fact (``change_fact``): a fact mistyped is an erratum, not a correction."""
        fact, own = fields.get("fact"), getattr(target.record, "fact", None)
        if fact != own and not fields.get("change_fact"):
            # From the command line (``input``), the option; from a file, the field.
            how = (
                "{change_fact}"
                if spooled.where == "input"
                else 'change_fact true ("change_fact": true in JSON Lines; true in a CSV '
                "file's change_fact column)"
            )
            raise BadInputError(
                f"{spooled.where}: fact: the correction changes claim '{target.record.id}''s "
                f"fact from '{own}' to '{fact}': say so with {how}",
                arguments=("change_fact",),
            )

    # --- rule: a claim is ended by a report no earlier than its own ---------------------

    def _not_published_before(
        self, spooled: Spooled, fields: dict[str, Any], target: Claim | Unended
    ) -> None:
        """A retraction's or correction's (its ``fields``) report is not published before
        its claim's report (``times.surely_before``: a date-only report is some time of
        that day)."""
        report, own = str(fields.get("report")), getattr(target.record, "report", "")
        published, own_published = self._published(report), self._published(own)
        if published is None or own_published is None:
            return
        if surely_before(published, own_published):
            raise BadInputError(
                f"{spooled.where}: report: '{report}' (published {published}) came out "
                f"before claim '{target.record.id}''s report '{own}' (published "
                f"{own_published}): a {spooled.kind} comes from a report published no "
                "earlier than its claim's"
            )

    def _published(self, report: str) -> str | None:
        """When a report of the ledger or of this input was published (None: neither
        holds it, which the check of references reports). Remembered: many ends of
        claims cite few reports, and a report is never changed."""
        known = self.published.get(report)
        if known is not None:
            return known
        aggregate_id = f"report:{report}"
        found: str | None = self._read_published({report}).get(report)
        if found is None:
            first = self._in_input(aggregate_id)
            found = None if first is None else str(first.fields.get("published_at"))
        if found is not None and len(self.published) < KNOWN_LIMIT:
            self.published[report] = found
        return found

    def _standing(self, target: Claim | Unended) -> Callable[[End], Standing]:
        """What the store says of each end of a stored claim (``claim_ends``): voided by
        an erratum or a rejection, waiting for review, by whom, and whether it was
        recorded after this import began (a race it lost)."""
        view = self.appender.view

        def standing(end: End) -> Standing:
            index = view.leaf_index(target.id, end.version)
            batch = batch_of(self.ledger, view, index)
            _, verdict = self._voided(end.record)
            began = self.appender.began
            return Standing(
                voided=self._end_voided(end),
                proposed=batch is not None and batch.proposed and verdict is None,
                member=None if batch is None else batch.member,
                raced=began is not None and index is not None and index >= began,
            )

        return standing

    def _desk_voids(self) -> bool:
        """Whether the store holds any erratum or review, asked once per import (an import
        writes neither): without one, nothing is voided and no record need be looked up."""
        if self._may_void is None:
            view = self.appender.view
            self._may_void = view.any_creation_between(
                "erratum:", "erratum;"
            ) or view.any_creation_between("review:", "review;")
        return self._may_void

    def _voided(self, record: str) -> tuple[str | None, str | None]:
        """(how the desk voided a stored record — ``entered in error``, ``rejected`` — or
        None, the verdict of its review or None), from the page's read when it holds them."""
        if not self._desk_voids():
            return None, None
        desk = []
        for kind in (Erratum, Review):
            aggregate_id = kind.aggregate_id(record)
            stored = self.page_desk.get(aggregate_id)
            if stored is None:
                stored = self.appender.view.events_of(aggregate_id)
            desk.append(self.ledger.aggregate_of(stored))
        erratum, review = desk
        verdict = getattr(review, "verdict", None)
        if erratum is not None:
            return "entered in error", verdict
        return ("rejected" if verdict == "reject" else None), verdict

    def _void_holder(self, report: str, incident: str | None = None) -> str | None:
        """The report, its source or the incident (as ``report:r1``) holding a record that
        the desk recorded as entered in error, voiding what it holds
        (``projections.desk_rules``); None: none was."""
        if not self._desk_voids():
            return None
        stored = self.ledger.load(self.appender.view, f"report:{report}")
        source = getattr(getattr(stored, "record", None), "source", None)
        holders = [f"report:{report}", f"source:{source}"]
        holders += [f"incident:{incident}"] if incident else []
        found = self.appender.view.existing([Erratum.aggregate_id(h) for h in holders])
        return next((h for h in holders if Erratum.aggregate_id(h) in found), None)

    def _end_voided(self, end: End) -> bool:
        """Whether an end of a claim ends nothing: its record voided (an erratum, a
        rejection), or the report it came in, or that report's source, entered in error."""
        if self._voided(end.record)[0] is not None:
            return True
        ending = self.ledger.load(self.appender.view, end.record)
        report = getattr(getattr(ending, "record", None), "report", None)
        return report is not None and self._void_holder(str(report)) is not None

    def _not_voided(self, spooled: Spooled, target: Claim | Unended) -> None:
        """A claim the desk voided (an erratum or rejection of it; an erratum of its report,
        that report's source or its incident) is not ended: it no longer counts already."""
        how, _ = self._voided(target.id)
        said = f"was {how}: it no longer counts"
        if how is None:
            record = target.record
            report = str(getattr(record, "report", ""))
            holder = self._void_holder(report, getattr(record, "incident", None))
            said = f"no longer counts ({holder} was entered in error)"
            if holder is None:
                return
        raise BadInputError(
            f"{spooled.where}: claim: claim '{target.record.id}' {said}, so no {spooled.kind} "
            "ends it"
        )

    def _queue_events(
        self, target: Claim | Unended, events: list[NewRow], digests: list[bytes]
    ) -> None:
        mapper = self.ledger.leaf_mapper
        for event in target.collect_events():
            row, event_leaf = mapper.row_with_leaf(event)
            events.append(row)
            digests.append(leaf_hash(event_leaf))

    def _load_claim(self, spooled: Spooled, claim_id: str) -> Claim | Unended:
        aggregate_id = Claim.aggregate_id(claim_id)
        earlier = self.corrected.get(aggregate_id)
        if earlier is not None:
            raise corrected_twice(spooled, claim_id, earlier)
        stored = self.page_claims.pop(aggregate_id, None)
        if stored is None:
            stored = self.appender.view.events_of(aggregate_id)
        # A claim whose creation is all there is needs no aggregate (``imports.unended``).
        found: Claim | Unended | LedgerAggregate | None = unended(
            aggregate_id, stored, self.ledger.leaf_mapper.plain
        )
        if found is None and stored:
            found = self.ledger.aggregate_of(stored)
        if found is None:
            # Not stored before this page: created by this input, from its first record.
            first = self._in_input(aggregate_id)
            if first is not None and first.kind in ("claim", "correction"):
                found = Unended(aggregate_id, first.fields)
        if not isinstance(found, Claim | Unended):
            raise BadInputError(
                f"{spooled.where}: claim: no claim '{claim_id}' in the ledger or in this input"
            )
        return found

    def _stored_as(self, spooled: Spooled, found: tuple[str, bytes] | None) -> bool:
        """Whether the store's creation event (topic, state) of this id records exactly
        this record (one comparison of leaves; False sends the caller the slow, exact way)."""
        if found is None:
            return False
        topic, state = found
        leaf = self.ledger.leaf_mapper.plain(state)
        return is_creation_of(spooled.kind, spooled.record_id, spooled.data, topic, leaf)

    def _stored_record_as(self, spooled: Spooled) -> tuple[bool, str] | None:
        """(whether the stored record under this id is this record, the stored kind),
        loading it the slow, exact way; None if the store has none."""
        found = self.ledger.load(self.appender.view, spooled.aggregate_id)
        record = found.record if found is not None else None
        if record is None:
            return None
        fields = record.model_dump(mode="json", exclude={"type", "id"})
        same = record.type == spooled.kind and creation_data(fields, record.type) == spooled.data
        return same, record.type

    # --- rule: a claim fits its fact's kind ------------------------------------------

    def check_kind(self, spooled: Spooled, events: list[NewRow], digests: list[bytes]) -> bool:
        """Check a claim against its fact's kind (queueing the event that gives a fact
        its kind first), or record a fact's declaration. True when the record is done
        with here: a declaration, which ``FactBook.declare`` has dealt with."""
        if spooled.kind == "fact":
            outcome, extra = self.facts.declare(spooled.fact, spooled.data, spooled.where)
            if outcome == "same":
                self.outcome.unchanged += 1
                return True
            if outcome == "changed":
                queue(extra, events, digests)
                self._count("fact")
                return True
            return False
        if spooled.fact:
            queue(
                self.facts.check(spooled.fact, spooled.sig, spooled.where, spooled.record_id),
                events,
                digests,
            )
        return False

    # --- counting and appending -------------------------------------------------------

    def _count(self, kind: str) -> None:
        self.outcome.added[kind] = self.outcome.added.get(kind, 0) + 1

    def _count_all(self, kinds: Iterable[str]) -> None:
        added = self.outcome.added
        for kind, count in Counter(kinds).items():
            added[kind] = added.get(kind, 0) + count

    def _append(
        self,
        events: list[NewRow],
        digests: list[bytes],
        concerns: tuple[Concerns, dict[str, str]] | None = None,
    ) -> None:
        """Append a page's events (with the incidents each concerns, where the page told
        them: ``Appender.append_known``); forget the ids known once they are too many."""
        if len(self.known) > KNOWN_LIMIT:
            # Not when a legacy ledger's facts may yet be backfilled (``FactBook``): those
            # events are appended beside this path, and the filter would not hold them.
            if self.known_is_all and self.facts.legacy_checked and not self.facts.backfilled:
                self.store_ids = IdFilter(self.known)
            kept = [i for i in self.known if not i.startswith(FORGOTTEN_FIRST)]
            self.known.clear()
            if len(kept) <= KNOWN_LIMIT // 2:
                self.known.update(kept)
            self.known_is_all = False
        self.ended_incidents = {}  # the caller took them for these events, or needs none
        if not events:
            return
        if self.store_ids is not None:
            self.store_ids.add_all([row[0] for row in events])
        append_known = self.appender.append_known
        if concerns is not None and append_known is not None:
            append_known(events, digests, concerns)
        else:
            self.appender.append(events, digests)
        self.outcome.events += len(events)


def corrected_twice(spooled: Spooled, claim_id: str, first: tuple[str, str]) -> BadInputError:
    """The rule for a second correction of one claim in one input, whichever way the
    input is recorded (``Batch``, ``Stream``): bad input naming both lines. A correction
    another writer stored first is a conflict instead (``Claim.supersede``).
    ``first``: the id of the correction already recorded, and where the input holds it."""
    by, where = first
    return BadInputError(
        f"{spooled.where}: claim: claim '{claim_id}' is already corrected by '{by}' "
        f"({where} of this input); a claim is corrected once: correct '{by}' instead"
    )


def missing_reference(record: Spooled, aggregate_id: str) -> BadInputError:
    """The rule for a reference the ledger and the input lack: bad input naming the
    record's line, the field and what it references."""
    fieldname = record.ref_fields.split(";")[record.ref_ids.index(aggregate_id)]
    kind, _, ref = aggregate_id.partition(":")
    return BadInputError(
        f"{record.where}: {fieldname}: no {kind} '{ref}' in the ledger or in this input"
    )


def reused_id(spooled: Spooled, other: str, where: str) -> BadInputError:
    """The rule for an id used by two different records: bad input naming where the
    other one is (``where``: `` (line N)``, `` in the ledger``)."""
    return BadInputError(
        f"{spooled.where}: id: '{spooled.record_id}' is already used by a different "
        f"{other} record{where}"
    )


def queue(extra: NewEvents, events: list[NewRow], digests: list[bytes]) -> None:
    """Queue events made with their leaf hashes (``NewEvents``) after ``events``."""
    for row, digest in extra:
        events.append(row)
        digests.append(digest)
