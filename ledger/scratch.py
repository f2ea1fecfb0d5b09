"""Scratch folders in the temporary directory (``$TMPDIR``), which a process killed
with SIGKILL cannot remove itself: the next command removes them.

Every scratch folder the ledger makes — an import's spool, a rebuild's shard, the
demo's ledger, what ``serve`` lays out — is named ``incident-ledger-<kind>-…`` and
holds a lock file its process keeps locked (``flock``) while it lives. The kernel
releases the lock when the process ends, however it ends, so a folder whose lock
can be taken belongs to no living process (nor to a helper it forked: they share
the lock) and is removed by ``remove_stale``, which every command runs first.
Folders of living processes, other users' and anything else are left alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from incident_ledger.ledger.errors import StoreError

try:
    import fcntl

    _CAN_LOCK = True
except ImportError:  # Windows: nothing is locked, and nothing is ever found stale
    _CAN_LOCK = False

PREFIX = "incident-ledger-"
KINDS = ("import", "rebuild", "demo", "serve")
LOCK = ".owner"
UNLOCKED_GRACE_SECONDS = 60
"""A folder without its lock file is left this long: its process may be between
making the folder and putting its locked lock file in place (a process killed there
leaves a folder without one)."""


class Scratch:
    """A scratch folder owned by this process until ``remove`` (or the end of a ``with``)."""

    def __init__(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown scratch kind {kind!r}")
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-"))
        except OSError as error:
            raise self._refused(error) from None
        # The lock file is locked under another name, then renamed: a lock file another
        # command finds is always locked by its living owner, never one made but not yet
        # locked that it would take for a dead process's.
        making = self.path / f"{LOCK}.new"
        try:
            self._lock: int | None = os.open(making, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            shutil.rmtree(self.path, ignore_errors=True)
            raise self._refused(error) from None
        try:
            _try_lock(self._lock)
            making.rename(self.path / LOCK)
        except OSError as error:
            self.remove()
            raise self._refused(error) from None

    @staticmethod
    def _refused(error: OSError) -> StoreError:
        return StoreError(
            f"cannot make a scratch folder in {tempfile.gettempdir()}: {error.strerror}"
        )

    def remove(self) -> None:
        """Remove the folder and everything in it, then let go of the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __enter__(self) -> Scratch:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.remove()


def remove_stale(folder: str | None = None) -> list[Path]:
    """Remove the scratch folders in ``folder`` (default: the temporary directory) whose
    process is gone; returns those removed. Never fails: what cannot be read is left."""
    removed: list[Path] = []
    if not _CAN_LOCK:
        return removed
    try:
        entries = list(os.scandir(folder or tempfile.gettempdir()))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(tuple(f"{PREFIX}{kind}-" for kind in KINDS)):
            continue
        with contextlib.suppress(OSError):
            if _remove_if_stale(entry):
                removed.append(Path(entry.path))
    return removed


def _remove_if_stale(entry: os.DirEntry[str]) -> bool:
    if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != os.getuid():
        return False
    try:
        lock = os.open(Path(entry.path) / LOCK, os.O_RDWR)
    except FileNotFoundError:
        if time.time() - entry.stat().st_mtime < UNLOCKED_GRACE_SECONDS:
            return False
        shutil.rmtree(entry.path, ignore_errors=True)
        return True
    try:
        if not _try_lock(lock):
            return False  # its process, or a helper it forked, still runs
        shutil.rmtree(entry.path, ignore_errors=True)
        return True
    finally:
        os.close(lock)


def _try_lock(descriptor: int) -> bool:
    """Take the lock without waiting; False if another process holds it (or where there
    is no ``flock``)."""
    if not _CAN_LOCK:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def alone(lock: Path) -> Iterator[bool]:
    """Whether this process holds the lock file at ``lock`` (``flock``) for the ``with``
    block, False when another does: work that two processes must not do at once on the
    same files. The file is removed when the block ends. Where there is no ``flock``,
    always True (nothing is locked, as for scratch folders)."""
    if not _CAN_LOCK:
        yield True
        return
    descriptor = _take(lock)
    if descriptor is None:
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()  # still held: a process that opened it meanwhile takes another
        os.close(descriptor)


def _take(lock: Path) -> int | None:
    """A descriptor of the lock file at ``lock``, locked; None when another process holds
    it. The one locked must still be the file at ``lock``: its holder before may have
    removed it after this process opened it, and a lock on a file no one else can find
    keeps no one out."""
    while True:
        try:
            # Read-only and readable by all: another user's rebuild can take a lock this
            # one left (a flock needs no write access); never through a symbolic link.
            descriptor = os.open(lock, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            raise StoreError(f"cannot make the lock file {lock}: {error.strerror}") from None
        if not _try_lock(descriptor):
            os.close(descriptor)
            return None
        try:
            same = os.path.samestat(os.fstat(descriptor), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            return descriptor
        os.close(descriptor)
