"""HTML export: a self-contained, offline report of the understanding at ``at``.

One HTML5 file with inline CSS and inline SVG charts (``projections.charts``); no script and no
external resource, under a restrictive Content-Security-Policy. The template
(:data:`projections.exports.html_template.REPORT_TEMPLATE`) is rendered with
autoescaping on, and this module hands it only plain text and numbers: CSS
classes, ``lang``/``dir`` and colours come from fixed tables, never from the data.
Arabic text (detected by script) is set in elements with ``lang="ar" dir="rtl"``.

Over 400 lines: what the template shows of each record, and the reading of the records as
the page reaches them (``html_parts``), are kept together.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from incident_ledger.ledger.evidence import MEDIA_TYPES
from incident_ledger.ledger.times import local_words, zone_or_none
from incident_ledger.projections.charts import TOP, fact_charts, inline_svg
from incident_ledger.projections.desk_projection import BEFORE_THE_DESK, desk_on_incident
from incident_ledger.projections.desk_rules import any_proposed
from incident_ledger.projections.exports.common import (
    Leaf,
    Provenance,
    Row,
    Streamed,
    describe_value,
    stream,
    via_ids,
    with_leaves,
)
from incident_ledger.projections.exports.html_template import (
    CONTENT_SECURITY_POLICY,
    REPORT_TEMPLATE,
    bidi,
    leaf_cell,
)
from incident_ledger.projections.lowered import lowered_lines
from incident_ledger.projections.proposal_ends import (
    ended_lines,
    listed_as_contested,
    status_words,
)
from incident_ledger.projections.timewords import describe
from incident_ledger.projections.words import (
    LISTED_POSITIONS,
    interval_words,
    position_words,
    positions_summary,
    value_words,
)

_STATUS_CLASSES = {
    status: f"status-{status}" for status in ("single", "corroborated", "contested", "withdrawn")
}
_CLAIM_CLASSES = {status: status for status in ("active", "retracted", "corrected", "superseded")}


def export_html(
    db: sqlite3.Connection,
    *,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance | None = None,
    reviewed_only: bool = False,
) -> str:
    """The understanding known at ``at`` as one self-contained HTML5 page; with
    ``provenance``, its checkpoint and each record's leaf in that log."""
    return "".join(
        html_parts(db, incident=incident, at=at, provenance=provenance, reviewed_only=reviewed_only)
    )


def write_html(
    db: sqlite3.Connection,
    path: Path,
    *,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance | None = None,
    reviewed_only: bool = False,
) -> None:
    """Write the page of :func:`export_html` to ``path`` as it is made, so that neither
    the page nor its rows are held whole."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.writelines(
            html_parts(
                db, incident=incident, at=at, provenance=provenance, reviewed_only=reviewed_only
            )
        )


def html_parts(
    db: sqlite3.Connection,
    *,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance | None = None,
    reviewed_only: bool = False,
) -> Iterator[str]:
    """The page of :func:`export_html` in parts, in order: each chart is drawn and each
    row of the claims' appendix read (``common.stream``), its leaf located a page at a
    time, only when the page reaches it; what is held besides grows with the incidents'
    reports, sources and positions shown, not with their claims."""
    selection = stream(db, incident, at, reviewed_only=reviewed_only)
    leaves = _leaves(selection, provenance)
    counted = selection.claims_counted()
    incidents = [
        _incident(db, selection, row, leaves, provenance, counted) for row in selection.incidents
    ]
    title = selection.incidents[0]["title"] if incident is not None else "all incidents"
    # Instants in the incident's local time, with its offset (UTC for several incidents).
    zone = _zone(selection.incidents[0]) if incident is not None else None
    return _template().generate(
        csp=CONTENT_SECURITY_POLICY,
        title=title,
        top=TOP,
        known_at=_known(selection.known, zone),
        reviewed_only=selection.reviewed_only,
        proposals=any_proposed(db),  # the desk's work is spoken of where there is some
        incidents=incidents,
        sources=_sources(selection, leaves, counted),
        reports=_Rows(
            lambda: (
                _report(selection, row, zone) | _leaf(row, leaves)
                for row in selection.reports.values()
            )
        ),
        assessments=_assessments(selection, leaves, zone),
        signed=provenance,
    )


def _leaves(selection: Streamed, provenance: Provenance | None) -> dict[int, Leaf]:
    """The leaves of the records shown but the claims (whose are located as they are
    read, ``common.with_leaves``)."""
    if provenance is None:
        return {}
    records = itertools.chain(
        (("incident", row) for row in selection.incidents),
        (("source", row) for row in selection.sources.values()),
        (("report", row) for row in selection.reports.values()),
        (("assessment", row) for row in selection.assessments),
    )
    return provenance.leaves_of_records(records)


class _Rows:
    """Rows made afresh each time the template walks them, never held as a list."""

    def __init__(self, make: Callable[[], Iterator[dict[str, Any]]]) -> None:
        self._make = make

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._make()


def _leaf(row: Row, leaves: dict[int, Leaf]) -> dict[str, Leaf | None]:
    return {"leaf": leaves.get(row["seq"])}


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    environment.filters["bidi"] = bidi
    environment.filters["leaf_cell"] = leaf_cell
    return environment.from_string(REPORT_TEMPLATE)


def _zone(incident: Row) -> str | None:
    zone = incident.get("timezone")
    return None if zone is None else str(zone)


def _known(key: str | None, zone: str | None) -> str:
    """``the end of 21 Jan 2022 (Asia/Damascus)``, ``24 Jan 2022 09:00 +02:00``, ``now``."""
    words = _moment(key, zone)
    return f"the end of {words} ({zone or 'UTC'})" if _DAY.match(words) else words


_DAY = re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}$")


@lru_cache(maxsize=8192)
def _moment(key: str | None, zone: str | None, precision: str | None = None) -> str:
    """An instant as a reader in the incident's zone says it, as the command line does:
    ``21 Jan 2022`` for a date (a report dated to the day, the end of a local day),
    else ``24 Jan 2022 09:00 +02:00`` (UTC for an incident without a zone). Kept for
    the instants met again: a report's claims share its publication time."""
    if key is None:
        return "now"
    if precision == "day":  # the report's date as it gave it
        return describe(key[:10])
    return local_words(key, zone_or_none(zone))


