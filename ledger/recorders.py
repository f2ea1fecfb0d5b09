"""Event-store recorders that keep the Merkle log in the same transaction as the events.

The library's SQLite application recorder is extended, the way its own
``searchabletimestamps`` example extends it: the application passes each
event's leaf hash through ``save()`` keyword arguments, and ``_insert_events``
appends them to an RFC 9162 tree of complete-subtree hashes inside the very
transaction that inserts the events. A crash can therefore never leave events
without leaves or leaves without events, and concurrent writers — serialized
by the store's write lock — extend one tree in one order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import ProgrammingError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from ledger.merkle import append_leaves


class CursorNodeStore:
    """The Merkle node table seen through one open cursor (one transaction)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def get(self, level: int, index: int) -> bytes | None:
        """One complete-subtree hash, or None."""
        self.cursor.execute(
            "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", (level, index)
        )
        row = self.cursor.fetchone()
        return None if row is None else bytes(row[0])

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Insert complete-subtree hashes (never replaced: the log only grows)."""
        self.cursor.executemany("INSERT INTO merkle_nodes VALUES (?, ?, ?)", list(items))


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    """SQLite events plus their Merkle log and signed checkpoints, in one database."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS merkle_nodes ("
            "level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, "
            "PRIMARY KEY (level, idx)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS merkle_leaves ("
            "idx INTEGER PRIMARY KEY, notification_id INTEGER NOT NULL UNIQUE)",
            "CREATE TABLE IF NOT EXISTS checkpoints ("
            "size INTEGER PRIMARY KEY, note TEXT NOT NULL, created_at TEXT NOT NULL)",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        leaves: Sequence[bytes] | None = kwargs.get("merkle_leaves")
        if leaves is None or notification_ids is None or len(leaves) != len(stored_events):
            raise ProgrammingError("every stored event needs its Merkle leaf hash")
        size = self._size(c)
        append_leaves(CursorNodeStore(c), size, leaves)
        c.executemany(
            "INSERT INTO merkle_leaves VALUES (?, ?)",
            [(size + i, n) for i, n in enumerate(notification_ids)],
        )
        return notification_ids

    @staticmethod
    def _size(c: Any) -> int:
        c.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM merkle_leaves")
        return int(c.fetchone()[0])

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A read transaction: one consistent view of events, tree and checkpoints."""
        with self.datastore.transaction(commit=False) as c:
            yield c

    def tree_size(self, c: Any) -> int:
        """How many leaves the log holds."""
        return self._size(c)

    def leaf_index(self, c: Any, originator_id: str, version: int) -> int | None:
        """The leaf index of one stored event, or None."""
        c.execute(
            f"SELECT l.idx FROM merkle_leaves l JOIN {self.events_table_name} e "
            "ON e.rowid = l.notification_id WHERE e.originator_id = ? AND e.originator_version = ?",
            (originator_id, version),
        )
        row = c.fetchone()
        return None if row is None else int(row[0])

    def aggregate_events(self, c: Any, originator_ids: Sequence[str]) -> list[tuple[int, int]]:
        """(leaf index, notification id) of every event of the given aggregates."""
        found: list[tuple[int, int]] = []
        for start in range(0, len(originator_ids), 500):
            chunk = list(originator_ids[start : start + 500])
            c.execute(
                f"SELECT l.idx, l.notification_id FROM merkle_leaves l JOIN "
                f"{self.events_table_name} e ON e.rowid = l.notification_id "
                f"WHERE e.originator_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found += [(int(r[0]), int(r[1])) for r in c.fetchall()]
        return sorted(found)

    def leaf_notifications(self, c: Any, start: int, limit: int) -> list[tuple[int, int]]:
        """(leaf index, notification id) pairs in leaf order."""
        c.execute(
            "SELECT idx, notification_id FROM merkle_leaves WHERE idx >= ? ORDER BY idx LIMIT ?",
            (start, limit),
        )
        return [(int(r[0]), int(r[1])) for r in c.fetchall()]

    def checkpoints(self, c: Any) -> list[tuple[int, str]]:
        """Every stored checkpoint (size, signed note), oldest first."""
        c.execute("SELECT size, note FROM checkpoints ORDER BY size")
        return [(int(r[0]), str(r[1])) for r in c.fetchall()]

    def add_checkpoint(self, size: int, note: str, created_at: str) -> None:
        """Store a signed checkpoint (one per tree size)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "INSERT OR IGNORE INTO checkpoints VALUES (?, ?, ?)", (size, note, created_at)
            )


LEDGER_RECORDER_TOPIC = "ledger.recorders:SQLiteLedgerRecorder"
