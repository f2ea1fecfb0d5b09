"""The PostgreSQL recorder: events, their Merkle log and checkpoints in one database.

Loaded by topic only when ``--db`` is a ``postgresql://`` URL, so that psycopg
stays an optional dependency (``pip install 'incident-ledger[postgres]'``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import (
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from incident_ledger.ledger.errors import StoreError
from incident_ledger.ledger.merkle import append_leaves
from incident_ledger.ledger.stores.chains import ChainSession, ChainTable, Plain
from incident_ledger.ledger.stores.pg_connections import open_pool, repeatable_read, row_type_later
from incident_ledger.ledger.stores.pg_log import (
    COPY_EVENTS,
    COPY_NODES,
    NUMBER_LEAVES,
    LockedLog,
    PostgresView,
)
from incident_ledger.ledger.stores.recorder import (
    CHAINS_TABLE,
    INFO_COLUMNS,
    INFO_TABLE,
    STORE_ID,
    Appender,
    CursorNodeStore,
    KeepsStoreId,
    LogView,
    NewRow,
    id_to_keep,
    leaf_hashes,
)
from incident_ledger.ledger.stores.written import Written


def _same(value: Any) -> Any:
    return value


class PostgresLedgerRecorder(KeepsStoreId, PostgresApplicationRecorder):
    """PostgreSQL events plus their Merkle log and checkpoints, in one database.

    The library serializes writers with an EXCLUSIVE lock on the events table
    inside the insert transaction; the leaves are appended after the inserts, in
    that same locked transaction, so the tree order is the commit order.
    """

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        open_pool(datastore)
        with row_type_later(datastore):
            super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(datastore.schema)
        self.prefix = f'"{datastore.schema}".'
        self.chains = ChainTable("%s", self.prefix)
        self.plain: Plain | None = None
        """How a stored state becomes its leaf (None: as it is), once ``upgrade`` is told."""
        self._told = False
        self.last_write: Written | None = None
        """The last write transaction this recorder committed (``appending``)."""
        self.holds_events: bool | None = None
        """Whether the events table was there when the store opened (None: not asked)."""
        self._notify = SQL("NOTIFY {0}").format(Identifier(self.channel_name))
        names = {
            "events": Identifier(datastore.schema, events_table_name),
            "leaves": Identifier(datastore.schema, "merkle_leaves"),
            "nodes": Identifier(datastore.schema, "merkle_nodes"),
        }
        self.page_sql = [SQL(q).format(**names) for q in (COPY_EVENTS, COPY_NODES, NUMBER_LEAVES)]
        self.page_sql.append(
            SQL(
                "SELECT (SELECT COALESCE(MAX(idx) + 1, 0) FROM {leaves}), "
                "(SELECT COALESCE(MAX(notification_id), 0) FROM {events})"
            ).format(**names)
        )
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.merkle_nodes (level integer NOT NULL, "
                "idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx))"
            ).format(schema),
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.merkle_leaves (idx bigint PRIMARY KEY, "
                "notification_id bigint NOT NULL UNIQUE)"
            ).format(schema),
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.checkpoints (size bigint PRIMARY KEY, "
                "note text NOT NULL, created_at text NOT NULL)"
            ).format(schema),
            SQL("CREATE TABLE IF NOT EXISTS {0}.{1} " + INFO_COLUMNS).format(
                schema, Identifier(INFO_TABLE)
            ),
        ]

    def create_table(self) -> None:
        """Create the schema first: the library creates its types in it before its tables."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(Identifier(self.datastore.schema))
            )
        super().create_table()
        self._keep_store_id()
        self._add_chains()

    def _kept_id(self) -> tuple[str | None, bytes | None]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (self._info_table(),))
            row = curs.fetchone()
            if row is not None and row["found"]:
                curs.execute(f"SELECT value FROM {self._info_table()} WHERE name = %s", (STORE_ID,))
                kept = curs.fetchone()
                if kept is not None:
                    return str(kept["value"]), None
            curs.execute(f"SELECT hash FROM {self.prefix}merkle_nodes WHERE level = 0 AND idx = 0")
            first = curs.fetchone()
        return None, None if first is None else bytes(first["hash"])

    def _info_table(self) -> str:
        return f"{self.prefix}{INFO_TABLE}"

    def _keep_store_id(self) -> str:
        table = self._info_table()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(f"CREATE TABLE IF NOT EXISTS {table} {INFO_COLUMNS}")
            curs.execute(f"SELECT hash FROM {self.prefix}merkle_nodes WHERE level = 0 AND idx = 0")
            first = curs.fetchone()
            candidate = id_to_keep(None if first is None else first["hash"])
            curs.execute(
                f"INSERT INTO {table} VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                (STORE_ID, candidate),
            )
            curs.execute(f"SELECT value FROM {table} WHERE name = %s", (STORE_ID,))
            kept = curs.fetchone()
            if kept is None:
                raise ProgrammingError("the store's id was not kept")
            return str(kept["value"])

    def upgrade(self, plain: Plain | None = None) -> None:
        """Add the chains of incidents to a store written before them, computed from its
        events, in one transaction that holds the writers' table lock (one query when
        there is nothing to do). A store written by an earlier version also holds the tree
        levels no longer written (``merkle.TILE_HEIGHT``), never read."""
        self.plain, self._told = plain, True
        self._add_chains()

    def _add_chains(self) -> None:
        if self._look_at_tables():
            return  # up to date, or not a ledger yet (which opening it says)
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            cursor = curs.connection.cursor(row_factory=tuple_row)
            if self._has_chains(cursor):  # another process added them meanwhile
                return
            cursor.execute(f"SELECT 1 FROM {self.prefix}{self.events_table_name} LIMIT 1")
            if not self._told and cursor.fetchone() is not None:
                return  # left to the application's upgrade, which says how states are read
            cursor.execute(
                f"CREATE TABLE {self.prefix}{CHAINS_TABLE} (incident text PRIMARY KEY, "
                "size bigint NOT NULL, head bytea NOT NULL)"
            )
            self.chains.fill(cursor, self._view(cursor), self.plain)

    def _look_at_tables(self) -> bool:
        """Whether the store needs no chains added: they are there, or it holds no ledger
        yet. Asked of the catalogue without a transaction (one round trip at every
        opening, where a transaction of its own made three); the store's id is read
        with it when the store keeps one, where ``store_id`` would read it later in a
        transaction of its own."""
        names = [CHAINS_TABLE, self.events_table_name, INFO_TABLE]
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
            c.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s)",
                (self.datastore.schema, names),
            )
            found = {str(row[0]) for row in c.fetchall()}
            self.holds_events = self.events_table_name in found
            if INFO_TABLE in found and self._store_id is None:
                c.execute(f"SELECT value FROM {self._info_table()} WHERE name = %s", (STORE_ID,))
                kept = c.fetchone()
                self._store_id = None if kept is None else str(kept[0])
        return CHAINS_TABLE in found or self.events_table_name not in found

    def _has_chains(self, cursor: Any) -> bool:
        """Whether the chains' table exists."""
        return self._has_table(cursor, CHAINS_TABLE)

    def _has_table(self, cursor: Any, name: str) -> bool:
        """Whether this store's schema has a table of this name (asked of the catalogue, so
        a schema that does not exist is no error)."""
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s)",
            (self.datastore.schema, name),
        )
        return bool(cursor.fetchone()[0])

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert, its row type looked up first (``row_type_later``)."""
        self.datastore.register_type_adapters()
        ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
        return ids

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        leaves = leaf_hashes(self, stored_events, kwargs)
        if notification_ids is None:
            raise ProgrammingError("the events table returned no notification ids")
        cursor = curs.connection.cursor(row_factory=tuple_row)
        cursor.execute(f"SELECT COALESCE(MAX(idx) + 1, 0) FROM {self.prefix}merkle_leaves")
        size = int(cursor.fetchone()[0])
        append_leaves(CursorNodeStore(cursor, "%s", self.prefix), size, leaves)
        cursor.executemany(
            f"INSERT INTO {self.prefix}merkle_leaves VALUES (%s, %s)",
            [(size + i, n) for i, n in enumerate(notification_ids)],
        )
        chains: ChainSession | None = kwargs.get("chain_session")
        session = chains or self.chains.session(cursor, self._view(cursor), self.plain)
        session.extend([event.state for event in stored_events], leaves)
        if chains is None:
            session.flush()
        return notification_ids

    @contextmanager
    def appending(self) -> Iterator[Appender]:
        """One write transaction for a large import, holding the table lock from the start.

        Each ``append`` is three round trips (``pg_log.LockedLog``); the lock,
        its timeout, the library's notification of new events and the read of the log's
        ends go in one when it begins. Once it commits, ``last_write`` says what it wrote
        (``written.Written``; None if it wrote nothing or too much to keep).
        """
        self.last_write = None
        with self.datastore.transaction(commit=True) as curs:
            cursor = curs.connection.cursor(row_factory=tuple_row)
            log = LockedLog(self, cursor, [*self.lock_table_statements, self._notify])
            chains = self.chains.session(cursor, log.view, self.plain)

            def append(rows: Sequence[NewRow], leaves: Sequence[bytes]) -> None:
                log.append(rows, leaves)
                chains.extend([row[3] for row in rows], leaves)

            yield Appender(log.view, append)
            chains.flush()
            written = log.written()
        self.last_write = written

    @contextmanager
    def reading(self) -> Iterator[LogView]:
        """One repeatable-read transaction: a consistent view of events, tree and checkpoints.

        A store that fails to read raises ``StoreError``, whatever was reading it: this
        transaction is psycopg's own, whose errors the library does not translate.
        """
        try:
            with (
                self.datastore.get_connection() as conn,
                repeatable_read(conn),
                conn.transaction(),
                conn.cursor(row_factory=tuple_row) as c,
            ):
                yield self._view(c)
        except (psycopg.Error, PersistenceError) as error:
            raise StoreError(f"cannot read the event store: {error}") from None

    def log_size(self) -> int:
        """How many leaves the log holds now: one statement, outside a transaction (one
        round trip, where ``reading`` makes three)."""
        try:
            with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
                return self._view(c).size()
        except (psycopg.Error, PersistenceError) as error:
            raise StoreError(f"cannot read the event store: {error}") from None

    def _view(self, cursor: Any) -> LogView:
        """The log as one cursor (one transaction, tuple rows) sees it."""
        return PostgresView(*self.view_arguments(cursor))

    def view_arguments(self, cursor: Any) -> tuple[Any, str, str, str, str, Any]:
        """``LogView``'s arguments for one cursor of this store."""
        return (cursor, "%s", self.prefix, self.events_table_name, "notification_id", _same)

    def add_checkpoint(self, size: int, note: str, created_at: str) -> None:
        """Store a signed checkpoint (one per tree size)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {self.prefix}checkpoints VALUES (%s, %s, %s) "
                "ON CONFLICT (size) DO NOTHING",
                (size, note, created_at),
            )

    def replace_checkpoint(self, size: int, old: str, note: str, created_at: str) -> None:
        """Replace the stored checkpoint of a size, if it is still ``old``, by ``note``."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {self.prefix}checkpoints SET note = %s, created_at = %s "
                "WHERE size = %s AND note = %s",
                (note, created_at, size, old),
            )
