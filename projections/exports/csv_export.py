"""CSV export: one row per claim known at ``at``, in ledger order.

RFC 4180 as Python's csv module writes it (CRLF line ends, quotes doubled),
UTF-8 text with a header row. Write the returned string with ``newline=""``
so the CRLFs are kept as they are. A CSV file has no place for a checkpoint,
so ``checkpoint`` is accepted for a uniform signature and not written.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import datetime

from incident_ledger.projections.exports.common import (
    Row,
    Selection,
    bounds,
    select,
    value_text,
    via_ids,
)
from incident_ledger.projections.understanding import iso

COLUMNS = (
    "claim",
    "incident",
    "fact",
    "value",
    "qualifier",
    "unit",
    "valid_time",
    "low",
    "high",
    "claimant",
    "via",
    "outlet",
    "report",
    "published_at",
    "recorded_at",
    "claim_status",
    "fact_status",
    "corrects",
    "quote",
    "translation",
    "note",
)


def export_csv(
    db: sqlite3.Connection,
    *,
    incident: str | None,
    at: datetime | None,
    checkpoint: str | None = None,
) -> str:
    """The claims known at ``at`` as CSV, with their claim and fact status at ``at``."""
    selection = select(db, incident, at)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for claim in selection.claims:
        writer.writerow(_row(selection, claim))
    return buffer.getvalue()


def _row(selection: Selection, claim: Row) -> list[str]:
    low, high = bounds(claim)
    cells: dict[str, object] = {
        "claim": claim["id"],
        "incident": claim["incident"],
        "fact": claim["fact"],
        "value": value_text(claim),
        "qualifier": claim["qualifier"],
        "unit": claim["unit"],
        "valid_time": claim["valid_time"],
        "low": low,
        "high": high,
        "claimant": claim["claimant"],
        "via": ";".join(via_ids(claim)),
        "outlet": claim["source"],
        "report": claim["report"],
        "published_at": iso(claim["published_at"]),
        "recorded_at": iso(claim["recorded_at"]),
        "claim_status": selection.claim_status(claim),
        "fact_status": selection.fact_status(claim),
        "corrects": claim["corrects"],
        "quote": claim["quote"],
        "translation": claim["translation"],
        "note": claim["note"],
    }
    return ["" if cells[column] is None else str(cells[column]) for column in COLUMNS]
