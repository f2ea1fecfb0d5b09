"""CSV and PROV exports are written as their rows are read: the memory they hold does not
grow with the incident, and a document made a page at a time is the one made at once."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import prov.model as pm
import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger.times import utc_now
from incident_ledger.projections.exports import (
    common,
    export_claimreview,
    export_prov,
    write_csv,
    write_prov,
)
from incident_ledger.projections.understanding import state
from incident_ledger.usecases import writing
from incident_ledger.usecases.workspace import open_workspace
from tests.test_exports import day_end, signed

HEAD = [
    {"type": "incident", "id": "big", "title": "A long incident"},
    {"type": "source", "id": "s", "name": "S", "kind": "monitor"},
    {"type": "source", "id": "relay", "name": "Relay", "kind": "agency"},
    {"type": "report", "id": "r", "source": "s", "published_at": "2022-01-21"},
    {"type": "report", "id": "r2", "source": "s", "published_at": "2022-01-22"},
    {"type": "report", "id": "r0", "source": "s", "published_at": "2022-01-20",
     "url": "https://news.example/r0"},
]  # fmt: skip


QUOTE = "قالت المصادر " * 150


def ledger_of(tmp: Path, claims: int) -> str:
    """One incident, one claimant, one fact: every claim one more row, nothing else grows
    (the positions, reports and sources stay the same)."""
    lines: list[dict[str, Any]] = [*HEAD]
    for n in range(claims):
        lines.append(
            {"type": "claim", "id": f"c{n}", "incident": "big", "fact": "killed", "value": n,
             "report": "r", "claimant": "s", "via": ["relay"], "quote": f"{n} {QUOTE}"}
        )  # fmt: skip
        if n % 10 == 0:
            lines.append({"type": "retraction", "id": f"x{n}", "claim": f"c{n}", "report": "r2"})
    lines += [
        {"type": "claim", "id": "early", "incident": "big", "fact": "killed", "value": 7,
         "report": "r0", "claimant": "s"},
        {"type": "assessment", "id": "a1", "claim": "c7", "verdict": "false", "by": "Desk",
         "published_at": "2022-01-25", "url": "https://check.example/a1", "summary": "S: 7"},
    ]  # fmt: skip
    db, path = str(tmp / "l.db"), tmp / "l.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    writing.init(db)
    writing.append_file(db, str(path))
    return db


def peak(work: Callable[[], object]) -> int:
    """The most memory Python held while ``work`` ran (once before, to load what it loads)."""
    work()
    gc.collect()
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def held_beyond_the_state(db: str, fmt: str, out: Path) -> int:
    """What an export holds beyond the understanding it shows (``state``, whose answer
    grows with the positions it holds; here with the claims of the one position)."""
    writers: dict[str, Callable[..., None]] = {
        "csv": write_csv,
        "prov": write_prov,
        "claimreview": write_claimreview,
    }
    writer = writers[fmt]

    def export() -> None:
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer(connection, handle, incident="big", at=None)

    with open_workspace(db) as ws:
        ws.refresh()
        connection = ws.views.connection
        understood = peak(lambda: state(connection, "big", utc_now()))
        return peak(export) - understood


def write_claimreview(db: Any, handle: Any, **selected: Any) -> None:
    handle.write(export_claimreview(db, **selected))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "prov", "claimreview"])
def test_a_streamed_export_holds_a_page_whatever_the_incident_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setattr(common, "ROW_PAGE", 50)
    for name in ("small", "large"):
        (tmp_path / name).mkdir()
    small, large = ledger_of(tmp_path / "small", 400), ledger_of(tmp_path / "large", 1_600)
    grown = held_beyond_the_state(large, fmt, tmp_path / "l.out") - held_beyond_the_state(
        small, fmt, tmp_path / "s.out"
    )
    # 1,200 more claims of 2 KB of text each: rows held in a list (or one PROV document)
    # would hold several megabytes more; a page at a time, next to nothing.
    assert grown < 1_000_000, grown


@pytest.mark.slow
@pytest.mark.parametrize("at", [None, "2022-01-21"])
def test_a_prov_document_made_in_pages_is_the_one_made_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: str | None
) -> None:
    db = ledger_of(tmp_path, 23)
    known = day_end(at) if at else day_end("2030-01-01")
    with open_workspace(db) as ws:
        ws.refresh()
        connection, provenance = ws.views.connection, signed("head\n— sig")
        whole = export_prov(connection, incident="big", at=known, provenance=provenance)
        monkeypatch.setattr(common, "ROW_PAGE", 4)
        paged = export_prov(connection, incident="big", at=known, provenance=provenance)
    assert reload(paged) == reload(whole)
    assert len(set(json.loads(paged)["wasAttributedTo"])) == len(
        json.loads(whole)["wasAttributedTo"]
    )


def reload(text: str) -> Any:
    return pm.ProvDocument.deserialize(content=text, format="json").unified()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "prov"])
def test_a_streamed_export_to_stdout_is_the_file_it_writes(tmp_path: Path, fmt: str) -> None:
    db = ledger_of(tmp_path, 30)
    runner = CliRunner()
    at = ["--at", "2022-02-01"]
    args = ["--db", db, "export", "--format", fmt, "--incident", "big", *at]
    printed = runner.invoke(app, args)
    assert printed.exit_code == 0, printed.output
    written = runner.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert written.exit_code == 0, written.output
    document = (tmp_path / "out").read_bytes().decode("utf-8")
    if fmt == "csv":
        assert printed.stdout.splitlines() == document.splitlines()
        assert len(document.splitlines()) == 32  # the header and every claim
    else:  # a fresh checkpoint each time: the same records, another signature
        assert len(json.loads(printed.stdout)["entity"]) == len(json.loads(document)["entity"])


def test_a_review_names_the_first_report_of_the_same_claim(tmp_path: Path) -> None:
    db = ledger_of(tmp_path, 30)
    with open_workspace(db) as ws:
        ws.refresh()
        reviews = json.loads(export_claimreview(ws.views.connection, incident="big", at=None))
    assert [review["claimReviewed"] for review in reviews] == ["S: 7"]
    item = reviews[0]["itemReviewed"]
    assert item["firstAppearance"]["url"] == "https://news.example/r0"
    assert item["firstAppearance"]["datePublished"] == "2022-01-20"
    assert "url" not in item["appearance"][0]  # the claim's own report, r, has none


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "prov", "xlsx", "claimreview", "html"])
def test_a_failed_export_leaves_no_file(tmp_path: Path, fmt: str) -> None:
    db = ledger_of(tmp_path, 8)
    folder = tmp_path / "out"
    folder.mkdir()
    result = CliRunner().invoke(
        app,
        ["--db", db, "export", "--format", fmt, "--incident", "nope", "--out", str(folder / "f")],
    )
    assert (result.exit_code, result.stderr) == (1, "error: no incident 'nope' in the ledger\n")
    assert list(folder.iterdir()) == []


@pytest.mark.slow
def test_a_workbook_that_cannot_be_saved_is_discarded_quietly(tmp_path: Path) -> None:
    db = ledger_of(tmp_path, 8)
    assert CliRunner().invoke(app, ["--db", db, "verify"]).exit_code == 0
    script = (
        "import sqlite3, sys\n"
        "from pathlib import Path\n"
        "from incident_ledger.projections.exports.xlsx_export import export_xlsx\n"
        "db = sqlite3.connect(sys.argv[1])\n"
        "try:\n"
        "    export_xlsx(db, Path(sys.argv[2]), incident='big', at=None)\n"
        "except OSError:\n"
        "    print('refused')\n"
    )
    views, out = str(tmp_path / "l.views.db"), str(tmp_path / "none" / "x.xlsx")
    done = subprocess.run(
        [sys.executable, "-c", script, views, out], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "refused\n", "")
