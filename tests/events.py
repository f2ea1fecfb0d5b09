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
    """Every stored event of the records in order, without the time it was recorded and
    without the desk's members and signed batches (each ledger has a key of its own, so
    signatures of its own)."""
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
        if originator_id.startswith(("member:", "batch:")):
            continue
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


def append_unchecked(db: str, kind: str, record_id: str, fields: dict[str, Any]) -> None:
    """Append a record's creation event without any of the checks an import makes, leaf,
    leaf hash and Merkle log included (``verify`` passes): a record a ledger written
    before those checks may hold."""
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.domain import creation_data, creation_leaf
    from incident_ledger.ledger.leaves import recorded_key
    from incident_ledger.ledger.merkle import leaf_hash
    from incident_ledger.ledger.stores.location import locate
    from incident_ledger.usecases.workspace import acting_key

    ledger = Ledger(locate(db).event_store_env())
    ledger.actor = acting_key(locate(db))  # signed by the desk's admin, as every write is
    try:
        recorded = recorded_key(ledger.clock())
        with ledger.writing("a writer at the same time") as appender:
            aggregate_id, topic, leaf = creation_leaf(
                kind, record_id, creation_data(fields, kind), recorded
            )
            row = ledger.leaf_mapper.row_from_leaf(aggregate_id, 1, topic, leaf)
            appender.append([row], [leaf_hash(leaf)])
    finally:
        ledger.close()


def log_state(db: str) -> tuple[int, bytes]:
    """The event store's size and Merkle root: equal before and after, nothing was written."""
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.merkle import root_at
    from incident_ledger.ledger.stores.location import locate

    ledger = Ledger(locate(db).event_store_env())
    try:
        with ledger.audit.reading() as view:
            size = view.size()
            return size, root_at(view.nodes, size)
    finally:
        ledger.close()
