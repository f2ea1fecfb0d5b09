"""Bring a table the read model keeps beside its rows up to the model's position.

Stored positions (``in_force``) and the sources' counts (``source_tally``) are kept
lazily: the first read after the model moved brings them up, in a write transaction of
its own. Where that cannot be done here (inside a caller's read transaction, a model
this process cannot write: read-only, a full disk, or one whose write lock another
connection holds at that moment) the caller answers from the claims instead, as it would
without the kept table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

Behind = TypeVar("Behind")


def model_position(db: sqlite3.Connection) -> int:
    """The position of the read model the kept tables derive from (``Views.position``,
    read on the connection alone)."""
    row = db.execute("SELECT position FROM tracking WHERE projection = 'understanding'")
    return int(row.fetchone()[0])


def brought_up(
    db: sqlite3.Connection,
    behind: Callable[[], Behind | None],
    update: Callable[[Behind], None],
) -> bool:
    """Whether the kept table is current after ``update(behind())`` (``behind()``: None
    when it is current; read again once the write lock is held, as another process may
    have brought it up meanwhile); False where it cannot be written here."""
    if behind() is None:
        return True
    if db.in_transaction:
        return False  # a caller's read transaction: never write inside it
    try:
        _begin_unless_busy(db)
        late = behind()
        if late is not None:
            update(late)
        db.execute("COMMIT")
    except sqlite3.OperationalError:
        if db.in_transaction:
            db.execute("ROLLBACK")
        return False
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return True


def _begin_unless_busy(db: sqlite3.Connection) -> None:
    """Take the write lock now, or raise ``OperationalError`` at once when another
    connection holds it (an import mid-page, another read keeping its own): a read keeps
    what it worked out for the next question, and never waits for a writer to do so
    (the connection's busy timeout is 30 s; the writer would then wait on the read)."""
    waited = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute("PRAGMA busy_timeout = 0")
    try:
        db.execute("BEGIN IMMEDIATE")
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(waited)}")


@contextmanager
def unmapped(db: sqlite3.Connection) -> Iterator[None]:
    """Read without the connection's memory map (``Views.map_for_queries``) while inside:
    for a pass over the whole model, whose mapped pages all count in the process's resident
    memory (the sources' first count after a rebuild of the hot ledger peaked at 372 MB,
    of which about 320 MB were the model's pages; read through the page cache, 49 MB)."""
    size = int(db.execute("PRAGMA mmap_size").fetchone()[0])
    if not size:
        yield
        return
    db.execute("PRAGMA mmap_size=0")
    try:
        yield
    finally:
        db.execute(f"PRAGMA mmap_size={size}")
