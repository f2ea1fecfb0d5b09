"""The write side: an eventsourcing Application whose use cases record records.

Records arrive validated (``ledger.records``); this module checks what only
the ledger can check — that every reference exists in the ledger or in the
same batch, that an id is not reused for a different record, that a claim is
corrected only once — and then saves the whole batch in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import (
    InfrastructureFactoryError,
    IntegrityError,
    Mapper,
    PersistenceError,
)

if TYPE_CHECKING:
    from ledger.records import AnyRecord

from ledger.domain import (
    Claim,
    LedgerAggregate,
    Source,
    aggregate_id_of,
    creation_event,
)
from ledger.errors import BadInputError, ConflictError, NotFoundError, StoreError
from ledger.mapper import LeafMapper
from ledger.merkle import leaf_hash
from ledger.recorders import AuditRecorder
from ledger.times import utc_now

# Dependencies first, so that within one batch every reference points backwards
# in ledger order and a read model can be built in one forward pass.
_RECORD_ORDER = {
    name: rank
    for rank, name in enumerate(
        ("incident", "source", "report", "claim", "correction", "retraction", "assessment")
    )
}


@dataclass(frozen=True)
class Entry:
    """A record with where it came from (``line 12``), for error messages."""

    where: str
    record: AnyRecord


@dataclass
class Outcome:
    """What an append did."""

    added: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    events: int = 0

    @property
    def added_total(self) -> int:
        """How many records were new."""
        return sum(self.added.values())


class Ledger(Application[str]):
    """The incident ledger's event-sourced application."""

    name = "IncidentLedger"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        try:
            super().__init__(env)
        except PersistenceError as error:
            raise StoreError(f"cannot open the event store: {error}") from None
        except InfrastructureFactoryError:
            raise StoreError(
                "PostgreSQL support is not installed: pip install 'incident-ledger[postgres]'"
            ) from None
        self.clock = clock

    def construct_mapper(self) -> Mapper[str]:
        """Events are stored as their Merkle leaves (``ledger.mapper``)."""
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=LeafMapper)

    @property
    def leaf_mapper(self) -> LeafMapper:
        """The mapper, which stores each event as its Merkle leaf."""
        if not isinstance(self.mapper, LeafMapper):
            raise StoreError("this ledger does not store events as Merkle leaves")
        return self.mapper

    @property
    def audit(self) -> AuditRecorder:
        """The recorder, which also holds the Merkle log and checkpoints."""
        if not isinstance(self.recorder, AuditRecorder):
            raise StoreError("this store keeps no Merkle log")
        return self.recorder

    def record(self, entries: Sequence[Entry]) -> Outcome:
        """Record a batch of validated records atomically: all of it, or nothing.

        A record identical to one already stored is skipped; a different record
        under a used id is bad input.
        """
        batch = _Batch(self, entries)
        for entry in _in_dependency_order(entries):
            batch.add(entry)
        if batch.events:
            self._save_events(batch.events)
        return batch.outcome

    def existing(self, aggregate_ids: Iterable[str]) -> set[str]:
        """Which of these aggregates exist in the store (one query per 500 ids)."""
        try:
            with self.audit.reading() as view:
                return view.existing(sorted(set(aggregate_ids)))
        except PersistenceError as error:
            raise StoreError(f"cannot read the event store: {error}") from None

    def rate_source(
        self, source_id: str, reliability: str, reason: str, effective_from: str | None
    ) -> None:
        """Record a new Admiralty grade for a source; ratings change only through events."""
        source = self._find(Source.aggregate_id(source_id))
        if not isinstance(source, Source):
            raise NotFoundError(f"no source '{source_id}' in the ledger")
        source.rate(reliability, reason, effective_from, self.clock())
        self._save_atomically([source])

    def get_record(self, kind: str, record_id: str) -> AnyRecord:
        """The stored record of a kind (``claim``, ``source`` …) and id."""
        aggregate = self._find(f"{kind}:{record_id}")
        if aggregate is None:
            raise NotFoundError(f"no {kind} '{record_id}' in the ledger")
        return aggregate.record

    def _find(self, aggregate_id: str) -> LedgerAggregate | None:
        try:
            aggregate: LedgerAggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        except PersistenceError as error:
            raise StoreError(f"cannot read the event store: {error}") from None
        return aggregate

    def _save_atomically(self, aggregates: Iterable[LedgerAggregate]) -> None:
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        self._save_events(events)

    def _save_events(self, events: list[Any]) -> None:
        """Store events and their Merkle leaves in one transaction, translating failures.

        The stored form of an event is its leaf (``ledger.mapper``), so its leaf hash
        is taken from the very bytes stored. Nothing follows this application by
        push (the read model pulls), so the library's recordings are not built.
        """
        encoded = [self.leaf_mapper.stored_with_leaf(event) for event in events]
        stored_events = [stored for stored, _ in encoded]
        leaves = [leaf_hash(leaf) for _, leaf in encoded]
        try:
            self.recorder.insert_events(stored_events, merkle_leaves=leaves)
        except IntegrityError:
            raise ConflictError(
                "another writer recorded some of these records at the same time; "
                "nothing was written — run the same command again"
            ) from None
        except PersistenceError as error:
            raise StoreError(f"cannot write to the event store: {error}") from None


