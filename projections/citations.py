"""What the views over time cite and read by: the reports behind an answer, in
publication order, and the bound of recorded time R a view reads the ledger at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from incident_ledger.ledger.times import to_key
from incident_ledger.projections.understanding import END_OF_TIME, iso


def recorded_bound(recorded_at: datetime | None) -> str:
    """The storage key bounding recorded time (the end of time when not given)."""
    return to_key(recorded_at) if recorded_at else END_OF_TIME


def report_refs(db: sqlite3.Connection, reports: Iterable[str]) -> list[dict[str, Any]]:
    """Reports as ``{id, outlet, outlet_name, published_at}``, in publication order; a
    report that gave only a date keeps it (``2022-01-21``), an instant is ISO UTC."""
    wanted = sorted(set(reports))
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    rows = db.execute(
        f"SELECT r.id, r.source, s.name, r.published_at, r.published_precision FROM reports r "
        f"LEFT JOIN sources s ON s.id = r.source WHERE r.id IN ({marks}) "
        "ORDER BY r.published_at, r.id",
        wanted,
    )
    return [
        {
            "id": row[0],
            "outlet": row[1],
            "outlet_name": row[2],
            "published_at": row[3][:10] if row[4] == "day" else iso(row[3]),
        }
        for row in rows
    ]
