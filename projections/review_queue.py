"""What waits for review: the records of proposed batches no editor has reviewed yet."""

from __future__ import annotations

import sqlite3
from typing import Any

from incident_ledger.projections.positions import iso

_QUEUE = """
SELECT x.kind, x.id, x.incident, b.member, x.recorded_at FROM batches b
JOIN (
    SELECT 'claim' AS kind, c.id, c.incident, c.recorded_at, c.seq FROM claims c
    UNION ALL
    SELECT 'retraction', r.id, (SELECT incident FROM claims WHERE id = r.claim),
           r.recorded_at, r.seq FROM retractions r
    UNION ALL
    SELECT 'assessment', a.id, (SELECT incident FROM claims WHERE id = a.claim),
           a.recorded_at, a.seq FROM assessments a
) x ON x.seq BETWEEN b.first AND b.last
WHERE b.proposed = 1
  AND NOT EXISTS (SELECT 1 FROM reviews w WHERE w.record = x.kind || ':' || x.id)
  AND NOT EXISTS (SELECT 1 FROM voided v WHERE v.record = x.kind || ':' || x.id)
ORDER BY x.seq
"""


def review_queue(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every proposed record still waiting for an editor, oldest first."""
    return [
        {
            "record": f"{kind}:{record_id}",
            "incident": incident,
            "proposed_by": member,
            "recorded_at": iso(recorded),
        }
        for kind, record_id, incident, member, recorded in db.execute(_QUEUE)
    ]
