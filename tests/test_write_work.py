"""The reads a write makes do not grow with the number of writes before it (counted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger.stores.recorder import LogView
from incident_ledger.usecases import writing

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
]


def claims_file(folder: Path, number: int) -> str:
    path = folder / f"claims-{number}.jsonl"
    records = [
        {"type": "claim", "id": f"c{number}-{n}", "incident": "g", "fact": "killed.total"}
        | {"value": n, "report": "r1"}
        for n in range(5)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return str(path)


def test_an_import_reads_as_much_after_many_batches_as_after_few(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "ledger.db")
    writing.init(db)
    setup = tmp_path / "setup.jsonl"
    setup.write_text("".join(json.dumps(r) + "\n" for r in SETUP), "utf-8")
    writing.append_file(db, str(setup))
    reads: list[str] = []
    original = LogView._rows

    def counted(self: LogView, sql: str, params: Any = ()) -> list[Any]:
        reads.append(sql)
        return original(self, sql, params)

    monkeypatch.setattr(LogView, "_rows", counted)
    counts = []
    for number in range(8):
        reads.clear()
        outcome = writing.append_file(db, claims_file(tmp_path, number))
        assert outcome.added_total == 5 and not outcome.proposed
        counts.append(len(reads))
    # the third import and the eighth, with five more signed batches in the log between
    assert counts[7] == counts[2]
