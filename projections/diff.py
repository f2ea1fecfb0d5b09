"""What changed in the understanding of an incident between two known times.

``before`` and ``after`` are :func:`state` at T1 and T2 (as recorded by R);
a fact is listed when its status, range or positions differ. The claims,
retractions and corrections published in (T1, T2] are listed with the report
that carried each.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from itertools import chain
from typing import Any

from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.times import to_key
from incident_ledger.projections.changes import changed_parts, ends_of, fact_changes
from incident_ledger.projections.citations import recorded_bound, report_refs
from incident_ledger.projections.desk_projection import (
    BEFORE_THE_DESK,
    claims_recorded_by,
    recorded_by_sql,
)
from incident_ledger.projections.desk_rules import counted_retraction, desk_clauses
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.results import DiffResult, FactDiff, position_claims
from incident_ledger.projections.understanding import iso, state
from incident_ledger.projections.words import value_words

_NEW_CLAIMS = """
SELECT c.id, c.fact, c.kind, c.value, c.qualifier, c.unit, c.claimant, s.name, c.corrects,
       c.report, {recorded_by_claim} AS recorded_by
FROM claims c LEFT JOIN sources s ON s.id = c.claimant
WHERE c.incident = :incident AND c.published_at > :start AND c.published_at <= :end
  AND c.recorded_at <= :recorded {desk_claim}
ORDER BY c.published_at, c.id
"""

_RETRACTIONS = """
SELECT x.id, x.claim, c.fact, c.claimant, x.reason, x.report, x.published_at,
       r.source, c.source, c.via, {recorded_by} AS recorded_by
FROM retractions x CROSS JOIN claims c ON c.id = x.claim JOIN reports r ON r.id = x.report
WHERE c.incident = :incident AND x.published_at > :start AND x.published_at <= :end
  AND x.recorded_at <= :recorded {desk_claim} {desk_retraction}
ORDER BY x.published_at, x.id
"""

_ENDING_REPORTS = """
SELECT c.fact, e.report FROM claim_ends e CROSS JOIN claims c ON c.id = e.claim
WHERE c.incident = :incident AND e.published_at > :start AND e.published_at <= :end
  AND e.recorded_at <= :recorded {desk_claim} {desk_end}
"""
"""The reports that ended a claim of each fact in (T1, T2]; with the reports of the claims
published then (``_NEW_CLAIMS``), the reports a changed fact cites.

Here and in ``_RETRACTIONS`` the ends are read first (``CROSS JOIN``), each finding its
claim by id: asked of a hot incident's claims, each looking for its ends, the same
answer read 200,000 claims (half a second at a million) for 3,000 ends."""


def diff(
    db: sqlite3.Connection,
    incident: str,
    from_at: datetime,
    to_at: datetime,
    recorded_at: datetime | None = None,
    reviewed_only: bool = False,
) -> DiffResult:
    """Facts that changed between known times T1 < T2, and what was published in (T1, T2]."""
    if from_at >= to_at:
        raise BadInputError("the from time must be earlier than the to time")
    zone = require_incident(db, incident)
    before = state(db, incident, from_at, recorded_at, reviewed_only=reviewed_only)["facts"]
    after = state(db, incident, to_at, recorded_at, reviewed_only=reviewed_only)["facts"]
    params = {
        "incident": incident,
        "start": to_key(from_at),
        "end": to_key(to_at),
        "recorded": recorded_bound(recorded_at),
    }
    desk = _desk(db, reviewed_only)
    rows = db.execute(_NEW_CLAIMS.format(**desk), params).fetchall()
    ending = db.execute(_ENDING_REPORTS.format(**desk), params).fetchall()
    fact_reports, cited = _cited(db, rows, ending)
    positions = [p for fact in before.values() for p in fact["positions"]]
    earlier = [claim for p in positions for claim in position_claims(p)]
    ends = {
        claim: end
        for claim, end in ends_of(db, earlier, params["recorded"]).items()
        if params["start"] < end["published_at"] <= params["end"]
    }
    facts: list[FactDiff] = []
    for fact in sorted(before.keys() | after.keys()):
        parts = changed_parts(before.get(fact), after.get(fact))
        if parts:
            facts.append(
                {
                    "fact": fact,
                    "changed": parts,
                    "changes": fact_changes(before.get(fact), after.get(fact), ends),
                    "reports": fact_reports.get(fact, []),
                    "before": before.get(fact),
                    "after": after.get(fact),
                }
            )
    claims, corrections = _published_claims(rows, cited)
    return {
        "incident": incident,
        "timezone": zone,
        "from": iso(params["start"]),
        "to": iso(params["end"]),
        "recorded_at": iso(to_key(recorded_at)) if recorded_at else None,
        "facts": facts,
        "new_claims": claims,
        "retractions": _retractions(db, _RETRACTIONS.format(**desk), params),
        "corrections": corrections,
        "recorded_by": _recorded_by(db, facts, rows),
    }


def _cited(
    db: sqlite3.Connection, rows: list[Any], ending: list[Any]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """The reports each fact cites (of its claims published in the span, ``rows``, and of
    the ends then, ``ending``), in publication order, and every cited report by id: all
    read at once, each fact's taken in their order."""
    reports: dict[str, set[str]] = {}
    for fact, report in chain(((row[1], row[9]) for row in rows), ending):
        reports.setdefault(fact, set()).add(report)
    cited = report_refs(db, chain((row[9] for row in rows), (report for _, report in ending)))
    rank = {ref["id"]: n for n, ref in enumerate(cited)}
    in_order = {
        fact: [cited[n] for n in sorted(rank[r] for r in held if r in rank)]
        for fact, held in reports.items()
    }
    return in_order, {ref["id"]: ref for ref in cited}


