"""The benchmark harness still runs: a tiny size, every row present, every number positive;
the hot-incident ledger is what it promises, the same every time, and importable."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import hot, peers
from benchmarks.harness import ROWS, parse_size, parse_sizes
from benchmarks.hot_report import HOT_ROWS, WRITE_ROWS
from benchmarks.measure import run_limited

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
    # 383 events of records and superseded claims, and 104 that give each of the ten
    # incidents' facts its kind (from the fact's first claim)
    # the desk's three events, and each retraction also ends its claim (Claim.Retracted)
    assert "300: 380 records, 287 claims, 502 events" in report


def test_profile_prints_the_top_functions(tmp_path: Path) -> None:
    done = _harness("--profile", "--profile-size", "200")
    assert done.returncode == 0, done.stderr
    sections = done.stdout.split("### cProfile: ")[1:]
    assert [section.split(" —")[0] for section in sections] == [
        "import of 200 (writing.append_file)",
        "rebuild of 200 (rebuilding.replay)",
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


@pytest.mark.parametrize("generator", ["synthetic", "hot"])
def test_a_generator_says_its_usage_and_refuses_a_count_that_is_not_one(generator: str) -> None:
    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", f"benchmarks.{generator}", *arguments]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)

    helped = run("--help")
    assert (helped.returncode, helped.stderr) == (0, "")
    assert helped.stdout.startswith(f"usage: python -m benchmarks.{generator} [-h] [--seed SEED]")
    refused = run("ten")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.endswith("error: argument count: invalid int value: 'ten'\n")
    made = run("30")
    assert made.returncode == 0
    assert all(json.loads(line)["type"] for line in made.stdout.splitlines())


# --- the hot-incident scenario ----------------------------------------------------------------


def _hot_sections(report: str) -> tuple[list[list[str]], list[list[str]]]:
    """The reads and the writes table of a one-size hot report, as cells."""
    reads, writes = report.split("ledger: reads")[1].split("ledger: writes")
    return _table(reads), _table(writes)


def test_hot_run_has_every_row_for_both_incidents(tmp_path: Path) -> None:
    out = tmp_path / "hot.md"
    done = _harness(
        "--scenario", "hot", "--sizes", "2000", "--samples", "3", "--command-runs", "1",
        "--timeout", "60", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = out.read_text(encoding="utf-8")
    assert report.strip() == done.stdout.strip()
    assert "Load average (1/5/15 min) at the start: " in report
    reads, writes = _hot_sections(report)
    assert [row[0] for row in reads] == list(HOT_ROWS)
    for measure, hot_cell, small_cell, _, met in reads:
        assert "killed" not in hot_cell + small_cell and "failed" not in hot_cell + small_cell
        assert _first_number(hot_cell) > 0, (measure, hot_cell)
        if not small_cell.startswith("—"):
            assert _first_number(small_cell) > 0, (measure, small_cell)
        assert met in ("✓", "✗", "—")
    assert [row[1] for row in writes] == list(WRITE_ROWS)
    assert all(_first_number(row[2]) > 0 for row in writes)
    assert "plain SQLite yes" in report
    assert ("DuckDB yes" in report) == peers.duckdb_installed()
    assert "roots equal to verify's: 2k yes." in report


def test_a_command_past_its_limits_is_killed_and_reported(tmp_path: Path) -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    slow = run_limited(sleeper, tmp_path, tmp_path / "out", timeout=0.5)
    assert (slow.killed, slow.shown()[:14]) == ("time", "killed after 1")
    hungry = [sys.executable, "-c", "import time; b = b'x' * 400_000_000; time.sleep(60)"]
    big = run_limited(hungry, tmp_path, tmp_path / "out", timeout=30, rss_limit=200_000_000)
    assert big.killed == "memory" and big.peak_rss_bytes > 200_000_000
    assert big.shown().startswith("killed at ") and big.seconds < 30
    failing = [sys.executable, "-c", "import sys; sys.exit('error: no incident')"]
    failed = run_limited(failing, tmp_path, tmp_path / "out", timeout=30)
    assert failed.shown() == "failed (exit 1): error: no incident"


def test_hot_ledger_is_deterministic_and_shaped_as_promised(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert hot.write(5_000, first) == hot.write(5_000, second)
    assert first.read_bytes() == second.read_bytes()
    assert hot.write(5_000, second, seed=8) and first.read_bytes() != second.read_bytes()
    records = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()]
    claims = [r for r in records if r["type"] in ("claim", "correction")]
    ends = Counter(r["type"] for r in records if r["type"] in ("retraction", "correction"))
    hot_claims = [c for c in claims if c["incident"] == hot.HOT]
    assert 0.18 < len(hot_claims) / len(claims) < 0.22
    assert len({c.get("claimant") for c in hot_claims}) > 300  # of 800, skewed
    assert len({c["fact"] for c in hot_claims}) == len(hot.FACTS) == 30
    assert all(0.01 < ends[kind] / 5_000 < 0.03 for kind in ("retraction", "correction"))
    assert 0.17 < sum("quote" in c for c in claims) / len(claims) < 0.23
    times = [c["valid_time"] for c in claims if "valid_time" in c]
    assert 0.08 < len(times) / len(claims) < 0.12 and len(set(times)) > len(times) / 2
    forms = {
        "set": r"^\[.*,", "one of": r"^\{", "interval": r"^\d[^/]*/\d", "open end": r"/\.\.$",
        "open start": r"^\.\./", "open set": r"\.\.\]$", "date-time Z": r"T.*Z$",
        "offset": r"T.*[+-]\d\d(:\d\d)?$", "uncertain": r"\?$", "approximate": r"~$",
        "both": r"%$", "unspecified": r"X", "season": r"^\d{4}-2[1-4]$",
    }  # fmt: skip
    assert {
        name for name, form in forms.items() if not any(re.search(form, t) for t in times)
    } == set()
    days = sorted({r["published_at"][:10] for r in records if r["type"] == "report"})
    assert days[0] == "2022-01-20" and days[-1] >= "2022-03-15" and len(days) > 45


@pytest.mark.parametrize("mode", [[], ["--cli"]])
def test_writers_append_every_file_in_either_mode(tmp_path: Path, mode: list[str]) -> None:
    """A long-lived writer per process, or a 'ledger append' process per file (``--cli``):
    every claim is appended and verified either way."""
    db = str(tmp_path / "ledger.db")
    arguments = ["--db", db, "--writers", "2", "--batches", "2", "--batch", "3", *mode]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.writers", *arguments],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert ("(ledger append)" in done.stdout) == bool(mode)
    assert "12 claims in" in done.stdout and "exit codes [0, 0]" in done.stdout
    # the claims, the setup's three and the desk's (its admin, each write's signed batch)
    assert "verify: 23 events, tree size 23" in done.stdout
