"""An export ``--with-proposals`` says of a fact what ``state`` says with proposals: the
CSV and XLSX ``fact_status`` and the HTML report's contested facts mark a status only
proposals give, the HTML state table lists the positions a proposed end took away, and
the Datasette incident page says the mark once. The reviewed view (the default) shows
none of it (read-side: SQLite is enough)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.desk_cli import Member, review_desk
from tests.test_desk_marks import words

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "G", "timezone": "UTC"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "source", "id": "tala", "name": "Tala", "kind": "agency"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
    {"type": "report", "id": "t1", "source": "tala", "published_at": "2022-01-21"},
    {"type": "report", "id": "t2", "source": "tala", "published_at": "2022-01-22"},
]

AT = ("--at", "2022-01-23")
KILLED = "single (proposed by bob; reviewed: contested)"
WOUNDED = "contested (proposed by bob; reviewed: single)"
MISSING = "withdrawn (proposed by bob; reviewed: single)"


def claim(claim_id: str, fact: str, value: int, report: str) -> dict[str, Any]:
    return {"type": "claim", "id": claim_id, "incident": "g", "fact": fact, "value": value,
            "report": report}  # fmt: skip


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Member, Member, Member]:
    """alice (admin), bob (reporter) and eve (editor), review required. killed: eve's c0
    (sohr 5) and c2 (tala 7), bob's x2 withdraws c2 — single, reviewed contested.
    wounded: eve's w1 (sohr 3), bob's p1 (tala 9) — contested, reviewed single.
    missing: eve's m1 (tala 2), bob's y1 withdraws it — withdrawn, reviewed single."""
    monkeypatch.setenv("COLUMNS", "200")
    alice, bob, eve = review_desk(tmp_path)
    assert alice.append(SETUP).returncode == 0
    approved = [claim("c0", "killed", 5, "r1"), claim("c2", "killed", 7, "t1")]
    approved += [claim("w1", "wounded", 3, "r1"), claim("m1", "missing", 2, "t1")]
    assert eve.append(approved).returncode == 0
    assert bob.append([claim("p1", "wounded", 9, "t2")]).returncode == 0
    bob.ok("retract", "--id", "x2", "--claim", "c2", "--report", "t2")
    bob.ok("retract", "--id", "y1", "--claim", "m1", "--report", "t2")
    return alice, bob, eve


def export(member: Member, out: Path, *flags: str) -> Path:
    member.ok("export", "--incident", "g", "--format", out.suffix[1:], *AT, "--out", str(out),
              *flags)  # fmt: skip
    return out


def csv_statuses(path: Path) -> dict[str, str]:
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    return {row["claim"]: row["fact_status"] for row in rows}


def xlsx_statuses(path: Path) -> dict[str, str]:
    sheet = load_workbook(path)["claims"]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]
    return {row["claim"]: row["fact_status"] for row in rows}


def test_csv_and_xlsx_mark_a_status_only_proposals_give_as_state_does(
    desk: tuple[Member, Member, Member], tmp_path: Path
) -> None:
    alice, _, eve = desk
    marked = {"c0": KILLED, "c2": KILLED, "w1": WOUNDED, "p1": WOUNDED, "m1": MISSING}
    proposals = tmp_path / "proposals.csv"
    assert csv_statuses(export(alice, proposals, "--with-proposals")) == marked
    assert xlsx_statuses(export(alice, tmp_path / "proposals.xlsx", "--with-proposals")) == marked
    table = words(alice.ok("state", "g", *AT))
    assert all(status in table for status in marked.values()), table
    reviewed = {"c0": "contested", "c2": "contested", "w1": "single", "m1": "single"}
    assert csv_statuses(export(alice, tmp_path / "reviewed.csv")) == reviewed
    assert xlsx_statuses(export(alice, tmp_path / "reviewed.xlsx")) == reviewed
    eve.ok("review", "x2", "--approve")  # a plain withdrawal: single, unmarked
    approved = csv_statuses(export(alice, tmp_path / "approved.csv", "--with-proposals"))
    assert (approved["c0"], approved["w1"]) == ("single", WOUNDED)


def contested_section(page: str) -> str:
    return page.split("<h3>Contested facts</h3>")[1].split("<h3>State at", maxsplit=1)[0]


def state_rows(page: str) -> dict[str, str]:
    """The HTML state table's rows by fact, their text in words (tags dropped)."""
    table = page.split('<table class="state">')[1].split("</table>", maxsplit=1)[0]
    rows = re.findall(r"<tr[^>]*>\s*<td><code>(\w+)</code></td>(.*?)</tr>", table, flags=re.S)
    return {fact: " ".join(re.sub(r"<[^>]+>", " ", row).split()) for fact, row in rows}


