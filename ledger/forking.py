"""A forked helper process: the second core for work that splits in two.

Import validation and ``verify`` each hand half of their work to one helper,
forked so that it starts at once with everything already loaded, and take its
answer back through a pipe. Where fork is missing or there is one core, the
callers do all the work themselves; a helper that dies is not an error either,
since its caller can always do the work itself.

A helper never outlives the process that forked it, even one killed with
SIGKILL, which runs no clean-up of its own: on Linux the kernel sends the helper
SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere the helper
watches a pipe only its parent can write to, and ends when that pipe closes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

# multiprocessing is imported where a helper is wanted: loading it costs every
# command a few milliseconds of start-up, and most never fork.


IDLE_THREADS: list[Callable[[], None]] = []
"""What lets go of threads only kept for later (the pool of a PostgreSQL connection a
process keeps for its next ledger): asked first when a fork is weighed, since only a
single-threaded process forks."""


def two_cores() -> bool:
    """Whether a forked helper can run beside this process.

    Only a single-threaded process forks: a lock another thread holds at the fork
    (a database driver's connection pool keeps one such thread) would stay held
    in the child for ever. Threads kept idle for later are let go of first.
    """
    import multiprocessing
    import threading

    if threading.active_count() > 1:
        for release in IDLE_THREADS:
            release()
    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    return cores >= 2


class _Forked:
    """A forked process running ``target(work, args, sender)``, with the pipe's other end."""

    def __init__(self, target: Callable[..., None], work: Callable[..., Any], args: Any) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        _widen(self._receiver)
        watched, self._watch = os.pipe()  # the fallback's pipe: this end stays here
        _WATCH_ENDS.add(self._watch)
        self._process = context.Process(
            target=_start,
            args=(os.getpid(), watched, target, work, args, sender),
            daemon=True,
        )
        try:
            self._process.start()
        finally:
            os.close(watched)
            sender.close()

    def stop(self) -> None:
        """End the process if it still runs (its work is no longer wanted) and reap it."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receiver.close()
        if self._watch in _WATCH_ENDS:
            _WATCH_ENDS.discard(self._watch)
            os.close(self._watch)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_WATCH_ENDS: set[int] = set()
"""The write ends of the pipes this process's helpers watch (the fallback). A helper
closes every one it inherits, so that each is held by this process alone."""

PR_SET_PDEATHSIG = 1
"""linux/prctl.h: the signal a process gets when its parent dies."""


def end_with_parent(parent: int) -> bool:
    """In a process just forked from ``parent``: have the kernel kill it with SIGKILL when
    ``parent`` dies (Linux); exit at once if ``parent`` is already gone. False where the
    kernel offers no such thing, and then nothing is done.

    Called through ctypes, for the standard library has no ``prctl``.
    """
    if not USE_PARENT_DEATH_SIGNAL or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        done = libc.prctl(ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no C library to load, or no prctl in it
        return False
    if done != 0:
        return False
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    return True


USE_PARENT_DEATH_SIGNAL = True
"""Whether helpers ask for ``PR_SET_PDEATHSIG`` where it exists (else they watch a pipe)."""


def _start(
    parent: int,
    watched: int,
    target: Callable[..., None],
    work: Callable[..., Any],
    args: Any,
    sender: Connection,
) -> None:
    """A helper's first steps: make sure it dies with its parent, then run ``target``."""
    for end in _WATCH_ENDS:  # the parent's ends, inherited by the fork: not ours to hold
        with contextlib.suppress(OSError):
            os.close(end)
    _WATCH_ENDS.clear()
    if end_with_parent(parent):
        os.close(watched)
    else:
        threading.Thread(target=_watch_parent, args=(watched,), daemon=True).start()
    target(work, args, sender)


def _watch_parent(watched: int) -> None:
    """Block until the parent's end of the pipe closes — it does when the parent dies,
    however it dies — then end this process."""
    while True:
        try:
            if not os.read(watched, 1):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    os._exit(1)


PIPE_BYTES = 1 << 20
"""How much a helper may have sent ahead of what this process has read: Linux's largest
pipe for an unprivileged process, where its default is 64 KiB."""


def _widen(connection: Connection) -> None:
    """Give the pipe ``PIPE_BYTES`` of buffer where the platform can (Linux)."""
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl

        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


class Helper(_Forked):
    """One forked process running ``work(*args)``; its return value comes back by pipe."""

    def __init__(self, work: Callable[..., Any], *args: Any) -> None:
        super().__init__(_serve, work, args)

    def result(self) -> tuple[bool, Any]:
        """Wait for the helper: (True, its return value), or (False, None) if it died."""
        try:
            answer: Any = self._receiver.recv()
        except EOFError:
            answer = (False, None)
        self.stop()
        return answer  # type: ignore[no-any-return]


class Producer(_Forked):
    """A forked process whose work yields items; they arrive here through a pipe as made.

    The pipe's buffer (``PIPE_BYTES``) keeps the producer a little ahead and no
    further. Iterating stops at the end of the work or when the producer fails or
    dies: ``complete`` then says which, and the caller carries on without it.
    """

    def __init__(self, work: Callable[..., Iterator[Any]], *args: Any) -> None:
        super().__init__(_produce, work, args)
        self.complete = False

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                kind, item = self._receiver.recv()
            except EOFError:
                return
            if kind != "item":
                self.complete = kind == "end"
                return
            yield item


def _produce(work: Callable[..., Iterator[Any]], args: tuple[Any, ...], sender: Connection) -> None:
    try:
        for item in work(*args):
            sender.send(("item", item))
        sender.send(("end", None))
    except BaseException:  # the caller carries on without this process
        with contextlib.suppress(OSError):
            sender.send(("failed", None))
    finally:
        sender.close()


def _serve(work: Callable[..., Any], args: tuple[Any, ...], sender: Connection) -> None:
    try:
        sender.send((True, work(*args)))
    except BaseException:  # the caller does the work itself
        sender.send((False, None))
    finally:
        sender.close()
