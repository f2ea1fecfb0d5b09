"""The bad-input corpus (``tests/data/bad``): every case through the real command line.

Each case is refused with its documented exit code and exactly one ``error:`` line
holding its message, and the event store is left as it was (same size, same Merkle
root). ``cases.json`` says how each file is fed; see its ``about``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from tests.events import log_state

BAD = Path(__file__).parent / "data" / "bad"
MANIFEST = json.loads((BAD / "cases.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = MANIFEST["cases"]

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One ledger for every case: none may change it."""
    path = str(tmp_path_factory.mktemp("corpus") / "ledger.db")
    assert runner.invoke(app, ["--db", path, "init"]).exit_code == 0
    setup = runner.invoke(app, ["--db", path, "append", "--file", str(BAD / MANIFEST["setup"])])
    assert setup.exit_code == 0, setup.stderr
    yield path


def test_the_corpus_is_large_and_every_file_is_a_case() -> None:
    files = {case["file"] for case in CASES}
    assert len(files) == len(CASES) >= 150
    on_disk = {p.name for p in BAD.iterdir()} - {"cases.json", MANIFEST["setup"]}
    assert on_disk == files


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_bad_input_is_refused_in_one_line_and_writes_nothing(db: str, case: dict[str, Any]) -> None:
    path = BAD / case["file"]
    before = log_state(db)
    if case["feed"] == "file":
        result = runner.invoke(app, ["--db", db, "append", "--file", str(path)])
    elif case["feed"] == "stdin":
        result = runner.invoke(app, ["--db", db, "append", "--file", "-"], input=path.read_bytes())
    else:
        assert case["feed"] == "args", case
        result = runner.invoke(app, ["--db", db, *json.loads(path.read_text(encoding="utf-8"))])
    assert result.exit_code == case["exit"], result.stderr or result.exception
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
    assert case["message"] in result.stderr
    assert result.stdout == ""
    assert log_state(db) == before
