"""What a write transaction leaves its own process: where the log stood when the writer
took the store's write lock, where it stood when the writer committed, and every event
appended in between, so that the read model of that process can follow the write without
asking the store again (``Projector.catch_up``'s ``written``)."""

from __future__ import annotations

from dataclasses import dataclass

KEPT_EVENTS = 5_000
"""A write of at most this many events is kept whole (a page of the projector's); a larger
one is read back from the store as any other process reads it, so memory stays bounded."""


@dataclass(frozen=True)
class LogEnd:
    """The log as of one notification id: that id (``position``), the log's size and root
    there — what a read model records to bind itself to its store (``Views.binding``)."""

    position: int
    size: int
    root: bytes


@dataclass(frozen=True)
class Written:
    """One committed write: the log when its writer took the lock (``before``) and when it
    committed (``after``), and the events in between as (notification id, stored state),
    in log order. Nobody else could append meanwhile: they are every event between."""

    before: LogEnd
    after: LogEnd
    rows: list[tuple[int, bytes]]
