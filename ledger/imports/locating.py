"""Where an input first holds a record (``line 12``), for the messages that name it.

An import that finds a record reusing the id of one it recorded earlier names where
the input holds that earlier one; the pages recorded are not kept, so the input is read
again, only then.
"""

from __future__ import annotations

import csv
from pathlib import Path

import orjson

from incident_ledger.ledger.domain import aggregate_id_for
from incident_ledger.ledger.imports.parsing import BOM


def first_line_of(path: Path, aggregate_id: str) -> str | None:
    """Where a file first holds a record under an aggregate id (``line 12``), for messages."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                data = orjson.loads(line.removeprefix(BOM) if number == 1 else line)
                kind, record_id = data["type"], data["id"]
                if aggregate_id_for(kind, record_id) == aggregate_id:
                    return f"line {number}"
            except (orjson.JSONDecodeError, TypeError, KeyError):
                continue
    return None


def first_row_of(path: Path, aggregate_id: str, record_type: str | None) -> str | None:
    """Where a CSV file first holds a record under an aggregate id (``line 12``)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        start = 2
        for row in reader:
            kind = (row.get("type") or "").strip() or record_type
            if kind and aggregate_id_for(kind, (row.get("id") or "").strip()) == aggregate_id:
                return f"line {start}"
            start = reader.line_num + 1
    return None
