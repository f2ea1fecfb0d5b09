"""What the event-store recorders that keep the Merkle log share, on either backend.

The library's application recorders are extended (``recorders_sqlite``,
``recorders_postgres``), the way its own ``searchabletimestamps`` example
extends them: the application passes each event's leaf hash through ``save()``
keyword arguments, and the recorder appends them to an RFC 9162 tree of
complete-subtree hashes inside the very transaction that inserts the events. A
crash can therefore never leave events without leaves or leaves without
events, and concurrent writers — serialized by the store's write lock — extend
one tree in one order.

Over 400 lines: what both backends share to append — events, their leaves and the
Merkle nodes in one transaction — and to read the log back, kept in one place.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from incident_ledger.ledger.merkle import root_at

if TYPE_CHECKING:  # the store library loads when a store opens; a glance at one needs none
    from eventsourcing.persistence import Notification, StoredEvent

    from incident_ledger.ledger.incident_chains import Concerns


class CursorNodeStore:
    """The Merkle node table seen through one open cursor (one transaction)."""

    def __init__(self, cursor: Any, placeholder: str = "?", prefix: str = "") -> None:
        self.cursor = cursor
        p = placeholder
        self.select = f"SELECT hash FROM {prefix}merkle_nodes WHERE level = {p} AND idx = {p}"
        self.select_run = (
            f"SELECT hash FROM {prefix}merkle_nodes WHERE level = {p} AND idx >= {p} "
            f"AND idx < {p} ORDER BY idx"
        )
        self.insert = f"INSERT INTO {prefix}merkle_nodes VALUES ({p}, {p}, {p})"

    def get(self, level: int, index: int) -> bytes | None:
        """One complete-subtree hash, or None."""
        self.cursor.execute(self.select, (level, index))
        row = self.cursor.fetchone()
        return None if row is None else bytes(row[0])

    def run(self, level: int, first: int, count: int) -> list[bytes]:
        """Stored hashes of consecutive nodes of one level, in order (shorter if one is missing:
        indexes are not checked, callers compare the length)."""
        self.cursor.execute(self.select_run, (level, first, first + count))
        return [bytes(row[0]) for row in self.cursor.fetchall()]

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Insert complete-subtree hashes (never replaced: the log only grows)."""
        self.cursor.executemany(self.insert, list(items))


