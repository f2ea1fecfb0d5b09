"""The SQLite recorder: events, their Merkle log and checkpoints in one database file.

Each event row carries its own leaf hash (a ``leaf_hash`` column added to the
library's events table), and leaf ``i`` is the event of notification id
``i + 1``: SQLite gives a rowid table's new rows the next rowids, and every
append first checks that the log and the events table are the same length, in
the transaction that then adds to both. So the leaves cost no index of their
own; ``merkle_nodes`` holds the levels above them that are stored (8, 16, …,
``merkle.TILE_HEIGHT``). PostgreSQL keeps leaves and their pairing in tables
(``recorders_postgres``): its sequences skip the numbers of rolled-back inserts.
The log as a read transaction sees it is ``sqlite_log``'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    DatabaseError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from incident_ledger.ledger.errors import StoreError
from incident_ledger.ledger.incident_chains import Concerns
from incident_ledger.ledger.merkle import TILE_HEIGHT, append_leaves
from incident_ledger.ledger.stores.chains import ChainSession, ChainTable, Plain
from incident_ledger.ledger.stores.location import store_file
from incident_ledger.ledger.stores.recorder import (
    CHAINS_TABLE,
    INFO_COLUMNS,
    INFO_TABLE,
    STORE_ID,
    Appender,
    KeepsStoreId,
    LogView,
    NewRow,
    id_to_keep,
    leaf_hashes,
)
from incident_ledger.ledger.stores.sqlite_file import check_store_file, damaged, damaged_store
from incident_ledger.ledger.stores.sqlite_log import (
    EVENTS_TABLE,
    SQLiteLogView,
    SQLiteNodeStore,
    current_layout,
    has_leaf_hashes,
    has_table,
)

IMPORT_CACHE_KIB = -65_536
"""SQLite page cache of a write transaction, in KiB (negative: a size, not a page count)."""
DEFAULT_CACHE_KIB = -2_000
"""SQLite's default page cache."""
OPEN_FAILED = "it cannot be opened"
"""What a damaged store could not do when it fails as it is opened."""


