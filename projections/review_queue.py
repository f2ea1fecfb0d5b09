"""What waits for review: the records of proposed batches no editor has reviewed yet."""

from __future__ import annotations

import sqlite3
from typing import Any

from incident_ledger.projections.positions import iso

# Driven by the proposed batches: each kind of record is found by its position in a
# batch's range (an index on ``seq``; CROSS JOIN keeps the batches outermost, the order
# SQLite then honours), so the queue reads the proposals, not every claim.
_PROPOSED = """
SELECT '{kind}', x.id, {incident}, b.member, x.recorded_at, x.seq
FROM batches b CROSS JOIN {table} x ON x.seq BETWEEN b.first AND b.last
WHERE b.proposed = 1
  AND NOT EXISTS (SELECT 1 FROM reviews w WHERE w.record = '{kind}:' || x.id)
  AND NOT EXISTS (SELECT 1 FROM voided v WHERE v.record = '{kind}:' || x.id)"""
_CLAIM_INCIDENT = "(SELECT incident FROM claims WHERE id = x.claim)"
_QUEUE = (
    " UNION ALL ".join(
        _PROPOSED.format(kind=kind, table=table, incident=incident)
        for kind, table, incident in (
            ("claim", "claims", "x.incident"),
            ("retraction", "retractions", _CLAIM_INCIDENT),
            ("assessment", "assessments", _CLAIM_INCIDENT),
        )
    )
    + " ORDER BY 6"
)


_WAITING = (
    "SELECT EXISTS ("
    + " UNION ALL ".join(
        _PROPOSED.format(kind=kind, table=table, incident="NULL")
        for kind, table in (("claim", "claims"), ("retraction", "retractions"))
    )
    + ")"
)


def claims_or_ends_waiting(db: sqlite3.Connection) -> bool:
    """Whether a claim, correction or retraction waits for an editor (read from the
    proposed batches, as the queue is)."""
    return bool(db.execute(_WAITING).fetchone()[0])


def review_queue(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every proposed record still waiting for an editor, oldest first."""
    return [
        {
            "record": f"{kind}:{record_id}",
            "incident": incident,
            "proposed_by": member,
            "recorded_at": iso(recorded),
        }
        for kind, record_id, incident, member, recorded, _ in db.execute(_QUEUE)
    ]
