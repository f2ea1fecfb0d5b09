"""An incident's JSONL bundle keeps its reports' capture events with or without their
files, as the whole ledger's does: without them it notes the files left out, on export
and on ``verify --export``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_evidence import PAGE_SHA, cli, db, files

__all__ = ["db", "files"]  # the fixtures, shared


def captures_in(bundle: Path) -> list[str]:
    leaves = [json.loads(line) for line in (bundle / "leaves.jsonl").read_text().splitlines()]
    return [leaf["id"] for leaf in leaves if leaf["id"].startswith("capture:")]


@pytest.mark.slow
def test_an_incident_bundle_without_the_files_keeps_the_captures_and_says_so(
    db: str, files: dict[str, Path], tmp_path: Path
) -> None:
    assert cli(db, "capture", "r1", str(files["page"]))[0] == 0
    assert cli(db, "capture", "r3", str(files["page"]))[0] == 0  # r3: no claim of g cites it
    full, bare = tmp_path / "full", tmp_path / "bare"
    args = ("export", "--format", "jsonl", "--incident", "g", "--json", "--out")
    with_files = json.loads(cli(db, *args, str(full), "--with-evidence")[1])
    note = (
        "note: the captured files (1) are not included: restoring the bundle will need "
        "them (export --with-evidence to include them)\n"
    )
    code, out, err = cli(db, *args, str(bare))
    assert (code, err) == (0, note)
    assert json.loads(out)["entries"] == with_files["entries"]
    assert captures_in(bare) == captures_in(full) == [f"capture:r1/{PAGE_SHA}"]
    assert cli(db, *args[:-2], "--out", str(tmp_path / "said"))[0::2] == (0, note)
    assert not (bare / "evidence").exists()
    assert cli(db, "verify", "--export", str(bare))[0::2] == (
        0,
        "note: 1 captured file(s) are not in the bundle (1 capture(s) of 1 file(s)): it was "
        "exported without them; its log verifies, and restoring it needs them\n",
    )
