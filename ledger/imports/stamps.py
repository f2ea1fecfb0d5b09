"""The time an import records at, in the leaves of the pages it validates.

A page is validated before the import holds the store's write lock, when that time is not
known: its leaves hold a placeholder (``UNSTAMPED``) until it is stamped
(``streaming.ValidatedPage.stamped``), by the helper that validated it once the time is
posted (``Stamps``), else by the process that records it.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from incident_ledger.ledger.leaves import STAMP_LENGTH

UNSTAMPED = "\x00" * STAMP_LENGTH
"""What a validated page's leaves hold where the recorded time goes, until the page is
stamped. Canonical JSON escapes every control character, so a raw NUL is never part of
a leaf: the placeholder is found only where it was put."""
UNSTAMPED_BYTES = UNSTAMPED.encode()
SOME_STAMP = b"2000-01-01T00:00:00.000000Z"
"""A recorded time in the placeholder's place, for reading an unstamped leaf as JSON."""


class Stamps:
    """The time an import records at, posted by this process once it holds the store's
    write lock (the time is known only then), for the helpers validating its file
    (``file_pages``) to stamp the pages they make from then on (``ValidatedPage.stamped``):
    the leaves are then hashed on their core, not on the one that records every page."""

    def __init__(self) -> None:
        self._slot: Any = None

    def share(self) -> None:
        """Make the place the time is posted to, seen by the helpers forked after this."""
        if self._slot is None:
            self._slot = multiprocessing.Array("c", STAMP_LENGTH)  # zeros: not posted yet

    def post(self, recorded: str) -> None:
        """Post the recorded time (one the placeholder can take, else none)."""
        if self._slot is not None and len(recorded) == STAMP_LENGTH:
            self._slot.raw = recorded.encode()

    def posted(self) -> str:
        """The recorded time posted, or empty."""
        raw = b"" if self._slot is None else bytes(self._slot.raw)
        return raw.decode() if raw[:1] not in (b"", b"\x00") else ""
