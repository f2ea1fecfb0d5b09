"""How much work an export asks of the read model: as many queries for an incident of many
claims, reports, corrections and desk notes as for one of a few (nothing is asked once a
row), and the HTML report reads its claims as it writes them, not all of them first."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.projections.exports import common, export_prov, html_export, prov_export
from incident_ledger.usecases import desk_work, writing
from incident_ledger.usecases.workspace import open_workspace
from tests.test_exports import day_end, signed

HEAD = [
    {"type": "incident", "id": "g", "title": "An incident", "timezone": "Asia/Baghdad"},
    {"type": "source", "id": "s", "name": "S", "kind": "monitor"},
    {"type": "source", "id": "relay", "name": "Relay", "kind": "agency"},
]


def ledger_of(tmp: Path, claims: int) -> str:
    """An incident of ``claims`` claims, each from its own report and relayed, every third
    corrected, every third of the others retracted, each with a desk note."""
    lines: list[dict[str, Any]] = [*HEAD]
    for n in range(claims):
        lines += [
            {"type": "report", "id": f"r{n}", "source": "s", "published_at": "2022-01-21",
             "url": f"https://news.example/{n}"},
            {"type": "claim", "id": f"c{n}", "incident": "g", "fact": "killed", "value": n,
             "report": f"r{n}", "claimant": "s", "via": ["relay"], "quote": f"said {n}"},
        ]  # fmt: skip
    for n in range(0, claims, 3):
        lines.append(
            {"type": "correction", "id": f"k{n}", "claim": f"c{n}", "incident": "g",
             "fact": "killed", "value": n + 1, "report": f"r{n}"}
        )  # fmt: skip
    for n in range(1, claims, 3):
        lines.append({"type": "retraction", "id": f"x{n}", "claim": f"c{n}", "report": f"r{n}"})
    db, path = str(tmp / "l.db"), tmp / "l.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    writing.init(db)
    writing.append_file(db, str(path))
    for n in range(claims):
        desk_work.note(db, f"claim:c{n}", text=f"checked {n}")
    return db


def statements(db: str, export: Callable[[sqlite3.Connection], object]) -> list[str]:
    """The statements the read model ran while ``export`` made its document."""
    ran: list[str] = []
    with open_workspace(db) as ws:
        ws.refresh()
        connection = ws.views.connection
        connection.set_trace_callback(ran.append)
        try:
            export(connection)
        finally:
            connection.set_trace_callback(None)
    return ran


def html(connection: sqlite3.Connection) -> object:
    return html_export.export_html(
        connection, incident="g", at=day_end("2030-01-01"), provenance=signed("head\n— sig")
    )


def prov(connection: sqlite3.Connection) -> object:
    return export_prov(
        connection, incident="g", at=day_end("2030-01-01"), provenance=signed("head\n— sig")
    )


@pytest.mark.parametrize("export", [html, prov], ids=["html", "prov"])
def test_an_export_asks_as_often_for_many_rows_as_for_few(
    tmp_path: Path, export: Callable[[sqlite3.Connection], object]
) -> None:
    (tmp_path / "few").mkdir()
    (tmp_path / "many").mkdir()
    few = statements(ledger_of(tmp_path / "few", 3), export)
    many = statements(ledger_of(tmp_path / "many", 15), export)  # one page of each still
    assert len(many) == len(few), sorted(set(many) - set(few))[:3]


def test_the_report_reads_its_claims_as_it_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No claim row is read before the page's first part is written, and the rows of the
    appendix are read a page at a time, each page once the one before is written."""
    monkeypatch.setattr(common, "ROW_PAGE", 4)
    db = ledger_of(tmp_path, 12)
    events: list[str] = []
    pages = common.RowSource.__iter__

    def counted(self: common.RowSource) -> Iterator[common.Row]:
        for n, row in enumerate(pages(self)):
            if n % 4 == 0 and "claimant" in row:  # a claim's
                events.append("page read")
            yield row

    monkeypatch.setattr(common.RowSource, "__iter__", counted)
    with open_workspace(db) as ws:
        ws.refresh()
        parts = html_export.html_parts(
            ws.views.connection, incident="g", at=day_end("2030-01-01"), provenance=None
        )
        events.extend("claim written" for part in parts if '<tr class="claim-' in part)
    assert events.count("page read") == 4  # 16 claims (12 and 4 corrections), 4 a page
    assert "claim written" in events[: events.index("page read", 1)]


def test_a_prov_export_keeps_no_name_of_the_records_it_wrote(tmp_path: Path) -> None:
    """``prov`` interns every qualified name a namespace makes: the records' namespace holds
    none of a page's names once the page is written."""
    db = ledger_of(tmp_path, 15)
    statements(db, prov)
    held = prov_export.LEDGER._cache  # prov's interning of the names the namespace made
    assert not [name for name in held if name.startswith(("claim-", "report-", "relay"))]
