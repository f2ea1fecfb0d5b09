"""Files the commands write where the user says: checked before any work is done, and
written whole or not at all.

A place that cannot be written to because of how it was named — a folder that does
not exist, a folder where a file is wanted — is bad input (exit 2), found before the
ledger is opened; a write the system refuses (no permission, a full disk) is a store
failure (exit 1), and leaves no part-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from incident_ledger.ledger.errors import BadInputError, StoreError
from incident_ledger.ledger.stores.sqlite_file import is_database

Made = TypeVar("Made")


def require_folder(folder: Path) -> None:
    """Refuse a folder that does not exist (or is a file)."""
    if not folder.exists():
        raise BadInputError(f"directory {folder} does not exist")
    if not folder.is_dir():
        raise BadInputError(f"{folder} is not a directory")


def output_file(path: str, kept: Mapping[Path, str] | None = None, *, model: bool = False) -> Path:
    """The path of a file to write, checked: its folder exists, it is not a folder, and
    what is there, if anything, is a regular file (``replaceable``) and none of ``kept``;
    ``model``: the output is a read model (``replay --out``), which may replace one and
    looks at what a database there holds itself."""
    target = file_named(path)
    require_folder(target.parent)
    if target.is_dir():
        raise BadInputError(f"{path} is a directory: give a file name")
    replaceable(target, kept or {}, model=model)
    return target


def file_named(path: str) -> Path:
    """The file a name given for an output names: refused when it is empty or names a
    folder (``out/``, ``out/.``), which ``Path`` would take for the file ``out``."""
    if not path.strip():
        raise BadInputError("the output's file name is empty: give a file name")
    if path.endswith(("/", os.sep)) or os.path.basename(path) in (".", ".."):
        raise BadInputError(f"{path} names a directory: give a file name")
    return Path(path)


def replaceable(target: Path, kept: Mapping[Path, str], *, model: bool = False) -> None:
    """Refuse to write over what is at ``target`` unless it is a regular file other than
    the files in ``kept`` (the ledger's own, by what each is: its store, its read model,
    its keys) that this process may write. A file is written through a temporary file
    renamed over it, so a link, a pipe or a device there would be replaced, not written
    to: each is refused; and so would a file its owner made read-only, which the rename
    does not ask about: it is refused as the system refuses writing it (exit 1). No
    output but a read model (``model``) is a SQLite database: one there (another ledger's
    store) is never replaced."""
    try:
        mode: int | None = target.lstat().st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise BadInputError(
            f"{target} is not a regular file (a link, a pipe or a device): "
            "it would be replaced, not written to"
        )
    real = os.path.realpath(target)
    for path, what in kept.items():
        if real == os.path.realpath(path) or (mode is not None and _same_file(target, path)):
            raise BadInputError(f"{target} is the ledger's {what}: give another file")
    if mode is not None and not model and is_database(target):
        raise BadInputError(
            f"{target} is a SQLite database (an event store, a read model or another "
            "application's): no output replaces one; give another file"
        )
    if mode is not None and not os.access(target, os.W_OK):
        raise StoreError(f"cannot write {target}: it is read-only")


def _same_file(one: Path, other: Path) -> bool:
    """Whether two paths name one file (a hard link too); False if either is missing."""
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


def output_folder(path: str) -> Path:
    """The path of a folder to write files into, checked: its parent exists and it is
    not a file (whether it may already hold files is for the writer to say)."""
    if not path.strip():
        raise BadInputError("the output's folder name is empty: give a folder")
    target = Path(path)
    require_folder(target.parent)
    if target.exists() and not target.is_dir():
        raise BadInputError(f"{path} is a file: give a folder")
    return target


def write_output(path: Path, text: str) -> int:
    """Write a text file (UTF-8, line ends as given) through a temporary file beside it,
    renamed over it when complete: a failed write leaves what was there. Returns bytes."""
    data = text.encode("utf-8")

    def write(temporary: Path) -> None:
        temporary.write_bytes(data)

    return write_file(path, write)


def write_bytes(path: Path, data: bytes, name: str | None = None) -> int:
    """Write ``data`` as ``write_file`` writes (``name``: what the error calls the file)."""

    def write(temporary: Path) -> None:
        temporary.write_bytes(data)

    return write_file(path, write, name)


def write_file(path: Path, write: Callable[[Path], None], name: str | None = None) -> int:
    """Have ``write`` write a file at a temporary path beside ``path``, renamed over it
    when complete: a failed write leaves what was there. A file replaced keeps its
    permissions (and its owner, where this process may give it), as one written in place
    would. Returns its size in bytes; ``name``: what an error calls the file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        write(temporary)
        size = temporary.stat().st_size
        _keep_access(path, temporary)
        os.replace(temporary, path)
    except BaseException as error:  # any failure, an interrupt too: leave nothing behind
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            said = name or str(path)
            raise StoreError(f"cannot write {said}: {error.strerror or error}") from None
        raise
    return size


def _keep_access(path: Path, temporary: Path) -> None:
    """Give ``temporary`` the mode of the file at ``path`` it is to replace, and its owner
    when this process may (a process run by root would otherwise leave it root's)."""
    try:
        held = path.stat()
    except FileNotFoundError:
        return
    os.chmod(temporary, stat.S_IMODE(held.st_mode))
    if hasattr(os, "chown"):
        with contextlib.suppress(PermissionError):
            os.chown(temporary, held.st_uid, held.st_gid)


def write_folder(folder: Path, write: Callable[[Path], Made], name: str | None = None) -> Made:
    """Have ``write`` fill a temporary folder, then give its files to ``folder``: a failed
    write leaves nothing behind, and the folder as it was. A new folder is the temporary
    one renamed; an (empty) folder given is kept — its permissions, a link to it, a mount
    there, the shell sitting in it — and the temporary one is made inside it, its files
    moved up when whole. Returns what ``write`` returns; ``name``: what an error calls
    the folder."""
    kept = folder.is_dir()
    part = f".{folder.name or 'bundle'}.{os.getpid()}.part"
    temporary = folder / part if kept else folder.with_name(part)
    try:
        made = write(temporary)
        if kept:
            for made_file in sorted(temporary.iterdir()):
                os.replace(made_file, folder / made_file.name)
            temporary.rmdir()
        else:
            os.replace(temporary, folder)
    except BaseException as error:  # any failure, an interrupt too: leave nothing behind
        shutil.rmtree(temporary, ignore_errors=True)
        if isinstance(error, OSError):
            said = name or str(folder)
            raise StoreError(f"cannot write {said}: {error.strerror or error}") from None
        raise
    return made
