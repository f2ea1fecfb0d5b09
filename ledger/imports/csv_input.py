"""Reading a spreadsheet's CSV into validated records, as JSON Lines are read.

The first row names the columns: import fields (``docs/import-format.md``), ``type``
among them unless the whole file is of one record type given by the caller. Every
other row is one record; its cells are read as a command's flags are
(``text_fields.record_from_text``: an empty cell is an absent field, a list or an
object is JSON) and checked by the models an import line goes through, so a bad row
gets the error a bad line gets, named by the row's first line in the file. The text
is UTF-8, with or without a byte-order mark (spreadsheets write one).

Python's ``csv`` module reads the rows (quoted cells may hold commas, quotes and line
breaks); this module only names columns and lines.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from incident_ledger.ledger.errors import BadInputError, not_one_of, shown
from incident_ledger.ledger.imports.parsing import BOM, normalized_line
from incident_ledger.ledger.imports.text_fields import all_columns, field_forms, record_from_text
from incident_ledger.ledger.records import RECORD_TYPES, AnyRecord

csv.field_size_limit(1 << 24)  # a cell as large as a record's largest text, and more


def csv_records(
    lines: Iterable[str],
    record_type: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[str, AnyRecord]]:
    """(``line N``, record) for every row of a CSV input but its header; rows with every
    cell empty are skipped. ``record_type``: the type of rows whose ``type`` cell is
    empty or absent. The first bad row raises ``BadInputError`` naming its line."""
    reader = csv.reader(lines, strict=True)
    header = _header(reader, record_type)
    read = reader.line_num
    while True:
        start = read + 1
        where = f"line {start}"
        try:
            row = next(reader, None)
        except csv.Error as error:
            raise BadInputError(f"line {reader.line_num}: invalid CSV: {error}") from None
        if row is None:
            return
        read = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        yield where, _record(header, row, record_type, where)
        if progress is not None:
            progress(sum(len(cell.encode("utf-8", "surrogateescape")) + 1 for cell in row))


def _first_row(reader: Any) -> list[str] | None:
    """The first row that holds anything (the header), its cells' blanks stripped and the
    first cell's byte-order mark removed; blank rows before it are skipped, as every
    blank row is. None for an input of blank rows."""
    first = True
    while True:
        try:
            row = next(reader, None)
        except csv.Error as error:
            raise BadInputError(f"line {reader.line_num}: invalid CSV: {error}") from None
        if row is None:
            return None
        where = f"line {reader.line_num}"
        names = [_utf8(name, where) or name for name in row]
        if names and first:
            names[0] = names[0].removeprefix(BOM)
        first = False
        if any(name.strip() for name in names):
            return [name.strip() for name in names]


def _header(reader: Any, record_type: str | None) -> list[str]:
    """The column names of the first row that holds anything, each a field of the records
    the input holds."""
    names = _first_row(reader)
    if names is None:
        return []
    line = f"line {reader.line_num}"
    if len(names) == 1 and names[0].count(";") > 0:
        raise BadInputError(
            f"{line}: the columns are separated by semicolons: save the spreadsheet as CSV "
            'with commas between columns ("CSV UTF-8")'
        )
    if record_type is not None and record_type not in RECORD_TYPES:
        raise not_one_of(RECORD_TYPES, record_type, "record_type")
    allowed = all_columns() if "type" in names or record_type is None else _columns(record_type)
    for number, name in enumerate(names):
        if name not in allowed:
            what = f"a {record_type} record" if "type" not in names and record_type else "a record"
            near = [field for field in allowed if field.casefold() == name.casefold()]
            hint = f": did you mean '{near[0]}'? (names are lower case)" if near else ""
            raise BadInputError(
                f"{line}: column {number + 1} ('{name}') is not a field of {what}{hint}"
            )
        if name in names[:number]:
            raise BadInputError(f"{line}: column '{name}' is named twice")
    if "type" not in names and record_type is None:
        raise BadInputError(
            f"{line}: a CSV input says its records' type: a 'type' column, or {{record_type}}",
            arguments=("record_type",),
        )
    return names


def _utf8(text: str, where: str) -> str | None:
    """``parsing.normalized_line``, telling a spreadsheet's user how to save UTF-8."""
    try:
        return normalized_line(text, where)
    except BadInputError as error:
        raise BadInputError(f'{error}: save the spreadsheet as "CSV UTF-8"') from None


def _columns(record_type: str) -> list[str]:
    return ["type", *(form.name for form in field_forms(record_type))]


def _record(header: list[str], row: list[str], record_type: str | None, where: str) -> AnyRecord:
    if len(row) > len(header):
        raise BadInputError(f"{where}: has {len(row)} cells, the header names {len(header)}")
    cells = dict(zip(header, row, strict=False))
    for cell in row:
        _utf8(cell, where)  # a byte that is not UTF-8 is named by its line
    kind = cells.pop("type", "").strip() or record_type
    if kind is None:
        raise BadInputError(f"{where}: type: is required")
    return record_from_text(kind, cells, where)


def template(record_type: str | None) -> list[str]:
    """The header row of an empty CSV input: every field of a record type, or, without
    one, ``type`` and every field of every record type."""
    if record_type is None:
        return all_columns()
    if record_type not in RECORD_TYPES:
        raise BadInputError(
            f"the record type must be one of {', '.join(RECORD_TYPES)} (got {shown(record_type)})"
        )
    return [form.name for form in field_forms(record_type)]