class SQLiteLedgerRecorder(KeepsStoreId, SQLiteApplicationRecorder):
    """SQLite events plus their Merkle log and signed checkpoints, in one database."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = EVENTS_TABLE):
        super().__init__(datastore, events_table_name)
        self._file_checked = datastore.pool.is_sqlite_memory_mode
        self.chains = ChainTable("?", "")
        self.plain: Plain | None = None
        """How a stored state becomes its leaf (None: as it is), once ``upgrade`` is told."""
        self._told = False

    def _check_file(self, *, create: bool) -> None:
        """Refuse a file that is not a ledger store before the library's first connection
        to it (``stores.sqlite_file``), once."""
        if not self._file_checked:
            check_store_file(store_file(self.datastore.pool.db_name), create=create)
            self._file_checked = True

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS merkle_nodes ("
            "level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, "
            "PRIMARY KEY (level, idx)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS checkpoints ("
            "size INTEGER PRIMARY KEY, note TEXT NOT NULL, created_at TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {INFO_TABLE} {INFO_COLUMNS}",
        ]

    def create_table(self) -> None:
        """Create the tables, the events table with its leaf hash column, and the store's id."""
        self._check_file(create=True)
        with self._opening(OPEN_FAILED):
            super().create_table()
        self._bring_up_to_date()
        self._keep_store_id()

    def _kept_id(self) -> tuple[str | None, bytes | None]:
        with self.datastore.transaction(commit=False) as c:
            try:
                c.execute(f"SELECT value FROM {INFO_TABLE} WHERE name = ?", (STORE_ID,))
                row = c.fetchone()
            except sqlite3.OperationalError:  # no such table: an earlier version's store
                row = None
            if row is not None:
                return str(row[0]), None
            c.execute(f"SELECT leaf_hash FROM {self.events_table_name} WHERE rowid = 1")
            first = c.fetchone()
        return None, None if first is None else bytes(first[0])

    def _keep_store_id(self) -> str:
        with self.datastore.transaction(commit=True) as c:
            c.execute("ROLLBACK")
            c.execute("BEGIN IMMEDIATE")
            c.execute(f"CREATE TABLE IF NOT EXISTS {INFO_TABLE} {INFO_COLUMNS}")
            c.execute(f"SELECT leaf_hash FROM {self.events_table_name} WHERE rowid = 1")
            first = c.fetchone()
            candidate = id_to_keep(None if first is None else first[0])
            c.execute(f"INSERT OR IGNORE INTO {INFO_TABLE} VALUES (?, ?)", (STORE_ID, candidate))
            c.execute(f"SELECT value FROM {INFO_TABLE} WHERE name = ?", (STORE_ID,))
            return str(c.fetchone()[0])

    def upgrade(self, plain: Plain | None = None) -> None:
        """Bring the events table and Merkle log of an earlier version to this layout.

        Earlier versions kept each leaf hash as a level-0 row of ``merkle_nodes``,
        every level of the tree, and a ``merkle_leaves`` table pairing leaves with
        notification ids. The pairing is checked to be leaf ``i`` ↔ id ``i + 1``
        (else the store is refused: it was tampered with), the hashes move into the
        events, and the rows no longer read are dropped. A store without the chains
        of incidents gets them computed from its events (``ChainTable.fill``). All in
        one transaction; costs one query when there is nothing to do.
        """
        self.plain, self._told = plain, True
        self._bring_up_to_date()

    def _bring_up_to_date(self) -> None:
        self._check_file(create=False)
        with self._opening(OPEN_FAILED), self.datastore.transaction(commit=False) as c:
            if self._is_current(c):
                return
        try:
            self._upgrade()
        except OperationalError as error:
            raise OperationalError(
                "this ledger was written by an earlier version and is upgraded when first "
                f"opened, which needs write access ({error})"
            ) from None

    def _upgrade(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("ROLLBACK")
            c.execute("BEGIN IMMEDIATE")
            if self._is_current(c):  # another process upgraded it meanwhile
                return
            if not self._has_leaf_hashes(c):
                self._move_leaf_hashes(c)
            if not has_table(c, CHAINS_TABLE):
                self._add_chains(c)

    def _move_leaf_hashes(self, c: Any) -> None:
        table = self.events_table_name
        if has_table(c, "merkle_leaves"):
            c.execute("SELECT COUNT(*) FROM merkle_leaves WHERE notification_id != idx + 1")
            if c.fetchone()[0]:
                raise ProgrammingError(
                    "this ledger's Merkle leaf table (written by an earlier version) does "
                    "not follow its events: it was tampered with; verify it with that version"
                )
            c.execute("DROP TABLE merkle_leaves")
        c.execute(f"ALTER TABLE {table} ADD COLUMN leaf_hash BLOB")
        c.execute(
            f"UPDATE {table} SET leaf_hash = (SELECT hash FROM merkle_nodes "
            f"WHERE level = 0 AND idx = {table}.rowid - 1)"
        )
        c.execute(f"DELETE FROM merkle_nodes WHERE level % {TILE_HEIGHT} != 0 OR level = 0")

    def _add_chains(self, c: Any) -> None:
        """Create the chains' table and compute the chains of the events stored; left to
        the application's ``upgrade`` while it has not said how states are read."""
        c.execute(f"SELECT 1 FROM {self.events_table_name} LIMIT 1")
        if not self._told and c.fetchone() is not None:
            return
        c.execute(
            f"CREATE TABLE {CHAINS_TABLE} (incident TEXT PRIMARY KEY, size INTEGER NOT NULL, "
            "head BLOB NOT NULL) WITHOUT ROWID"
        )
        self.chains.fill(c, self._view(c), self.plain)

    def _is_current(self, c: Any) -> bool:
        return current_layout(c, self.events_table_name)

    def _has_leaf_hashes(self, c: Any) -> bool:
        return has_leaf_hashes(c, self.events_table_name)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        leaves = leaf_hashes(self, stored_events, kwargs)
        rows = [
            (_stored_id(s.originator_id), s.originator_version, s.topic, s.state)
            for s in stored_events
        ]
        return self._insert_rows(c, rows, leaves)

    def _insert_rows(
        self,
        c: SQLiteCursor,
        rows: Sequence[NewRow],
        leaves: Sequence[bytes],
        chains: ChainSession | None = None,
        known: tuple[Concerns, dict[str, str]] | None = None,
    ) -> list[int]:
        """Insert events with their leaf hashes and extend the tree and the chains of
        incidents (those of the transaction's ``chains``, written when it ends, or else
        written now); their notification ids."""
        if len(leaves) != len(rows):
            raise ProgrammingError("one Merkle leaf hash is needed per stored event")
        # One executemany instead of the library's statement per event with RETURNING.
        # In a rowid table each insert takes the largest rowid plus one, and the
        # write lock is held, so the new notification ids are the next consecutive
        # ones; the count is checked afterwards all the same.
        table = self.events_table_name
        c.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}")
        last = int(c.fetchone()[0])
        size = self._size(c)
        if size != last:  # leaf i must be the event of notification id i + 1
            raise ProgrammingError(
                f"the Merkle log has {size} leaves but the events table {last} events; "
                "run verify to find where they part"
            )
        c.executemany(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state, leaf_hash) "
            "VALUES (?, ?, ?, ?, ?)",
            map(tuple.__add__, rows, zip(leaves)),
        )
        c.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}")
        if int(c.fetchone()[0]) != last + len(rows):
            raise ProgrammingError("the events table gave non-consecutive notification ids")
        append_leaves(SQLiteNodeStore(c, table), size, leaves)
        session = chains or self.chains.session(c, self._view(c), self.plain)
        session.extend([row[3] for row in rows], leaves, known)
        if chains is None:
            session.flush()
        return list(range(last + 1, last + 1 + len(rows)))

    @contextmanager
    def appending(self) -> Iterator[Appender]:
        """One write transaction for a large import, holding the write lock from the start.

        Reads made through its view see the store as this transaction does, so
        checks made before a page of events is appended cannot be overtaken by
        another writer.
        """
        with self._opening(), self.datastore.transaction(commit=True) as c:
            # The library opens a deferred transaction; take the write lock now.
            c.execute("ROLLBACK")
            c.execute("BEGIN IMMEDIATE")
            view = self._view(c)
            chains = self.chains.session(c, view, self.plain)

            def append(rows: Sequence[NewRow], leaves: Sequence[bytes]) -> None:
                self._insert_rows(c, rows, leaves, chains)

            def append_known(
                rows: Sequence[NewRow],
                leaves: Sequence[bytes],
                known: tuple[Concerns, dict[str, str]],
            ) -> None:
                self._insert_rows(c, rows, leaves, chains, known)

            # A large import touches the id index all over: give its pages room while
            # it runs (measured: 5% faster at 100k), then the connection's usual cache.
            c.execute(f"PRAGMA cache_size={IMPORT_CACHE_KIB}")
            try:
                yield Appender(view, append, append_known=append_known)
                chains.flush()
            finally:
                c.execute(f"PRAGMA cache_size={DEFAULT_CACHE_KIB}")

    def _size(self, c: Any) -> int:
        c.execute(SQLiteLogView.size_query(self.events_table_name))
        row = c.fetchone()
        return 0 if row is None else int(row[0])

    @contextmanager
    def reading(self) -> Iterator[LogView]:
        """One read transaction: a consistent view of events, tree and checkpoints.

        A store that fails to read raises ``StoreError`` (one that says so when the file
        is damaged), whatever was reading it.
        """
        try:
            with self.datastore.transaction(commit=False) as c:
                yield self._view(c)
        except (PersistenceError, sqlite3.Error) as error:
            if damaged(error):
                raise damaged_store(store_file(self.datastore.pool.db_name), error) from None
            raise StoreError(f"cannot read the event store: {error}") from None

    def log_size(self) -> int:
        """How many leaves the log holds now."""
        with self.reading() as view:
            return view.size()

    @contextmanager
    def _opening(self, unread: str = "") -> Iterator[None]:
        """Opening and writing a store: a damaged file is said to be damaged (and what
        could not be read, ``unread``), and SQLite's own errors become the library's (it
        translates those of a transaction, not those of the connection it opens first,
        where a damaged file may fail)."""
        try:
            yield
        except (PersistenceError, sqlite3.Error) as error:
            if damaged(error):
                raise damaged_store(
                    store_file(self.datastore.pool.db_name), error, unread
                ) from None
            if isinstance(error, sqlite3.Error):
                raise DatabaseError(error) from error
            raise

    def _view(self, c: Any) -> LogView:
        """The log as one cursor (one transaction) sees it."""
        return SQLiteLogView(c, self.events_table_name, self.convert_originator_id)

    def add_checkpoint(self, size: int, note: str, created_at: str) -> None:
        """Store a signed checkpoint (one per tree size)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "INSERT OR IGNORE INTO checkpoints VALUES (?, ?, ?)", (size, note, created_at)
            )

    def replace_checkpoint(self, size: int, old: str, note: str, created_at: str) -> None:
        """Replace the stored checkpoint of a size, if it is still ``old``, by ``note``."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "UPDATE checkpoints SET note = ?, created_at = ? WHERE size = ? AND note = ?",
                (note, created_at, size, old),
            )


def _stored_id(originator_id: Any) -> Any:
    # As the library stores them: UUIDs as hex text, string ids as they are.
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id
