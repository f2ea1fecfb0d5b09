"""The incident's timeline: dated claims in world-time order, as known at T.

A claim is placed by the earliest instant it speaks of: a time-valued claim
(``attack.started`` = ``2022-01-20``) by its value, any other claim by its
``valid_time``. Claims with neither are left out and counted. Only claims known
at T (published by T, recorded by R) and still active at T (not retracted or
corrected by T) are shown; the others are listed as excluded. For time-valued
facts each entry carries the fact's status at T from :func:`state`, so a date
that sources dispute reads as contested.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from incident_ledger.ledger.times import local_time, to_key, zone_or_none
from incident_ledger.ledger.values import EDTFError
from incident_ledger.projections.citations import recorded_bound
from incident_ledger.projections.desk_projection import BEFORE_THE_DESK, recorded_by_sql
from incident_ledger.projections.desk_rules import desk_clauses
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.results import position_claims
from incident_ledger.projections.timewords import describe
from incident_ledger.projections.understanding import iso, state
from incident_ledger.projections.words import value_words

_KNOWN_CLAIMS = """
SELECT c.id, c.fact, c.kind, c.value, c.qualifier, c.unit, c.time_low, c.time_high,
       c.valid_time, c.valid_from, c.valid_to, c.report, c.source, c.claimant, c.via,
       c.published_at, c.recorded_at, c.seq, {recorded_by} AS recorded_by,
       claimant.name AS claimant_name, outlet.name AS outlet_name,
       e.ended_by, e.how, e.report AS ended_report, e.published_at AS ended_published
FROM claims c
LEFT JOIN sources claimant ON claimant.id = c.claimant
LEFT JOIN sources outlet ON outlet.id = c.source
LEFT JOIN claim_ends e ON e.rowid = (
    SELECT e.rowid FROM claim_ends e
    WHERE e.claim = c.id AND e.published_at <= :known AND e.recorded_at <= :recorded {desk_end}
    ORDER BY e.published_at, e.seq LIMIT 1
)
WHERE c.incident = :incident AND c.published_at <= :known AND c.recorded_at <= :recorded
{desk_claim}
ORDER BY c.published_at, c.id
"""


def timeline(
    db: sqlite3.Connection,
    incident: str,
    known_at: datetime,
    recorded_at: datetime | None = None,
    *,
    reviewed_only: bool = False,
) -> dict[str, Any]:
    """Dated, active claims of an incident as known at T, in world-time order: the desk's
    rules apply (``desk_rules``: no entry error, no rejected proposal, and with
    ``reviewed_only`` no proposal before its approval)."""
    zone = require_incident(db, incident)
    facts = state(db, incident, known_at, recorded_at, reviewed_only=reviewed_only)["facts"]
    params = {
        "incident": incident,
        "known": to_key(known_at),
        "recorded": recorded_bound(recorded_at),
    }
    desk_claim, desk_end = desk_clauses(db, reviewed_only)
    sql = (
        _KNOWN_CLAIMS.replace("{desk_claim}", desk_claim)
        .replace("{desk_end}", desk_end)
        .replace("{recorded_by}", recorded_by_sql("c.seq"))
    )
    cursor = db.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    positions = {
        claim for fact in facts.values() for p in fact["positions"] for claim in position_claims(p)
    }
    entries: list[tuple[tuple[str, str, str, str], dict[str, Any]]] = []
    undated: list[str] = []
    excluded: list[dict[str, Any]] = []
    for values in cursor:
        row = dict(zip(columns, values, strict=True))
        if row["ended_by"] is not None:
            excluded.append(_excluded(row))
            continue
        when = _when(row, zone)
        if when is None:
            undated.append(row["id"])
            continue
        key, placed = when
        entries.append((key, _entry(row, placed, facts, positions)))
    entries.sort(key=lambda pair: pair[0])
    return {
        "incident": incident,
        "timezone": zone,
        "known_at": iso(params["known"]),
        "recorded_at": iso(to_key(recorded_at)) if recorded_at else None,
        "entries": [entry for _, entry in entries],
        "undated": {"count": len(undated), "claims": undated},
        "excluded_inactive": excluded,
    }


def _when(
    row: dict[str, Any], zone: str | None
) -> tuple[tuple[str, str, str, str], dict[str, Any]] | None:
    """The sort key and the ``when`` of a claim, or None when it is undated. ``day`` is
    the incident's local day the claim is placed on."""
    if row["kind"] == "time":
        edtf, low, high, basis = (
            json.loads(row["value"]),
            row["time_low"],
            row["time_high"],
            "value",
        )
    elif row["valid_time"]:
        edtf, low, high, basis = row["valid_time"], row["valid_from"], row["valid_to"], "valid_time"
    else:
        return None
    if edtf.startswith("/"):
        # An unknown start: the edtf package's bounds put it ten years before the end
        # (``edtf_forms``), a guess that must not date the claim; it is placed by its end.
        low = None
    anchor = low or high  # an open start is placed by its end
    if anchor is None:
        return None
    key = (anchor, high or "~", row["published_at"], row["id"])
    when = {
        "words": _words(edtf),
        "edtf": edtf,
        "earliest": iso(low),
        "latest": iso(high),
        "from": basis,
        "day": local_time(anchor, zone_or_none(zone)).date().isoformat(),
    }
    return key, when


def _words(edtf: str) -> str:
    try:
        return describe(edtf)
    except EDTFError:  # stored values were validated; never fail a read on wording
        return edtf


def _entry(
    row: dict[str, Any],
    when: dict[str, Any],
    facts: dict[str, Any],
    positions: set[str],
) -> dict[str, Any]:
    value = json.loads(row["value"])
    entry: dict[str, Any] = {
        "when": when,
        "fact": row["fact"],
        "claim": row["id"],
        "kind": row["kind"],
        "value": value,
        "qualifier": row["qualifier"],
        "value_words": value_words(value, row["qualifier"], row["kind"]),
        "claimant": row["claimant"],
        "claimant_name": row["claimant_name"],
        "via": json.loads(row["via"]) if row["via"] else [],
        "report": row["report"],
        "outlet": row["source"],
        "outlet_name": row["outlet_name"],
        "published_at": iso(row["published_at"]),
        "recorded_by": row["recorded_by"] or BEFORE_THE_DESK,
        "position": row["id"] in positions,
    }
    if row["unit"]:
        entry["unit"] = row["unit"]
    if row["kind"] == "time":
        fact = facts[row["fact"]]
        entry["status"] = fact["status"]
        entry["range"] = fact["range"]
    return entry


def _excluded(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "claim": row["id"],
        "fact": row["fact"],
        "how": row["how"],
        "by": row["ended_by"],
        "report": row["ended_report"],
        "published_at": iso(row["ended_published"]),
    }
