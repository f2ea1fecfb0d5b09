"""An opened ledger: its event store, its read model bound to it, and its key.

Every use case opens the ledger named by ``--db`` through ``open_workspace``
and, to read, brings the read model up to date (``read_model``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import NotFoundError, StoreError
from incident_ledger.ledger.keyfiles import read_key_file
from incident_ledger.ledger.stores.location import StoreLocation, locate
from incident_ledger.ledger.times import parse_instant, utc_now
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.views import Views
from incident_ledger.usecases.outputs import require_folder

if TYPE_CHECKING:
    pass


Progress = Callable[[int, int], None]
"""Reports (done, total)."""


@dataclass
class Workspace:
    """An opened ledger: the event store, its read model and their projector."""

    location: StoreLocation
    ledger: Ledger
    views: Views
    projector: Projector

    def refresh(self, progress: Progress | None = None) -> int:
        """Bring the read model up to date with the event store."""
        return self.projector.catch_up(progress=progress)


@contextmanager
def open_workspace(
    db: str | None,
    *,
    create: bool = False,
    clock: Callable[[], datetime] = utc_now,
    views_path: Path | None = None,
) -> Iterator[Workspace]:
    """Open the ledger at ``db``; it must exist unless ``create`` is true."""
    location = locate(db)
    if location.sqlite_path is not None and not create and not location.sqlite_path.exists():
        raise NotFoundError(f"no ledger at {location.sqlite_path}: run 'ledger init' first")
    if location.sqlite_path is not None and create:
        require_folder(location.sqlite_path.parent)
    ledger = Ledger(location.event_store_env(create=create), clock=clock)
    try:
        if location.is_postgres and not create:
            _require_initialised(ledger, location)
        views = Views(views_path or location.views_path)
        try:
            views.ensure_schema()
            yield Workspace(location, ledger, views, Projector(ledger, views))
        finally:
            views.close()
    finally:
        ledger.close()


def _require_initialised(ledger: Ledger, location: StoreLocation) -> None:
    from eventsourcing.persistence import PersistenceError

    try:
        ledger.recorder.max_notification_id()
    except PersistenceError as error:
        if "does not exist" in str(error):
            raise NotFoundError(f"no ledger at {location.shown}: run 'ledger init' first") from None
        raise StoreError(f"cannot read the event store: {error}") from None


@contextmanager
def read_model(db: str | None, incident: str | None = None) -> Iterator[sqlite3.Connection]:
    """The read model of the ledger at ``db``, caught up with its events, for queries
    about ``incident`` (None: about every incident). Refused (``StoreError``) when an
    event such a query needs could not be projected (``Views.require_projected``)."""
    with open_workspace(db) as ws:
        ws.refresh()
        ws.views.require_projected(incident)
        ws.views.map_for_queries()
        yield ws.views.connection


def query_instant(text: str | None) -> datetime | None:
    """A query time from the command line: a date means the end of that UTC day."""
    return parse_instant(text, end_of_day=True) if text else None


@dataclass(frozen=True)
class SigningKey:
    """The ledger's Ed25519 key: signer (secret), verifier (public) and origin (its name)."""

    signer: str
    verifier: str
    origin: str


def signing_key(location: StoreLocation) -> SigningKey:
    """Read the ledger's signing key file."""
    return read_signing_key(location.key_path)


def read_signing_key(path: Path) -> SigningKey:
    """Read a signing key file: missing is not found; unreadable or not a key (random
    bytes, an empty file, a folder) is a store failure, said in one line."""
    from incident_ledger.ledger.signednote import NoteError, verifier_from_signer

    missing = f"no signing key at {path}: run 'ledger init' first"
    signer = read_key_file(path, "the signing key", StoreError, missing)
    try:
        verifier = verifier_from_signer(signer)
    except NoteError as error:
        raise StoreError(f"the signing key {path} is unusable: {error}") from None
    return SigningKey(signer, verifier, verifier.split("+", 1)[0])