@runtime_checkable
class AuditRecorder(Protocol):
    """What the audit trail needs of a recorder, on either backend."""

    plain: Callable[[bytes], bytes] | None
    """How a stored state becomes its leaf (None: stored as it is), as ``upgrade`` was told."""

    def reading(self) -> AbstractContextManager[LogView]:
        """One consistent read transaction over events, tree and checkpoints."""
        ...

    def log_size(self) -> int:
        """How many leaves the log holds now (``LogView.size`` in a read of its own)."""
        ...

    def add_checkpoint(self, size: int, note: str, created_at: str) -> None:
        """Store a signed checkpoint."""
        ...

    def replace_checkpoint(self, size: int, old: str, note: str, created_at: str) -> None:
        """Replace the stored checkpoint of a size, if it is still ``old``, by ``note``."""
        ...

    def select_events(self, originator_id: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        """The library's own event selection."""
        ...

    def appending(self) -> AbstractContextManager[Appender]:
        """One write transaction holding the store's write lock from its start."""
        ...

    def upgrade(self, plain: Callable[[bytes], bytes] | None) -> None:
        """Bring a store written by an earlier version to this version's format; ``plain``:
        how a stored state becomes its leaf (None: it is stored as it is)."""
        ...

    def store_id(self) -> str:
        """This store's identity (``identity``)."""
        ...


# --- the store's identity -------------------------------------------------------------------
#
# A read model is bound to the store it was projected from: the store's id, kept in a
# one-row table ``ledger_info``, and the log's root at the model's position. The id is
# made when the store is created; a store made by an earlier version takes the id
# ``first_leaf_id`` gives it, which it is also identified by while it cannot be written.

INFO_TABLE = "ledger_info"
"""The table of the store's own facts: (name, value) rows; ``store_id`` is one."""
INFO_COLUMNS = "(name TEXT PRIMARY KEY, value TEXT NOT NULL)"
STORE_ID = "store_id"
CHAINS_TABLE = "incident_chains"
"""The table of the stored chains of incidents (``stores.chains``): one row per incident."""
EMPTY_STORE_ID = "empty"
"""The identity of a store made by an earlier version that holds no event and cannot be
written: a read model can only be at position 0 for it, where there is nothing to mix up."""


def new_store_id() -> str:
    """A fresh, random store id (128 bits)."""
    return uuid.uuid4().hex


def first_leaf_id(first_leaf_hash: bytes | None) -> str | None:
    """The id of a store made before stores had one: from its first leaf's hash, which
    holds the first event's recorded time to the microsecond, so two stores almost never
    share it, and a copy of a store shares it as it would share a kept id."""
    return None if first_leaf_hash is None else "leaf:" + bytes(first_leaf_hash)[:16].hex()


def id_to_keep(first_leaf_hash: bytes | None) -> str:
    """The id a store takes when it has none: ``first_leaf_id`` if it holds events, else a
    new one."""
    return first_leaf_id(first_leaf_hash) or new_store_id()


class KeepsStoreId:
    """A recorder's ``store_id``, read once. The backend says what is kept
    (``_kept_id``) and keeps an id (``_keep_store_id``); a store that cannot be written
    is known by its first leaf meanwhile."""

    _store_id: str | None = None

    def store_id(self) -> str:
        """This store's id: the one it keeps, else (a store of an earlier version) the one
        ``first_leaf_id`` gives it, kept from now on when the store can be written."""
        if self._store_id is None:
            from eventsourcing.persistence import PersistenceError  # loaded with the store

            kept, first_leaf_hash = self._kept_id()
            if kept is None:
                try:
                    kept = self._keep_store_id()
                except PersistenceError:  # read-only: known by its first leaf meanwhile
                    kept = first_leaf_id(first_leaf_hash) or EMPTY_STORE_ID
            self._store_id = kept
        return self._store_id

    def _kept_id(self) -> tuple[str | None, bytes | None]:
        """The id the store keeps, or None and its first leaf hash (None if it has none)."""
        raise NotImplementedError

    def _keep_store_id(self) -> str:
        """Keep ``id_to_keep``'s id unless the store keeps one; return the id kept."""
        raise NotImplementedError


EventRow = tuple[int, str, int, str, bytes]
"""A stored event as read in bulk: notification id, originator id, version, topic, state."""

LeafFunction = Callable[["StoredEvent"], bytes]

NewRow = tuple[str, int, str, bytes]
"""An event to insert, as the row the store keeps: originator id, version, topic, state.

Imports append hundreds of thousands of these: plain tuples go to SQLite as
they are, where the library's ``StoredEvent`` objects would be built only to be
taken apart again."""


@dataclass(frozen=True)
class Appender:
    """One open write transaction: a view of what it sees, and a way to add events.

    ``append`` may be called many times; everything commits together when the
    ``appending()`` block ends, or nothing does if it raises.
    """

    view: LogView
    append: Callable[[Sequence[NewRow], Sequence[bytes]], None]
    """``append(rows, leaf_hashes)``: events as stored rows, and the Merkle leaf hash of each."""
    began: int | None = None
    """How many leaves the log held when the writer began, before it waited for the
    store's write lock (None: not known): an event at or after it was recorded by
    another writer meanwhile, a race this writer lost."""
    append_known: AppendKnown | None = None
    """``append_known(rows, leaf_hashes, known)``: ``append`` with what the writer knows
    of the incidents each event concerns (``incident_chains.own_concerns`` of their
    leaves), which the store's chains then need not read from the leaves; None where
    the store takes no such thing (``append`` does the same, reading them)."""


AppendKnown = Callable[[Sequence[NewRow], Sequence[bytes], "tuple[Concerns, dict[str, str]]"], None]


def leaf_hashes(
    recorder: Any, stored_events: Sequence[StoredEvent], kwargs: Any
) -> Sequence[bytes]:
    """The Merkle leaf hash of each event being inserted.

    The application passes them in (``merkle_leaves``), computed from the domain
    events it saves. A writer that does not must give the recorder a ``leaf_of``
    function; without either, inserting is refused rather than logging events
    the audit trail could not verify.
    """
    from eventsourcing.persistence import ProgrammingError  # loaded with the store

    leaves: Sequence[bytes] | None = kwargs.get("merkle_leaves")
    if leaves is None:
        leaf_of: LeafFunction | None = getattr(recorder, "leaf_of", None)
        if leaf_of is None:
            raise ProgrammingError("every stored event needs its Merkle leaf hash")
        leaves = [leaf_of(event) for event in stored_events]
    if len(leaves) != len(stored_events):
        raise ProgrammingError("one Merkle leaf hash is needed per stored event")
    return leaves


class LogView:
    """Events, Merkle log and checkpoints as seen by one read transaction.

    Everything ``verify``, ``prove`` and exports read goes through one view, so
    a concurrent writer can never make the events and the tree disagree mid-read.
    """

    def __init__(
        self,
        cursor: Any,
        placeholder: str,
        prefix: str,
        events_table: str,
        notification_column: str,
        convert_id: Any,
    ) -> None:
        self.cursor = cursor
        self.p = placeholder
        self.prefix = prefix
        self.events_table = prefix + events_table
        self.notification_column = notification_column
        self.convert_id = convert_id
        self.nodes = CursorNodeStore(cursor, placeholder, prefix)
        p = placeholder
        self._leaf_ids_sql = (
            f"SELECT notification_id FROM {prefix}merkle_leaves WHERE idx >= {p} AND idx < {p} "
            "ORDER BY idx"
        )

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        sql = (
            sql.replace("merkle_", self.prefix + "merkle_")
            .replace("FROM checkpoints", f"FROM {self.prefix}checkpoints")
            .replace("FROM incident_chains", f"FROM {self.prefix}incident_chains")
        )
        self.cursor.execute(sql.replace("?", self.p), tuple(params))
        return list(self.cursor.fetchall())

    def root_at(self, size: int) -> bytes:
        """The root of the log's first ``size`` leaves (``merkle.root_at``; LookupError if
        the stored tree lacks a node it needs)."""
        return root_at(self.nodes, size)

    def size(self) -> int:
        """How many leaves the log holds."""
        return int(self._rows("SELECT COALESCE(MAX(idx) + 1, 0) FROM merkle_leaves")[0][0])

    def size_at(self, position: int) -> int:
        """How many leaves record the events up to notification id ``position`` (one
        indexed read: leaves are in notification order)."""
        rows = self._rows(
            "SELECT idx FROM merkle_leaves WHERE notification_id <= ? "
            "ORDER BY notification_id DESC LIMIT 1",
            (position,),
        )
        return int(rows[0][0]) + 1 if rows else 0

    def notifications(self, after: int, limit: int) -> list[Notification]:
        """Stored events after a notification id, in ledger order."""
        from eventsourcing.persistence import Notification  # loaded with the store

        n = self.notification_column
        rows = self._rows(
            f"SELECT {n}, originator_id, originator_version, topic, state "
            f"FROM {self.events_table} WHERE {n} > ? ORDER BY {n} LIMIT ?",
            (after, limit),
        )
        return [
            Notification(
                id=int(row[0]),
                originator_id=self.convert_id(row[1]),
                originator_version=int(row[2]),
                topic=str(row[3]),
                state=bytes(row[4]),
            )
            for row in rows
        ]

    def event_rows(self, after: int, limit: int, stop: int | None = None) -> list[EventRow]:
        """Like ``notifications`` but as plain (id, originator id, version, topic, state)
        rows, up to notification id ``stop`` if given."""
        n = self.notification_column
        bound = "" if stop is None else f"AND {n} <= ? "
        rows = self._rows(
            f"SELECT {n}, originator_id, originator_version, topic, state "
            f"FROM {self.events_table} WHERE {n} > ? {bound}ORDER BY {n} LIMIT ?",
            (after, limit) if stop is None else (after, stop, limit),
        )
        if rows and type(rows[0][1]) is not str:  # a driver's own id type, e.g. UUID
            convert = self.convert_id
            return [(r[0], str(convert(r[1])), r[2], r[3], r[4]) for r in rows]
        return rows

    def event_leaves(self, after: int, limit: int, stop: int) -> list[tuple[int, bytes]]:
        """(notification id, state) of the events ``event_rows`` gives: all a rebuild reads
        of most events (reading the other three columns too was 40% more to page)."""
        n = self.notification_column
        return self._rows(
            f"SELECT {n}, state FROM {self.events_table} WHERE {n} > ? AND {n} <= ? "
            f"ORDER BY {n} LIMIT ?",
            (after, stop, limit),
        )

    def page(
        self, after: int, start: int, count: int
    ) -> tuple[list[EventRow], list[int], list[bytes]]:
        """What ``verify`` checks of a page, read together: ``event_rows(after, count)``,
        ``leaf_notification_ids(start, count)`` and the leaf hashes ``node_hashes(0, start,
        count)``."""
        return (
            self.event_rows(after, count),
            self.leaf_notification_ids(start, count),
            self.node_hashes(0, start, count),
        )

    def leaf_notifications(self, start: int, limit: int) -> list[tuple[int, int]]:
        """(leaf index, notification id) pairs in leaf order from ``start``."""
        rows = self._rows(
            "SELECT idx, notification_id FROM merkle_leaves WHERE idx >= ? ORDER BY idx LIMIT ?",
            (start, limit),
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    def leaf_index(self, originator_id: str, version: int) -> int | None:
        """The leaf index of one stored event, or None."""
        rows = self._rows(
            f"SELECT l.idx FROM merkle_leaves l JOIN {self.events_table} e "
            f"ON e.{self.notification_column} = l.notification_id "
            "WHERE e.originator_id = ? AND e.originator_version = ?",
            (originator_id, version),
        )
        return int(rows[0][0]) if rows else None

    def node_range(self, level: int, first: int, last: int) -> dict[int, bytes]:
        """Stored complete-subtree hashes of one level, indexes ``first`` to ``last``."""
        rows = self._rows(
            "SELECT idx, hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx <= ?",
            (level, first, last),
        )
        return {int(r[0]): bytes(r[1]) for r in rows}

    def node_hashes(self, level: int, first: int, count: int) -> list[bytes]:
        """Stored hashes of ``count`` consecutive nodes of one level from ``first``, in order.

        A missing node makes the list shorter; callers compare it with what they expect.
        """
        return self.nodes.run(level, first, count)

    def leaf_notification_ids(self, start: int, count: int) -> list[int]:
        """The notification ids of leaves ``start`` to ``start + count - 1``, in leaf order."""
        self.cursor.execute(self._leaf_ids_sql, (start, start + count))
        return [row[0] for row in self.cursor.fetchall()]

    def existing(self, originator_ids: Sequence[str]) -> set[str]:
        """Which of these aggregates have a creation event in the store."""
        return {str(row[0]) for row in self._creation_rows("originator_id", originator_ids)}

    def creation_states(self, originator_ids: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        """The stored creation events (version 1) of these aggregates: id → (topic, state)."""
        rows = self._creation_rows("originator_id, topic, state", originator_ids)
        return {str(row[0]): (str(row[1]), bytes(row[2])) for row in rows}

    def _creation_rows(self, columns: str, originator_ids: Sequence[str]) -> Iterator[Any]:
        """Columns of the creation events of these aggregates, asking 500 ids at a time."""
        for start in range(0, len(originator_ids), 500):
            chunk = list(originator_ids[start : start + 500])
            yield from self._rows(
                f"SELECT {columns} FROM {self.events_table} WHERE originator_version = 1 "
                f"AND originator_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )

    def creations_between(self, low: str, high: str) -> list[tuple[str, str, bytes]]:
        """(id, topic, state) of every stored creation event whose aggregate id is at least
        ``low`` and below ``high`` in the store's order of ids (bytewise in SQLite), such
        as every report: ``("report:", "report;")``."""
        rows = self._rows(
            f"SELECT originator_id, topic, state FROM {self.events_table} "
            "WHERE originator_id >= ? AND originator_id < ? AND originator_version = 1",
            (low, high),
        )
        return [(str(row[0]), str(row[1]), bytes(row[2])) for row in rows]

    def any_creation_between(self, low: str, high: str) -> bool:
        """Whether the store holds a creation event whose aggregate id is at least ``low``
        and below ``high`` (as ``creations_between``), reading at most one row."""
        rows = self._rows(
            f"SELECT 1 FROM {self.events_table} "
            "WHERE originator_id >= ? AND originator_id < ? AND originator_version = 1 LIMIT 1",
            (low, high),
        )
        return bool(rows)

    def events_of(self, originator_id: str) -> list[StoredEvent]:
        """Every stored event of one aggregate, oldest first."""
        from eventsourcing.persistence import StoredEvent  # loaded with the store

        rows = self._rows(
            f"SELECT originator_version, topic, state FROM {self.events_table} "
            "WHERE originator_id = ? ORDER BY originator_version",
            (originator_id,),
        )
        return [
            StoredEvent(
                originator_id=originator_id,
                originator_version=int(row[0]),
                topic=str(row[1]),
                state=bytes(row[2]),
            )
            for row in rows
        ]

    def events_of_each(self, originator_ids: Sequence[str]) -> dict[str, list[StoredEvent]]:
        """Every stored event of each of these aggregates, oldest first (one query per
        500 ids); an aggregate the store lacks is left out."""
        from eventsourcing.persistence import StoredEvent  # loaded with the store

        found: dict[str, list[StoredEvent]] = {}
        for start in range(0, len(originator_ids), 500):
            chunk = list(originator_ids[start : start + 500])
            rows = self._rows(
                f"SELECT originator_id, originator_version, topic, state "
                f"FROM {self.events_table} WHERE originator_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY originator_id, originator_version",
                chunk,
            )
            for row in rows:
                originator_id = str(row[0])
                found.setdefault(originator_id, []).append(
                    StoredEvent(originator_id, int(row[1]), str(row[2]), bytes(row[3]))
                )
        return found

    def event_rows_where(self, column: str, values: Sequence[Any]) -> list[EventRow]:
        """``event_rows`` of the events whose ``notification`` id or ``originator`` id is
        one of ``values``, in ledger order within each 500 asked (a query each)."""
        n = self.notification_column
        where = {"notification": n, "originator": "originator_id"}[column]
        rows: list[EventRow] = []
        for start in range(0, len(values), 500):
            chunk = list(values[start : start + 500])
            rows += [
                (int(r[0]), str(self.convert_id(r[1])), int(r[2]), str(r[3]), bytes(r[4]))
                for r in self._rows(
                    f"SELECT {n}, originator_id, originator_version, topic, state "
                    f"FROM {self.events_table} WHERE {where} IN ({','.join('?' * len(chunk))}) "
                    f"ORDER BY {n}",
                    chunk,
                )
            ]
        return rows

    def leaf_rows_where(
        self, column: str, values: Sequence[Any]
    ) -> tuple[list[EventRow], list[int] | None]:
        """``event_rows_where``, and the index of each one's leaf (None if one has none)."""
        rows = self.event_rows_where(column, values)
        found = self.leaves_of_notifications([row[0] for row in rows])
        leaves = [found.get(row[0]) for row in rows]
        if any(leaf is None for leaf in leaves):
            return rows, None
        return rows, [leaf[0] for leaf in leaves if leaf is not None]

    def leaves_of_notifications(
        self, notification_ids: Sequence[int]
    ) -> dict[int, tuple[int, str, int, bytes]]:
        """Stored events by notification id: (leaf index, aggregate id, version, leaf hash);
        an id without an event or a leaf is left out (500 ids a query)."""
        found: dict[int, tuple[int, str, int, bytes]] = {}
        for start in range(0, len(notification_ids), 500):
            chunk = list(notification_ids[start : start + 500])
            found.update(
                (int(r[0]), (int(r[1]), str(self.convert_id(r[2])), int(r[3]), bytes(r[4])))
                for r in self._rows(self._leaves_of_sql(len(chunk)), chunk)
            )
        return found

    def _leaves_of_sql(self, count: int) -> str:
        return (
            f"SELECT l.notification_id, l.idx, e.originator_id, e.originator_version, n.hash "
            f"FROM merkle_leaves l JOIN {self.events_table} e "
            f"ON e.{self.notification_column} = l.notification_id "
            "JOIN merkle_nodes n ON n.level = 0 AND n.idx = l.idx "
            f"WHERE l.notification_id IN ({','.join('?' * count)})"
        )

    def chain_heads(self) -> dict[str, tuple[int, bytes]]:
        """Every incident's stored chain (``ledger.incident_chains``): incident → (count, head)."""
        rows = self._rows("SELECT incident, size, head FROM incident_chains")
        return {str(r[0]): (int(r[1]), bytes(r[2])) for r in rows}

    def checkpoints(self) -> list[tuple[int, str]]:
        """Every stored checkpoint (size, signed note), oldest first."""
        return [
            (int(r[0]), str(r[1]))
            for r in self._rows("SELECT size, note FROM checkpoints ORDER BY size")
        ]