def _incident(
    db: sqlite3.Connection,
    selection: Streamed,
    row: Row,
    leaves: dict[int, Leaf],
    provenance: Provenance | None,
    counted: Mapping[tuple[str, str], int],
) -> dict[str, Any]:
    zone = _zone(row)
    understanding = selection.states[row["id"]]
    listed = {name: _listed(fact) for name, fact in understanding["facts"].items()}
    # Only the claims of the positions listed are read whole here; the appendix reads
    # every claim again as the page reaches it.
    by_id = selection.shown_claims(p["claim"] for shown, _ in listed.values() for p in shown)
    claims = selection.claims_of(row["id"])
    return {
        "id": row["id"],
        "title": row["title"],
        "title_ar": row["title_ar"],
        "place": row["place"],
        "related": [r for r in selection.relations if r["incident"] == row["id"]],
        "facts": [
            _fact(selection, by_id, name, fact, listed[name], zone)
            for name, fact in understanding["facts"].items()
        ],
        "charts": _charts(db, selection, row["id"], selection.numeric_units(row["id"]), zone),
        "claims_known": sum(n for (i, _), n in counted.items() if i == row["id"]),
        # errata, reviews and notes on its claims and retractions, each saying by whom
        "desk": [
            entry | {"recorded": _moment(entry["recorded_at"], zone)}
            for entry in desk_on_incident(db, row["id"], selection.known)
        ],
        "claims": _Rows(
            lambda: (
                _claim(selection, claim, zone) | {"leaf": leaf}
                for claim, leaf in with_leaves("claim", claims, provenance)
            )
        ),
        **_leaf(row, leaves),
    }


def _charts(
    db: sqlite3.Connection,
    selection: Streamed,
    incident: str,
    units: dict[str, str],
    zone: str | None,
) -> Iterator[dict[str, Any]]:
    """Each numeric fact's chart, drawn when the page reaches it (``projections.charts``:
    its SVG as matplotlib writes it, whose text is escaped there, so it is set as it is)."""
    for n, chart in enumerate(
        fact_charts(
            db, incident, units, selection.known, zone, reviewed_only=selection.reviewed_only
        )
    ):
        svg = inline_svg(chart, f"chart{n}-{incident}")
        yield {"fact": chart.fact, "unit": chart.unit, "svg": Markup(svg)}


def _listed(fact: Mapping[str, Any]) -> tuple[list[Any], str | None]:
    """A fact's positions the report lists, and its summary. Past ``LISTED_POSITIONS``
    positions, a fact is summed up as the state table does (its most held values,
    counted) and its positions listed up to that many, the two in conflict first: the
    appendix lists every claim."""
    positions = list(fact["positions"])
    if len(positions) <= LISTED_POSITIONS:
        return positions, None
    why = fact.get("why") or {}
    says = [entry["says"] for entry in why.get("positions") or ()]
    summary = positions_summary(says or [position_words(p) for p in positions])
    first = why.get("conflict") or []
    positions.sort(key=lambda p: p["claimant"] not in first)  # stable: the rest in order
    return positions[:LISTED_POSITIONS], summary


def _fact(
    selection: Streamed,
    by_id: dict[str, Row],
    name: str,
    fact: Mapping[str, Any],
    listed: tuple[list[Any], str | None],
    zone: str | None,
) -> dict[str, Any]:
    """A fact as the report shows it, its positions ``listed`` (:func:`_listed`)."""
    status = str(fact["status"])
    positions, summary = listed
    return {
        "fact": name,
        "status": status,
        "status_class": _STATUS_CLASSES.get(status, ""),
        "status_review": status_words(fact),  # only proposals give it: says so
        # the positions proposed ends took away, and the totals put lower, in the words
        # of ``state``'s table
        "ended": ended_lines(fact, summary is not None) + lowered_lines(fact, summary is not None),
        "row_class": "contested" if status == "contested" else "",
        "contested": listed_as_contested(fact),  # listed under Contested facts
        "value": _fact_value(fact, zone),
        "reason": (fact.get("why") or {}).get("short"),
        "summary": summary,
        "held": len(fact["positions"]),
        "more": len(fact["positions"]) - len(positions),
        "positions": [_position(selection, by_id[p["claim"]], zone) for p in positions],
    }


