"""The HTML report's header speaks of the desk's proposals only where there are some: on a
ledger without review it said that proposals still waiting for review counted."""

from __future__ import annotations

from pathlib import Path

from tests.test_understanding_rules import claim, cli, ledger_of, report


def test_a_report_without_proposals_speaks_of_none(tmp_path: Path) -> None:
    db = ledger_of(tmp_path, [report("r1", "wire", "2022-01-21"), claim("k1", "killed", 7, "r1")])
    page = tmp_path / "report.html"
    assert cli(db, "export", "--format", "html", "--out", str(page))[0] == 0
    header = page.read_text(encoding="utf-8").split("</header>")[0]
    assert "waiting for review" not in header and "proposals" not in header, header
    assert "Entry errors count nowhere." in " ".join(header.split())
