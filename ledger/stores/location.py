"""Where a ledger lives: an embedded SQLite file, or PostgreSQL for teams.

The ``--db`` value is either a file path (default ``./ledger.db``) or a
``postgresql://user@host:port/dbname`` URL. The read model is always a local
SQLite file: beside the store for SQLite (``ledger.db`` → ``ledger.views.db``),
or named by ``LEDGER_VIEWS`` for PostgreSQL (default ``./ledger.views.db``), as is
the signing key (``LEDGER_KEY``, default ``./ledger.key``). A PostgreSQL URL may
name a schema, ``postgresql://user@host:5432/db?schema=desk``; the password comes
from the URL, ``PGPASSWORD`` or the pgpass file, and is never printed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from incident_ledger.ledger.errors import BadInputError

DEFAULT_DB = "ledger.db"
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
            env |= {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "APPLICATION_RECORDER_TOPIC": _RECORDERS + "sqlite:SQLiteLedgerRecorder",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
            return env
        parsed = urlparse(self.url)
        schema = parse_qs(parsed.query).get("schema", [""])[0]
        env |= {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "APPLICATION_RECORDER_TOPIC": _RECORDERS + "postgres:PostgresLedgerRecorder",
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_LOCK_TIMEOUT": "30",
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_DBNAME": parsed.path.lstrip("/") or "ledger",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or os.environ.get("PGUSER", "postgres")),
            "POSTGRES_PASSWORD": unquote(parsed.password or os.environ.get("PGPASSWORD", "")),
        }
        return env


def locate(db: str | None) -> StoreLocation:
    """Parse a ``--db`` value into where the events, read model and key live."""
    db = (db or DEFAULT_DB).strip()
    if not db:
        raise BadInputError("--db must not be empty")
    if db.startswith(("postgresql://", "postgres://")):
        views = Path(os.environ.get("LEDGER_VIEWS", "ledger.views.db"))
        key = Path(os.environ.get("LEDGER_KEY", "ledger.key"))
        return StoreLocation(db, True, None, views, key)
    if "://" in db:
        raise BadInputError(f"--db '{db}' is neither a file path nor a postgresql:// URL")
    path = Path(db)
    stem = path.with_suffix("") if path.suffix == ".db" else path
    return StoreLocation(
        db,
        False,
        path,
        stem.with_name(stem.name + ".views.db"),
        stem.with_name(stem.name + ".key"),
    )
