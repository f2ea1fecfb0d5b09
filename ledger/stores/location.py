"""Where a ledger lives: an embedded SQLite file, or PostgreSQL for teams.

The ``--db`` value is either a file path (default ``./ledger.db``) or a
``postgresql://user@host:port/dbname`` URL. The read model is always a local
SQLite file, named by ``LEDGER_VIEWS`` when set; otherwise beside the store for
SQLite (``ledger.db`` → ``ledger.views.db``, the store's own), or
``./ledger.views.db`` for PostgreSQL. The signing key is beside a SQLite store, or
named by ``LEDGER_KEY`` for PostgreSQL (default ``./ledger.key``); a SQLite store made
with a key named by ``LEDGER_KEY`` (``ledger --key FILE init``) keeps a copy of that key
beside it, as its own. A PostgreSQL URL
may name a schema, ``postgresql://user@host:5432/db?schema=desk``; the password
comes from the URL, ``PGPASSWORD`` or the pgpass file, and is never printed.

A SQLite store that this process cannot write (a read-only file, folder or
mount) is opened read-only, so that reading it never tries to write.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse

from incident_ledger.ledger.errors import BadInputError

DEFAULT_DB = "ledger.db"
KEY_VARIABLE = "LEDGER_KEY"
"""The environment variable naming the acting member's key file (the global ``--key``);
read through ``named_key`` only."""
_RECORDERS = "incident_ledger.ledger.stores."
"""Where the recorders live, as the library resolves their topics."""


@dataclass(frozen=True)
class StoreLocation:
    """A parsed ``--db`` value."""

    url: str
    is_postgres: bool
    sqlite_path: Path | None
    views_path: Path
    key_path: Path
    views_are_own: bool = False
    """Whether the read model is the store's own file, beside it (a SQLite store without
    ``LEDGER_VIEWS``): no other store's model can be there, so it may be rebuilt freely."""

    @property
    def shown(self) -> str:
        """The location as it may be printed: any password in a URL is masked."""
        parsed = urlparse(self.url)
        if not self.is_postgres or parsed.password is None:
            return self.url
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
        return parsed._replace(netloc=netloc).geturl()

    def event_store_env(self, *, create: bool = True) -> dict[str, str]:
        """The eventsourcing environment that opens this store.

        Tables are created only when asked (``ledger init``): many writers opening
        a PostgreSQL store at once must not all run its DDL concurrently.
        """
        env = {"ORIGINATOR_ID_TYPE": "text", "CREATE_TABLE": "y" if create else "n"}
        if self.sqlite_path is not None:
            name = str(self.sqlite_path)
            if not create and self.read_only:
                name = read_only_uri(self.sqlite_path)
            env |= {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "APPLICATION_RECORDER_TOPIC": _RECORDERS + "sqlite:SQLiteLedgerRecorder",
                "SQLITE_DBNAME": name,
                "SQLITE_LOCK_TIMEOUT": "30",
            }
            return env
        parsed = urlparse(self.url)
        schema = parse_qs(parsed.query).get("schema", [""])[0]
        env |= {
            "PERSISTENCE_MODULE": _RECORDERS + "pg_connections:KeptPostgresFactory",
            "APPLICATION_RECORDER_TOPIC": _RECORDERS + "postgres:PostgresLedgerRecorder",
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_LOCK_TIMEOUT": "30",
            "POSTGRES_POOL_SIZE": "1",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_DBNAME": parsed.path.lstrip("/") or "ledger",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or os.environ.get("PGUSER", "postgres")),
            "POSTGRES_PASSWORD": unquote(parsed.password or os.environ.get("PGPASSWORD", "")),
        }
        return env

    @property
    def read_only(self) -> bool:
        """Whether the store is a SQLite file this process cannot write (see ``writable``)."""
        path = self.sqlite_path
        return path is not None and path.exists() and not writable(path)


def writable(path: Path) -> bool:
    """Whether this process may write a SQLite database file: the file itself and its
    folder, where SQLite keeps its write-ahead log beside it.

    ``os.access`` answers for this process's own rights: root may write a file whose
    permission bits say read-only, and then does; an immutable file (``chattr +i``)
    or a read-only mount stops root too, and ``os.access`` says so.
    """
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def store_file(db_name: str) -> Path:
    """The file a SQLite store's name (``SQLITE_DBNAME``) opens: a path, or a ``file:`` URI
    as ``read_only_uri`` makes one."""
    if db_name.startswith("file:"):
        return Path(unquote(urlparse(db_name).path))
    return Path(db_name)


def read_only_uri(path: Path) -> str:
    """A SQLite URI that opens ``path`` for reading only, never writing beside it.

    ``mode=ro`` reads a write-ahead-log database as any reader does, through its
    ``-shm`` index, which it must be able to open or create. In a read-only folder
    without one, only ``immutable=1`` opens it, and then ignores the log: right when
    there is no log to ignore (a store closed cleanly has none), so that case alone
    takes it; a store left with an unmerged log there cannot be read, and the error
    says so when it is opened.
    """
    uri = "file:" + quote(str(path.resolve()))
    probe = None
    try:
        probe = sqlite3.connect(uri + "?mode=ro", uri=True)
        probe.execute("PRAGMA schema_version").fetchone()
        return uri + "?mode=ro"
    except sqlite3.Error:
        wal = path.with_name(path.name + "-wal")
        return uri + ("?mode=ro" if wal.exists() and wal.stat().st_size else "?immutable=1")
    finally:
        if probe is not None:
            probe.close()


def named_key() -> Path | None:
    """The key file ``LEDGER_KEY`` (the global ``--key``) names, None when it names none.

    One rule for every reader: blanks around the name are not part of it (a value read
    from a file may end in a newline), a blank value names no key, and a relative path
    is taken from the folder the command runs in, as ``--db``'s is.
    """
    named = os.environ.get(KEY_VARIABLE, "").strip()
    return Path(named) if named else None


def locate(db: str | None) -> StoreLocation:
    """Parse a ``--db`` value into where the events, read model and key live."""
    db = (db or DEFAULT_DB).strip()
    if not db:
        raise BadInputError("{db} must not be empty", arguments=("db",))
    views = os.environ.get("LEDGER_VIEWS", "").strip()
    if db.startswith(("postgresql://", "postgres://")):
        key = named_key() or Path("ledger.key")
        return StoreLocation(db, True, None, Path(views or "ledger.views.db"), key)
    if "://" in db:
        raise BadInputError(
            f"{{db}} '{db}' is neither a file path nor a postgresql:// URL", arguments=("db",)
        )
    path = Path(db)
    stem = path.with_suffix("") if path.suffix == ".db" else path
    return StoreLocation(
        db,
        False,
        path,
        Path(views) if views else stem.with_name(stem.name + ".views.db"),
        stem.with_name(stem.name + ".key"),
        views_are_own=not views,
    )
