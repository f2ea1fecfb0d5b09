"""A large import validated in two halves at once equals one pass, errors and line numbers too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger import halves, services
from ledger.errors import BadInputError
from ledger.halves import spool_file
from ledger.importing import spool_lines
from ledger.spool import Spool
from tests.events import stored_events

runner = CliRunner()
SAMPLE = services.sample_path().read_text("utf-8").splitlines()


@pytest.fixture(autouse=True)
def split_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split every file, however small (the real threshold is megabytes)."""
    monkeypatch.setattr(halves, "SPLIT_MIN_BYTES", 0)


def rows(spool: Spool) -> list[tuple[object, ...]]:
    spool.seal()
    return list(
        spool.db.execute(
            "SELECT seq, rank, line, kind, record_id, aggregate_id, data, ref_ids, ref_fields "
            "FROM spooled ORDER BY seq"
        )
    )


def write(tmp_path: Path, lines: list[str], newline: str = "\n") -> Path:
    path = tmp_path / "input.jsonl"
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
    return path


def one_pass(path: Path) -> Spool:
    spool = Spool(in_memory=True)
    with path.open(encoding="utf-8") as handle:
        spool_lines(handle, spool)
    return spool


def test_the_sample_splits_and_spools_exactly_as_one_pass(tmp_path: Path) -> None:
    path = write(tmp_path, [*SAMPLE[:40], "", *SAMPLE[40:]])  # a blank line: numbering holds
    assert halves._split_point(path) is not None
    with Spool(in_memory=True) as split, one_pass(path) as single:
        spool_file(path, split)
        assert split.count == single.count == len(SAMPLE)
        assert rows(split) == rows(single)


@pytest.mark.parametrize("bad", [5, 75], ids=["first half", "second half"])
def test_a_bad_line_is_named_by_its_line_in_the_file(tmp_path: Path, bad: int) -> None:
    lines = list(SAMPLE)
    record = json.loads(lines[bad - 1])
    record["surprise"] = 1
    lines[bad - 1] = json.dumps(record, ensure_ascii=False)
    path = write(tmp_path, lines)
    _, first_line = halves._split_point(path) or (0, 0)
    assert (bad < first_line) == (bad == 5)
    with Spool(in_memory=True) as spool, pytest.raises(BadInputError) as raised:
        spool_file(path, spool)
    assert str(raised.value) == f"line {bad}: surprise: is not a field of this record type"


def test_with_bad_lines_in_both_halves_the_first_is_reported(tmp_path: Path) -> None:
    lines = list(SAMPLE)
    lines[9] = "{not json"
    lines[79] = "{not json either"
    path = write(tmp_path, lines)
    with Spool(in_memory=True) as spool, pytest.raises(BadInputError, match=r"^line 10: "):
        spool_file(path, spool)


def test_text_that_is_not_utf8_in_the_second_half_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE)
    data = bytearray(path.read_bytes())
    data[len(data) - 20] = 0xFF
    path.write_bytes(bytes(data))
    result = runner.invoke(app, ["--db", str(tmp_path / "l.db"), "append", "--file", str(path)])
    assert (result.exit_code, result.stderr) == (2, f"error: {path} is not UTF-8 text\n")


def test_when_the_helper_fails_this_process_validates_the_second_half(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*args: object) -> None:
        raise RuntimeError("the helper fell over")

    monkeypatch.setattr(halves, "_validate_second_half", fails)
    path = write(tmp_path, SAMPLE)
    with Spool(in_memory=True) as split, one_pass(path) as single:
        spool_file(path, split)
        assert rows(split) == rows(single)
    lines = list(SAMPLE)
    lines[74] = "{not json"
    path = write(tmp_path, lines)
    with Spool(in_memory=True) as spool, pytest.raises(BadInputError, match=r"^line 75: "):
        spool_file(path, spool)


def test_carriage_returns_are_validated_in_one_pass(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE, newline="\r\n")
    assert halves._split_point(path) is None
    lines = list(SAMPLE)
    lines[70] = "{not json"
    path = write(tmp_path, lines, newline="\r\n")
    with Spool(in_memory=True) as spool, pytest.raises(BadInputError, match=r"^line 71: "):
        spool_file(path, spool)


def test_a_split_import_records_what_one_pass_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, SAMPLE)
    split_db, single_db = str(tmp_path / "split.db"), str(tmp_path / "single.db")
    services.init(split_db)
    services.init(single_db)
    split = runner.invoke(app, ["--db", split_db, "append", "--file", str(path)])
    monkeypatch.setattr(halves, "SPLIT_MIN_BYTES", 10**12)
    single = runner.invoke(app, ["--db", single_db, "append", "--file", str(path)])
    assert (split.exit_code, split.stdout) == (single.exit_code, single.stdout)
    assert split.stdout.startswith(f"added {len(SAMPLE)} record(s)")
    assert stored_events(split_db) == stored_events(single_db)
