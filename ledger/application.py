"""The write side: an eventsourcing Application whose use cases record records.

Records arrive validated (``ledger.records``); this module checks what only
the ledger can check — that every reference exists in the ledger or in the
same batch, that an id is not reused for a different record, that a claim is
corrected only once — and then saves the whole batch in one transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import (
    InfrastructureFactoryError,
    IntegrityError,
    Mapper,
    PersistenceError,
    StoredEvent,
)

if TYPE_CHECKING:
    from ledger.records import AnyRecord

from ledger.domain import (
    Claim,
    LedgerAggregate,
    Source,
    creation_data,
    creation_event_of,
    creation_leaf,
    is_creation_of,
)
from ledger.errors import BadInputError, ConflictError, NotFoundError, StoreError
from ledger.leaves import recorded_key
from ledger.mapper import LeafMapper
from ledger.merkle import leaf_hash
from ledger.preparing import PreparedPage
from ledger.preparing import pages as prepared_pages
from ledger.recorders import Appender, AuditRecorder, LogView
from ledger.spool import Spool, Spooled
from ledger.times import utc_now

KNOWN_LIMIT = 200_000
"""Ids remembered as existing before the memo is dropped (memory stays bounded)."""


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
    def in_sqlite_file(self) -> bool:
        """Whether the events live in a SQLite file, which a forked helper can open afresh."""
        name = self.env.get("SQLITE_DBNAME", "")
        return bool(name) and ":memory:" not in name

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
        with Spool(in_memory=True) as spool:
            for entry in entries:
                spool.add(entry.where, entry.record)
            return self.record_spooled(spool)

    def record_spooled(
        self, spool: Spool, progress: Callable[[int, int], None] | None = None
    ) -> Outcome:
        """Record every record of a spool in dependency order, in one transaction.

        Records are checked and stored a page at a time inside that transaction,
        so memory holds one page whatever the input's size. ``progress(done,
        total)`` is called after each page.
        """
        with self._writing(
            "another writer recorded some of these records at the same time"
        ) as appender:
            batch = _Batch(self, spool, appender)
            for page in prepared_pages(spool, batch.recorded):
                batch.add_page(page)
                if progress is not None:
                    progress(batch.done, spool.count)
            return batch.outcome

    @contextmanager
    def _writing(self, conflict: str) -> Iterator[Appender]:
        """One write transaction, with the store's failures translated (``conflict``: what
        to say when another writer got there first)."""
        try:
            with self.audit.appending() as appender:
                yield appender
        except IntegrityError:
            raise ConflictError(
                f"{conflict}; nothing was written — run the same command again"
            ) from None
        except PersistenceError as error:
            raise StoreError(f"cannot write to the event store: {error}") from None

    def load(self, view: LogView, aggregate_id: str) -> LedgerAggregate | None:
        """An aggregate as a view sees the store, or None."""
        aggregate: Any = None
        for stored in view.events_of(aggregate_id):
            event: Any = self.mapper.to_domain_event(stored)
            aggregate = event.mutate(aggregate)
        return cast(LedgerAggregate | None, aggregate)

    def append_events(self, appender: Appender, events: Sequence[Any]) -> None:
        """Append events and their Merkle leaves within an open write transaction.

        The stored form of an event is its leaf (``ledger.mapper``), so its leaf hash
        is taken from the very bytes stored.
        """
        encoded = [self.leaf_mapper.stored_with_leaf(event) for event in events]
        appender.append([stored for stored, _ in encoded], [leaf_hash(leaf) for _, leaf in encoded])

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
        with self._writing("another writer changed this record at the same time") as appender:
            self.append_events(appender, events)


class _Batch:
    """Checks spooled records against the input and the store, a page at a time.

    For each page the store is asked once which of its ids and references exist;
    new records become creation events directly (no aggregate is loaded or
    built), so a page costs the same whatever the ledger's size.
    """

    def __init__(self, ledger: Ledger, spool: Spool, appender: Appender) -> None:
        self.ledger = ledger
        self.spool = spool
        self.appender = appender
        self.timestamp = ledger.clock()
        self.recorded = recorded_key(self.timestamp)
        self.known: set[str] = set()
        self.corrected: dict[str, str] = {}
        """Claims this import has corrected so far, and the correction that replaced each."""
        self.outcome = Outcome()
        self.done = 0
        self.stored_creations: dict[str, tuple[str, bytes]] = {}
        """The page's records already in the store: aggregate id → creation (topic, state)."""

    def add_page(self, page: list[Spooled] | PreparedPage) -> None:
        """Check a page of records, then append their events."""
        if not len(page):
            return
        if isinstance(page, PreparedPage):
            ids = page.aggregate_ids
            refs = set(";".join(page.ref_ids).split(";"))
            refs.discard("")
        else:
            ids = [s.aggregate_id for s in page]
            refs = set(chain.from_iterable(s.ref_ids for s in page))
        stored = self.appender.view.existing(sorted(refs.union(ids) - self.known))
        self.known.update(stored)
        present = [aggregate_id for aggregate_id in ids if aggregate_id in stored]
        self.stored_creations = self.appender.view.creation_states(present) if present else {}
        events: list[StoredEvent] = []
        digests: list[bytes] = []
        if isinstance(page, PreparedPage):
            if not present and self._all_new(page, refs):
                self._add_columns(page, events, digests)
            else:
                ref_lists = [r.split(";") if r else [] for r in page.ref_ids]
                self._add_prepared(page, ref_lists, stored, events, digests)
        else:
            for spooled in page:
                self._add(spooled, stored, events, digests)
        if len(self.known) > KNOWN_LIMIT:
            self.known.clear()
        if events:
            self.appender.append(events, digests)
            self.outcome.events += len(events)

    def _all_new(self, page: PreparedPage, refs: set[str]) -> bool:
        """Whether every record of a page (none of them in the store) goes in from its
        columns: none is a correction, none has an id used twice in this input, and
        everything they reference is in the store."""
        return (
            "correction" not in page.kinds
            and self.spool.repeated.isdisjoint(page.aggregate_ids)
            and self.known.issuperset(refs)
        )

    def _add_columns(
        self, page: PreparedPage, events: list[StoredEvent], digests: list[bytes]
    ) -> None:
        """A page that ``_all_new`` passed: its creation events, straight from the columns."""
        leaves, ends, hashes = page.leaves, page.ends, page.digests
        states = [leaves[start:end] for start, end in zip([0, *ends], ends, strict=False)]
        events += self.ledger.leaf_mapper.creations_from_leaves(
            page.aggregate_ids, page.topics, states
        )
        digests += [hashes[i : i + 32] for i in range(0, len(hashes), 32)]
        self.done += len(page)
        added = self.outcome.added
        for kind, count in Counter(page.kinds).items():
            added[kind] = added.get(kind, 0) + count

    def _add_prepared(
        self,
        page: PreparedPage,
        ref_lists: list[list[str]],
        stored: set[str],
        events: list[StoredEvent],
        digests: list[bytes],
    ) -> None:
        """A prepared page: new records go in from the columns (a reference the store
        lacks must be in this input); a record already stored, used twice or correcting
        a claim is read from the spool and goes the usual way (``_add``)."""
        stored_from_leaf = self.ledger.leaf_mapper.stored_from_leaf
        repeated, known, added = self.spool.repeated, self.known, self.outcome.added
        leaves, ends, all_digests = page.leaves, page.ends, page.digests
        start = 0
        for i, aggregate_id in enumerate(page.aggregate_ids):
            kind, end = page.kinds[i], ends[i]
            if aggregate_id in stored or aggregate_id in repeated or kind == "correction":
                self._add(self.spool.get(page.seqs[i]), stored, events, digests)
            else:
                if not known.issuperset(ref_lists[i]):
                    self._require_in_input(ref_lists[i], page.seqs[i])
                self.done += 1
                events.append(stored_from_leaf(aggregate_id, 1, page.topics[i], leaves[start:end]))
                digests.append(all_digests[32 * i : 32 * i + 32])
                added[kind] = added.get(kind, 0) + 1
            start = end

    def _add(
        self, spooled: Spooled, stored: set[str], events: list[StoredEvent], digests: list[bytes]
    ) -> None:
        """Check one record against the input and the store; queue its events."""
        self.done += 1
        if self._is_repeat(spooled, stored):
            return
        if not self.known.issuperset(spooled.ref_ids):
            self._require_in_input(spooled.ref_ids, spooled)
        mapper = self.ledger.leaf_mapper
        aggregate_id, topic, leaf = creation_leaf(
            spooled.kind, spooled.record_id, spooled.data, self.recorded
        )
        events.append(mapper.stored_from_leaf(aggregate_id, 1, topic, leaf))
        digests.append(leaf_hash(leaf))
        if spooled.kind == "correction":
            target = self._load_claim(spooled, str(spooled.target))
            try:
                target.supersede(spooled.record_id, self.timestamp)
            except ConflictError as error:
                raise ConflictError(f"{spooled.where}: {error}") from None
            self.corrected[target.id] = spooled.record_id
            for event in target.collect_events():
                stored_event, event_leaf = mapper.stored_with_leaf(event)
                events.append(stored_event)
                digests.append(leaf_hash(event_leaf))
        self.outcome.added[spooled.kind] = self.outcome.added.get(spooled.kind, 0) + 1

    def _is_repeat(self, spooled: Spooled, stored: set[str]) -> bool:
        aggregate_id = spooled.aggregate_id
        earlier = None
        if aggregate_id in self.spool.repeated:
            first = self.spool.first(aggregate_id)
            if first is not None and first.seq != spooled.seq:
                earlier = first
        if earlier is not None:
            same = earlier.kind == spooled.kind and earlier.data == spooled.data
            where = f" ({earlier.where})"
            other = earlier.kind
        elif aggregate_id in stored and self._stored_as(spooled):
            self.outcome.unchanged += 1
            return True
        elif aggregate_id in stored:
            found = self.ledger.load(self.appender.view, aggregate_id)
            record = found.record if found is not None else None
            if record is None:
                return False
            fields = record.model_dump(mode="json", exclude={"type", "id"})
            same = record.type == spooled.kind and creation_data(fields) == spooled.data
            where = " in the ledger"
            other = record.type
        else:
            return False
        if same:
            self.outcome.unchanged += 1
            return True
        raise BadInputError(
            f"{spooled.where}: id: '{spooled.record_id}' is already used by a different "
            f"{other} record{where}"
        )

    def _stored_as(self, spooled: Spooled) -> bool:
        """Whether the store's creation event of this id records exactly this record
        (one comparison of leaves; False sends the caller the slow, exact way)."""
        found = self.stored_creations.get(spooled.aggregate_id)
        if found is None:
            return False
        topic, state = found
        leaf = self.ledger.leaf_mapper.plain(state)
        return is_creation_of(spooled.kind, spooled.record_id, spooled.data, topic, leaf)

    def _require_in_input(self, ref_ids: list[str], spooled: Spooled | int) -> None:
        """Check a record's references the store does not hold: each must be in this
        input, else bad input naming the first missing one. ``spooled`` is the record,
        or its number in the spool, read only to name a missing reference."""
        for aggregate_id in ref_ids:
            if aggregate_id in self.known:
                continue
            if not self.spool.holds(aggregate_id):
                record = self.spool.get(spooled) if isinstance(spooled, int) else spooled
                fieldname = record.ref_fields.split(";")[record.ref_ids.index(aggregate_id)]
                kind, _, ref = aggregate_id.partition(":")
                raise BadInputError(
                    f"{record.where}: {fieldname}: no {kind} '{ref}' in the ledger or in this input"
                )
            self.known.add(aggregate_id)

    def _load_claim(self, spooled: Spooled, claim_id: str) -> Claim:
        aggregate_id = Claim.aggregate_id(claim_id)
        if aggregate_id in self.corrected:
            by = self.corrected[aggregate_id]
            raise ConflictError(
                f"{spooled.where}: claim '{claim_id}' was already corrected by '{by}'; "
                f"correct '{by}' instead"
            )
        found = self.ledger.load(self.appender.view, aggregate_id)
        if found is None:
            # Not stored before this import: created by it, from its first record.
            first = self.spool.first(aggregate_id)
            if first is not None and first.kind in ("claim", "correction"):
                event = creation_event_of(first.kind, first.record_id, first.fields, self.timestamp)
                found = event.mutate(None)
        if not isinstance(found, Claim):
            raise BadInputError(
                f"{spooled.where}: claim: no claim '{claim_id}' in the ledger or in this input"
            )
        return found
