"""The event store as an eventsourcing Application, with its Merkle log.

It saves events and their leaves in one transaction (``writing``), loads
aggregates, and re-grades sources. Imports drive it from ``ledger.imports``,
which checks records and turns them into events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
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

from incident_ledger.ledger.errors import ConflictError, NotFoundError, StoreError
from incident_ledger.ledger.mapper import LeafMapper
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.ledger.stores.recorder import Appender, AppendKnown, AuditRecorder, LogView
from incident_ledger.ledger.stores.written import Written
from incident_ledger.ledger.times import utc_now

if TYPE_CHECKING:  # the event classes load when an event is written or read, not to open
    from incident_ledger.ledger.batch_signing import Actor
    from incident_ledger.ledger.desk_domain import Batch
    from incident_ledger.ledger.domain import LedgerAggregate
    from incident_ledger.ledger.records import AnyRecord

__all__ = ["Ledger"]


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
            # Asked once: a runtime protocol's ``isinstance`` inspects the class each time
            # (70 µs to 0.4 ms), and a small write asked it eight times through ``audit``.
            self._audit = self.recorder if isinstance(self.recorder, AuditRecorder) else None
            if self._audit is not None:
                mapper = self.leaf_mapper
                self._audit.upgrade(mapper.plain if mapper.cipher or mapper.compressor else None)
        except PersistenceError as error:
            raise StoreError(f"cannot open the event store: {error}") from None
        except InfrastructureFactoryError:
            raise StoreError(
                "PostgreSQL support is not installed: pip install 'incident-ledger[postgres]'"
            ) from None
        self.clock = clock
        self.actor: Actor | None = None
        """Who writes: each write transaction is a batch this member signs (``seal``).
        None writes unsigned batches, which ``verify`` refuses once the ledger has a desk."""
        self.sealed: Batch.Signed | None = None
        """The signature of the last write's batch (None: it signed none)."""

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
        if self._audit is None:
            raise StoreError("this store keeps no Merkle log")
        return self._audit

    def log_size(self) -> int:
        """How many leaves the log holds now."""
        try:
            return self.audit.log_size()
        except PersistenceError as error:
            raise StoreError(f"cannot read the event store: {error}") from None

    @contextmanager
    def writing(self, conflict: str, began: int | None = None) -> Iterator[Appender]:
        """One write transaction, with the store's failures translated (``conflict``: what
        to say when another writer got there first). ``began``: the log's size when the
        write began (``log_size``), if before this call; an event recorded since then was
        recorded by another writer meanwhile (``Appender.began``)."""
        try:
            if began is None:
                began = self.audit.log_size()
            with self.audit.appending() as appender:
                actor, self.sealed = self.actor, None
                if actor is None:
                    yield replace(appender, began=began)
                    return
                from incident_ledger.ledger.batch_signing import BatchRoot, seal

                first, batch = appender.view.size(), BatchRoot()

                def append(rows: Sequence[Any], digests: Sequence[bytes]) -> None:
                    appender.append(rows, digests)
                    batch.add(digests)

                def with_known(known: AppendKnown) -> AppendKnown:
                    def append_known(
                        rows: Sequence[Any], digests: Sequence[bytes], by: Any
                    ) -> None:
                        known(rows, digests, by)
                        batch.add(digests)

                    return append_known

                known = appender.append_known
                yield Appender(
                    appender.view, append, began, None if known is None else with_known(known)
                )
                self.sealed = seal(self, appender, first, batch, actor)
        except IntegrityError:
            raise ConflictError(
                f"{conflict}; nothing was written — run the same command again"
            ) from None
        except PersistenceError as error:
            raise StoreError(f"cannot write to the event store: {error}") from None

    def load(self, view: LogView, aggregate_id: str) -> LedgerAggregate | None:
        """An aggregate as a view sees the store, or None."""
        return self.aggregate_of(view.events_of(aggregate_id))

    def take_written(self) -> Written | None:
        """What the last write of this process committed, if the store keeps it
        (``written.Written``), and only once: a later call says None until another write."""
        written: Written | None = getattr(self.recorder, "last_write", None)
        if written is not None:
            setattr(self.recorder, "last_write", None)  # noqa: B010  # the store's, kept
        return written

    def aggregate_of(self, stored_events: Iterable[StoredEvent]) -> LedgerAggregate | None:
        """The aggregate made by these stored events (oldest first), or None if none."""
        aggregate: Any = None
        for stored in stored_events:
            event: Any = self.mapper.to_domain_event(stored)
            aggregate = event.mutate(aggregate)
        return cast("LedgerAggregate | None", aggregate)

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
        from incident_ledger.ledger.domain import Source

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
        with self.writing("another writer changed this record at the same time") as appender:
            self.append_events(appender, events)
