"""A captured file whose stored pieces were lost or damaged: ``verify`` names the file
and its report in one line (exit 1), never a traceback, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from incident_ledger.ledger.evidence import CHUNK_BYTES
from tests.test_evidence import SETUP, chunk_sql, cli


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
