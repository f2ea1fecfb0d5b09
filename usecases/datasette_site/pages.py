"""The data of the pages the Datasette plugin adds: an incident's state at a date and
policy (contested facts first, with why), its timeline and its reports, read from the
read model with the functions the command line uses."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from incident_ledger.ledger.errors import LedgerError
from incident_ledger.ledger.times import local_words, utc_now, zone_or_none
from incident_ledger.projections.citations import recorded_bound
from incident_ledger.projections.datasette_metadata import NOTHING_KNOWN
from incident_ledger.projections.desk_rules import mark_proposals
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.proposal_ends import (
    ended_lines,
    mark_state_proposals,
    status_words,
    unmarked_summary,
)
from incident_ledger.projections.understanding import Policy, state
from incident_ledger.projections.words import fact_value_words, position_words
from incident_ledger.usecases.workspace import query_instant

_ORDER = {"contested": 0, "single": 1, "corroborated": 2, "withdrawn": 3}


def incident_page(db: sqlite3.Connection, incident: str, at: str, policy: str) -> dict[str, Any]:
    """Everything the incident page shows, or ``problem``: why it cannot."""
    from incident_ledger.projections.timeline import timeline

    page: dict[str, Any] = {"incident": incident, "at": at, "policy": policy or "range"}
    page["policies"] = [p.value for p in Policy]
    try:
        chosen = Policy(page["policy"])
    except ValueError:
        return page | {
            "problem": f"Unknown policy: {policy} (one of {', '.join(page['policies'])})"
        }
    try:
        zone = require_incident(db, incident)
        known_at = query_instant(at or None, zone) or utc_now()
        understood = state(db, incident, known_at, None, chosen)
        events = timeline(db, incident, known_at)
        # Proposals are shown marked, as every output marks them.
        mark_state_proposals(db, understood, known_at, None, chosen)
        mark_proposals(db, events["entries"], recorded_bound(None))
    except LedgerError as error:
        return page | {"problem": str(error)}
    row = db.execute("SELECT title, title_ar FROM incidents WHERE id = ?", (incident,)).fetchone()
    facts = sorted(
        understood["facts"].items(), key=lambda kv: (_ORDER.get(kv[1]["status"], 9), kv[0])
    )
    return page | {
        "title": row[0],
        "title_ar": row[1],
        "zone": zone or "UTC",
        "known_at": local_words(understood["known_at"], zone_or_none(zone), seconds=False),
        "facts": [_fact(name, fact, zone, chosen.value) for name, fact in facts],
        "nothing_known": NOTHING_KNOWN,
        "timeline": events["entries"],
        "reports": [
            report | {"published": local_words(report["known"], zone_or_none(zone))}
            for report in _reports(db, incident, understood["known_at"] or "")
        ],
    }


def _fact(name: str, fact: Mapping[str, Any], zone: str | None, policy: str) -> dict[str, Any]:
    why = fact.get("why") or {}
    chosen = next((p for p in fact["positions"] if p["claim"] == fact.get("basis")), None)
    return {
        "fact": name,
        "status": fact["status"],
        "status_review": status_words(fact),
        "value": fact_value_words(fact, zone, policy),
        "chosen": chosen
        and {
            "claim": chosen["claim"],
            "claimant": chosen.get("claimant_name") or chosen["claimant"],
            "report": chosen["report"],
        },
        # the status cell says what only proposals give it: the why does not say it again
        "why": unmarked_summary(fact) or why.get("short") or "",
        "positions": [
            {
                "claimant": p.get("claimant_name") or p["claimant"],
                "says": position_words(p),
                "report": p["report"],
                "review": p.get("review"),
            }
            for p in fact["positions"]
        ],
        "ended_by_proposals": ended_lines(fact),
    }


def _reports(db: sqlite3.Connection, incident: str, known_at: str) -> list[dict[str, Any]]:
    """The incident's reports published by ``known_at``, with their links (the archived
    copy, how many captured copies) and when each was published, in the incident's words."""
    # When a report became known is its claims' publication time, read in the incident's
    # time zone (a date-only report: the end of that local day).
    cursor = db.execute(
        "SELECT r.*, s.name AS source_name, k.known, "
        "(SELECT COUNT(*) FROM captures AS c WHERE c.report = r.id) AS captured FROM reports AS r "
        "JOIN sources AS s ON s.id = r.source JOIN (SELECT report, MIN(published_at) AS known "
        "FROM claims WHERE incident = ? AND published_at <= ? GROUP BY report) AS k "
        "ON k.report = r.id ORDER BY k.known, r.id",
        (incident, known_at),
    )
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, values, strict=True)) for values in cursor]
