"""The SQLite log as one read transaction sees it, and a glance at a store that needs no
store library.

Leaf ``i`` is the event of notification id ``i + 1`` and holds its own hash
(``sqlite``): the leaves are read from the events table, the levels above from
``merkle_nodes``. Nothing here loads the store library: a read command whose read model
is up to date asks the store only what ``glance`` reads, with sqlite3 alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from incident_ledger.ledger.stores.location import read_only_uri
from incident_ledger.ledger.stores.recorder import (
    CHAINS_TABLE,
    INFO_TABLE,
    STORE_ID,
    CursorNodeStore,
    EventRow,
    LogView,
)

EVENTS_TABLE = "stored_events"
"""The events table of a SQLite store."""


@dataclass(frozen=True)
class Glance:
    """What a read needs of a store to know whether its read model is current: the
    store's id, the log's size and root as of the model's position, and the store's last
    notification id."""

    store_id: str
    size: int
    root: bytes
    last: int


def glance(path: Path, position: int, *, read_only: bool = False) -> Glance | None:
    """The SQLite store at ``path`` as of notification id ``position``, read in one read
    transaction with sqlite3 alone: opening it as the event store loads the store library
    and the application to ask it this. None when only opening it can tell: a store not
    of this version's layout (opening upgrades it), one that keeps no id yet (opening
    keeps one), a tree that lacks a node, or any SQLite error (opening reports it).
    ``read_only``: the store cannot be written (``StoreLocation.read_only``)."""
    uri = read_only_uri(path) if read_only else f"file:{quote(str(path.resolve()))}?mode=rw"
    try:
        connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
    except sqlite3.Error:
        return None
    try:
        cursor = connection.cursor()
        cursor.execute("BEGIN")
        if not current_layout(cursor, EVENTS_TABLE):
            return None
        cursor.execute(f"SELECT value FROM {INFO_TABLE} WHERE name = ?", (STORE_ID,))
        kept = cursor.fetchone()
        if kept is None:
            return None
        view = SQLiteLogView(cursor, EVENTS_TABLE, str)
        size = view.size_at(position)
        root = view.root_at(size)
        cursor.execute(f"SELECT MAX(rowid) FROM {EVENTS_TABLE}")
        last = cursor.fetchone()[0] or 0
        return Glance(str(kept[0]), size, root, int(last))
    except (sqlite3.Error, LookupError):
        return None
    finally:
        connection.close()


def current_layout(c: Any, events_table: str) -> bool:
    """Whether a store is of this version's layout: leaf hashes in its events table and
    the chains of incidents (the recorder upgrades an earlier one as it opens)."""
    return has_leaf_hashes(c, events_table) and has_table(c, CHAINS_TABLE)


def has_leaf_hashes(c: Any, events_table: str) -> bool:
    """Whether the events table holds each event's leaf hash (``leaf_hash``)."""
    c.execute("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = 'leaf_hash'", (events_table,))
    return bool(c.fetchone()[0])