def _desk(db: sqlite3.Connection, reviewed_only: bool) -> dict[str, str]:
    """The lists follow the facts' filter: the desk's rules, as ``state`` applies them."""
    desk_claim, desk_end = desk_clauses(db, reviewed_only)
    return {
        "desk_claim": desk_claim,
        "desk_end": desk_end,
        "desk_retraction": counted_retraction(desk_end, "x"),
        "recorded_by": recorded_by_sql("x.seq"),
        "recorded_by_claim": recorded_by_sql("c.seq"),
    }


def _recorded_by(db: sqlite3.Connection, facts: list[FactDiff], rows: list[Any]) -> dict[str, str]:
    """Who recorded each claim the diff shows, by claim id in order: the claims and
    corrections published in between (``_NEW_CLAIMS`` read it with them), and the
    positions before and after (asked for, those not among them)."""
    known = {row[0]: row[10] or BEFORE_THE_DESK for row in rows}
    shown: set[str] = set()
    for fact in facts:
        for side in (fact["before"], fact["after"]):
            for position in side["positions"] if side else ():
                shown.update(position_claims(position))
    known |= claims_recorded_by(db, shown - known.keys())
    return dict(sorted(known.items()))


def _published_claims(
    rows: list[Any], reports: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The claims (``_NEW_CLAIMS``'s rows) published in (T1, T2], and the corrections among
    them. A value is read and put in words once however many claims repeat it (a hot
    incident's month repeats a few hundred values over a hundred thousand claims)."""
    said: dict[tuple[str, str | None, str], tuple[Any, str]] = {}
    claims: list[dict[str, Any]] = []
    corrections: list[dict[str, Any]] = []
    for claim, fact, kind, value, qualifier, unit, claimant, name, corrects, report, _ in rows:
        words = said.get((value, qualifier, kind))
        if words is None:
            parsed = json.loads(value)
            words = said[value, qualifier, kind] = (parsed, value_words(parsed, qualifier, kind))
        item: dict[str, Any] = {
            "claim": claim,
            "fact": fact,
            "value": words[0],
            "qualifier": qualifier,
            "value_words": words[1],
            "unit": unit,
            "claimant": claimant,
            "claimant_name": name,
            "report": reports[report],
        }
        if corrects is None:
            claims.append(item)
        else:
            corrections.append({"corrects": corrects} | item)
    return claims, corrections


def _retractions(db: sqlite3.Connection, sql: str, params: dict[str, str]) -> list[dict[str, Any]]:
    rows = db.execute(sql, params).fetchall()
    reports = {r["id"]: r for r in report_refs(db, (row[5] for row in rows))}
    listed = []
    for retraction, claim, fact, claimant, reason, report, _, outlet, source, via, by in rows:
        item: dict[str, Any] = {
            "id": retraction,
            "claim": claim,
            "fact": fact,
            "claimant": claimant,
            "reason": reason,
            "report": reports[report],
            "recorded_by": by or BEFORE_THE_DESK,
        }
        relays = json.loads(via) if via else []
        if outlet != claimant and (outlet in relays or outlet == source):
            item["by"] = outlet  # a relay withdrawing its own report of the claimant
        listed.append(item)
    return listed