class _Batch:
    """Checks one batch against itself and the store, building its events.

    The store is asked once, up front, which of the batch's ids and references
    already exist; new records become creation events directly (no aggregate is
    loaded or built), so a batch costs the same whatever the ledger's size.
    """

    def __init__(self, ledger: Ledger, entries: Sequence[Entry]) -> None:
        self.ledger = ledger
        self.timestamp = ledger.clock()
        self.batch_ids = {aggregate_id_of(entry.record) for entry in entries}
        # Each entry's references, worked out once: for the store query and the checks.
        self.references = {id(entry): _references(entry.record) for entry in entries}
        referenced = {f"{kind}:{ref}" for refs in self.references.values() for kind, ref, _ in refs}
        self.stored = ledger.existing(self.batch_ids | referenced)
        self.events: list[Any] = []
        self.created: dict[str, Any] = {}
        self.claims: dict[str, Claim] = {}
        self.seen: dict[str, Entry] = {}
        self.outcome = Outcome()

    def add(self, entry: Entry) -> None:
        record = entry.record
        aggregate_id = aggregate_id_of(record)
        if self._is_repeat(entry, aggregate_id):
            return
        for kind, ref, fieldname in self.references[id(entry)]:
            self._require(entry, kind, ref, fieldname)
        event = creation_event(record, self.timestamp)
        self.events.append(event)
        self.created[aggregate_id] = event
        if record.type == "correction":
            target = self._load_claim(entry, record.claim)
            try:
                target.supersede(record.id, self.timestamp)
            except ConflictError as error:
                raise ConflictError(f"{entry.where}: {error}") from None
            self.claims[target.id] = target
            self.events.extend(target.collect_events())
        self.seen[aggregate_id] = entry
        self.outcome.added[record.type] = self.outcome.added.get(record.type, 0) + 1
        self.outcome.events += 2 if record.type == "correction" else 1

    def _is_repeat(self, entry: Entry, aggregate_id: str) -> bool:
        earlier = self.seen.get(aggregate_id)
        stored = earlier.record if earlier else None
        if stored is None and aggregate_id in self.stored:
            found = self.ledger._find(aggregate_id)
            stored = found.record if found else None
        if stored is None:
            return False
        if stored == entry.record:
            self.outcome.unchanged += 1
            return True
        where = f" ({earlier.where})" if earlier else " in the ledger"
        raise BadInputError(
            f"{entry.where}: id: '{entry.record.id}' is already used by a different "
            f"{stored.type} record{where}"
        )

    def _require(self, entry: Entry, kind: str, ref: str, fieldname: str) -> None:
        aggregate_id = f"{kind}:{ref}"
        if aggregate_id not in self.stored and aggregate_id not in self.batch_ids:
            raise BadInputError(
                f"{entry.where}: {fieldname}: no {kind} '{ref}' in the ledger or in this input"
            )

    def _load_claim(self, entry: Entry, claim_id: str) -> Claim:
        aggregate_id = Claim.aggregate_id(claim_id)
        if aggregate_id in self.claims:
            return self.claims[aggregate_id]
        created = self.created.get(aggregate_id)
        found = created.mutate(None) if created is not None else self.ledger._find(aggregate_id)
        if not isinstance(found, Claim):
            raise BadInputError(
                f"{entry.where}: claim: no claim '{claim_id}' in the ledger or in this input"
            )
        return found


def _in_dependency_order(entries: Sequence[Entry]) -> list[Entry]:
    """Entries sorted so that everything an entry refers to comes before it.

    Record types have a fixed order; among corrections, a correction of a
    correction follows the correction it replaces, wherever it stood in the file.
    """
    ordered = sorted(entries, key=lambda e: _RECORD_ORDER[e.record.type])
    corrections = [e for e in ordered if e.record.type == "correction"]
    if not corrections:
        return ordered
    placed = _corrections_in_order(corrections)
    others = [e for e in ordered if e.record.type != "correction"]
    split = next(
        (
            i
            for i, e in enumerate(others)
            if _RECORD_ORDER[e.record.type] > _RECORD_ORDER["correction"]
        ),
        len(others),
    )
    return others[:split] + placed + others[split:]


def _corrections_in_order(corrections: list[Entry]) -> list[Entry]:
    """Corrections ordered so that each follows the in-input correction it replaces.

    Kahn's algorithm: linear in the number of corrections, stable in file order.
    """
    by_id = {entry.record.id: entry for entry in corrections}
    followers: dict[str, list[Entry]] = {}
    placed: list[Entry] = []
    for entry in corrections:
        target = entry.record.claim  # type: ignore[union-attr]
        if target in by_id:
            followers.setdefault(target, []).append(entry)
        else:
            placed.append(entry)
    for entry in placed:  # the list grows as corrections become ready
        placed.extend(followers.pop(entry.record.id, ()))
    if len(placed) < len(corrections):
        placed_ids = {id(entry) for entry in placed}
        first = next(entry for entry in corrections if id(entry) not in placed_ids)
        raise BadInputError(f"{first.where}: claim: corrections in this input form a cycle")
    return placed


def _references(record: Any) -> list[tuple[str, str, str]]:
    """(kind, id, field) for every reference a record makes."""
    kind = record.type
    refs: list[tuple[str, str, str]] = []
    if kind == "incident":
        refs += [("incident", r.incident, "related.incident") for r in record.related or ()]
    elif kind == "report":
        refs.append(("source", record.source, "source"))
    elif kind in ("claim", "correction"):
        refs += [("incident", record.incident, "incident"), ("report", record.report, "report")]
        if record.claimant is not None:
            refs.append(("source", record.claimant, "claimant"))
        refs += [("source", relay, "via") for relay in record.via or ()]
        if kind == "correction":
            refs.append(("claim", record.claim, "claim"))
    elif kind == "retraction":
        refs += [("claim", record.claim, "claim"), ("report", record.report, "report")]
    elif kind == "assessment":
        refs.append(("claim", record.claim, "claim"))
    return refs
