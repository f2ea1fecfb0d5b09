"""Reading a SQLite event store directly, for comparing two ledgers."""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def stored_events(db: str) -> list[tuple[Any, ...]]:
    """Every stored event in order, without the time it was recorded."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()
    events = []
    for originator_id, version, topic, state in rows:
        leaf = json.loads(state)
        del leaf["recorded_at"]
        events.append((originator_id, version, topic, leaf))
    return events
