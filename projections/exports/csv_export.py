"""CSV export: one row per claim known at ``at``, in ledger order.

The columns are :data:`sheet_rows.CLAIM_COLUMNS` (names beside ids, links, the
value in words and as numbers, statuses and verdicts at ``at``). RFC 4180 as
Python's csv module writes it (CRLF line ends, quotes doubled), UTF-8 text that
starts with a byte-order mark, by which spreadsheets know it is UTF-8 (Arabic
text is garbled otherwise), and a header row. Write the returned string with
``newline=""`` so the CRLFs are kept as they are.

Cells are neutralised against formula injection as OWASP advises: a text cell
that a spreadsheet would run as a formula — one starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return — gets a leading ``'``, which
spreadsheets take as "this is text" and do not show. So does a cell that already
starts with ``'``, so that the rule can be undone exactly: a program reading the
file drops one leading ``'`` from any cell that has one. A number in a numeric
column (``value``, ``low``, ``high``, ``leaf_index``) is a number, not text, and is written as it
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
import re
import sqlite3
from datetime import datetime
from functools import partial
from typing import TextIO

from incident_ledger.projections.exports.common import Provenance, collected, stream, with_leaves
from incident_ledger.projections.exports.sheet_rows import (
    CLAIM_COLUMNS,
    NUMERIC_COLUMNS,
    claim_cells,
    verdicts_by_claim,
)

COLUMNS = CLAIM_COLUMNS
BOM = "\ufeff"


def export_csv(
    db: sqlite3.Connection,
    *,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance | None = None,
    reviewed_only: bool = False,
) -> str:
    """The claims known at ``at`` as CSV, with their claim and fact status at ``at``."""
    write = partial(
        write_csv, db, incident=incident, at=at, provenance=provenance, reviewed_only=reviewed_only
    )
    return collected(write)


def write_csv(
    db: sqlite3.Connection,
    out: TextIO,
    *,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance | None = None,
    reviewed_only: bool = False,
) -> None:
    """``export_csv`` written to ``out`` (opened with ``newline=""``) as the claims are
    read, a page at a time (``common.stream``)."""
    selection = stream(db, incident, at, reviewed_only=reviewed_only)
    head = provenance.head if provenance is not None else None
    verdicts = verdicts_by_claim(selection)
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for claim, leaf in with_leaves("claim", selection.claims, provenance):
        cells = claim_cells(selection, claim, leaf, head, verdicts)
        writer.writerow([neutralised(column, cells[column]) for column in COLUMNS])


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
"""What a formula starts with (OWASP's CSV injection list), and the text marker itself."""
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def neutralised(column: str, value: object) -> str:
    """A cell's text, with a leading ``'`` if a spreadsheet could take it for a formula."""
    if value is None:
        return ""
    text = str(value)
    if not text.startswith(_FORMULA_START):
        return text
    if column in NUMERIC_COLUMNS and _NUMBER.fullmatch(text):
        return text
    return "'" + text
