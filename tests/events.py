"""Reading a SQLite event store directly, for comparing two ledgers, and locking its files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


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


@contextmanager
def immutable(db: str) -> Iterator[None]:
    """The store's files made immutable (``chattr +i``) for the block, as a read-only
    medium would hold them; the test is skipped where that is not allowed."""
    path = Path(db)
    files = sorted(str(p) for p in path.parent.glob(path.name + "*"))
    locked = subprocess.run(["chattr", "+i", *files], capture_output=True, text=True)
    if locked.returncode != 0:
        pytest.skip(f"cannot make the store immutable here: {locked.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)
