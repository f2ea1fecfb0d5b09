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
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

from incident_ledger.ledger.errors import BadInputError, StoreError


def require_folder(folder: Path) -> None:
    """Refuse a folder that does not exist (or is a file)."""
    if not folder.exists():
        raise BadInputError(f"directory {folder} does not exist")
    if not folder.is_dir():
        raise BadInputError(f"{folder} is not a directory")


def output_file(path: str, kept: Mapping[Path, str] | None = None) -> Path:
    """The path of a file to write, checked: its folder exists, it is not a folder, and
    what is there, if anything, is a regular file (``replaceable``) and none of ``kept``."""
    target = Path(path)
    require_folder(target.parent)
    if target.is_dir():
        raise BadInputError(f"{path} is a directory: give a file name")
    replaceable(target, kept or {})
    return target


def replaceable(target: Path, kept: Mapping[Path, str]) -> None:
    """Refuse to write over what is at ``target`` unless it is a regular file other than
    the files in ``kept`` (the ledger's own, by what each is: its store, its read model,
    its keys). A file is written through a temporary file renamed over it, so a link,
    a pipe or a device there would be replaced, not written to: each is refused."""
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


def _same_file(one: Path, other: Path) -> bool:
    """Whether two paths name one file (a hard link too); False if either is missing."""
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


def output_folder(path: str) -> Path:
    """The path of a folder to write files into, checked: its parent exists and it is
    not a file (whether it may already hold files is for the writer to say)."""
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


def write_file(path: Path, write: Callable[[Path], None]) -> int:
    """Have ``write`` write a file at a temporary path beside ``path``, renamed over it
    when complete: a failed write leaves what was there. Returns its size in bytes."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        write(temporary)
        size = temporary.stat().st_size
        os.replace(temporary, path)
    except BaseException as error:  # any failure, an interrupt too: leave nothing behind
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise StoreError(f"cannot write {path}: {error.strerror or error}") from None
        raise
    return size
