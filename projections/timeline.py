"""The incident's timeline: dated claims in world-time order, as known at T.

A claim is placed by the earliest instant it speaks of: a time-valued claim
(``attack.started`` = ``2022-01-20``) by its value, any other claim by its
``valid_time``. Claims with neither are left out and counted. Only claims known
at T (published by T, recorded by R) and still active at T (not retracted or
corrected by T) are shown; the others are listed as excluded. For time-valued
facts each entry carries the fact's status at T from :func:`state`, so a date
that sources dispute reads as contested.

The entries are read in that order from the read model's index of dated claims
(``timeline_order``) as they are asked for (:func:`timeline_read`): the first page of a
hot incident's timeline is written before its last claim is read. The undated and the
excluded claims follow, read after the entries.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incident_ledger.ledger.times import local_time, to_key, zone_or_none
from incident_ledger.ledger.values import EDTFError
from incident_ledger.projections.citations import recorded_bound
from incident_ledger.projections.desk_projection import BEFORE_THE_DESK, recorded_by_sql
from incident_ledger.projections.desk_rules import desk_clauses
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.results import position_claims
from incident_ledger.projections.timeline_order import order, placed
from incident_ledger.projections.timewords import describe
from incident_ledger.projections.understanding import iso, state
from incident_ledger.projections.words import value_words

_COLUMNS = """
SELECT c.id, c.fact, c.kind, c.value, c.qualifier, c.unit, c.time_low, c.time_high,
       c.valid_time, c.valid_from, c.valid_to, c.report, c.source, c.claimant, c.via,
       c.published_at, c.recorded_at, c.seq, {recorded_by} AS recorded_by,
       claimant.name AS claimant_name, outlet.name AS outlet_name
FROM claims c
LEFT JOIN sources claimant ON claimant.id = c.claimant
LEFT JOIN sources outlet ON outlet.id = c.source
"""

_KNOWN = """c.incident = :incident AND c.published_at <= :known AND c.recorded_at <= :recorded
{desk_claim}"""

_ENDED = """
SELECT e.rowid FROM claim_ends e
WHERE e.claim = c.id AND e.published_at <= :known AND e.recorded_at <= :recorded {desk_end}
"""

_DATED = (
    _COLUMNS
    + f"""WHERE {_KNOWN} AND {placed("c")} IS NOT NULL AND NOT EXISTS ({_ENDED})
ORDER BY {order("c")}
"""
)
"""The dated claims known and active at T, in timeline order (``timeline_order``'s index)."""

_OTHERS = f"""
SELECT c.id, c.fact, {placed("c")} IS NULL AS undated, e.ended_by, e.how, e.report, e.published_at
FROM claims c
LEFT JOIN claim_ends e ON e.rowid = ({_ENDED} ORDER BY e.published_at, e.seq LIMIT 1)
WHERE {_KNOWN}
ORDER BY c.published_at, c.id
"""
"""Every claim known at T, for those left out: undated ones, and ended ones with the end
that ended them first."""


@dataclass
class TimelineRead:
    """A timeline being read: ``head`` (its keys before the entries), its ``entries`` in
    order (read as they are asked for, while the read model is open) and ``tail()``
    (its keys after them: the undated claims and those excluded as ended)."""

    head: dict[str, Any]
    entries: Iterator[dict[str, Any]]
    tail: Callable[[], dict[str, Any]]


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
    read = timeline_read(db, incident, known_at, recorded_at, reviewed_only=reviewed_only)
    entries = list(read.entries)
    return {**read.head, "entries": entries, **read.tail()}


def timeline_read(
    db: sqlite3.Connection,
    incident: str,
    known_at: datetime,
    recorded_at: datetime | None = None,
    *,
    reviewed_only: bool = False,
) -> TimelineRead:
    """:func:`timeline`, its entries read in order from the read model as they are asked
    for (the model stays open until they and ``tail()`` are read)."""
    zone = require_incident(db, incident)
    facts = state(db, incident, known_at, recorded_at, reviewed_only=reviewed_only)["facts"]
    params = {
        "incident": incident,
        "known": to_key(known_at),
        "recorded": recorded_bound(recorded_at),
    }
    desk_claim, desk_end = desk_clauses(db, reviewed_only)

    def sql(text: str) -> str:
        return (
            text.replace("{desk_claim}", desk_claim)
            .replace("{desk_end}", desk_end)
            .replace("{recorded_by}", recorded_by_sql("c.seq"))
        )

    positions = {
        claim for fact in facts.values() for p in fact["positions"] for claim in position_claims(p)
    }
    head = {
        "incident": incident,
        "timezone": zone,
        "known_at": iso(params["known"]),
        "recorded_at": iso(to_key(recorded_at)) if recorded_at else None,
    }

    def entries() -> Iterator[dict[str, Any]]:
        cursor = db.execute(sql(_DATED), params)
        columns = [d[0] for d in cursor.description]
        for values in cursor:
            row = dict(zip(columns, values, strict=True))
            when = _when(row, zone)
            if when is not None:  # always: the query's placing is ``_when``'s
                yield _entry(row, when[1], facts, positions)

    return TimelineRead(head, entries(), lambda: _left_out(db, sql(_OTHERS), params))


def _left_out(db: sqlite3.Connection, sql: str, params: dict[str, str]) -> dict[str, Any]:
    """The claims known at T that the entries leave out: undated, or ended (excluded)."""
    undated: list[str] = []
    excluded: list[dict[str, Any]] = []
    for claim, fact, dateless, ended_by, how, report, published in db.execute(sql, params):
        if ended_by is not None:
            excluded.append(_excluded(claim, fact, how, ended_by, report, published))
        elif dateless:
            undated.append(claim)
    return {"undated": {"count": len(undated), "claims": undated}, "excluded_inactive": excluded}


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


def _excluded(
    claim: str, fact: str, how: str, ended_by: str, report: str, published: str
) -> dict[str, Any]:
    return {
        "claim": claim,
        "fact": fact,
        "how": how,
        "by": ended_by,
        "report": report,
        "published_at": iso(published),
    }
