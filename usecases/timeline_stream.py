"""A timeline read in order while it is written (``ledger timeline``).

``reading.timeline`` returns the whole timeline: on a hot incident that is tens of
thousands of entries, and nothing could be written before the last was read and sorted.
:func:`timeline_stream` hands the entries over in order as the read model yields them
(``projections.timeline.timeline_read``), each batch marked as ``reading.timeline``
marks them, and the undated and excluded claims after them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

from incident_ledger.ledger.times import parse_instant, utc_now
from incident_ledger.projections.citations import recorded_bound
from incident_ledger.projections.desk_rules import (
    any_proposed,
    mark_proposals,
    mark_proposed_ends,
    proposed_records,
)
from incident_ledger.projections.in_force import crowded
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.timeline import TimelineRead, timeline_read
from incident_ledger.usecases.workspace import query_instant, read_model, unmapped

BATCH = 100
"""Entries marked at a time (one read of the proposals among them)."""


@contextmanager
def timeline_stream(
    db: str | None, incident: str, *, at: str | None = None, reviewed_only: bool = False
) -> Iterator[TimelineRead]:
    """``reading.timeline``, its entries read in order while the ledger stays open
    (inside this context), its ``tail()`` after them."""
    if at:
        parse_instant(at)
    with read_model(db, incident) as conn:
        if crowded(conn, incident):  # its claims lie all over the model
            unmapped(conn)
        known_at = query_instant(at, require_incident(conn, incident)) or utc_now()
        read = timeline_read(conn, incident, known_at, reviewed_only=reviewed_only)
        if not reviewed_only:
            read = TimelineRead(read.head, _marked(conn, read.entries), _marked_tail(conn, read))
        yield read


def _marked(
    conn: sqlite3.Connection, entries: Iterator[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """The entries, a proposal among them marked (``mark_proposals``), a batch at a time."""
    marking = any_proposed(conn)
    while batch := list(islice(entries, BATCH)):
        if marking:
            mark_proposals(conn, batch, recorded_bound(None))
        yield from batch


def _marked_tail(conn: sqlite3.Connection, read: TimelineRead) -> Callable[[], dict[str, Any]]:
    """``read.tail``, the proposed ends and undated proposals marked."""

    def tail() -> dict[str, Any]:
        rest = read.tail()
        mark_proposed_ends(conn, rest["excluded_inactive"], recorded_bound(None))
        undated = rest["undated"]
        proposed = proposed_records(conn, undated["claims"], recorded_bound(None))
        if proposed:  # in the order they are listed
            undated["proposed"] = [claim for claim in undated["claims"] if claim in proposed]
        return rest

    return tail
