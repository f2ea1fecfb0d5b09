"""The CSV and XLSX exports as spreadsheets open them: LibreOffice headless converts each
to PDF without an error, with the Arabic text and the links in it; the workbook's
sheets, frozen header, filter, right-to-left cells and hyperlinks read back with
openpyxl."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger import samples

runner = CliRunner()

SOFFICE = shutil.which("soffice")
NEEDS_LIBREOFFICE = (
    "LibreOffice is not installed (.ci/run installs libreoffice-calc-nogui and poppler-utils)"
)
ARABIC_WORDS = ("المرصد", "السوري")  # no lam-alef ligature: pdftotext keeps their order


def require_tools() -> str:
    """soffice's path; outside CI a missing tool skips the test, in CI it fails it."""
    missing = SOFFICE is None or shutil.which("pdftotext") is None
    if missing and os.environ.get("CI"):
        pytest.fail(NEEDS_LIBREOFFICE)
    if missing:
        pytest.skip(NEEDS_LIBREOFFICE)
    assert SOFFICE is not None
    return SOFFICE


LINKED = [
    {"type": "report", "id": "r-linked", "source": "sohr", "published_at": "2022-01-26",
     "url": "https://news.example/r-linked", "title": "المرصد السوري", "language": "ar"},
    {"type": "claim", "id": "c-linked", "incident": "ghwayran-2022", "fact": "escaped",
     "value": 200, "qualifier": "at_least", "unit": "people", "report": "r-linked",
     "quote": "السوري"},
]  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The CSV and XLSX exports of the sample and a report with a link, in one folder."""
    folder = tmp_path_factory.mktemp("sheets")
    db = str(folder / "ledger.db")
    linked = folder / "linked.jsonl"
    linked.write_text("".join(json.dumps(r) + "\n" for r in LINKED), encoding="utf-8")
    for args in (
        ["init"],
        ["append", "--file", str(samples.GHWAYRAN)],
        ["append", "--file", str(linked)],
        ["export", "--format", "csv", "--out", str(folder / "claims.csv")],
        ["export", "--format", "xlsx", "--out", str(folder / "claims.xlsx")],
    ):
        result = runner.invoke(app, ["--db", db, *args])
        assert result.exit_code == 0, result.output
    yield folder


def to_pdf(soffice: str, source: Path, out: Path, *options: str) -> str:
    """Convert with LibreOffice and return the PDF's text. LibreOffice exits 0 even when
    it cannot load the file, so its stderr and the PDF are checked too."""
    profile = out / "profile"
    done = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         *options, "--convert-to", "pdf", "--outdir", str(out), str(source)],
        capture_output=True, text=True, timeout=180, env=os.environ | {"HOME": str(out)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stderr, done.stderr
    pdf = out / f"{source.stem}.pdf"
    assert pdf.stat().st_size > 0
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert int(info.stdout.split("Pages:")[1].split()[0]) >= 1
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return "".join(ch for ch in text if ch not in "\u202a\u202b\u202c\u202d\u202e")


@pytest.mark.slow
def test_csv_opens_in_libreoffice_with_its_arabic(exported: Path, tmp_path: Path) -> None:
    soffice = require_tools()
    assert exported.joinpath("claims.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    # 44 ',' separator, 34 '"' quote, 76 UTF-8, from line 1: LibreOffice reads UTF-8 CSV
    # as a legacy charset without it, BOM or not.
    text = to_pdf(soffice, exported / "claims.csv", tmp_path, "--infilter=CSV:44,34,76,1")
    assert "claimant_name" in text
    for word in ARABIC_WORDS:
        assert word in text


@pytest.mark.slow
def test_xlsx_opens_in_libreoffice_with_arabic_and_links(exported: Path, tmp_path: Path) -> None:
    soffice = require_tools()
    text = to_pdf(soffice, exported / "claims.xlsx", tmp_path)
    assert "value_words" in text
    for word in ARABIC_WORDS:
        assert word in text
    assert b"/URI" in (tmp_path / "claims.pdf").read_bytes()  # the hyperlinks survive


def test_xlsx_sheets_read_back(exported: Path) -> None:
    book = load_workbook(exported / "claims.xlsx")
    assert book.sheetnames == ["claims", "reports", "sources", "assessments"]
    claims = book["claims"]
    assert claims.freeze_panes == "A2"
    header = [cell.value for cell in claims[1]]
    assert claims.auto_filter.ref == f"A1:{claims.cell(1, len(header)).column_letter}82"
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in claims.iter_rows(2)]
    assert len(rows) == 81
    by_id = {row["claim"]: row for row in rows}
    first = by_id["c-000-sohr-killed-sf"]
    assert (first["value"], first["low"], first["value_words"]) == (20, 20, "at least 20 people")
    index = {name: i for i, name in enumerate(header)}
    quote_cell = claims.cell(2 + rows.index(first), index["quote"] + 1)
    assert quote_cell.alignment.readingOrder == 2  # right-to-left
    url_cell = next(
        claims.cell(2 + i, index["report_url"] + 1)
        for i, row in enumerate(rows)
        if row["report_url"]
    )
    assert url_cell.hyperlink is not None and url_cell.hyperlink.target == url_cell.value
    sources = book["sources"]
    assert [c.value for c in sources[1]][:2] == ["source", "name"]


def test_xlsx_keeps_formulas_as_text(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    records = [
        '{"type": "incident", "id": "g", "title": "=HYPERLINK(\\"http://evil\\",\\"x\\")"}',
        '{"type": "source", "id": "s", "name": "=1+1", "kind": "outlet"}',
        '{"type": "report", "id": "r", "source": "s", "published_at": "2022-01-21"}',
        '{"type": "claim", "id": "c", "incident": "g", "fact": "f", "value": "=2+2",'
        ' "report": "r"}',
    ]
    runner.invoke(app, ["--db", db, "init"])
    result = runner.invoke(app, ["--db", db, "append", "--file", "-"], input="\n".join(records))
    assert result.exit_code == 0, result.output
    out = tmp_path / "x.xlsx"
    result = runner.invoke(app, ["--db", db, "export", "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    claims = load_workbook(out)["claims"]
    header = [cell.value for cell in claims[1]]
    row = {name: cell for name, cell in zip(header, claims[2], strict=True)}
    assert (row["value"].value, row["value"].data_type) == ("=2+2", "s")
    assert (row["claimant_name"].value, row["claimant_name"].data_type) == ("=1+1", "s")


def test_xlsx_needs_a_file(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    runner.invoke(app, ["--db", db, "init"])
    result = runner.invoke(app, ["--db", db, "export", "--format", "xlsx"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: an xlsx workbook is a binary file: give a file to write it to\n"
    )


def test_xlsx_columns_fit_their_content_within_bounds(exported: Path) -> None:
    """A column is as wide as its header or its longest text (plus 2), at least 8 and at
    most 60 characters; text longer than its column wraps."""
    claims = load_workbook(exported / "claims.xlsx")["claims"]
    header = [cell.value for cell in claims[1]]
    widths = {
        name: claims.column_dimensions[claims.cell(1, i).column_letter].width
        for i, name in enumerate(header, start=1)
    }
    columns = {name: [row[i].value for row in claims.iter_rows(2)] for i, name in enumerate(header)}

    def longest(name: str) -> int:
        return max(len(str(value)) for value in columns[name] if value is not None)

    assert widths["claim"] == longest("claim") + 2
    assert widths["unit"] == max(8, longest("unit") + 2)
    assert widths["qualifier"] == len("qualifier") + 2  # a short value: its header's width
    assert widths["quote"] == 60 < longest("quote")  # quotes run longer: bounded, wrapped
    quote = header.index("quote")
    long_quotes = [row[quote] for row in claims.iter_rows(2) if len(row[quote].value or "") > 58]
    assert long_quotes and all(cell.alignment.wrap_text for cell in long_quotes)


LONG_URL = "https://news.example/2022/01/21/" + "ghwayran-prison-attack-" * 4 + "report"
TOO_LONG_URL = "https://news.example/" + "a" * 250  # over Excel's 255-character limit
LINKS: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran", "timezone": "Asia/Damascus"},
    {"type": "source", "id": "s", "name": "Outlet", "kind": "outlet"},
    {"type": "report", "id": "r1", "source": "s", "published_at": "2022-01-21",
     "url": LONG_URL, "archive_url": "https://archive.example/r1"},
    {"type": "report", "id": "r2", "source": "s", "published_at": "2022-01-22T10:00:00Z",
     "url": TOO_LONG_URL},
    {"type": "claim", "id": "c1", "incident": "g", "fact": "killed", "value": 20,
     "report": "r1"},
    {"type": "claim", "id": "c2", "incident": "g", "fact": "killed", "value": 21,
     "report": "r2"},
]  # fmt: skip


def _book(tmp_path: Path, zone: str, form: str = "xlsx") -> Path:
    """The :data:`LINKS` ledger with its incident in ``zone``, exported as ``form``."""
    base = tmp_path / form
    base.mkdir()
    db, out = str(base / "ledger.db"), base / f"links.{form}"
    zoned = [r | {"timezone": zone} if r["type"] == "incident" else r for r in LINKS]
    records = "".join(json.dumps(r) + "\n" for r in zoned)
    for args, stdin in (
        (["init"], None),
        (["append", "--file", "-"], records),
        (["export", "--format", form, "--out", str(out)], None),
    ):
        result = runner.invoke(app, ["--db", db, *args], input=stdin)
        assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def linked_book(tmp_path: Path) -> Any:
    """The workbook of an incident in Asia/Damascus: a date-only report with a long link,
    and a report whose URL is too long for an Excel hyperlink."""
    return load_workbook(_book(tmp_path, "Asia/Damascus"))


def _rows(sheet: Any, key: str) -> dict[str, dict[str, Any]]:
    """A sheet's cells by its key column's value, then by column name."""
    header = [cell.value for cell in sheet[1]]
    rows = (dict(zip(header, row, strict=True)) for row in sheet.iter_rows(2))
    return {row[key].value: row for row in rows}


def test_xlsx_links_are_wrapped_hyperlinks_up_to_excels_limit(linked_book: Any) -> None:
    claims, reports = _rows(linked_book["claims"], "claim"), _rows(linked_book["reports"], "report")
    for cell in (claims["c1"]["report_url"], reports["r1"]["url"]):
        assert cell.value == LONG_URL
        assert cell.hyperlink is not None and cell.hyperlink.target == LONG_URL
        assert (cell.alignment.wrap_text, cell.font.underline) == (True, "single")
    for cell in (claims["c1"]["archive_url"], reports["r1"]["archive_url"]):
        assert cell.hyperlink is not None and cell.hyperlink.target == "https://archive.example/r1"
    for cell in (claims["c2"]["report_url"], reports["r2"]["url"]):
        assert (cell.value, cell.hyperlink, cell.alignment.wrap_text) == (TOO_LONG_URL, None, True)


def test_xlsx_reports_and_claims_show_a_date_only_report_on_the_same_day(
    linked_book: Any,
) -> None:
    claims, reports = _rows(linked_book["claims"], "claim"), _rows(linked_book["reports"], "report")
    # The report gave a date: shown as given, on both sheets.
    assert reports["r1"]["published_at"].value == "2022-01-21"
    assert claims["c1"]["published_at"].value == "2022-01-21"
    assert reports["r2"]["published_at"].value == "2022-01-22T10:00:00Z"


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Pacific/Kiritimati", "UTC"])
def test_a_date_only_reports_claims_show_its_day_in_any_zone(tmp_path: Path, zone: str) -> None:
    """West of UTC the end of 21 Jan is 22 Jan in UTC: the claims still show the report's
    day, as the reports sheet does; a claim of a report given as an instant keeps it."""
    book = load_workbook(_book(tmp_path, zone))
    claims, reports = _rows(book["claims"], "claim"), _rows(book["reports"], "report")
    assert reports["r1"]["published_at"].value == "2022-01-21"
    assert claims["c1"]["published_at"].value == "2022-01-21"
    assert claims["c2"]["published_at"].value == "2022-01-22T10:00:00Z"
    text = _book(tmp_path, zone, "csv").read_text(encoding="utf-8-sig")
    rows = {row["claim"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows["c1"]["published_at"] == "2022-01-21"
    assert rows["c2"]["published_at"] == "2022-01-22T10:00:00Z"