class SQLiteNodeStore(CursorNodeStore):
    """The tree's stored levels: level 0 (the leaves) in the events table, the others
    in ``merkle_nodes``."""

    def __init__(self, cursor: Any, events_table: str) -> None:
        super().__init__(cursor)
        self.leaf_run = (
            f"SELECT rowid, leaf_hash FROM {events_table} WHERE rowid > ? AND rowid <= ? "
            "AND leaf_hash IS NOT NULL ORDER BY rowid"
        )

    def get(self, level: int, index: int) -> bytes | None:
        """One complete-subtree hash, or None."""
        if level:
            return super().get(level, index)
        found = self.run(0, index, 1)
        return found[0] if found else None

    def run(self, level: int, first: int, count: int) -> list[bytes]:
        """Stored hashes of consecutive nodes of one level, in order (shorter if one is missing;
        above the leaves indexes are not checked, callers compare the length)."""
        if level:
            return super().run(level, first, count)
        self.cursor.execute(self.leaf_run, (first, first + count))
        return _up_to_a_gap(self.cursor.fetchall(), first)

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Insert the complete-subtree hashes above the leaves (inserted with their events)."""
        super().put_many(item for item in items if item[0])


class SQLiteLogView(LogView):
    """The log in SQLite, where leaf ``i`` is the event of notification id ``i + 1`` and
    holds its own hash; an event deleted takes its leaf with it."""

    def __init__(self, cursor: Any, events_table: str, convert_id: Any) -> None:
        super().__init__(cursor, "?", "", events_table, "rowid", convert_id)
        self.nodes = SQLiteNodeStore(cursor, events_table)
        self._leaf_ids_sql = (
            f"SELECT rowid FROM {events_table} WHERE rowid > ? AND rowid <= ? "
            "AND leaf_hash IS NOT NULL ORDER BY rowid"
        )

    @staticmethod
    def size_query(events_table: str) -> str:
        """The query of the log's size: the notification id of the last event with a leaf."""
        return (
            f"SELECT rowid FROM {events_table} WHERE leaf_hash IS NOT NULL "
            "ORDER BY rowid DESC LIMIT 1"
        )

    def size(self) -> int:
        """How many leaves the log holds."""
        rows = self._rows(self.size_query(self.events_table))
        return int(rows[0][0]) if rows else 0

    def size_at(self, position: int) -> int:
        """How many leaves record the events up to notification id ``position``."""
        rows = self._rows(
            f"SELECT rowid FROM {self.events_table} WHERE rowid <= ? AND leaf_hash IS NOT NULL "
            "ORDER BY rowid DESC LIMIT 1",
            (position,),
        )
        return int(rows[0][0]) if rows else 0

    def leaf_notifications(self, start: int, limit: int) -> list[tuple[int, int]]:
        """(leaf index, notification id) pairs in leaf order from ``start``."""
        rows = self._rows(
            f"SELECT rowid FROM {self.events_table} WHERE rowid > ? AND leaf_hash IS NOT NULL "
            "ORDER BY rowid LIMIT ?",
            (start, limit),
        )
        return [(int(r[0]) - 1, int(r[0])) for r in rows]

    def leaf_index(self, originator_id: str, version: int) -> int | None:
        """The leaf index of one stored event, or None."""
        rows = self._rows(
            f"SELECT rowid - 1 FROM {self.events_table} WHERE originator_id = ? "
            "AND originator_version = ? AND leaf_hash IS NOT NULL",
            (originator_id, version),
        )
        return int(rows[0][0]) if rows else None

    def leaf_notification_ids(self, start: int, count: int) -> list[int]:
        """The notification ids of leaves ``start`` to ``start + count - 1``, in leaf order."""
        self.cursor.execute(self._leaf_ids_sql, (start, start + count))
        return [row[0] for row in self.cursor.fetchall()]

    def page(
        self, after: int, start: int, count: int
    ) -> tuple[list[EventRow], list[int], list[Any]]:
        """``LogView.page`` in one query when the events after ``after`` are those of leaves
        from ``start`` on (leaf ``i`` is notification id ``i + 1``), as in a log that verifies."""
        if after != start:
            return super().page(after, start, count)
        rows = self._rows(
            f"SELECT rowid, originator_id, originator_version, topic, state, leaf_hash "
            f"FROM {self.events_table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, count),
        )
        if rows and (rows[-1][0] != start + len(rows) or any(row[5] is None for row in rows)):
            return super().page(after, start, count)  # a gap or a leaf missing: read exactly
        return [row[:5] for row in rows], [row[0] for row in rows], [row[5] for row in rows]

    def leaf_rows_where(
        self, column: str, values: Sequence[Any]
    ) -> tuple[list[EventRow], list[int] | None]:
        """``LogView.leaf_rows_where`` in one query per 500 values: an event's leaf is its
        row's (leaf ``i`` is notification id ``i + 1``), so no second query finds it. An
        event without a leaf is read without its state, which says it has none."""
        where = {"notification": "rowid", "originator": "originator_id"}[column]
        rows: list[Any] = []
        for start in range(0, len(values), 500):
            chunk = list(values[start : start + 500])
            rows += self._rows(
                "SELECT rowid, originator_id, originator_version, topic, "
                f"CASE WHEN leaf_hash IS NOT NULL THEN state END FROM {self.events_table} "
                f"WHERE {where} IN ({','.join('?' * len(chunk))}) ORDER BY rowid",
                chunk,
            )
        if rows and self.convert_id(rows[0][1]) is not rows[0][1]:  # ids of another type
            convert = self.convert_id
            rows = [(r[0], str(convert(r[1])), *r[2:]) for r in rows]
        if any(row[4] is None for row in rows):
            return rows, None
        return rows, [row[0] - 1 for row in rows]

    def _leaves_of_sql(self, count: int) -> str:
        return (
            f"SELECT rowid, rowid - 1, originator_id, originator_version, leaf_hash "
            f"FROM {self.events_table} WHERE leaf_hash IS NOT NULL "
            f"AND rowid IN ({','.join('?' * count)})"
        )

    def node_range(self, level: int, first: int, last: int) -> dict[int, bytes]:
        """Stored complete-subtree hashes of one level, indexes ``first`` to ``last``."""
        if level:
            return super().node_range(level, first, last)
        rows = self._rows(
            f"SELECT rowid - 1, leaf_hash FROM {self.events_table} WHERE rowid > ? "
            "AND rowid <= ? AND leaf_hash IS NOT NULL",
            (first, last + 1),
        )
        return {int(r[0]): bytes(r[1]) for r in rows}


def _up_to_a_gap(rows: list[Any], first: int) -> list[bytes]:
    """The leaf hashes of (rowid, leaf hash) rows from leaf ``first`` on, up to the first
    leaf missing: an event deleted, or one without a hash."""
    if rows and rows[-1][0] == first + len(rows):
        # Ascending rowids from first + 1 that end at first + len(rows) are all of them,
        # each with its hash (the query leaves out a row without one): the common case,
        # taken without a check per row (the multiproof of a hot incident reads a
        # million leaf hashes: 0.85 s of the 2.15 s of reading them went in that loop).
        return [row[1] for row in rows]
    hashes = []
    for expected, (rowid, leaf_hash) in enumerate(rows, start=first + 1):
        if rowid != expected or leaf_hash is None:
            break
        hashes.append(bytes(leaf_hash))
    return hashes


def has_table(c: Any, name: str) -> bool:
    """Whether the database has a table of that name."""
    c.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return bool(c.fetchone()[0])
