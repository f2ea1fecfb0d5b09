"""An opened ledger: its event store, its read model bound to it, and its key.

Every use case opens the ledger named by ``--db`` through ``open_workspace``
(or ``open_ledger`` when it needs no read model) and, to read, brings the read
model up to date (``read_model``) once it has checked that the model is this
store's own (``projections.binding``).

A read model that is not the store's own is never answered from. The model
beside a SQLite store (``ledger.db`` → ``ledger.views.db``, no ``LEDGER_VIEWS``)
can only ever be that store's, so it is rebuilt on the spot, unless it is a symbolic
link (to another ledger's model, perhaps); any other (a PostgreSQL store's, or one
named by ``LEDGER_VIEWS``) may be another store's model, which a rebuild would
destroy, so the command stops and says so.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from incident_ledger.ledger.errors import (
    BadInputError,
    ConflictError,
    NotFoundError,
    StoreError,
)
from incident_ledger.ledger.keyfiles import read_key_file
from incident_ledger.ledger.stores.location import (
    StoreLocation,
    locate,
    named_key,
)
from incident_ledger.ledger.times import parse_instant, utc_now, zone_or_none
from incident_ledger.projections.binding import binding_problem, follows, snapshot_of
from incident_ledger.projections.views import Views
from incident_ledger.usecases.init_undo import present
from incident_ledger.usecases.model_glance import current_model, open_views, up_to_date
from incident_ledger.usecases.outputs import require_folder

if TYPE_CHECKING:
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.batch_signing import Actor
    from incident_ledger.projections.projector import Projector

Progress = Callable[[int, int], None]
"""Reports (done, total)."""

USE_OWN_MODEL = (
    "set LEDGER_VIEWS to a file of this ledger's own (or unset it); 'ledger replay' would "
    "rebuild this one for this ledger, in place of what it holds"
)
"""The way out when a model may be another store's live model: a rebuild would destroy it,
so it is said last and for what it does."""
USE_SNAPSHOT = "read it with sqlite3 or Datasette, or set LEDGER_VIEWS to a model that follows it"
UNLINK = (
    "it is a link to another file, which a rebuild here would overwrite: remove the link, "
    "and this ledger makes its own model in its place"
)
"""The way out when the model beside the store is a symbolic link to a model not its own."""


@dataclass
class Workspace:
    """An opened ledger: the event store, its read model and their projector."""

    location: StoreLocation
    ledger: Ledger
    views: Views

    @cached_property
    def projector(self) -> Projector:
        """The projector, loaded (with the event classes it handles) when there are events
        to project: a read of a model already up to date never needs it."""
        from incident_ledger.projections.projector import Projector

        return Projector(self.ledger, self.views)

    def refresh(self, progress: Progress | None = None) -> int:
        """Bring the read model up to date with the event store, once it is known to be
        this store's (``ensure_bound``). A read-only model is not brought up to date:
        it answers only when it already is.

        After a write of this process, a model that stood where the write began follows
        it from what the write kept (``binding.follows``), asking the store nothing."""
        written = self.ledger.take_written()
        if (
            written is not None
            and not self.views.read_only
            and follows(self.ledger, self.views, written)
        ):
            return self.projector.catch_up(progress=progress, written=written)
        self.ensure_bound()
        if self.views.read_only:
            self._require_current()
            return 0
        if up_to_date(self.views.position(), self._last):
            return 0
        return self.projector.catch_up(progress=progress)

    def ensure_bound(self) -> None:
        """Make sure the read model is this store's: rebuild the store's own model when it
        is not; refuse any other (see the module's docstring)."""
        problem = binding_problem(self.ledger, self.views)
        if problem is None:
            return
        own = self.location.views_are_own and self.views.path == self.location.views_path
        linked = own and self.views.path.is_symlink()  # perhaps to another ledger's model
        if own and not linked and not self.views.read_only:
            self.views.reset()  # the store's own model, and disposable: rebuilt below
            return
        snapshot = snapshot_of(self.views.binding().store_id) is not None
        advice = USE_SNAPSHOT if snapshot else UNLINK if linked else USE_OWN_MODEL
        raise StoreError(f"the read model {self.views.path} {problem}; {advice}")

    def _last(self) -> int:
        """The store's last position."""
        from eventsourcing.persistence import PersistenceError  # loaded with the ledger

        try:
            return self.ledger.recorder.max_notification_id() or 0
        except PersistenceError as error:
            raise StoreError(f"cannot read the event store: {error}") from None

    def _require_current(self) -> None:
        position = self.views.position()
        last = self._last()
        if position < last:
            raise StoreError(
                f"the read model {self.views.path} is read-only and behind the store "
                f"({position} of {last} events): set LEDGER_VIEWS to a file that can be "
                "written, where it is brought up to date"
            )


@contextmanager
def open_ledger(
    db: str | None,
    *,
    create: bool = False,
    clock: Callable[[], datetime] = utc_now,
    write: bool = False,
) -> Iterator[tuple[StoreLocation, Ledger]]:
    """Open the event store at ``db``; it must exist unless ``create`` is true. ``write``:
    the command will write to it, which a read-only store refuses before anything else."""
    location = locate(db)
    if location.sqlite_path is not None and not create and not location.sqlite_path.exists():
        raise NotFoundError(f"no ledger at {location.sqlite_path}: run 'ledger init' first")
    if location.sqlite_path is not None and create:
        require_folder(location.sqlite_path.parent)
    if (write or create) and location.read_only:
        raise StoreError(f"the ledger at {location.shown} is read-only: nothing was written")
    from incident_ledger.ledger.application import Ledger  # a current model's read needs none

    ledger = Ledger(location.event_store_env(create=create), clock=clock)
    try:
        if location.is_postgres and not create:
            _require_initialised(ledger, location)
        if write:
            ledger.actor = acting_key(location, ledger)
        yield location, ledger
    finally:
        ledger.close()


@contextmanager
def open_workspace(
    db: str | None,
    *,
    create: bool = False,
    clock: Callable[[], datetime] = utc_now,
    views_path: Path | None = None,
    write: bool = False,
) -> Iterator[Workspace]:
    """Open the ledger at ``db`` and its read model (``views_path`` instead, if given)."""
    with open_ledger(db, create=create, clock=clock, write=write) as (location, ledger):
        views = open_views(
            views_path or location.views_path,
            named=views_path is not None or not location.views_are_own,
        )
        try:
            views.ensure_schema()
            yield Workspace(location, ledger, views)
        finally:
            views.close()


def require_new_ledger(ledger: Ledger, location: StoreLocation) -> None:
    """Refuse a ledger that holds events: a restore writes into a new one only."""
    if ledger.recorder.max_notification_id():
        raise ConflictError(f"{location.shown} already holds events: restore into a new ledger")


def _require_initialised(ledger: Ledger, location: StoreLocation) -> None:
    from eventsourcing.persistence import PersistenceError

    if getattr(ledger.recorder, "holds_events", None):
        return  # the catalogue said so as the store opened: no need to ask again
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
    with _caught_up(db) as views:
        views.require_projected(incident)
        views.map_for_queries()
        yield views.connection


@contextmanager
def _caught_up(db: str | None) -> Iterator[Views]:
    """The read model of the ledger at ``db``, brought up to date (``Workspace.refresh``)
    unless ``current_model`` finds it current without opening the store."""
    views = current_model(locate(db))
    if views is None:
        with open_workspace(db) as ws:
            ws.refresh()
            yield ws.views
        return
    try:
        yield views
    finally:
        views.close()


def unmapped(conn: sqlite3.Connection) -> None:
    """Read the model through SQLite's own cache from now on rather than its memory map
    (``read_model`` maps it): a question about a hot incident touches pages all over the
    model, and every mapped page it touched stays in the process's resident memory —
    ``state`` of an incident of 200,000 claims in a model of a million: 358 MB mapped,
    92 MB not, for 4% more CPU; a fact's history of 25,000 claims: 220 MB more mapped."""
    conn.execute("PRAGMA mmap_size=0")


def query_instant(text: str | None, zone: str | None = None) -> datetime | None:
    """A query time from the command line: a date means the end of that day in ``zone``
    (an incident's time zone; UTC when None), a date-time with an offset that instant."""
    if not text:
        return None
    return parse_instant(text, end_of_day=True, zone=zone_or_none(zone))


@dataclass(frozen=True)
class SigningKey:
    """The ledger's Ed25519 key: signer (secret), verifier (public) and origin (its name)."""

    signer: str
    verifier: str
    origin: str


def ledger_files(location: StoreLocation) -> dict[Path, str]:
    """The ledger's own files, by what each is, which no output may replace: its SQLite
    store and read model with the files SQLite keeps beside each, its signing key and
    the key file ``LEDGER_KEY`` names."""
    from incident_ledger.projections.model_files import SIDE_FILES

    files: dict[Path, str] = {}
    for path, what in ((location.sqlite_path, "event store"), (location.views_path, "read model")):
        if path is not None:
            files[path] = what
            files.update({path.with_name(path.name + side): what for side in SIDE_FILES})
    files[location.key_path] = (
        "signing key"
        if present(location.key_path)
        else "signing key file (read when no key is named; none is there now)"
    )
    named = named_key()
    if named is not None:
        files[named] = "member key"
    return files


def acting_key(location: StoreLocation, ledger: Ledger | None = None) -> Actor:
    """Who writes: the holder of the key file ``LEDGER_KEY`` names, else of the ledger's own
    signing key (its first admin's); ``ledger``, when given, names its key if it is not
    at hand (``held_key``)."""
    from incident_ledger.ledger.batch_signing import Actor

    key, own = held_key(location, ledger)
    if not own and location.key_path.exists():
        own = key.verifier == read_signing_key(location.key_path).verifier
    return Actor(key.signer, key.verifier, holds_ledger_key=own)


def held_key(location: StoreLocation, ledger: Ledger | None = None) -> tuple[SigningKey, bool]:
    """The key the command acts with (``named_key``, else the ledger's key file), and
    whether it was read as the ledger's key file (a PostgreSQL ledger's is the key named).
    A key named that is not there is bad input; the ledger's key file not there, when the
    ledger is given, is said with the key its log records (``ledger_key_said``)."""
    named = named_key()
    if named is not None and not named.exists():
        raise BadInputError(
            f"no key at {named}: {{key}} (or LEDGER_KEY) names the key the command acts "
            "with; 'ledger keygen {out} FILE' makes one, or name the one you hold",
            arguments=("key", "out"),
        )
    if named is None and ledger is not None and not location.key_path.exists():
        raise NotFoundError(
            f"no signing key at {location.key_path}: {ledger_key_said(ledger)}; {POINT_AT_KEY}",
            arguments=("key",),
        )
    if named is None or named == location.key_path:
        return read_signing_key(location.key_path), True
    return read_member_key(named), False


POINT_AT_KEY = "point {key} (or LEDGER_KEY) at its file"
"""What to do when the key at hand is not the ledger's (after ``ledger_key_said``)."""


def ledger_key_said(ledger: Ledger) -> str:
    """The ledger's own key as the refusals name it: as its log records it
    (``batch_signing.recorded_key``), with the member who holds it and its public key."""
    from incident_ledger.ledger.batch_signing import recorded_key

    with ledger.audit.reading() as view:
        key = recorded_key(ledger, view)
    if key is None:
        return (
            "this ledger records no key of its own yet (made before the desk, never "
            "checkpointed): the key it was made with is its key"
        )
    if key.holder is None:
        return f"this ledger's key is {key.name} (the key that signs its checkpoints)"
    return f"this ledger's key is {key.name} (member {key.holder}'s: {key.verifier})"


def ledger_signer(ledger: Ledger, location: StoreLocation, action: str, signed: str) -> SigningKey:
    """The key that signs a checkpoint: the one the command acts with, which must be the
    ledger's own as its log records it (``batch_signing.require_ledger_key``: refused
    otherwise, before anything is written, as ``action``, what it would sign ``signed``).
    A member's key file never falls back on the ledger's key file beside a SQLite store:
    whoever may read that folder is not the ledger."""
    from incident_ledger.ledger.batch_signing import require_ledger_key

    key, _ = held_key(location, ledger)
    with ledger.audit.reading() as view:
        require_ledger_key(ledger, view, key.verifier, action, signed)
    return key


def read_member_key(path: Path) -> SigningKey:
    """Read a member's key file (``keygen``): as the ledger's signing key is read."""
    from incident_ledger.ledger.signednote import NoteError, verifier_from_signer

    signer = read_key_file(path, "the member key", BadInputError, f"no member key at {path}")
    try:
        verifier = verifier_from_signer(signer)
    except NoteError as error:
        raise BadInputError(f"the member key {path} is unusable: {error}") from None
    return SigningKey(signer, verifier, verifier.split("+", 1)[0])


def signing_key(location: StoreLocation) -> SigningKey:
    """Read the ledger's signing key file."""
    return read_signing_key(location.key_path)


def read_signing_key(path: Path) -> SigningKey:
    """Read a signing key file: missing is not found; unreadable or not a key (random
    bytes, an empty file, a folder) is a store failure, said in one line."""
    from incident_ledger.ledger.signednote import NoteError, verifier_from_signer

    missing = f"no signing key at {path}: run 'ledger init' first"
    if path.is_symlink() and not path.exists():  # (``init`` keeps a key there: not this one)
        missing = (
            f"the signing key {path} is a link to {os.readlink(path)}, which does not exist: "
            "remove the link, or make it point at the ledger's key"
        )
    signer = read_key_file(path, "the signing key", StoreError, missing)
    try:
        verifier = verifier_from_signer(signer)
    except NoteError as error:
        raise StoreError(f"the signing key {path} is unusable: {error}") from None
    return SigningKey(signer, verifier, verifier.split("+", 1)[0])
