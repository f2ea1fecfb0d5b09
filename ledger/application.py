"""The write side: an eventsourcing Application whose use cases record records.

Records arrive validated (``ledger.records``); ``ledger.recording`` checks
what only the ledger can check and turns them into events, which this module
saves — a whole input in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
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
    from ledger.streaming import ValidatedPage

from ledger.domain import LedgerAggregate, Source
from ledger.errors import ConflictError, NotFoundError, StoreError
from ledger.mapper import LeafMapper
from ledger.merkle import leaf_hash
from ledger.recorders import Appender, AuditRecorder, LogView
from ledger.recording import Batch, Outcome, Stream
from ledger.spool import Spool
from ledger.times import utc_now

__all__ = ["Entry", "Ledger", "Outcome"]


@dataclass(frozen=True)
class Entry:
    """A record with where it came from (``line 12``), for error messages."""

    where: str
    record: AnyRecord


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
            if isinstance(self.recorder, AuditRecorder):
                self.recorder.upgrade()
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
            return Batch(self, spool, appender, self.clock()).record(progress)

    def record_input(
        self,
        pages: Callable[[str], Iterable[ValidatedPage]],
        *,
        locate: Callable[[str], str | None] | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        size: int = 0,
    ) -> Outcome:
        """Record an input's records in one transaction, each page as it is validated.

        ``pages(recorded)`` validates the input a page at a time in file order,
        making creation leaves recorded at ``recorded``. Records go into the log
        in file order; one whose references come later in the input waits, and
        all that wait go in at the end in dependency order. A bad line anywhere
        (raised by ``pages``) stops the import, and so does a record the ledger
        refuses — but only once every line is validated, since a bad line is
        reported first. Either way nothing is written. ``locate(aggregate_id)``
        says where the input first holds an id (``line 12``), for messages.
        ``progress(phase, done, total)``: ``importing`` by bytes of ``size`` (if
        known), then ``recording`` the records that waited.
        """
        with self._writing(
            "another writer recorded some of these records at the same time"
        ) as appender:
            stream = Stream(self, appender, locate)
            try:
                done = 0
                for page in pages(stream.recorded):
                    stream.add_page(page)
                    done += page.size
                    if progress is not None and size:
                        progress("importing", min(done, size), size)
                recording = None if progress is None else lambda d, t: progress("recording", d, t)
                return stream.finish(recording)
            finally:
                stream.close()

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
        return self.aggregate_of(view.events_of(aggregate_id))

    def aggregate_of(self, stored_events: Iterable[StoredEvent]) -> LedgerAggregate | None:
        """The aggregate made by these stored events (oldest first), or None if none."""
        aggregate: Any = None
        for stored in stored_events:
            event: Any = self.mapper.to_domain_event(stored)
            aggregate = event.mutate(aggregate)
        return cast(LedgerAggregate | None, aggregate)

    def append_events(self, appender: Appender, events: Sequence[Any]) -> None:
        """Append events and their Merkle leaves within an open write transaction.

        The stored form of an event is its leaf (``ledger.mapper``), so its leaf hash
        is taken from the very bytes stored.
        """
        encoded = [self.leaf_mapper.row_with_leaf(event) for event in events]
        appender.append([row for row, _ in encoded], [leaf_hash(leaf) for _, leaf in encoded])

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
