"""What the ledger follows: its incidents, and each incident's facts with their kinds.

``incidents`` lists every incident but those entered in error (title, place, time
zone, how many facts and claims, its first and last report); ``facts`` lists one
incident's facts — those declared and those its claims known then speak of — with their
kind, unit, whether cumulative, whether declared or given their kind by their first
claim, how many claims were known, and their status at a known time (by default now, as
``state`` answers it, a status only a reporter's proposals give marked as ``state``
marks it).

Claims are counted by the desk's rules, as ``state`` counts them (``desk_rules``): one
voided (entered in error, or a rejected proposal) counts nowhere, and with
``reviewed_only`` a proposal counts once approved; ``facts`` counts those known at its
time only, so that a count never shows what was not yet reported.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from incident_ledger.ledger.times import to_key
from incident_ledger.projections.citations import recorded_bound
from incident_ledger.projections.desk_rules import desk_clauses
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.proposal_ends import mark_state_proposals
from incident_ledger.projections.understanding import Policy, iso, state

_INCIDENTS = """
SELECT i.id, i.title, i.title_ar, i.place, i.timezone,
    (SELECT COUNT(*) FROM claims c WHERE c.incident = i.id {desk_claim}) AS claims,
    (SELECT COUNT(DISTINCT fact) FROM (
        SELECT c.fact FROM claims c WHERE c.incident = i.id {desk_claim}
        UNION SELECT f.key FROM facts f WHERE f.incident = i.id AND f.declared
    )) AS facts,
    (SELECT MIN(c.published_at) FROM claims c WHERE c.incident = i.id {desk_claim})
        AS first_known,
    (SELECT MAX(c.published_at) FROM claims c WHERE c.incident = i.id {desk_claim})
        AS last_known
FROM incidents i
WHERE NOT EXISTS (SELECT 1 FROM voided v WHERE v.record = 'incident:' || i.id)
ORDER BY i.id
"""

_FACTS = """
SELECT key, kind, declared, unit, cumulative, tolerance, choices, label, label_ar
FROM facts f WHERE incident = :incident
  AND version = (SELECT MAX(version) FROM facts g WHERE g.incident = f.incident AND g.key = f.key)
"""

_CLAIM_COUNTS = """
SELECT fact, COUNT(*), MIN(kind) FROM claims c
WHERE incident = :incident AND c.published_at <= :known {desk_claim}
GROUP BY fact
"""


def incidents(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every incident, by id, with its time zone and how much the ledger holds on it."""
    return [
        {
            "id": row[0],
            "title": row[1],
            "title_ar": row[2],
            "place": row[3],
            "timezone": row[4],
            "claims": row[5],
            "facts": row[6],
            "first_known": iso(row[7]),
            "last_known": iso(row[8]),
        }
        for row in db.execute(
            _INCIDENTS.format(desk_claim=desk_clauses(db, False)[0]),
            {"recorded": recorded_bound(None)},
        )
    ]


_MARKS = ("status_review", "status_proposed_by", "reviewed_status")
"""What ``mark_state_proposals`` gives a status only proposals give, as ``state`` says it."""


def facts(
    db: sqlite3.Connection, incident: str, known_at: datetime, *, reviewed_only: bool = False
) -> dict[str, Any]:
    """An incident's facts, by key: kind, unit, cumulative, declared, claims, status at T
    (``reviewed_only``: counting a reporter's proposals only once approved; otherwise a
    status only proposals give is marked, ``mark_state_proposals``); the claims counted
    are those known at T, by the desk's rules."""
    understood = state(db, incident, known_at, reviewed_only=reviewed_only)
    if not reviewed_only:
        mark_state_proposals(db, understood, known_at, None, Policy.RANGE)
    params = {"incident": incident, "known": to_key(known_at), "recorded": recorded_bound(None)}
    declared = {row[0]: row[1:] for row in db.execute(_FACTS, params)}
    counting = _CLAIM_COUNTS.format(desk_claim=desk_clauses(db, reviewed_only)[0])
    counts = {row[0]: (row[1], row[2]) for row in db.execute(counting, params)}
    listed = []
    # A fact given its kind by its first claim is listed once a claim of it is known.
    named = {key for key, row in declared.items() if row[1]} | counts.keys()
    for key in sorted(named):
        kind, is_declared, unit, cumulative, tolerance, choices, label, label_ar = declared.get(
            key, (None, 0, None, 0, None, None, None, None)
        )
        claims, shape = counts.get(key, (0, None))
        now = understood["facts"].get(key)
        item: dict[str, Any] = {
            "key": key,
            "kind": kind or _OF_OLD.get(str(shape)),
            "declared": bool(is_declared),
            "unit": unit,
            "cumulative": bool(cumulative),
            "claims": claims,
            "status": None if now is None else now["status"],
        }
        marked: Mapping[str, Any] = now or {}
        item |= {mark: marked[mark] for mark in _MARKS if mark in marked}
        if tolerance is not None:
            item["tolerance"] = orjson.loads(tolerance)
        if choices is not None:
            item["choices"] = [c["value"] for c in orjson.loads(choices)]
        if label is not None:
            item["label"] = label
        if label_ar is not None:
            item["label_ar"] = label_ar
        if now is not None:
            item["why"] = now["why"]["short"]
        listed.append(item)
    return {
        "incident": incident,
        "timezone": require_incident(db, incident),
        "known_at": understood["known_at"],
        "facts": listed,
    }


_OF_OLD = {"number": "count", "time": "time", "text": "text"}
"""The kind a fact recorded before kinds existed shows, from how its claims read."""
