"""Baselines: the least work that produces a comparable result with the raw tools.

Each is timed in the harness process with ``time.perf_counter`` after the
project's own command ran on the same files, so both see a warm page cache.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

_TABLE = (
    "CREATE TABLE records (originator_id TEXT, originator_version INTEGER, topic TEXT, "
    "state BLOB, PRIMARY KEY (originator_id, originator_version))"
)


def import_baseline(jsonl: Path, db: Path) -> float:
    """Seconds to read, parse and insert every record of ``jsonl`` into a fresh SQLite file.

    One row per record — (``type:id``, 1, type, the JSON line) — into a table
    shaped like the event store's ``stored_events`` (same primary key), with
    one ``executemany`` in one transaction, in WAL mode like the event store.
    """
    start = time.perf_counter()
    rows: list[tuple[str, int, str, bytes]] = []
    with jsonl.open("rb") as handle:
        for line in handle:
            record = json.loads(line)
            kind = str(record["type"])
            rows.append((f"{kind}:{record['id']}", 1, kind, line.rstrip(b"\n")))
    connection = sqlite3.connect(db)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(_TABLE)
        with connection:
            connection.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", rows)
    finally:
        connection.close()
    return time.perf_counter() - start


def rebuild_baseline(event_store: Path) -> tuple[int, float]:
    """(events, seconds) to SELECT every stored event in ledger order and json.loads its state."""
    connection = sqlite3.connect(f"file:{event_store}?mode=ro", uri=True)
    try:
        start = time.perf_counter()
        count = 0
        for row in connection.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        ):
            json.loads(row[3])
            count += 1
        seconds = time.perf_counter() - start
    finally:
        connection.close()
    return count, seconds


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_baseline(leaves: Path) -> tuple[int, float, bytes]:
    """(leaves, seconds, root): hashlib.sha256 over every leaf line of an exported bundle.

    Streams ``leaves.jsonl``, hashes each line as an RFC 9162 leaf
    (``0x00 || bytes``) and folds the hashes into the tree root as it goes
    (``0x01 || left || right``), which is the hashing ``verify`` must do too.
    The root lets the harness check that both hashed the same bytes.
    """
    start = time.perf_counter()
    stack: list[tuple[int, bytes]] = []
    count = 0
    with leaves.open("rb") as handle:
        for line in handle:
            digest = hashlib.sha256(b"\x00" + line.removesuffix(b"\n")).digest()
            level = 0
            while stack and stack[-1][0] == level:
                digest = _node(stack.pop()[1], digest)
                level += 1
            stack.append((level, digest))
            count += 1
    root = stack[-1][1] if stack else hashlib.sha256(b"").digest()
    for _, left in reversed(stack[:-1]):
        root = _node(left, root)
    return count, time.perf_counter() - start, root
