"""Assessments follow the desk's rules as claims and retractions do, in every export and
the Datasette pages: the reviewed view leaves out a reporter's assessment until an editor
approves it, and no view shows one the desk voided (rejected, or an entry error);
``--with-proposals`` brings proposals in, marked."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.desk_cli import Member
from tests.test_desk_filters import claim, desk

__all__ = ["desk"]  # the fixture, shared


def assess(member: Member, assessment_id: str, verdict: str) -> None:
    member.ok("add", "assessment", "--id", assessment_id, "--claim", "c1", "--verdict", verdict,
              "--by", "Desk", "--published-at", "2022-01-22",
              "--url", f"https://example.org/{assessment_id}",
              "--summary", f"says {assessment_id}")  # fmt: skip


@pytest.fixture
def assessed(desk: tuple[Member, Member]) -> Member:
    """ed's a-ed and a-void (an entry error); rita's a-rej (rejected) and a-wait (waiting)."""
    ed, rita = desk
    assert ed.append([claim("c1", "killed", 20, "r1")]).returncode == 0
    assess(ed, "a-ed", "true")
    assess(ed, "a-void", "mixed")
    ed.ok("erratum", "a-void", "--reason", "wrong claim")
    assess(rita, "a-rej", "false")
    ed.ok("review", "a-rej", "--reject", "--note", "no")
    assess(rita, "a-wait", "misleading")
    return ed


def export(ed: Member, folder: Path, form: str, *flags: str) -> Path:
    out = folder / f"export-{form}-{'-'.join(flags) or 'reviewed'}.{form}"
    ed.ok("export", "--incident", "g", "--format", form, "--out", str(out), *flags)
    return out


def claim_reviews(ed: Member, folder: Path, *flags: str) -> dict[str, list[object]]:
    """Each ClaimReview's url (its assessment) → the review marks among its identifiers."""
    items = json.loads(export(ed, folder, "claimreview", *flags).read_text())
    return {
        item["url"].rsplit("/", 1)[1]: [
            i["value"] for i in item.get("identifier", []) if i["propertyID"].endswith(":review")
        ]
        for item in items
    }


def test_claimreview_leaves_out_what_the_reviewed_view_does(
    desk: tuple[Member, Member], assessed: Member, tmp_path: Path
) -> None:
    desk[1].ok("add", "assessment", "--id", "a-nourl", "--claim", "c1", "--verdict", "false",
               "--by", "Desk", "--published-at", "2022-01-22")  # fmt: skip
    done = assessed.run("export", "--incident", "g", "--format", "claimreview")
    # Left out as a proposal, not as one without a url: the note names none of them.
    assert (done.returncode, "left out assessment" in done.stderr) == (0, False), done.stderr
    assert claim_reviews(assessed, tmp_path) == {"a-ed": []}
    assert claim_reviews(assessed, tmp_path, "--reviewed-only") == {"a-ed": []}
    assert claim_reviews(assessed, tmp_path, "--with-proposals") == {
        "a-ed": [],
        "a-wait": ["proposed"],
    }
    done = assessed.run("export", "--incident", "g", "--format", "claimreview",
                        "--with-proposals")  # fmt: skip
    assert "note: left out assessment a-nourl: it has no url" in done.stderr


def verdicts(path: Path) -> str:
    text = path.read_text(encoding="utf-8-sig")
    (row,) = csv.DictReader(io.StringIO(text))
    return row["verdicts"]


def test_csv_xlsx_verdicts_count_what_the_view_counts(assessed: Member, tmp_path: Path) -> None:
    assert verdicts(export(assessed, tmp_path, "csv")) == "true (Desk, 2022-01-22)"
    assert verdicts(export(assessed, tmp_path, "csv", "--with-proposals")) == (
        "true (Desk, 2022-01-22); misleading (Desk, 2022-01-22, proposed)"
    )
    sheet = load_workbook(export(assessed, tmp_path, "xlsx", "--with-proposals"))["assessments"]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]
    assert {row["assessment"]: row["review"] for row in rows} == {
        "a-ed": None,
        "a-wait": "proposed",
    }
    sheet = load_workbook(export(assessed, tmp_path, "xlsx"))["assessments"]
    assert [row[0].value for row in sheet.iter_rows(2)] == ["a-ed"]


def test_prov_and_html_show_only_what_the_view_counts(assessed: Member, tmp_path: Path) -> None:
    def prov(*flags: str) -> dict[str, object]:
        document = json.loads(export(assessed, tmp_path, "prov", *flags).read_text())
        return {
            name: record.get("ledger:review")
            for name, record in document["entity"].items()
            if name.startswith("ledger:assessment-")
        }

    assert prov() == {"ledger:assessment-a-ed": None}
    assert prov("--with-proposals") == {
        "ledger:assessment-a-ed": None,
        "ledger:assessment-a-wait": "proposed",
    }
    page = export(assessed, tmp_path, "html").read_text()
    assert "https://example.org/a-ed" in page
    for left_out in ("a-void", "a-rej", "a-wait"):
        assert f"https://example.org/{left_out}" not in page
    page = export(assessed, tmp_path, "html", "--with-proposals").read_text()
    assert "<td>misleading<br><em>proposed</em></td>" in page
    assert "<td>true</td>" in page
    for left_out in ("a-void", "a-rej"):
        assert f"https://example.org/{left_out}" not in page


def test_datasette_lists_the_assessments_the_desk_counts(assessed: Member) -> None:
    from incident_ledger.usecases.workspace import read_model
    from tests.test_datasette import run_query

    with read_model(assessed.db) as conn:
        [c1] = run_query(conn, "claims_by_source", source="s")
    assert c1["assessments"] == "true (Desk); misleading (Desk, proposed by rita)"


def test_an_empty_claimreview_says_why(desk: tuple[Member, Member]) -> None:
    ed, rita = desk
    assert ed.append([claim("c1", "killed", 20, "r1")]).returncode == 0
    assess(rita, "a-wait", "misleading")
    done = ed.run("export", "--incident", "g", "--format", "claimreview")
    assert (done.returncode, done.stdout.strip()) == (0, "[]")
    assert done.stderr.endswith(
        "note: no assessment known then counts in the reviewed view: the ClaimReview list "
        "is empty\n"
    ), done.stderr
