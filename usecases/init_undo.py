"""What ``ledger init`` creates, so that an init that fails after creating the store —
a key that cannot be written, a read-only folder, a disk error mid-way — removes what it
created, and only that: a store, read model or key that was there before it stays."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from incident_ledger.ledger.stores.location import StoreLocation
from incident_ledger.projections.model_files import SIDE_FILES, remove_model_files

if TYPE_CHECKING:  # psycopg and the store library load only for a PostgreSQL store
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.stores.pg_schema import Relations


@dataclass(frozen=True)
class Before:
    """What was at a ledger's location before ``init`` created anything."""

    location: StoreLocation
    store: bool
    """Whether a SQLite store's file was there (on PostgreSQL: always; see ``relations``)."""
    relations: Relations
    """A PostgreSQL store's schema as it was (``pg_schema.Relations``)."""
    views: bool
    key: bool

    @classmethod
    def look(cls, location: StoreLocation) -> Before:
        """What is at ``location`` now."""
        relations: Relations = None
        if location.is_postgres:
            from incident_ledger.ledger.application import Ledger  # PostgreSQL's alone
            from incident_ledger.ledger.stores.pg_schema import schema_relations

            ledger = Ledger(location.event_store_env(create=False))
            try:
                relations = schema_relations(_datastore(ledger))
            finally:
                ledger.close()
        path = location.sqlite_path
        return cls(
            location,
            path is None or present(path),
            relations,
            present(location.views_path),
            present(location.key_path),
        )

    def undo(self) -> None:
        """Remove what was created since: the key file, the read model, the store."""
        location = self.location
        if not self.key:
            location.key_path.unlink(missing_ok=True)
        if not self.views:
            remove_model_files(location.views_path)
        if location.is_postgres:
            from incident_ledger.ledger.application import Ledger  # PostgreSQL's alone
            from incident_ledger.ledger.stores.pg_schema import drop_created

            ledger = Ledger(location.event_store_env(create=False))
            try:
                drop_created(_datastore(ledger), self.relations)
            finally:
                ledger.close()
        elif not self.store and location.sqlite_path is not None:
            for side in ("", *SIDE_FILES):  # the file, and those SQLite keeps beside it
                path = location.sqlite_path
                path.with_name(path.name + side).unlink(missing_ok=True)


@contextmanager
def undone_on_failure(location: StoreLocation) -> Iterator[None]:
    """Remove what was created at ``location`` within, if it fails (``Before.undo``); the
    failure is raised as it was, whether or not all of it could be removed."""
    before = Before.look(location)
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            before.undo()
        raise


def _datastore(ledger: Ledger) -> object:
    return ledger.recorder.datastore  # type: ignore[attr-defined]


def present(path: Path) -> bool:
    """Whether anything (a file, a folder, a dangling link) has that name."""
    return path.exists() or path.is_symlink()
