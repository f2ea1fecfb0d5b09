"""A forked helper process: the second core for work that splits in two.

Import validation and ``verify`` each hand half of their work to one helper,
forked so that it starts at once with everything already loaded, and take its
answer back through a pipe. Where fork is missing or there is one core, the
callers do all the work themselves; a helper that dies is not an error either,
since its caller can always do the work itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

# multiprocessing is imported where a helper is wanted: loading it costs every
# command a few milliseconds of start-up, and most never fork.


def two_cores() -> bool:
    """Whether a forked helper can run beside this process.

    Only a single-threaded process forks: a lock another thread holds at the fork
    (a database driver's connection pool keeps one such thread) would stay held
    in the child for ever.
    """
    import multiprocessing
    import threading

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
        self._process = context.Process(target=target, args=(work, args, sender), daemon=True)
        self._process.start()
        sender.close()

    def stop(self) -> None:
        """End the process if it still runs (its work is no longer wanted) and reap it."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receiver.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
