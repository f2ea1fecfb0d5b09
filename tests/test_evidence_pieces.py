"""A captured file whose stored pieces were lost or damaged: ``verify`` names the file
and its report in one line (exit 1), never a traceback, on SQLite and PostgreSQL; and
captures refused before anything is stored: a stated media type the first bytes deny,
a report the desk voided."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from incident_ledger.ledger.evidence import CHUNK_BYTES
from tests.test_evidence import PAGE, SETUP, chunk_sql, cli


def capture_pdf(store_url: str, tmp_path: Path) -> tuple[str, str, int]:
    """A ledger holding a PDF of three pieces captured for r1: its store, sha256, size."""
    assert cli(store_url, "init")[0] == 0
    lines = "".join(json.dumps(record) + "\n" for record in SETUP)
    assert cli(store_url, "append", "--file", "-", stdin=lines)[0] == 0
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + os.urandom(CHUNK_BYTES * 5 // 2))
    assert cli(store_url, "capture", "r1", str(pdf))[0] == 0
    return store_url, hashlib.sha256(pdf.read_bytes()).hexdigest(), pdf.stat().st_size


@pytest.fixture
def captured(store_url: str, tmp_path: Path) -> tuple[str, str, int]:
    """``capture_pdf`` on each backend."""
    return capture_pdf(store_url, tmp_path)


@pytest.mark.parametrize("idx", [1, 2])
def test_a_missing_piece_is_named_with_its_file(captured: tuple[str, str, int], idx: int) -> None:
    db, sha256, _ = captured
    chunk_sql(db, "DELETE FROM chunks WHERE idx = ?", (idx,))
    assert cli(db, "verify") == (
        1,
        "",
        f"error: captured file {sha256} of report:r1 (doc.pdf): its stored piece {idx} of 3 "
        "is missing\n",
    )


def test_every_piece_missing_is_named_with_its_file(captured: tuple[str, str, int]) -> None:
    db, sha256, _ = captured
    chunk_sql(db, "DELETE FROM chunks")
    assert cli(db, "verify") == (
        1,
        "",
        f"error: captured file {sha256} of report:r1 (doc.pdf): its stored piece 0 of 3 "
        "is missing\n",
    )


def test_a_piece_turned_to_text_is_a_changed_file(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    _, sha256, _ = capture_pdf(db, tmp_path)
    chunk_sql(
        db, "UPDATE chunks SET data = substr(data, 1, length(data) - 1) || x'00' WHERE idx = 1"
    )
    code, out, err = cli(db, "verify")
    assert (code, out) == (1, "")
    assert err.startswith(
        f"error: captured file {sha256} of report:r1 (doc.pdf): its stored bytes hash to "
    )
    assert err.endswith(
        "bytes), not to what was captured: they were changed after it was captured\n"
    )


def test_a_stated_media_type_is_checked_against_the_first_bytes(tmp_path: Path) -> None:
    db, _, _ = capture_pdf(str(tmp_path / "ledger.db"), tmp_path)
    before = json.loads(cli(db, "verify", "--json")[1])["events"]
    text, binary, page = tmp_path / "notes.txt", tmp_path / "x.bin", tmp_path / "page.txt"
    text.write_bytes(b"hello")
    binary.write_bytes(b"\x00\x01 not a page")
    page.write_bytes(b"At least 20 killed, the monitor said.")
    for file, media_type, said in (
        (text, "application/pdf", "notes.txt does not start as every PDF file does"),
        (text, "image/png", "notes.txt does not start as every PNG file does"),
        (text, "application/warc", "notes.txt does not start as every WARC file does"),
        (binary, "text/html", "x.bin holds binary bytes, not text"),
    ):
        assert cli(db, "capture", "r1", str(file), "--media-type", media_type) == (
            2,
            "",
            f"error: {said}: it is not {media_type}\n",
        )
    assert json.loads(cli(db, "verify", "--json")[1])["events"] == before
    assert cli(db, "capture", "r1", str(page), "--media-type", "text/html")[0] == 0


def test_a_report_voided_by_an_erratum_takes_no_capture(
    captured: tuple[str, str, int], tmp_path: Path
) -> None:
    db, _, _ = captured
    page = tmp_path / "page.html"
    page.write_bytes(PAGE)
    assert cli(db, "erratum", "r3", "--reason", "not this incident's")[0] == 0
    code, out, err = cli(db, "capture", "r3", str(page))  # its sha256 is the page's
    assert (code, out) == (2, "")
    assert re.fullmatch(
        r"error: report 'r3' was voided by the erratum of report:r3 \(recorded \S+Z: not this "
        r"incident's\): it takes no capture\n",
        err,
    )
    assert cli(db, "erratum", "s", "--reason", "no such monitor")[0] == 0
    code, _, err = cli(db, "capture", "r1", str(page))
    assert code == 2
    assert err.startswith("error: report 'r1' was voided by the erratum of source:s (recorded ")
