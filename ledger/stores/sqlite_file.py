"""Whether a file may be opened as a ledger's SQLite event store, checked before the
store library touches it.

The library's first connection to a file switches it to WAL at once — a write —
and then reads whatever it finds. So what ``--db`` names is looked at first, read
only: a file that is not an SQLite database, another application's database, a
ledger's read model or a store too damaged to list its tables is refused with one
line, and the file is left exactly as it was. ``ledger init`` refuses all of them
(bad input: choose another path); any other command says there is no ledger
there. A database with no table at all is a new, empty store to ``init``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from incident_ledger.ledger.errors import BadInputError, NotFoundError, StoreError

SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""
LEDGER_TABLES = frozenset({"stored_events", "merkle_nodes", "checkpoints"})
"""Tables every ledger store has had, in every version (more may come)."""
_READ_MODEL_TABLES = frozenset({"tracking", "claims"})
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
"""SQLite's error names (and the prefix of their extended names) for a damaged file."""


def is_database(path: Path) -> bool:
    """Whether the file at ``path`` begins as a SQLite database does (False when it cannot
    be read); an empty file is a database to SQLite, but not here."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def check_store_file(path: Path, *, create: bool) -> None:
    """Refuse a file that is not a ledger's store (or, with ``create``, cannot become one).

    A missing file passes: ``init`` creates it, and the other commands say it is
    missing before opening a store. Raises ``BadInputError`` (``create``),
    ``NotFoundError`` (not a ledger) or ``StoreError`` (unreadable or damaged).
    """
    refused = BadInputError if create else NotFoundError
    if path.is_dir():
        raise refused(f"{path} is a folder, not a ledger store")
    if path.exists() and not path.is_file():  # opening a pipe would wait for a writer
        raise refused(f"{path} is not a regular file (a pipe or a device), not a ledger store")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as error:
        raise StoreError(f"cannot read the event store {path}: {error.strerror}") from None
    if not header:
        if create:
            return  # SQLite takes an empty file for an empty database
        raise NotFoundError(f"no ledger at {path} (an empty file): run 'ledger init' first")
    if header != SQLITE_HEADER:
        if create:
            raise BadInputError(
                f"{path} exists and is not an SQLite database: refusing to turn it into a "
                "ledger; choose another path"
            )
        raise NotFoundError(f"{path} is not a ledger: it is not an SQLite database")
    tables = _tables(path)
    if tables is None or tables >= LEDGER_TABLES or (create and not tables):
        return
    if not tables:
        raise NotFoundError(f"no ledger at {path} (an empty database): run 'ledger init' first")
    what = (
        "a ledger's read model, not its event store"
        if tables >= _READ_MODEL_TABLES
        else f"another application's database (tables: {_names(tables)})"
    )
    if create:
        raise BadInputError(f"{path} is {what}: refusing to add a ledger to it")
    raise NotFoundError(f"{path} is not a ledger: it is {what}")


def _tables(path: Path) -> set[str] | None:
    """The names of the database's tables, read through a read-only connection; None when
    the file cannot be opened read-only here (a WAL database in a folder this process may
    not write): the store library then meets and reports the same.

    A WAL database opened read-only gains ``-wal`` and ``-shm`` files that its last
    connection leaves behind: ``--db`` naming a read model by mistake left two files
    beside it. So the tables are first read as the file stands (``immutable``: no lock,
    no side file), which settles the common answers (a ledger, a read model: tables are
    never dropped); anything else is read again the ordinary way, which sees a write
    not yet copied back from the WAL."""
    seen = _read_tables(path, "immutable=1")
    if seen is not None and (seen >= LEDGER_TABLES or seen >= _READ_MODEL_TABLES):
        return seen
    return _read_tables(path, "mode=ro", report=True)


def _read_tables(path: Path, mode: str, *, report: bool = False) -> set[str] | None:
    uri = f"file:{quote(str(path.resolve()))}?{mode}"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row[0]) for row in rows}
    except sqlite3.DatabaseError as error:
        if report and damaged(error):
            raise damaged_store(path, error, "its list of tables cannot be read") from None
        return None
    finally:
        connection.close()


def damaged(error: BaseException) -> bool:
    """Whether an SQLite error (or the driver error behind a library's one) says the file
    is damaged or is not a database at all."""
    cause: BaseException | None = error
    while cause is not None:
        if str(getattr(cause, "sqlite_errorname", "")).startswith(_DAMAGED):
            return True
        cause = cause.__cause__
    return False


def damaged_store(path: Path | str, error: BaseException, unread: str = "") -> StoreError:
    """The error that the store file is damaged, saying what could not be read (when the
    caller does not name it itself)."""
    said = f"{unread}; " if unread else ""
    return StoreError(
        f"the event store {path} is damaged ({error}): {said}restore it from a backup"
    )


def _names(tables: set[str]) -> str:
    shown = sorted(tables)
    return ", ".join(shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
