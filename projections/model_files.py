"""The read model's file, as a rebuild sees it: what is at its path, and removing it.

A rebuild (``ledger replay``) makes the model afresh rather than trusting what is
there; these say whether what is there may be replaced, and remove it with the
files SQLite keeps beside it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from incident_ledger.ledger.errors import StoreError
from incident_ledger.ledger.stores.location import read_only_uri
from incident_ledger.projections.views import STORE_TABLES, is_model_name, tracked

SIDE_FILES = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database."""
BUILD_SUFFIX = ".rebuilding"
"""A rebuild writes the new model beside the old one under this suffix (``build_path``)."""


def build_path(path: Path) -> Path:
    """Where a rebuild of the model at ``path`` writes the new one, emptied first (one a
    killed rebuild left there is of no use). Renamed over the model once complete
    (``swap_in``), it is never seen half-written, and the old model answers until then."""
    build = path.with_name(path.name + BUILD_SUFFIX)
    remove_model_files(build)
    return build


def rebuild_lock(path: Path) -> Path:
    """The lock file a rebuild of the model at ``path`` holds while it runs: a second
    rebuild at once would empty the first's ``build_path`` under it and race it to the
    rename, which could put a half-built model in place."""
    return path.with_name(path.name + BUILD_SUFFIX + ".lock")


def swap_in(build: Path, path: Path) -> None:
    """Put a complete rebuilt model (closed, so without a ``-wal`` of its own) in place of
    the one at ``path`` by one rename: there is a model at ``path`` at every moment, and
    the old one stays if the rename fails. Only the old model's side files go first: a
    ``-wal`` left beside the new file would be read as its own."""
    for suffix in SIDE_FILES:
        remove_model_files(path.with_name(path.name + suffix), side_files=False)
    try:
        os.replace(build, path)
    except OSError as error:
        raise StoreError(
            f"cannot put the rebuilt read model in place at {path}: {error.strerror or error}"
        ) from None


def remove_model_files(path: Path, *, side_files: bool = True) -> None:
    """Delete a read model and (unless told not to) the files SQLite keeps beside it (a
    rebuild starts afresh)."""
    for suffix in ("", *SIDE_FILES) if side_files else ("",):
        try:
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        except IsADirectoryError:
            raise StoreError(f"the read model {path} is a directory") from None
        except OSError as error:
            raise StoreError(
                f"cannot remove the read model {path}: {error.strerror or error}"
            ) from None


def model_kind(path: Path) -> str:
    """What a file is, to a rebuild about to replace it: ``absent``, ``empty``,
    ``directory``, ``other`` (not a SQLite database), ``damaged`` (a SQLite database that
    cannot be read), ``store`` (an event store), ``foreign`` (a SQLite database holding
    tables a read model does not have) or ``model`` (a read model, or a half-written one:
    nothing but a read model's tables)."""
    if not path.exists():
        return "absent"
    if path.is_dir():
        return "directory"
    if not path.is_file():
        return "other"  # a pipe (whose opening would wait for a writer) or a device
    try:
        with path.open("rb") as handle:
            header = handle.read(16)
    except OSError:
        return "other"
    if not header:
        return "empty"
    if header != b"SQLite format 3\x00":
        return "other"
    try:
        connection = sqlite3.connect(read_only_uri(path), uri=True)
        try:
            names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            if STORE_TABLES & names:
                return "store"
            ours = all(map(is_model_name, names)) and tracked(connection, names)
            return "model" if ours else "foreign"
        finally:
            connection.close()
    except sqlite3.Error:
        return "damaged"
