"""Every export with ``--with-proposals`` says which records are proposals not yet
approved, by the desk's one rule (``desk_rules.proposed_records``): a ``review`` column in
the CSV and XLSX, ``ledger:review`` in PROV, "proposed" in the HTML report's claims and
positions; and a claim ended by a proposal is shown ended *with* the mark, never as a
plain retraction."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.desk_cli import Member
from tests.test_desk_filters import desk, propose

__all__ = ["desk"]  # the fixture, shared


@pytest.fixture
def proposals(desk: tuple[Member, Member]) -> Member:
    """ed's c1 and e2; rita's unreviewed claim p1 and retraction x1 of c1."""
    ed, rita = desk
    propose(ed, rita)
    return ed


def export(ed: Member, folder: Path, form: str, *flags: str) -> Path:
    out = folder / f"export-{form}-{len(flags)}.{form}"
    ed.ok("export", "--incident", "g", "--format", form, "--out", str(out), *flags)
    return out


def csv_rows(path: Path) -> dict[str, dict[str, str]]:
    text = path.read_text(encoding="utf-8-sig")
    return {row["claim"]: row for row in csv.DictReader(io.StringIO(text))}


def marks(rows: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {
        claim_id: (row["claim_status"], row["review"] or None, row["end_review"] or None)
        for claim_id, row in rows.items()
    }


def test_csv_and_xlsx_mark_proposals_and_ends_by_proposals(
    proposals: Member, tmp_path: Path
) -> None:
    expected = {
        "c1": ("retracted", None, "proposed"),  # ended by rita's unreviewed retraction
        "p1": ("active", "proposed", None),
        "e2": ("active", None, None),
    }
    assert marks(csv_rows(export(proposals, tmp_path, "csv", "--with-proposals"))) == expected
    sheet = load_workbook(export(proposals, tmp_path, "xlsx", "--with-proposals"))["claims"]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]
    assert marks({row["claim"]: row for row in rows}) == expected
    # The reviewed view shows no proposal: nothing to mark.
    assert marks(csv_rows(export(proposals, tmp_path, "csv"))) == {
        "c1": ("active", None, None),
        "e2": ("active", None, None),
    }
    proposals.ok("review", "x1", "--approve")
    proposals.ok("review", "p1", "--approve")
    after = tmp_path / "approved"
    after.mkdir()
    assert marks(csv_rows(export(proposals, after, "csv", "--with-proposals"))) == {
        "c1": ("retracted", None, None),
        "p1": ("active", None, None),
        "e2": ("active", None, None),
    }


def test_prov_and_html_mark_proposals(proposals: Member, tmp_path: Path) -> None:
    prov = json.loads(export(proposals, tmp_path, "prov", "--with-proposals").read_text())
    records = {**prov["entity"], **prov["activity"]}
    assert {
        name: (record.get("ledger:review"), record.get("ledger:endReview"))
        for name, record in records.items()
        if name.startswith(("ledger:claim-", "ledger:retraction-"))
    } == {
        "ledger:claim-c1": (None, "proposed"),
        "ledger:claim-p1": ("proposed", None),
        "ledger:claim-e2": (None, None),
        "ledger:retraction-x1": ("proposed", None),
    }
    assert "ledger:review" not in export(proposals, tmp_path, "prov").read_text()
    page = export(proposals, tmp_path, "html", "--with-proposals").read_text()
    assert "<td>retracted by x1 (<em>proposed</em>)" in page
    assert "<td>active<br><em>proposed</em></td>" in page  # p1's row
    # p1, killed's one position
    assert '<span class="when">22 Jan 2022</span>, <em>proposed</em></span></li>' in page
    assert "<em>proposed</em>" not in export(proposals, tmp_path, "html").read_text()


def assessment(assessment_id: str, claim: str) -> dict[str, Any]:
    return {"type": "assessment", "id": assessment_id, "claim": claim, "verdict": "false",
            "by": "Desk", "published_at": "2022-01-25",
            "url": f"https://check.example/{assessment_id}"}  # fmt: skip


def review_mark(item: dict[str, Any]) -> str | None:
    """The ``incident-ledger:review`` identifier of a ClaimReview or its claim, if any."""
    marks = [i["value"] for i in item.get("identifier", ()) if i["propertyID"].endswith(":review")]
    assert len(marks) <= 1, marks
    return marks[0] if marks else None


def test_an_approved_assessment_of_a_proposed_claim_marks_the_claim(
    proposals: Member, tmp_path: Path
) -> None:
    """ed's assessments count at once; a1 assesses rita's p1, still a proposal: the
    ClaimReview's claim and the HTML Assessments table say so, as CSV and PROV do."""
    assert proposals.append([assessment("a1", "p1"), assessment("a2", "e2")]).returncode == 0
    reviews = json.loads(export(proposals, tmp_path, "claimreview", "--with-proposals").read_text())
    marks = {
        review["url"].rsplit("/", 1)[1]: (review_mark(review), review_mark(review["itemReviewed"]))
        for review in reviews
    }
    assert marks == {"a1": (None, "proposed"), "a2": (None, None)}
    page = export(proposals, tmp_path, "html", "--with-proposals").read_text()
    table = page.split('<table class="assessments">')[1].split("</table>", maxsplit=1)[0]
    rows = dict(re.findall(r"<tr>\s*<td><code>(\w+)</code>(.*?)</tr>", table, flags=re.S))
    assert rows["p1"].startswith("<br><em>claim proposed</em></td>"), rows["p1"]
    assert "proposed" not in rows["e2"]
    reviewed = export(proposals, tmp_path, "html").read_text()
    assert "proposed" not in reviewed.split('<table class="assessments">')[1]
    assert "incident-ledger:review" not in export(proposals, tmp_path, "claimreview").read_text()
