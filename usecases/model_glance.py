"""Whether a read model is current, found without opening its store when a glance at it
can tell, and opening a read model.

A read command of a SQLite ledger whose read model is up to date needs of the store only
its id, its log's root where the model stands and its last position: one read
transaction with sqlite3 alone (``sqlite_log.glance``). Opening the store as the event
store loads the store library and the application for that. Anything a glance cannot
tell is left to ``Workspace.refresh``, which opens the store and decides as it always has.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from incident_ledger.ledger.errors import BadInputError, StoreError
from incident_ledger.ledger.stores.location import StoreLocation, writable
from incident_ledger.ledger.stores.sqlite_file import is_database
from incident_ledger.ledger.stores.sqlite_log import glance
from incident_ledger.projections.binding import store_problem
from incident_ledger.projections.model_files import SIDE_FILES
from incident_ledger.projections.views import Views, refuse_unless_model, store_refused


def up_to_date(position: int, last: Callable[[], int]) -> bool:
    """Whether a read model at ``position`` has every event of a store whose last position
    is ``last()`` (asked only of a model past 0: one at 0 is bound as it catches up)."""
    return bool(position) and position >= last()


def open_views(path: Path, *, named: bool = False) -> Views:
    """Open a read model: for reading only when this process cannot write it (a read-only
    file, folder or mount), where it must already exist. One ``named`` by the user
    (``LEDGER_VIEWS``) is never an event store's file: a read model written there would
    mix into the record. (The model beside a store is not looked at so: a millisecond of
    every read.)"""
    if named:
        refuse_store_files(path)
    if path.exists():
        try:
            return Views(path, read_only=not writable(path))
        except StoreError:
            if named and path.is_file() and not is_database(path):  # someone's own file
                raise BadInputError(
                    f"{path} is not a SQLite database: a read model cannot be written there "
                    "(set LEDGER_VIEWS to a file of its own)"
                ) from None
            raise
    require_folder(path)
    if not os.access(path.parent, os.W_OK):
        raise StoreError(
            f"there is no read model at {path}, and one cannot be made there (read-only): "
            "set LEDGER_VIEWS to a file that can be written"
        )
    return Views(path)


def refuse_store_files(path: Path) -> None:
    """Raise ``BadInputError`` when ``path`` is an event store's file, or one SQLite keeps
    beside a database (its ``-wal``, ``-shm``, ``-journal``): a read model written there
    would mix into the record, or tear it (a model made at a store's ``-wal`` left the
    store unreadable); or a SQLite file of something else (a model written beside someone's
    own tables)."""
    for suffix in SIDE_FILES:
        base = path.with_name(path.name.removesuffix(suffix))
        if path.name.endswith(suffix) and base.is_file():
            raise store_refused(path, base)
    if path.is_file():
        refuse_unless_model(path)


def require_folder(path: Path) -> None:
    """Raise ``StoreError`` when the folder a read model at ``path`` goes in is not there."""
    if not path.parent.is_dir():
        raise StoreError(f"cannot make the read model {path}: folder {path.parent} does not exist")


def current_model(location: StoreLocation) -> Views | None:
    """The read model of a SQLite store, open, when a glance at the store
    (``sqlite_log.glance``) finds it this store's own and up to date, as ``refresh``
    would: then the event store is not opened as one, which loads the store library and
    the application (an eighth of ``ledger state``'s CPU on the sample). None when opening it
    must decide (a PostgreSQL store, a model to create, rebuild or bring up to date, or
    anything a glance cannot tell), which it then does as if this had not looked."""
    store = location.sqlite_path
    if store is None or not store.is_file() or not location.views_path.is_file():
        return None
    try:
        views = open_views(location.views_path, named=not location.views_are_own)
    except StoreError:
        return None
    current = False
    try:
        current = _glanced_current(views, location)
    except sqlite3.Error:
        pass
    finally:
        if not current:
            views.close()
    return views if current else None


def _glanced_current(views: Views, location: StoreLocation) -> bool:
    """Whether a glance at the store finds ``views`` its own and up to date."""
    binding = views.binding() if views.schema_current() else None
    if binding is None or not binding.position or location.sqlite_path is None:
        return False
    seen = glance(location.sqlite_path, binding.position, read_only=location.read_only)
    return (
        seen is not None
        and store_problem(binding, seen.store_id, lambda: (seen.size, seen.root)) is None
        and up_to_date(binding.position, lambda: seen.last)
    )