def _fact_value(fact: Mapping[str, Any], zone: str | None) -> str:
    """A fact's value under the policy, in the command line's words (``20–25``,
    ``20–21 Jan 2022`` in the incident's zone, ``yes``)."""
    value = fact["value"]
    if value is None:
        return "—"
    if isinstance(value, dict) and fact.get("kind") in ("time", "number"):
        return interval_words(value, zone, fact.get("kind"))
    kind = str(fact.get("kind") or "text")
    if isinstance(value, list):
        return " / ".join(value_words(item, None, kind) for item in value)
    return value_words(value, None, kind)


def link(url: str | None) -> str | None:
    """A URL a reader may follow: only http(s) addresses become links."""
    return url if url and url.startswith(("https://", "http://")) else None


def _position(selection: Streamed, claim: Row, zone: str | None) -> dict[str, Any]:
    precision = _precision(selection, claim)
    # A date-only report's claims are known from the end of its day in the incident's
    # zone, which reads as that day.
    shown = _moment(claim["published_at"], zone, None if precision == "day" else precision)
    return {
        "claim": claim["id"],
        "claimant": selection.source_name(claim["claimant"]),
        "value": describe_value(claim),
        "via": ", ".join(selection.source_name(relay) for relay in via_ids(claim)),
        "outlet": selection.source_name(claim["source"]),
        "published": shown,
        "quote": claim["quote"],
        "translation": claim["translation"],
        "review": claim.get("review"),  # "proposed": a reporter's, not yet approved
    }


def _precision(selection: Streamed, claim: Row) -> str | None:
    report = selection.reports.get(claim["report"])
    return report["published_precision"] if report else None


def _claim(selection: Streamed, claim: Row, zone: str | None) -> dict[str, Any]:
    status = selection.claim_status(claim)
    end = selection.ends.get(claim["id"])
    return {
        **_position(selection, claim, zone),
        "id": claim["id"],
        "fact": claim["fact"],
        "status": f"{status} by {end['ended_by']}" if end else status,
        "end_review": selection.end_review(claim),  # the end is a proposal
        "status_class": _CLAIM_CLASSES.get(status, ""),
        "recorded_by": claim.get("recorded_by") or BEFORE_THE_DESK,
    }


def _sources(
    selection: Streamed, leaves: dict[int, Leaf], counted: Mapping[tuple[str, str], int]
) -> list[dict[str, Any]]:
    made: Counter[str] = Counter()
    for (_, claimant), n in counted.items():
        made[claimant] += n
    return [
        {
            "id": row["id"],
            "name": row["name"],
            "name_ar": row["name_ar"],
            "kind": row["kind"],
            "grade": row["reliability"] or "ungraded",
            "claims": made[row["id"]],
            **_leaf(row, leaves),
        }
        for row in sorted(selection.sources.values(), key=lambda row: str(row["name"]).lower())
    ]


def _report(selection: Streamed, row: Row, zone: str | None) -> dict[str, Any]:
    return {
        "id": row["id"],
        "outlet": selection.source_name(row["source"]),
        "published": _moment(row["published_at"], zone, row["published_precision"]),
        "title": row["title"],
        "url": row["url"],
        "link": link(row["url"]),
        "archive": link(row.get("archive_url")),
        # Captured copies sit in a bundle exported with them, as evidence/<sha256>.
        "captures": [
            {"sha256": c["sha256"], "kind": MEDIA_TYPES.get(c["media_type"], c["media_type"])}
            for c in row.get("captures", ())
        ],
        "sha256": row["sha256"],
    }


def _assessments(
    selection: Streamed, leaves: dict[int, Leaf], zone: str | None
) -> list[dict[str, Any]]:
    """The assessments shown, each saying when the claim it assesses is a proposal."""
    rows = list(selection.assessments)
    claims = selection.shown_claims({row["claim"] for row in rows})
    return [
        _assessment(selection, row, claims.get(row["claim"]), zone) | _leaf(row, leaves)
        for row in rows
    ]


def _assessment(
    selection: Streamed, row: Row, claim: Row | None, zone: str | None
) -> dict[str, Any]:
    # A date-only assessment shows the day it gave (the end of it in its incident's zone),
    # as a date-only report does, whatever zone the page reads instants in.
    day = row["published_precision"] == "day"
    return {
        "claim": row["claim"],
        # "proposed": the claim assessed is a reporter's, not yet approved
        "claim_review": (claim or {}).get("review"),
        "verdict": row["verdict"],
        "by": row["by"],
        "published": (
            describe(selection.assessment_published(row))
            if day
            else _moment(row["published_at"], zone)
        ),
        "url": row["url"],
        "link": link(row["url"]),
        "note": row["note"],
        "review": row.get("review"),  # "proposed": a reporter's, not yet approved
    }
