"""The benchmark harness still runs: a tiny size, every row present, every number positive."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness import ROWS, parse_size, parse_sizes

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"-?[\d,]+(?:\.\d+)?")


def _harness(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.harness", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _table(text: str) -> list[list[str]]:
    """The body rows of the Markdown table, as cells."""
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def _first_number(cell: str) -> float:
    match = NUMBER.search(cell)
    if match is None:
        raise AssertionError(f"no number in {cell!r}")
    return float(match.group().replace(",", ""))


def test_tiny_run_has_every_row_with_positive_numbers(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    done = _harness("--sizes", "300", "--samples", "10", "--cold-runs", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    report = out.read_text(encoding="utf-8")
    assert report.strip() == done.stdout.strip()
    assert "Machine: " in report and "CPUs: " in report and "Python: CPython" in report
    assert "Load average (1/5/15 min) at the start: " in report
    rows = _table(report)
    assert [(row[0], row[1]) for row in rows] == [
        *(("300", measure) for measure in ROWS[:-1]),
        ("sample", "cold start state"),
    ]
    for size, measure, ours, baseline, ratio, target, met in rows:
        assert _first_number(ours) > 0, (size, measure, ours)
        if baseline != "—":
            assert _first_number(baseline) > 0, (measure, baseline)
        if ratio != "—":
            assert ratio.endswith("×") and _first_number(ratio) > 0, (measure, ratio)
        assert met in ("✓", "✗", "—")
        assert (target == "—") == (met == "—")
    assert "roots equal to verify's: 300 yes." in report
    assert "300: 380 records, 286 claims, 383 events" in report


def test_profile_prints_the_top_functions(tmp_path: Path) -> None:
    done = _harness("--profile", "--profile-size", "200")
    assert done.returncode == 0, done.stderr
    sections = done.stdout.split("### cProfile: ")[1:]
    assert [section.split(" —")[0] for section in sections] == [
        "import of 200 (writing.append_file)",
        "rebuild of 200 (writing.replay)",
    ]
    for section in sections:
        assert "cumulative" in section and "ncalls" in section


@pytest.mark.parametrize(
    ("text", "size"),
    [("300", 300), ("100_000", 100_000), ("10k", 10_000), ("1M", 1_000_000), ("2,500", 2_500)],
)
def test_sizes_are_read_with_suffixes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-5", "ten", "1.5k", "k"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is not a positive number of claims"):
        parse_size(text)


def test_bad_arguments_exit_2() -> None:
    done = _harness("--sizes", "10x")
    assert done.returncode == 2
    assert "argument --sizes: '10x' is not a positive number of claims" in done.stderr
    assert parse_sizes("10k, 100k") == [10_000, 100_000]
