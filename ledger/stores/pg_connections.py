"""How the PostgreSQL recorder holds its pooled connections: opened before the first is
asked for, kept open for the next ledger the process opens on the same store,
transactions begun at repeatable read in one round trip, and a recorder built without
the library's row-type look-up it never uses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import OperationalError
from eventsourcing.postgres import PostgresDatastore, PostgresFactory

from incident_ledger.ledger import forking


def open_pool(datastore: PostgresDatastore) -> None:
    """Open the pool's connections before the first is asked for: otherwise that request
    finds none ready, and the pool opens one more for it (a server process more for every
    command). Only here: waiting at every request, as the library does when given an
    open timeout, would wait for a connection held by the caller itself."""
    try:
        datastore.pool.open(wait=True, timeout=datastore.pool.timeout)
    except psycopg.OperationalError as error:  # the library's own translation
        raise OperationalError(str(error)) from error


@contextmanager
def repeatable_read(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Begin the transactions of a pooled connection at the repeatable-read level meanwhile:
    ``BEGIN ISOLATION LEVEL REPEATABLE READ`` is one round trip, where a ``BEGIN`` and
    a ``SET TRANSACTION`` were two."""
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        yield
    finally:
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            conn.isolation_level = None


@contextmanager
def row_type_later(datastore: PostgresDatastore) -> Iterator[None]:
    """Build a recorder without looking up the library's row type meanwhile.

    The library looks up its composite type of a stored event (a catalogue query in a
    transaction: three round trips) whenever it builds a recorder, for the one path that
    uses it: its ``insert_events``, which sends a page as an array of that type. Pages are
    copied in here (``COPY_EVENTS``), so every command paid that look-up for nothing;
    ``PostgresLedgerRecorder.insert_events`` makes it when that path is taken.
    """
    setattr(datastore, "register_type_adapters", lambda: None)  # noqa: B010  # this instance's
    try:
        yield
    finally:
        delattr(datastore, "register_type_adapters")


_SETTINGS = (
    "POSTGRES_DBNAME",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_SCHEMA",
    "POSTGRES_LOCK_TIMEOUT",
    "POSTGRES_POOL_SIZE",
    "POSTGRES_CONNECT_TIMEOUT",
)
_kept: list[tuple[tuple[object, ...], PostgresDatastore]] = []
"""The one datastore this process keeps open for its next ledger, with what it was made
for: the last one a ledger closed, used by none now."""


class KeptPostgresFactory(PostgresFactory):
    """The library's factory, whose datastore (its pool and the pool's one connection)
    outlives the ledger that opened it, for the next ledger this process opens on the same
    store: a long-lived writer appends file after file on one connection, where each
    opening paid a connection (a server process started, its caches cold, a handshake,
    the session's settings) and the pool's threads.

    A process keeps one idle datastore, the one its last ledger closed (that ledger's
    closing closes the one kept before), so it never holds more than one idle connection;
    a datastore in use is never closed by another ledger. A kept connection is checked as
    it is taken up again (one empty statement; a broken one is replaced), and never crosses
    a fork (the process id is part of what it was made for)."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.made_for = (os.getpid(), *(self.env.get(name) for name in _SETTINGS))
        self._released = False  # closed once: its datastore kept, or closed
        if _kept and _kept[0][0] == self.made_for and not _kept[0][1].pool.closed:
            self.datastore.close()  # never opened: nothing to close but the object
            self.datastore = _kept.pop()[1]
            self.datastore.psycopg_type_adapters.clear()  # the schema may be another now
            _check(self.datastore)

    def close(self) -> None:
        """Keep the datastore open for the next ledger, in place of the one kept. The
        application closes its factory more than once (again as it is collected): only
        the first counts, since by then another ledger may have taken up the datastore."""
        if self._released:
            return
        self._released = True
        if self.datastore.pool.closed or os.getpid() != self.made_for[0]:
            super().close()
            return
        if _kept:
            _kept.pop()[1].close()
        _kept.append((self.made_for, self.datastore))


def _release_kept() -> None:
    """Close the datastore kept idle: its pool's threads would keep this process from
    forking a helper (``forking.two_cores``); the next ledger opens a connection anew."""
    while _kept:
        _kept.pop()[1].close()


forking.IDLE_THREADS.append(_release_kept)


def _check(datastore: PostgresDatastore) -> None:
    """Check a kept connection with an empty statement: a broken one (the server restarted,
    say) is dropped by the pool, which makes another, as ``open_pool`` then waits for.
    (The pool's own ``check`` would also grow the pool by one connection each time.)"""
    try:
        with datastore.pool.connection() as conn:
            conn.execute("")
    except psycopg.Error:
        pass  # the pool knows the connection is broken: it replaces it
