"""XLSX export: the spreadsheet tables of :mod:`sheet_rows` as one workbook, one sheet
each (claims, reports, sources, assessments).

Each sheet has a frozen header row, an autofilter over its rows and columns sized to
their content (bounded, longer text wrapping, links included); cells holding Arabic are
right-to-left; URLs are hyperlinks (up to Excel's 255 characters: a longer one stays
text). Numbers are numbers. Text is always text: a cell starting with ``=`` is stored
as a string, never as a formula (openpyxl would make it one), so no neutralising mark
is needed, and characters XLSX cannot hold (control characters) are dropped.

Written with openpyxl's write-only mode, which streams rows to the file instead
of holding a workbook of cell objects; hyperlinks are the exception (openpyxl
keeps them until the sheet is closed), so a very large export holds its links.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any, Final
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from incident_ledger.projections.arabic import is_arabic
from incident_ledger.projections.exports.common import Provenance, stream, with_leaves
from incident_ledger.projections.exports.sheet_rows import (
    CLAIM_COLUMNS,
    URL_COLUMNS,
    Cells,
    claim_cells,
    other_tables,
    verdicts_by_claim,
)

_RTL: Final = Alignment(readingOrder=2, horizontal="right", wrap_text=True, vertical="top")
_WRAP: Final = Alignment(wrap_text=True, vertical="top")
_LINK: Final = Font(color="0563C1", underline="single")
_BOLD: Final = Font(bold=True)
SIZED_ROWS: Final = 1000
"""The rows a column's width is measured on (the rest stream after them)."""
NARROWEST, WIDEST = 8, 60


def export_xlsx(
    db: sqlite3.Connection,
    path: Path,
    *,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance | None = None,
    reviewed_only: bool = False,
) -> int:
    """Write the workbook of what was known at ``at`` to ``path``; returns the claim rows."""
    selection = stream(db, incident, at, reviewed_only=reviewed_only)
    head = provenance.head if provenance is not None else None
    verdicts = verdicts_by_claim(selection)
    count = selection.claims.count()
    claims = (
        claim_cells(selection, claim, leaf, head, verdicts)
        for claim, leaf in with_leaves("claim", selection.claims, provenance)
    )
    book = Workbook(write_only=True)
    try:
        _sheet(book, "claims", CLAIM_COLUMNS, claims, count)
        for name, (columns, rows) in other_tables(selection).items():
            _sheet(book, name, columns, rows, len(rows))
        _save(book, path)
    except BaseException:
        _discard(book)
        raise
    return count


def _save(book: Workbook, path: Path) -> None:
    """``Workbook.save`` (openpyxl's ``save_workbook``), its archive closed whatever
    happens: openpyxl leaves it open when a write fails (a full disk), and collecting it
    then prints an "Exception ignored" traceback under the one error line."""
    book.properties.modified = datetime.now(tz=UTC).replace(tzinfo=None)
    with ZipFile(path, "w", ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(book, archive).write_data()


def _discard(book: Workbook) -> None:
    """Close the sheets of a workbook that could not be saved. A write-only sheet streams
    into a generator that, left open, is closed when collected, after its file is: it
    then prints "Exception ignored" tracebacks. Closing each now ends it quietly."""
    for sheet in book.worksheets:
        with contextlib.suppress(Exception):  # a sheet the failed save had closed already
            sheet.close()


def _sheet(
    book: Workbook, name: str, columns: tuple[str, ...], rows: Iterable[Cells], count: int
) -> None:
    """One sheet: set its view, widths and filter before the first row (write-only
    sheets take them only then), then stream the rows. Each column is as wide as its
    header and its longest text among the first :data:`SIZED_ROWS` rows, between
    :data:`NARROWEST` and :data:`WIDEST` characters; longer text wraps."""
    sheet: WriteOnlyWorksheet = book.create_sheet(name)
    sheet.freeze_panes = "A2"
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last}{count + 1}"
    pending = iter(rows)
    first = list(islice(pending, SIZED_ROWS))
    widths = [_width(column, first) for column in columns]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column)
        cell.font = _BOLD
        header.append(cell)
    sheet.append(header)
    sized = list(zip(columns, widths, strict=True))
    for row in chain(first, pending):
        sheet.append([_cell(sheet, column, row[column], width) for column, width in sized])


def _width(column: str, rows: list[Cells]) -> int:
    """A column's width in characters: its header's or its longest line's, bounded."""
    longest = max(
        (len(line) for row in rows for line in _text(row[column]).splitlines()), default=0
    )
    return min(WIDEST, max(NARROWEST, len(column) + 2, longest + 2))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _cell(sheet: WriteOnlyWorksheet, column: str, value: Any, width: int) -> WriteOnlyCell:
    if not isinstance(value, str):
        return WriteOnlyCell(sheet, value=value)
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # text, even when it starts with "=" (never a formula)
    if is_arabic(text):
        cell.alignment = _RTL
    elif len(text) > width - 2 or "\n" in text:
        cell.alignment = _WRAP
    if column in URL_COLUMNS and _linkable(text):
        cell.hyperlink = text
        cell.font = _LINK
    return cell


HYPERLINK_LIMIT: Final = 255
"""The longest link target Excel accepts: a longer one makes it report the workbook as
damaged, so such a URL stays plain text (whole, and copyable)."""


def _linkable(text: str) -> bool:
    """Whether a URL cell's text can be a hyperlink: a web address Excel accepts."""
    return (
        text.lower().startswith(("https://", "http://"))
        and len(text) <= HYPERLINK_LIMIT
        and not any(ch.isspace() for ch in text)
    )
