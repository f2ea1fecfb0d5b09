"""The tables of the spreadsheet exports (CSV and XLSX), cell by cell, from a selection.

One row per claim known at ``at``, in ledger order, with names beside ids (claimant,
relays, outlet), the report's title, URL and archived copy, the value as claimed, in
words (the same words as the command line's) and as numbers (its interval), the
claim's and its fact's status at ``at``, the verdicts known then, and who recorded
the claim (empty until records carry it). The XLSX export adds one sheet each for
the reports, sources and assessments.

Cells hold Python values: numbers as ``int``, text as ``str``, nothing as ``None``;
each format writes them its way.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Final

from incident_ledger.projections.exports.common import (
    Leaf,
    Row,
    Selection,
    Streamed,
    bounds,
    claimed_value,
    describe_value,
    published_date,
    value_text,
    via_ids,
)
from incident_ledger.projections.understanding import iso

Cells = dict[str, Any]

CLAIM_COLUMNS: Final = (
    "claim",
    "incident",
    "fact",
    "value",
    "value_words",
    "qualifier",
    "unit",
    "valid_time",
    "low",
    "high",
    "claimant",
    "claimant_name",
    "via",
    "via_names",
    "outlet",
    "outlet_name",
    "report",
    "report_title",
    "report_url",
    "archive_url",
    "published_at",
    "recorded_at",
    "recorded_by",
    "claim_status",
    "review",
    "end_review",
    "fact_status",
    "verdicts",
    "corrects",
    "quote",
    "translation",
    "note",
    "leaf_index",
    "leaf_hash",
    "checkpoint",
)

NUMERIC_COLUMNS: Final = frozenset({"value", "low", "high", "leaf_index"})
"""Columns whose numbers are numbers (never neutralised, right-aligned)."""

URL_COLUMNS: Final = frozenset({"report_url", "archive_url", "url"})


def verdicts_by_claim(selection: Selection | Streamed) -> dict[str, str]:
    """Each assessed claim's verdicts: ``false (Fact Desk, 2022-01-24)``, ``; ``-joined."""
    found: dict[str, list[str]] = defaultdict(list)
    for row in selection.assessments:
        proposed = f", {row['review']}" if row.get("review") else ""  # not yet approved
        found[row["claim"]].append(
            f"{row['verdict']} ({row['by']}, {selection.assessment_published(row)}{proposed})"
        )
    return {claim: "; ".join(verdicts) for claim, verdicts in found.items()}


def claim_published(claim: Row, report: Row) -> str | None:
    """A claim's ``published_at`` cell: its report's day when the report gave only a date
    (as the reports sheet shows it, in any zone), else the instant it is known, in UTC."""
    if report["published_precision"] == "day":
        return published_date(report["published_at"], report["published_precision"])
    return iso(claim["published_at"])


def claim_cells(
    selection: Selection | Streamed,
    claim: Row,
    leaf: Leaf | None,
    head: str | None,
    verdicts: dict[str, str],
) -> Cells:
    """One claim's row, keyed by :data:`CLAIM_COLUMNS`."""
    low, high = bounds(claim)
    report = selection.reports[claim["report"]]
    relays = via_ids(claim)
    value = claimed_value(claim)
    return {
        "claim": claim["id"],
        "incident": claim["incident"],
        "fact": claim["fact"],
        "value": value
        if isinstance(value, int) and not isinstance(value, bool)
        else value_text(claim),
        "value_words": describe_value(claim),
        "qualifier": claim["qualifier"],
        "unit": claim["unit"],
        "valid_time": claim["valid_time"],
        "low": low,
        "high": high,
        "claimant": claim["claimant"],
        "claimant_name": selection.source_name(claim["claimant"]),
        "via": ";".join(relays),
        "via_names": "; ".join(selection.source_name(relay) for relay in relays),
        "outlet": claim["source"],
        "outlet_name": selection.source_name(claim["source"]),
        "report": claim["report"],
        "report_title": report["title"],
        "report_url": report["url"],
        "archive_url": report.get("archive_url"),
        "published_at": claim_published(claim, report),
        "recorded_at": iso(claim["recorded_at"]),
        "recorded_by": claim.get("recorded_by"),
        "claim_status": selection.claim_status(claim),
        # A proposal not yet approved (the claim, or what ended it) says so: a claim ended
        # by a reporter's unreviewed retraction is not taken for one its source withdrew.
        "review": claim.get("review"),
        "end_review": selection.end_review(claim),
        "fact_status": selection.fact_status(claim),
        "verdicts": verdicts.get(claim["id"]),
        "corrects": claim["corrects"],
        "quote": claim["quote"],
        "translation": claim["translation"],
        "note": claim["note"],
        "leaf_index": leaf.index if leaf else None,
        "leaf_hash": leaf.hash if leaf else None,
        "checkpoint": head,
    }


def other_tables(selection: Selection | Streamed) -> dict[str, tuple[tuple[str, ...], list[Cells]]]:
    """The reports, sources and assessments of a selection: {sheet: (columns, rows)}."""
    reports = [
        {
            "report": row["id"],
            "source": row["source"],
            "source_name": selection.source_name(row["source"]),
            "title": row["title"],
            "language": row["language"],
            # As given: a date-only report's day, not the end of it in UTC (its claims
            # are known from the end of that day in their incident's zone).
            "published_at": published_date(row["published_at"], row["published_precision"]),
            "url": row["url"],
            "archive_url": row.get("archive_url"),
        }
        for row in selection.reports.values()
    ]
    sources = [
        {
            "source": row["id"],
            "name": row["name"],
            "name_ar": row["name_ar"],
            "kind": row["kind"],
            "reliability": row["reliability"],
        }
        for row in selection.sources.values()
    ]
    assessments = [
        {
            "assessment": row["id"],
            "claim": row["claim"],
            "verdict": row["verdict"],
            "by": row["by"],
            "published_at": selection.assessment_published(row),  # as given, as a report's
            "summary": row.get("summary"),
            "url": row["url"],
            "note": row["note"],
            "review": row.get("review"),  # "proposed": not yet approved
        }
        for row in selection.assessments
    ]
    return {
        "reports": (tuple(reports[0]) if reports else ("report",), reports),
        "sources": (tuple(sources[0]) if sources else ("source",), sources),
        "assessments": (tuple(assessments[0]) if assessments else ("assessment",), assessments),
    }
