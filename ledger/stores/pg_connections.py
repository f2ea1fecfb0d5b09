"""How the PostgreSQL recorder holds its pooled connections: opened before the first is
asked for, transactions begun at repeatable read in one round trip, and a recorder built
without the library's row-type look-up it never uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import OperationalError
from eventsourcing.postgres import PostgresDatastore


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