def test_the_html_reports_contested_facts_mark_a_status_only_proposals_give(
    desk: tuple[Member, Member, Member], tmp_path: Path
) -> None:
    alice, _, _ = desk
    page = export(alice, tmp_path / "proposals.html", "--with-proposals").read_text()
    contested = contested_section(page)
    # killed, contested in the reviewed view, stays listed: only bob's unreviewed
    # retraction makes it single, which must never read as tala withdrawing.
    articles = dict(re.findall(r"<h4><code>(\w+)</code>(.*?)</article>", contested, flags=re.S))
    assert list(articles) == ["killed", "wounded"]
    assert "contested <em>(proposed by bob; reviewed: single)</em>" in articles["wounded"]
    assert "single <em>(proposed by bob; reviewed: contested)</em>" in articles["killed"]
    killed = " ".join(re.sub(r"<[^>]+>", " ", articles["killed"]).split())
    assert "tala: 7 withdrawn — proposal x2 by bob awaiting review" in killed
    reviewed = contested_section(export(alice, tmp_path / "reviewed.html").read_text())
    assert re.findall(r"<h4><code>(\w+)</code>", reviewed) == ["killed"]
    assert "proposed" not in reviewed


def test_the_html_state_table_lists_the_positions_proposals_ended(
    desk: tuple[Member, Member, Member], tmp_path: Path
) -> None:
    alice, _, eve = desk
    table = words(alice.ok("state", "g", *AT))
    ended = {
        "killed": "tala: 7 withdrawn — proposal x2 by bob awaiting review",
        "missing": "tala: 2 withdrawn — proposal y1 by bob awaiting review",
    }
    assert all(line in table for line in ended.values()), table
    assert "no active claim" not in table
    rows = state_rows(export(alice, tmp_path / "proposals.html", "--with-proposals").read_text())
    for fact, line in ended.items():
        assert line in rows[fact], rows[fact]
    assert "every claim was retracted" not in rows["missing"]
    assert "withdrawn" not in rows["wounded"]
    reviewed = state_rows(export(alice, tmp_path / "reviewed.html").read_text())
    assert "Tala : 7 · Tala , 21 Jan 2022" in reviewed["killed"]  # the reviewed view counts it
    assert "Tala : 2 · Tala , 21 Jan 2022" in reviewed["missing"]
    assert not any("proposal" in row for row in reviewed.values())
    eve.ok("review", "y1", "--approve")  # a plain withdrawal: no claim left, none listed
    after = state_rows(export(alice, tmp_path / "after.html", "--with-proposals").read_text())
    assert "every claim was retracted or corrected" in after["missing"]
    assert "proposal" not in after["missing"]


def test_the_datasette_incident_page_says_the_mark_once(
    desk: tuple[Member, Member, Member],
) -> None:
    from tests.test_web_pages import get, serving

    alice, _, _ = desk
    with serving(alice.db) as base:
        status, page = get(f"{base}/ledger/-/incident/g?at=2022-01-23")
    assert status == 200, page
    answer = page.split('<div id="answer">')[1].split("</div>")[0]
    rows = dict(re.findall(r"<tr><td>(\w+)</td>(.*?)</tr>", answer, flags=re.S))
    marks = {"killed": KILLED, "wounded": WOUNDED, "missing": MISSING}
    for fact, marked in marks.items():
        mark = marked.split(" ", 1)[1]  # (proposed by bob; reviewed: …)
        assert rows[fact].count(mark) == 1, rows[fact]
        assert f'{marked.split()[0]} <em class="proposed">{mark}</em>' in rows[fact]
    assert '<td class="why">single: only sohr says 5</td>' in rows["killed"]
