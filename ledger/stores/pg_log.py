"""The PostgreSQL log as one transaction sees it, and the appends of the write transaction
that holds the writers' table lock: events and Merkle nodes copied in, leaves numbered by
the server (``COPY_EVENTS``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.persistence import ProgrammingError
from psycopg.sql import SQL

from incident_ledger.ledger.merkle import append_leaves, root_at
from incident_ledger.ledger.stores.recorder import LogView, NewRow
from incident_ledger.ledger.stores.tree_edge import TreeEdge
from incident_ledger.ledger.stores.written import KEPT_EVENTS, LogEnd, Written

COPY_EVENTS = (
    "COPY {events} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)"
)
COPY_NODES = "COPY {nodes} (level, idx, hash) FROM STDIN (FORMAT BINARY)"
NUMBER_LEAVES = """
WITH added AS (
    INSERT INTO {leaves} (idx, notification_id)
    SELECT %s + row_number() OVER (ORDER BY notification_id) - 1, notification_id
    FROM {events} WHERE notification_id > %s
    RETURNING notification_id
)
SELECT count(*), min(notification_id), COALESCE(max(notification_id), %s) FROM added
"""
"""How a page of events goes in, with its leaves and the Merkle nodes it completes.

The library inserts a page from one array of its composite type, which psycopg builds
row by row in Python, and sends the lock and a notification with every page. Here the
events and the nodes are copied in (COPY, binary rows that psycopg writes in C: about
a tenth of the time of the array, on either side), and the leaves are numbered by the
server, in notification order, from the events after the last one the transaction had
seen: three round trips a page. The rows are the library's, in its order: the sequence
hands out ids in the order rows are copied, and the table lock the transaction took
first keeps every other writer out until it commits."""


class PostgresView(LogView):
    """The log as one PostgreSQL transaction sees it."""

    def _creation_rows(self, columns: str, originator_ids: Sequence[str]) -> Iterator[Any]:
        """Columns of the creation events of these aggregates, in one query whatever their
        number: the ids go as one array, where a list of placeholders would be parsed by
        psycopg in Python, 500 at a time (most of the time an import spent asking which
        of a page's records the store held)."""
        if originator_ids:
            yield from self._rows(
                f"SELECT {columns} FROM {self.events_table} WHERE originator_version = 1 "
                "AND originator_id = ANY(?)",
                [list(originator_ids)],
            )

    def root_at(self, size: int) -> bytes:
        """The root of the first ``size`` leaves, from the edge of that tree read in one
        query (``tree_edge``)."""
        return root_at(TreeEdge(self.nodes, self.prefix, size), size)


class _LockedView(PostgresView):
    """The log as the write transaction holding the table lock sees it: its size is
    counted as the transaction appends, not asked again (nobody else can append)."""

    known_size = 0

    def size(self) -> int:
        return self.known_size


class LockedLog:
    """The appends of one write transaction that holds the table lock (``COPY_EVENTS``)."""

    def __init__(self, recorder: Any, cursor: Any, first: list[Any]) -> None:
        """Run the statements ``first`` (taking the lock), then read the log's ends (its
        size and last notification id), all in one round trip: the statements run in
        order, so the ends are read once the lock is held."""
        self.cursor = cursor
        self.copy_events, self.copy_nodes, self.number_leaves, ends = recorder.page_sql
        self.id_type = recorder.datastore.originator_id_type
        self.view = _LockedView(*recorder.view_arguments(cursor))
        cursor.execute(SQL("; ").join([*first, ends]))
        while cursor.nextset():  # on to the rows of the last statement
            pass
        self.view.known_size, self.last_id = (int(n) for n in cursor.fetchone())
        self.edge = TreeEdge(self.view.nodes, recorder.prefix, self.view.known_size)
        self.before: LogEnd | None = None
        """The log when the lock was taken, once an append needs it (``written``)."""
        self.kept: list[tuple[int, bytes]] | None = []
        """The events appended, while they are few enough to keep (``KEPT_EVENTS``)."""

    def append(self, rows: Sequence[NewRow], leaves: Sequence[bytes]) -> None:
        """Insert events with their leaf hashes; extend the tree."""
        if len(leaves) != len(rows):
            raise ProgrammingError("one Merkle leaf hash is needed per stored event")
        if not rows:
            return
        size = self.view.known_size
        if self.before is None:  # the edge is still the one read with the lock
            self.before = LogEnd(self.last_id, size, root_at(self.edge, size))
        new_size = append_leaves(self.edge, size, leaves)
        with self.cursor.copy(self.copy_events) as copy:
            copy.set_types([self.id_type, "int8", "text", "bytea"])
            for row in rows:
                copy.write_row(row)
        with self.cursor.copy(self.copy_nodes) as copy:
            copy.set_types(["int4", "int8", "bytea"])
            for node in self.edge.moved_to(new_size):
                copy.write_row(node)
        self.cursor.execute(self.number_leaves, (size, self.last_id, self.last_id))
        count, first_id, self.last_id = self.cursor.fetchone()
        if count != len(rows):
            raise ProgrammingError(
                f"{len(rows)} events were copied in but {count} new ones are in the table"
            )
        self.view.known_size = new_size
        self._keep(rows, first_id)

    def _keep(self, rows: Sequence[NewRow], first_id: int) -> None:
        """Keep the (notification id, state) of rows just numbered from ``first_id``: the
        sequence handed their ids out in copy order, one apart unless it skipped some
        (then, or past ``KEPT_EVENTS``, nothing is kept: the model reads the store)."""
        kept = self.kept
        if kept is None:
            return
        if self.last_id - first_id + 1 != len(rows) or len(kept) + len(rows) > KEPT_EVENTS:
            self.kept = None
            return
        kept += zip(range(first_id, self.last_id + 1), [row[3] for row in rows], strict=True)

    def written(self) -> Written | None:
        """The write as committed (``Written``), or None when nothing was appended or too
        much to keep. Call once the last append is done: the edge is the log's end then."""
        if not self.kept or self.before is None:
            return None
        size = self.view.known_size
        return Written(self.before, LogEnd(self.last_id, size, root_at(self.edge, size)), self.kept)
