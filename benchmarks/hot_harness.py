"""The hot-incident scenario of the harness: ``python -m benchmarks.harness --scenario hot``.

For each size (default 100k) it writes the ledger of ``benchmarks.hot``, imports
it (``append --file --defer-projection``), rebuilds the read model
(``replay``) and verifies it, each beside the raw baseline of
``benchmarks.baselines``; then runs every read command a user runs on a
breaking story on the hot incident and on a small incident of the same
ledger, each as a whole process under a time and memory limit (a command
past either is killed and reported so), beside the start of ``python -c
pass``; then ``state()`` in process on both incidents, beside plain SQLite and
DuckDB answering the same question from the same rows (``benchmarks.peers``),
their answers checked equal, and ``state`` as the table its reader gets.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import hot, peers
from benchmarks.baselines import import_baseline, rebuild_baseline, verify_baseline
from benchmarks.harness import MB, _size_label
from benchmarks.hot_report import (
    COMMANDS,
    DEFAULT_SIZES,
    INCIDENT_WIDE,
    INCIDENTS,
    QUICK_SECONDS,
    WARM_UP_QUERIES,
    HotFigures,
    HotOptions,
    render_run,
)
from benchmarks.measure import (
    CommandFailed,
    Outcome,
    compile_project,
    ledger_command,
    load_average,
    machine,
    run_limited,
    run_quiet,
)
from incident_ledger.cli import render
from incident_ledger.cli.state_view import state_table
from incident_ledger.ledger.audit import b64
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.times import from_key, to_key
from incident_ledger.projections.understanding import state
from incident_ledger.usecases import workspace
from incident_ledger.usecases.reading import current_state

Log = Callable[[str], None]


class _Run:
    """One size's scratch folder, ledger and measuring limits."""

    def __init__(self, work: Path, options: HotOptions, log: Log) -> None:
        self.work, self.options, self.log = work, options, log
        self.ledger = ledger_command()
        self.db = str(work / "ledger.db")
        self.jsonl = work / "claims.jsonl"

    def build(self, argv: Sequence[str]) -> Outcome:
        """A step the rest needs (import, replay, verify): its failure ends the run."""
        outcome = self.measure(argv, self.options.build_timeout, self.work / "build.out")
        if outcome.killed or outcome.code:
            raise CommandFailed(f"{' '.join(argv)}: {outcome.shown()}")
        return outcome

    def measure(self, argv: Sequence[str], timeout: float, out: Path) -> Outcome:
        limit = self.options.rss_limit_mb * MB
        return run_limited(argv, self.work, out, timeout=timeout, rss_limit=limit)

    def command(self, template: str, incident: str) -> Outcome:
        """A read command on ``incident``: one run, or the median of several when quick."""
        words = template.replace(hot.SEARCH_PHRASE, "PHRASE").replace("INC", incident).split()
        argv = [hot.SEARCH_PHRASE if word == "PHRASE" else word for word in words]
        if argv[0] == "export":
            argv += ["--out", str(self.work / f"export-{incident}-{argv[2]}")]
        runs = [self._read(argv)]
        if runs[0].seconds < QUICK_SECONDS and not runs[0].killed and not runs[0].code:
            runs += [self._read(argv) for _ in range(self.options.command_runs - 1)]
        return sorted(runs, key=lambda o: o.seconds)[(len(runs) - 1) // 2]

    def _read(self, argv: list[str]) -> Outcome:
        if argv[0] == "export":
            shutil.rmtree(argv[-1], ignore_errors=True)
        full = [*self.ledger, "--db", self.db, *argv]
        return self.measure(full, self.options.timeout, self.work / "read.out")


def _remove_store(db: str) -> None:
    location = locate(db)
    for path in (location.views_path, location.key_path, Path(db)):
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


def measure_writes(run: _Run, figures: HotFigures) -> None:
    """Bulk import, rebuild and verify, each beside its raw baseline (the ledger table)."""
    options, label, work = run.options, _size_label(figures.size), run.work
    ledger = figures.ledger
    ledger.records, ledger.claims = figures.records, figures.claims
    run.log(f"[hot {label}] import: append --file --defer-projection, {options.repeats} run(s)")
    imports, bases = [], []
    for n in range(options.repeats):
        _remove_store(run.db)
        run_quiet([*run.ledger, "--db", run.db, "init"], work)
        append = ["append", "--file", str(run.jsonl), "--defer-projection"]
        imports.append(run.build([*run.ledger, "--db", run.db, *append]))
        bases.append(import_baseline(run.jsonl, work / f"baseline-{n}.db"))
        Path(work / f"baseline-{n}.db").unlink()
    ledger.import_seconds = statistics.median(o.seconds for o in imports)
    ledger.import_rss = int(statistics.median(o.peak_rss_bytes for o in imports))
    ledger.import_baseline_seconds = statistics.median(bases)
    run.log(f"[hot {label}] rebuild: replay, {options.repeats} run(s)")
    rebuilds = [run.build([*run.ledger, "--db", run.db, "replay"]) for _ in range(options.repeats)]
    raw = [rebuild_baseline(Path(run.db)) for _ in range(options.repeats)]
    ledger.events = ledger.rebuild_events = ledger.rebuild_baseline_events = raw[0][0]
    ledger.rebuild_seconds = statistics.median(o.seconds for o in rebuilds)
    ledger.rebuild_rss = int(statistics.median(o.peak_rss_bytes for o in rebuilds))
    ledger.rebuild_baseline_seconds = statistics.median(s for _, s in raw)
    run.log(f"[hot {label}] verify, {options.repeats} run(s)")
    verify = [*run.ledger, "--db", run.db, "verify", "--json", "--no-read-model"]
    verifies = [run.build(verify) for _ in range(options.repeats)]
    verified = json.loads((work / "build.out").read_text(encoding="utf-8"))
    bundle = work / "bundle"
    export = ["export", "--format", "jsonl", "--out", str(bundle)]
    run_quiet([*run.ledger, "--db", run.db, *export], work)
    leaves = [verify_baseline(bundle / "leaves.jsonl") for _ in range(options.repeats)]
    shutil.rmtree(bundle)
    ledger.verify_events, ledger.verify_baseline_leaves = int(verified["events"]), leaves[0][0]
    ledger.roots_match = b64(leaves[0][2]) == verified["root"]
    ledger.verify_seconds = statistics.median(o.seconds for o in verifies)
    ledger.verify_baseline_seconds = statistics.median(s for _, s, _ in leaves)


def measure_commands(run: _Run, figures: HotFigures) -> None:
    """Every read command on the hot and the small incident, beside ``python -c pass``."""
    label = _size_label(figures.size)
    bare = [sys.executable, "-c", "pass"]
    starts = [run.measure(bare, run.options.timeout, run.work / "read.out") for _ in range(5)]
    figures.bare = sorted(starts, key=lambda o: o.seconds)[2]
    for template in COMMANDS:
        run.log(f"[hot {label}] {template}")
        hot_run = run.command(template, hot.HOT)
        small = None if template in INCIDENT_WIDE else run.command(template, hot.SMALL)
        figures.commands[template] = (hot_run, small)
    leaves = run.work / f"export-{hot.HOT}-jsonl" / "leaves.jsonl"
    if leaves.exists():
        with leaves.open("rb") as handle:
            figures.bundle_events = sum(1 for _ in handle)


def _query_times(connection: sqlite3.Connection, incident: str, count: int, seed: int) -> list[str]:
    """``count`` known times (storage keys) uniform over the incident's own reports."""
    low, high = connection.execute(
        "SELECT MIN(published_at), MAX(published_at) FROM claims WHERE incident = ?", (incident,)
    ).fetchone()
    start, span = from_key(low), from_key(high) - from_key(low)
    rng = random.Random(f"{seed}:{incident}")
    return [to_key(start + span * rng.random()) for _ in range(count)]


def _claims(connection: sqlite3.Connection, incident: str) -> int:
    query = "SELECT COUNT(*) FROM claims WHERE incident = ?"
    return int(connection.execute(query, (incident,)).fetchone()[0])


def measure_state(run: _Run, figures: HotFigures) -> None:
    """``state()`` p50 in process on both incidents, beside its peers on the same rows."""
    count = WARM_UP_QUERIES + run.options.samples
    run.log(f"[hot {_size_label(figures.size)}] state() in process, {count} queries each")
    with workspace.read_model(run.db) as connection:
        times = [_query_times(connection, i, count, run.options.seed) for i in INCIDENTS]
        figures.incident_claims = (_claims(connection, hot.HOT), _claims(connection, hot.SMALL))
        expected = _our_state(connection, times, figures)
    figures.queries = len(expected)
    with peers.peers(locate(run.db).views_path, run.work) as engines:
        for engine in engines:
            figures.state_ms[engine.name] = ([], [])
            figures.disagreements[engine.name] = 0
            for column, incident in enumerate(INCIDENTS):
                for n, known in enumerate(times[column]):
                    start = time.perf_counter()
                    summary = engine.summary(incident, known)
                    elapsed = (time.perf_counter() - start) * 1000
                    if n >= WARM_UP_QUERIES:
                        figures.state_ms[engine.name][column].append(elapsed)
                    figures.disagreements[engine.name] += summary != expected[(incident, known)]


def measure_state_table(run: _Run, figures: HotFigures) -> None:
    """``ledger state`` in process as its reader gets it, on both incidents: the
    understanding now (``reading.current_state``, summed up per fact) laid out as the
    command's table, written to a pipe at 80 columns."""
    count = WARM_UP_QUERIES + run.options.samples
    run.log(f"[hot {_size_label(figures.size)}] state as a table in process, {count} each")
    for column, incident in enumerate(INCIDENTS):
        for n in range(count):
            start = time.perf_counter()
            render.table_text(state_table(current_state(run.db, incident, summed=True)))
            elapsed = (time.perf_counter() - start) * 1000
            if n >= WARM_UP_QUERIES:
                figures.table_ms[column].append(elapsed)


def _our_state(
    connection: sqlite3.Connection, times: list[list[str]], figures: HotFigures
) -> dict[tuple[str, str], peers.Summary]:
    """Time ``state()`` at each known time; return each answer's summary for the peers."""
    expected: dict[tuple[str, str], peers.Summary] = {}
    figures.state_ms["ours"] = ([], [])
    positions: tuple[list[int], list[int]] = ([], [])
    for column, incident in enumerate(INCIDENTS):
        for n, known in enumerate(times[column]):
            start = time.perf_counter()
            answer = state(connection, incident, from_key(known))
            elapsed = (time.perf_counter() - start) * 1000
            if n >= WARM_UP_QUERIES:
                figures.state_ms["ours"][column].append(elapsed)
                positions[column].append(sum(len(f["positions"]) for f in answer["facts"].values()))
            expected[(incident, known)] = peers.summary_of_state(answer)
    figures.positions = (int(statistics.median(positions[0])), int(statistics.median(positions[1])))
    return expected


def measure_size(size: int, options: HotOptions, log: Log) -> HotFigures:
    """Every measure on a fresh hot ledger of ``size`` claims."""
    figures = HotFigures(size)
    with tempfile.TemporaryDirectory(prefix=f"ledger-hot-{size}-") as scratch:
        run = _Run(Path(scratch), options, log)
        log(f"[hot {_size_label(size)}] generating the ledger (load average {load_average()})")
        figures.records, figures.claims = hot.write(size, run.jsonl)
        measure_writes(run, figures)
        measure_commands(run, figures)
        measure_state(run, figures)
        measure_state_table(run, figures)
    return figures


def run_hot(arguments: argparse.Namespace, log: Log) -> str:
    """Run the hot scenario as the harness's arguments ask; return the Markdown report."""
    options = HotOptions(
        samples=arguments.samples or HotOptions.samples,
        repeats=arguments.repeats or HotOptions.repeats,
        command_runs=arguments.command_runs,
        seed=arguments.seed,
        timeout=arguments.timeout,
        rss_limit_mb=arguments.rss_limit,
    )
    info = machine()
    compile_project()
    all_figures = [measure_size(size, options, log) for size in arguments.sizes or DEFAULT_SIZES]
    info["load_end"] = load_average()
    return render_run(info, all_figures, options)
