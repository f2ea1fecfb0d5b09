"""Which ledger records an export about an incident, at a known time, must carry."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from incident_ledger.ledger.errors import NotFoundError
from incident_ledger.ledger.times import to_key
from incident_ledger.projections.understanding import END_OF_TIME


def aggregate_ids(db: sqlite3.Connection, incident: str | None, at: datetime | None) -> set[str]:
    """Aggregate ids of the incident(s), their claims known by ``at``, and what those cite.

    Cited means: the claims' reports and those reports' outlets, claimants and
    relays, and the retractions and assessments of those claims known by ``at``.
    """
    known = to_key(at) if at else END_OF_TIME
    if incident is not None:
        if db.execute("SELECT 1 FROM incidents WHERE id = ?", (incident,)).fetchone() is None:
            raise NotFoundError(f"no incident '{incident}' in the ledger")
        incidents = [incident]
    else:
        incidents = [row[0] for row in db.execute("SELECT id FROM incidents")]
    ids = {f"incident:{i}" for i in incidents}
    claims: set[str] = set()
    sources: set[str] = set()
    reports: set[str] = set()
    for name in incidents:
        rows = db.execute(
            "SELECT id, report, source, claimant, via FROM claims "
            "WHERE incident = ? AND published_at <= ?",
            (name, known),
        )
        for claim, report, outlet, claimant, via in rows:
            claims.add(claim)
            reports.add(report)
            sources.update({outlet, claimant, *(json.loads(via) if via else [])})
    for table in ("retractions", "assessments"):
        for chunk in _chunks(sorted(claims)):
            rows = db.execute(
                f"SELECT id, {'report' if table == 'retractions' else 'NULL'} FROM {table} "
                f"WHERE published_at <= ? AND claim IN ({','.join('?' * len(chunk))})",
                (known, *chunk),
            )
            for record_id, report in rows:
                ids.add(f"{table[:-1]}:{record_id}")
                if report:
                    reports.add(report)
    for chunk in _chunks(sorted(reports)):
        rows = db.execute(
            f"SELECT source FROM reports WHERE id IN ({','.join('?' * len(chunk))})", chunk
        )
        sources.update(row[0] for row in rows)
    ids |= {f"claim:{c}" for c in claims}
    ids |= {f"report:{r}" for r in reports}
    ids |= {f"source:{s}" for s in sources}
    return ids


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
