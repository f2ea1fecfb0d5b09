"""Evidence: a report's page as it was, captured by its SHA-256 into the store on either
backend, hashed again by verify, carried by a JSONL bundle and restored from it; and a
report's archived copy (``archive_url``), a field added in the report's second version."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.domain import Report, creation_data
from incident_ledger.ledger.evidence import CHUNK_BYTES
from incident_ledger.ledger.leaves import framed_leaf, leaf_frame
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.views import Views
from incident_ledger.usecases import auditing, capturing, writing
from tests.conftest import POSTGRES_URL

runner = CliRunner()

PAGE = b"<!DOCTYPE html><html><body><p>At least 20 killed</p></body></html>\n"
PAGE_SHA = hashlib.sha256(PAGE).hexdigest()
ARCHIVE = "https://web.archive.org/web/20220121000000/https://news.example/r1"
SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "G"},
    {"type": "source", "id": "s", "name": "S", "kind": "monitor"},
    {"type": "report", "id": "r1", "source": "s", "published_at": "2022-01-21",
     "url": "https://news.example/r1", "archive_url": ARCHIVE},
    {"type": "report", "id": "r2", "source": "s", "published_at": "2022-01-22", "sha256": "0" * 64},
    {"type": "report", "id": "r3", "source": "s", "published_at": "2022-01-23", "sha256": PAGE_SHA},
    {"type": "claim", "id": "c1", "incident": "g", "fact": "killed", "value": 20, "report": "r1"},
]  # fmt: skip


def cli(db: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(store_url: str) -> str:
    assert cli(store_url, "init")[0] == 0
    lines = "".join(json.dumps(record) + "\n" for record in SETUP)
    assert cli(store_url, "append", "--file", "-", stdin=lines)[0] == 0
    return store_url


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A web page, a PDF of two and a half chunks, and a file of no kept type."""
    page, pdf, other = tmp_path / "page.html", tmp_path / "doc.pdf", tmp_path / "x.bin"
    page.write_bytes(PAGE)
    pdf.write_bytes(b"%PDF-1.7\n" + os.urandom(CHUNK_BYTES * 5 // 2))
    other.write_bytes(b"\x00\x01 not a page")
    return {"page": page, "pdf": pdf, "other": other}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def chunk_sql(db: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Run SQL on the event store's chunk table (``chunks``), on either backend."""
    if db.startswith("postgresql"):
        import psycopg

        schema = db.rsplit("schema=", 1)[1]
        assert POSTGRES_URL is not None
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            sql = sql.replace("chunks", f'"{schema}".evidence_chunks').replace("?", "%s")
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    with sqlite3.connect(db) as conn:
        return conn.execute(sql.replace("chunks", "evidence_chunks"), params).fetchall()


def test_a_capture_is_kept_once_by_its_sha256_and_verify_hashes_it_again(
    db: str, files: dict[str, Path]
) -> None:
    code, out, err = cli(db, "capture", "r1", str(files["page"]))
    assert (code, err) == (0, "")
    assert out == f"captured HTML of report r1: sha256 {PAGE_SHA}, {len(PAGE)} bytes\n"
    assert cli(db, "capture", "r3", str(files["page"]))[0] == 0  # its sha256 matches
    code, out, _ = cli(db, "capture", "r1", str(files["pdf"]), "--json")
    shown = json.loads(out)
    assert (code, shown["media_type"], shown["size"]) == (
        0,
        "application/pdf",
        1 + CHUNK_BYTES * 5 // 2 + 8,
    )
    counts = dict(chunk_sql(db, "SELECT sha256, COUNT(*) FROM chunks GROUP BY sha256"))
    assert counts == {PAGE_SHA: 1, sha(files["pdf"]): 3}  # the page is stored once
    code, out, _ = cli(db, "verify", "--json")
    assert (code, json.loads(out)["captures"]) == (0, 3)

    chunk_sql(db, "UPDATE chunks SET data = ? WHERE idx = 1", (os.urandom(CHUNK_BYTES),))
    code, _, err = cli(db, "verify")
    assert code == 1
    assert err.startswith(
        f"error: captured file {sha(files['pdf'])} of report:r1 (doc.pdf): its stored bytes "
        "hash to "
    )
    assert err.endswith(
        f" ({len(files['pdf'].read_bytes())} bytes), not to what was captured: they were "
        "changed after it was captured\n"
    )


def test_a_bad_capture_says_why_in_one_line_and_writes_nothing(
    db: str, files: dict[str, Path]
) -> None:
    before = json.loads(cli(db, "verify", "--json")[1])["events"]
    page, pdf = str(files["page"]), str(files["pdf"])
    refused = [
        (("r1", str(files["other"])), 2, "cannot tell what kind of file x.bin is: only HTML, "
         "PDF, PNG, WARC files are captured (give its media type if it is one of them)"),
        (("r2", page), 2, f"report 'r2' has sha256 {'0' * 64}, but the captured file's is "
         f"{PAGE_SHA}"),
        (("r1", pdf, "--media-type", "text/html"), 2, "doc.pdf is PDF, not text/html"),
        (("r1", page, "--media-type", "image/jpeg"), 2,
         "media type 'image/jpeg': only HTML, PDF, PNG, WARC files are captured"),
        (("nope", page), 1, "no report 'nope' in the ledger"),
        (("r1", str(files["page"].with_name("missing.html"))), 1,
         f"no such file: {files['page'].with_name('missing.html')}"),
    ]  # fmt: skip
    empty, fifo = files["page"].with_name("empty.html"), files["page"].with_name("fifo")
    empty.write_bytes(b"")
    os.mkfifo(fifo)  # nothing ever writes to it: reading it would wait for good
    refused += [
        (("r1", str(empty)), 2, f"{empty} is empty"),
        (("r1", str(fifo)), 2, f"{fifo} is not a regular file"),
    ]
    for args, code, message in refused:
        assert cli(db, "capture", *args)[0::2] == (code, f"error: {message}\n"), args
    assert json.loads(cli(db, "verify", "--json")[1])["events"] == before
    assert cli(db, "capture", "r1", page)[0] == 0
    assert cli(db, "capture", "r1", page)[0::2] == (
        2,
        f"error: report 'r1' already has this file ({PAGE_SHA})\n",
    )


def test_a_50_mb_capture_never_holds_the_file_in_memory(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    writing.init(db)
    setup = [{key: v for key, v in r.items() if key != "sha256"} for r in SETUP[:4]]
    (tmp_path / "setup.jsonl").write_text("".join(json.dumps(r) + "\n" for r in setup))
    writing.append_file(db, str(tmp_path / "setup.jsonl"))
    (tmp_path / "small.html").write_bytes(PAGE)
    capturing.capture(db, "r1", str(tmp_path / "small.html"), None)  # everything imported
    big = tmp_path / "big.pdf"
    with big.open("wb") as file:
        file.write(b"%PDF-1.7\n")
        for _ in range(50):
            file.write(os.urandom(CHUNK_BYTES))
    tracemalloc.start()
    try:
        shown = capturing.capture(db, "r1", str(big), None)
        capture_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        assert auditing.verify(db)["captures"] == 2
        verify_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert shown["size"] == 50 * CHUNK_BYTES + 9
    # A few chunks at most, never the 50 MB file.
    assert capture_peak < 8 * CHUNK_BYTES, capture_peak
    assert verify_peak < 8 * CHUNK_BYTES, verify_peak
    # Nor does the store hold it (SQLite's page cache is not Python's memory): in a
    # process of its own, with a fresh ledger, the peak resident size grows by a few
    # chunks, not 50 MB.
    grown = subprocess.run(
        [sys.executable, "-c", _PEAK_GROWTH, str(tmp_path / "peak.db"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert grown.returncode == 0, grown.stderr
    assert int(grown.stdout) < 16 * CHUNK_BYTES, grown.stdout


_PEAK_GROWTH = """
import sys
from pathlib import Path
from incident_ledger.usecases import capturing, writing

def peak():  # this process's peak resident size (VmHWM: unlike ru_maxrss, not the parent's)
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024

db, folder = sys.argv[1:]
writing.init(db)
writing.append_file(db, folder + "/setup.jsonl")
capturing.capture(db, "r1", folder + "/small.html", None)
before = peak()
capturing.capture(db, "r1", folder + "/big.pdf", None)
print(peak() - before)
"""


def test_a_bundle_carries_the_captured_files_and_restores_them(
    db: str, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("page", "pdf"):
        assert cli(db, "capture", "r1", str(files[name]))[0] == 0
    page = cli(db, "export", "--format", "html")[1]
    assert 'href="evidence/' in page
    assert "A captured copy opens only when\nthis page is inside a bundle exported" in page
    bundle = tmp_path / "bundle"
    code, out, _ = cli(db, "export", "--format", "jsonl", "--out", str(bundle), "--with-evidence")
    assert code == 0 and out.endswith(f"entries and 2 captured file(s) to {bundle}/\n")
    for name in ("page", "pdf"):
        assert (bundle / "evidence" / sha(files[name])).read_bytes() == files[name].read_bytes()
    code, out, _ = cli(db, "verify", "--export", str(bundle))
    assert code == 0 and out.endswith("; 2 capture(s) of 2 file(s), each file hashed again\n")

    restored = str(tmp_path / "restored.db")
    with monkeypatch.context() as alone:  # a SQLite ledger with its own key and model
        alone.delenv("LEDGER_KEY", raising=False)
        alone.delenv("LEDGER_VIEWS", raising=False)
        assert cli(restored, "restore", str(bundle))[0::2] == (0, "")
        code, out, _ = cli(restored, "verify", "--json")
    assert (code, json.loads(out)["captures"]) == (0, 2)

    bare = tmp_path / "bare"
    assert cli(db, "export", "--format", "jsonl", "--out", str(bare))[0::2] == (
        0,
        "note: the captured files (2) are not included: restoring the bundle will need "
        "them (export --with-evidence to include them)\n",
    )
    assert not (bare / "evidence").exists()
    assert cli(str(tmp_path / "r2.db"), "restore", str(bare))[0::2] == (
        2,
        "error: the bundle holds 2 capture(s) of 2 file(s) but not their files: export it "
        "again with the "
        "captured files\n",
    )
    assert not (tmp_path / "r2.db").exists()
    assert cli(db, "export", "--format", "csv", "--with-evidence")[0::2] == (
        2,
        "error: captured files go only into a JSONL bundle\n",
    )


def test_verify_export_names_a_changed_missing_or_stray_captured_file(
    db: str, files: dict[str, Path], tmp_path: Path
) -> None:
    assert cli(db, "capture", "r1", str(files["page"]))[0] == 0
    bundle = tmp_path / "bundle"
    assert cli(db, "export", "--format", "jsonl", "--out", str(bundle), "--with-evidence")[0] == 0
    kept = bundle / "evidence" / PAGE_SHA
    kept.write_bytes(PAGE + b"x")
    changed = hashlib.sha256(PAGE + b"x").hexdigest()
    assert cli(db, "verify", "--export", str(bundle))[0::2] == (
        1,
        f"error: evidence/{PAGE_SHA} (captured copy of report:r1): its bytes hash to "
        f"{changed} ({len(PAGE) + 1} bytes), not to what was captured\n",
    )
    kept.unlink()
    assert cli(db, "verify", "--export", str(bundle))[0::2] == (
        1,
        f"error: evidence/{PAGE_SHA} (captured copy of report:r1) is missing from the bundle\n",
    )
    (bundle / "evidence" / "stray").write_bytes(b"?")
    assert cli(db, "verify", "--export", str(bundle))[0::2] == (
        1,
        "error: evidence/stray is not a capture the bundle holds\n",
    )


def test_an_incident_bundle_takes_its_reports_captures(
    db: str, files: dict[str, Path], tmp_path: Path
) -> None:
    assert cli(db, "capture", "r1", str(files["page"]))[0] == 0
    assert cli(db, "capture", "r3", str(files["page"]))[0] == 0  # r3: no claim of g cites it
    bundle = tmp_path / "g"
    args = ("export", "--format", "jsonl", "--out", str(bundle), "--incident", "g")
    assert cli(db, *args, "--with-evidence")[0] == 0
    leaves = [json.loads(line) for line in (bundle / "leaves.jsonl").read_text().splitlines()]
    assert [leaf["id"] for leaf in leaves if leaf["id"].startswith("capture:")] == [
        f"capture:r1/{PAGE_SHA}"
    ]
    assert [p.name for p in (bundle / "evidence").iterdir()] == [PAGE_SHA]
    code, out, _ = cli(db, "verify", "--export", str(bundle))
    assert code == 0 and "1 capture(s) of 1 file(s), each file hashed again" in out


def test_outputs_link_the_archived_and_captured_copies(db: str, files: dict[str, Path]) -> None:
    assert cli(db, "capture", "r1", str(files["page"]))[0] == 0
    code, page, _ = cli(db, "export", "--format", "html", "--incident", "g")
    assert code == 0
    assert f'<a href="{ARCHIVE}"\n rel="noopener noreferrer nofollow">archived copy</a>' in page
    assert f'<a href="evidence/{PAGE_SHA}">captured copy\n (HTML)</a>' in page


def test_a_report_recorded_before_archive_urls_reads_without_one(
    ledger: Ledger, projector: Projector, views: Views
) -> None:
    """A version-1 report event (no ``archive_url``) is upcast when read: the log is
    never rewritten."""
    fields = {"source": "s", "published_at": "2022-01-21", "url": "https://news.example/old"}
    topic = Report.Registered.TOPIC
    leaf = framed_leaf(
        *leaf_frame(topic, 1, 1),
        "report:old",
        "2026-01-01T00:00:00.000000Z",
        creation_data(fields, "report"),
    )
    source = {"name": "S", "kind": "monitor"}
    source_leaf = framed_leaf(
        *leaf_frame("incident-ledger/v1/Source.Registered", 1, 1),
        "source:s",
        "2026-01-01T00:00:00.000000Z",
        creation_data(source, "source"),
    )
    with ledger.audit.appending() as appender:
        rows = [
            ledger.leaf_mapper.row_from_leaf(
                "source:s", 1, "incident-ledger/v1/Source.Registered", source_leaf
            ),
            ledger.leaf_mapper.row_from_leaf("report:old", 1, topic, leaf),
        ]
        appender.append(rows, [leaf_hash(source_leaf), leaf_hash(leaf)])
    record: Any = ledger.get_record("report", "old")
    assert (record.url, record.archive_url) == ("https://news.example/old", None)
    projector.catch_up()
    row = views.connection.execute("SELECT url, archive_url FROM reports WHERE id = 'old'")
    assert row.fetchone() == ("https://news.example/old", None)


def test_verify_verify_export_and_restore_count_captures_alike(
    db: str, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for report, name in (("r1", "page"), ("r3", "page"), ("r1", "pdf")):  # the page twice
        assert cli(db, "capture", report, str(files[name]))[0] == 0
    said = "3 capture(s) of 2 file(s)"
    assert f"captured: {said}, each file hashed again\n" in cli(db, "verify")[1]
    bundle = tmp_path / "bundle"
    assert cli(db, "export", "--format", "jsonl", "--out", str(bundle), "--with-evidence")[0] == 0
    code, out, _ = cli(db, "verify", "--export", str(bundle))
    assert code == 0 and out.endswith(f"; {said}, each file hashed again\n"), out
    restored = str(tmp_path / "restored.db")
    with monkeypatch.context() as alone:  # a SQLite ledger with its own key and model
        alone.delenv("LEDGER_KEY", raising=False)
        alone.delenv("LEDGER_VIEWS", raising=False)
        code, out, _ = cli(restored, "restore", str(bundle))
        assert code == 0 and out.splitlines()[0].endswith(f"; {said}"), out
        counts = json.loads(cli(restored, "verify", "--json")[1])
    assert (counts["captures"], counts["captured_files"]) == (3, 2)
    bare = tmp_path / "bare"  # refused in the same words
    assert cli(db, "export", "--format", "jsonl", "--out", str(bare))[0] == 0
    assert cli(str(tmp_path / "r2.db"), "restore", str(bare))[0::2] == (
        2,
        f"error: the bundle holds {said} but not their files: export it again with the "
        "captured files\n",
    )


def test_verify_export_notes_captured_files_left_out_and_fails_on_removed_ones(
    db: str, files: dict[str, Path], tmp_path: Path
) -> None:
    for name in ("page", "pdf"):
        assert cli(db, "capture", "r1", str(files[name]))[0] == 0
    bare = tmp_path / "bare"
    assert cli(db, "export", "--format", "jsonl", "--out", str(bare))[0] == 0
    code, out, err = cli(db, "verify", "--export", str(bare))
    assert (code, err) == (
        0,
        "note: 2 captured file(s) are not in the bundle (2 capture(s) of 2 file(s)): it was "
        "exported without them; its log verifies, and restoring it needs them\n",
    )
    assert out.startswith("ok: ") and "hashed again" not in out
    assert (
        json.loads(cli(db, "verify", "--export", str(bare), "--json")[1])["captured_files_left_out"]
        == 2
    )
    bundle = tmp_path / "bundle"
    assert cli(db, "export", "--format", "jsonl", "--out", str(bundle), "--with-evidence")[0] == 0
    for kept in (bundle / "evidence").iterdir():
        kept.unlink()
    first = min(PAGE_SHA, sha(files["pdf"]))
    assert cli(db, "verify", "--export", str(bundle))[0::2] == (
        1,
        f"error: evidence/{first} (captured copy of report:r1) is missing from the bundle\n",
    )
