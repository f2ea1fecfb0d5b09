"""What waits for review: the records of proposed batches no editor has reviewed yet."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from incident_ledger.projections.positions import iso

# Driven by the proposed batches: each kind of record is found by its position in a
# batch's range (an index on ``seq``; CROSS JOIN keeps the batches outermost, the order
# SQLite then honours), so the queue reads the proposals, not every claim.
_PROPOSED = """
SELECT '{kind}', x.id, {incident} AS incident, b.member, x.recorded_at, x.seq
FROM batches b CROSS JOIN {table} x ON x.seq BETWEEN b.first AND b.last
WHERE b.proposed = 1
  AND NOT EXISTS (SELECT 1 FROM reviews w WHERE w.record = '{kind}:' || x.id)
  AND NOT EXISTS (SELECT 1 FROM voided v WHERE v.record = '{kind}:' || x.id)"""
_CLAIM_INCIDENT = "(SELECT incident FROM claims WHERE id = x.claim)"
_KINDS = {
    "claim": ("claims", "x.incident"),
    "retraction": ("retractions", _CLAIM_INCIDENT),
    "assessment": ("assessments", _CLAIM_INCIDENT),
}


def _proposed(kinds: Iterable[str]) -> str:
    return " UNION ALL ".join(
        _PROPOSED.format(kind=kind, table=_KINDS[kind][0], incident=_KINDS[kind][1])
        for kind in kinds
    )


_QUEUE = _proposed(_KINDS) + " ORDER BY 6"


def waiting(
    db: sqlite3.Connection, incident: str | None = None, kinds: Iterable[str] = tuple(_KINDS)
) -> bool:
    """Whether a record of these kinds (claims, retractions, assessments) waits for an
    editor, in ``incident`` or anywhere (read from the proposed batches, as the queue is)."""
    sql = f"SELECT EXISTS (SELECT 1 FROM ({_proposed(kinds)}) WHERE :incident IS NULL"
    sql += " OR incident = :incident)"
    return bool(db.execute(sql, {"incident": incident}).fetchone()[0])


def review_queue(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every proposed record still waiting for an editor, oldest first: ``record``,
    ``incident``, ``proposed_by`` (a list of one member) and ``recorded_at``."""
    return [
        {
            "record": f"{kind}:{record_id}",
            "incident": incident,
            "proposed_by": [member],  # a list, as wherever the JSON names who proposed
            "recorded_at": iso(recorded),
        }
        for kind, record_id, incident, member, recorded, _ in db.execute(_QUEUE)
    ]
