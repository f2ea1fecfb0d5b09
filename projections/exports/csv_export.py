"""CSV export: one row per claim known at ``at``, in ledger order.

RFC 4180 as Python's csv module writes it (CRLF line ends, quotes doubled),
UTF-8 text with a header row. Write the returned string with ``newline=""``
so the CRLFs are kept as they are.

Cells are neutralised against formula injection as OWASP advises: a text cell
that a spreadsheet would run as a formula — one starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return — gets a leading ``'``, which
spreadsheets take as "this is text" and do not show. So does a cell that already
starts with ``'``, so that the rule can be undone exactly: a program reading the
file drops one leading ``'`` from any cell that has one. A number in a numeric
column (``value``, ``low``, ``high``) is a number, not text, and is written as it
is, a negative one included (no formula starts that way).

With ``provenance``, the last three columns let each row be checked against the
JSONL bundle of the same ledger: ``leaf_index`` and ``leaf_hash`` (hex) of the
claim's own event, and ``checkpoint``, the signed checkpoint the export was made
under as one line, ``<origin> <size> <base64 root>`` (the note's first three
lines). A column rather than lines before the header, so that spreadsheets read
the file as it is; it starts with the origin (and the hash is hex), so none of
the three is ever neutralised.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from datetime import datetime

from incident_ledger.projections.exports.common import (
    Leaf,
    Provenance,
    Row,
    Selection,
    bounds,
    leaves_of,
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
    "leaf_index",
    "leaf_hash",
    "checkpoint",
)


def export_csv(
    db: sqlite3.Connection,
    *,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance | None = None,
) -> str:
    """The claims known at ``at`` as CSV, with their claim and fact status at ``at``."""
    selection = select(db, incident, at)
    leaves = leaves_of(selection, provenance)
    head = provenance.head if provenance is not None else None
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for claim in selection.claims:
        writer.writerow(_row(selection, claim, leaves.get(claim["seq"]), head))
    return buffer.getvalue()


def _row(selection: Selection, claim: Row, leaf: Leaf | None, head: str | None) -> list[str]:
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
        "leaf_index": leaf.index if leaf else None,
        "leaf_hash": leaf.hash if leaf else None,
        "checkpoint": head,
    }
    return [neutralised(column, cells[column]) for column in COLUMNS]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
"""What a formula starts with (OWASP's CSV injection list), and the text marker itself."""
_NUMERIC_COLUMNS = frozenset({"value", "low", "high"})
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def neutralised(column: str, value: object) -> str:
    """A cell's text, with a leading ``'`` if a spreadsheet could take it for a formula."""
    if value is None:
        return ""
    text = str(value)
    if not text.startswith(_FORMULA_START):
        return text
    if column in _NUMERIC_COLUMNS and _NUMBER.fullmatch(text):
        return text
    return "'" + text
