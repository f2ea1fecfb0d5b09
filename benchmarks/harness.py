"""Benchmark harness: the performance figures of incident-ledger beside raw baselines.

    .venv/bin/python -m benchmarks.harness [--sizes 10000,100000,1000000] [--out FILE.md]
    .venv/bin/python -m benchmarks.harness --profile      # cProfile of the 100k import/rebuild
    .venv/bin/python -m benchmarks.harness --scenario hot [--sizes 100k] [--timeout 120]

Run from the repository root. For each size (default 10k and 100k; ask for 1M
explicitly, it takes long) the harness writes the synthetic ledger of
``benchmarks.synthetic`` into a temporary directory, imports it with the real
``ledger`` command and measures import, single appends, a full rebuild,
point-in-time ``state`` queries, ``verify`` and peak memory, then the cold
start of ``ledger state`` on the Ghwayran sample. It prints one Markdown table
per run, with each figure, a baseline measured in the same run, their ratio and
the target (✓/✗), and appends it to ``--out`` when given. Not part of the
default test run (``tests/test_benchmarks_smoke.py`` runs it on a tiny size).

``--scenario hot`` measures instead a ledger where one incident holds a fifth
of the claims (``benchmarks.hot``, measured by ``benchmarks.hot_harness``).
This module is over 400 lines because it holds the whole standard scenario,
measures, table and notes, in the order the report prints them.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import statistics
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks import synthetic
from benchmarks.baselines import import_baseline, rebuild_baseline, verify_baseline
from benchmarks.measure import (
    compile_project,
    ledger_command,
    load_average,
    machine,
    percentile,
    run_measured,
    run_quiet,
    wall_seconds,
)
from incident_ledger.ledger import samples
from incident_ledger.ledger.audit import b64
from incident_ledger.ledger.times import from_key
from incident_ledger.projections.understanding import state
from incident_ledger.usecases import rebuilding, workspace, writing

DEFAULT_SIZES = (10_000, 100_000)
REFERENCE_SIZE = 10_000
WARM_UP_QUERIES = 5
MB = 1_000_000

# The targets of the performance issue.
IMPORT_RATE = 30_000
IMPORT_RATIO = 0.35
REBUILD_RATE = 100_000
STATE_P50_MS = 10.0
STATE_GROWTH = 2.0
VERIFY_RATE = 200_000
PEAK_RSS_MB = 300.0
COLD_START_MS = 250.0

ROWS = (
    "bulk import",
    "import + read model",
    "append claim p50",
    "append claim p99",
    "rebuild",
    "state --at p50",
    "state --at p99",
    "verify",
    "verify + read model",
    "read-model check",
    "peak RSS import",
    "peak RSS import + read model",
    "peak RSS rebuild",
    "cold start state",
)
"""Every measure the table carries (one row per size; cold start once per run)."""


@dataclass(frozen=True)
class Options:
    """How much sampling a run does."""

    samples: int = 200
    cold_runs: int = 7
    seed: int = 7
    repeats: int = 3


@dataclass
class SizeFigures:
    """Everything measured at one synthetic size."""

    size: int
    records: int = 0
    claims: int = 0
    events: int = 0
    store_bytes: int = 0
    import_seconds: float = 0.0
    import_rss: int = 0
    import_projected_seconds: float = 0.0
    import_projected_rss: int = 0
    import_baseline_seconds: float = 0.0
    rebuild_events: int = 0
    rebuild_seconds: float = 0.0
    rebuild_rss: int = 0
    rebuild_baseline_events: int = 0
    rebuild_baseline_seconds: float = 0.0
    state_ms: list[float] = field(default_factory=list)
    reference_state_ms: list[float] = field(default_factory=list)
    """The reference size's state latencies, measured right after this size's own."""
    verify_events: int = 0
    verify_seconds: float = 0.0
    """``verify --no-read-model``: the log alone."""
    verify_model_seconds: float = 0.0
    """``verify``: the log, then the read model compared with it."""
    verify_baseline_leaves: int = 0
    verify_baseline_seconds: float = 0.0
    roots_match: bool = False
    append_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    size: str
    measure: str
    ours: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None


Log = Callable[[str], None]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- measuring one size --------------------------------------------------------------------


def generate(size: int, path: Path) -> tuple[int, int]:
    """Write the synthetic ledger of ``size`` claims; return (records, claims + corrections)."""
    records = claims = 0
    with path.open("w", encoding="utf-8") as out:
        for record in synthetic.records(size):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            records += 1
            claims += record["type"] in ("claim", "correction")
    return records, claims


def _read_model_facts(db: str) -> tuple[list[str], list[str], datetime, datetime]:
    """Incident ids, report ids and the published range, from the read model."""
    with workspace.open_workspace(db) as ws:
        ws.refresh()
        connection = ws.views.connection
        incidents = [r[0] for r in connection.execute("SELECT id FROM incidents ORDER BY id")]
        reports = [r[0] for r in connection.execute("SELECT id FROM reports ORDER BY id")]
        low, high = connection.execute(
            "SELECT MIN(published_at), MAX(published_at) FROM reports"
        ).fetchone()
    return incidents, reports, from_key(low), from_key(high)


def state_latencies(db: str, samples: int, seed: int) -> list[float]:
    """Milliseconds of ``state`` at random (incident, T), in-process on one read model
    opened as ``ledger state`` opens it (``workspace.read_model``)."""
    incidents, _, low, high = _read_model_facts(db)
    rng = random.Random(seed)
    span = high - low
    timings: list[float] = []
    with workspace.read_model(db) as connection:
        for index in range(WARM_UP_QUERIES + samples):
            incident = rng.choice(incidents)
            known_at = low + span * rng.random()
            start = time.perf_counter()
            state(connection, incident, known_at)
            elapsed = time.perf_counter() - start
            if index >= WARM_UP_QUERIES:
                timings.append(elapsed * 1000)
    return timings


def append_latencies(db: str, samples: int, seed: int) -> list[float]:
    """Milliseconds of ``writing.append_one`` of a new claim, ``samples`` times, in-process."""
    incidents, reports, _, _ = _read_model_facts(db)
    rng = random.Random(seed)
    timings: list[float] = []
    for index in range(samples):
        fields: dict[str, Any] = {
            "type": "claim",
            "id": f"bench-{index}",
            "incident": rng.choice(incidents),
            "fact": rng.choice(synthetic.FACTS_NUMBER),
            "value": rng.randrange(1, 500),
            "report": rng.choice(reports),
        }
        start = time.perf_counter()
        writing.append_one(db, fields)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


# Over 60 lines: every measure of one size, in the order the report lists them.
def measure_size(
    size: int, options: Options, reference_db: str | None = None, log: Log = _log
) -> SizeFigures:
    """Run every measure on a fresh synthetic ledger of ``size`` claims.

    ``reference_db``: the reference size's ledger, whose ``state`` latencies are
    measured again right after this size's, so the two are compared under the
    same load.
    """
    ledger = ledger_command()
    figures = SizeFigures(size)
    with tempfile.TemporaryDirectory(prefix=f"ledger-bench-{size}-") as scratch:
        work = Path(scratch)
        jsonl = work / "claims.jsonl"
        db = str(work / "ledger.db")
        log(f"[{size}] generating the synthetic file")
        figures.records, figures.claims = generate(size, jsonl)
        log(f"[{size}] import: ledger append --file --defer-projection, {options.repeats} runs")
        imports, baselines = [], []
        for run in range(options.repeats):
            _remove_store(db)  # each run imports into a fresh store; the last one stays
            run_quiet([*ledger, "--db", db, "init"], work)
            imports.append(
                run_measured(
                    [*ledger, "--db", db, "append", "--file", str(jsonl), "--defer-projection"],
                    work,
                )
            )
            baselines.append(import_baseline(jsonl, work / f"baseline-{run}.db"))
            _remove_store(str(work / f"baseline-{run}.db"))
        figures.import_seconds = statistics.median(m.seconds for m in imports)
        figures.import_rss = int(statistics.median(m.peak_rss_bytes for m in imports))
        figures.import_baseline_seconds = statistics.median(baselines)

        log(f"[{size}] import with the read model: ledger append --file")
        projected_db = str(work / "projected.db")
        run_quiet([*ledger, "--db", projected_db, "init"], work)
        projected = run_measured(
            [*ledger, "--db", projected_db, "append", "--file", str(jsonl)], work
        )
        figures.import_projected_seconds = projected.seconds
        figures.import_projected_rss = projected.peak_rss_bytes
        _remove_store(projected_db)

        log(f"[{size}] rebuild: ledger replay, {options.repeats} runs")
        rebuilds = [
            run_measured([*ledger, "--db", db, "replay", "--json"], work)
            for _ in range(options.repeats)
        ]
        figures.rebuild_events = int(rebuilds[0].json()["events"])
        figures.rebuild_seconds = statistics.median(m.seconds for m in rebuilds)
        figures.rebuild_rss = int(statistics.median(m.peak_rss_bytes for m in rebuilds))
        rebuild_baselines = [rebuild_baseline(Path(db)) for _ in range(options.repeats)]
        figures.rebuild_baseline_events = rebuild_baselines[0][0]
        figures.rebuild_baseline_seconds = statistics.median(s for _, s in rebuild_baselines)
        figures.events = figures.rebuild_baseline_events
        figures.store_bytes = Path(db).stat().st_size

        log(f"[{size}] state --at: {options.samples} queries")
        figures.state_ms = state_latencies(db, options.samples, options.seed)
        if reference_db is not None:
            figures.reference_state_ms = state_latencies(
                reference_db, options.samples, options.seed
            )

        log(f"[{size}] verify, {options.repeats} runs of the log alone and with the read model")
        verifies = [
            run_measured([*ledger, "--db", db, "verify", "--json", "--no-read-model"], work)
            for _ in range(options.repeats)
        ]
        verified = verifies[0]
        figures.verify_events = int(verified.json()["events"])
        figures.verify_seconds = statistics.median(m.seconds for m in verifies)
        figures.verify_model_seconds = statistics.median(
            run_measured([*ledger, "--db", db, "verify", "--json"], work).seconds
            for _ in range(options.repeats)
        )
        bundle = work / "bundle"
        run_quiet([*ledger, "--db", db, "export", "--format", "jsonl", "--out", str(bundle)], work)
        verify_baselines = [
            verify_baseline(bundle / "leaves.jsonl") for _ in range(options.repeats)
        ]
        leaves, _, root = verify_baselines[0]
        figures.verify_baseline_leaves = leaves
        figures.verify_baseline_seconds = statistics.median(s for _, s, _ in verify_baselines)
        figures.roots_match = b64(root) == verified.json()["root"]

        log(f"[{size}] append claim: {options.samples} appends")
        figures.append_ms = append_latencies(db, options.samples, options.seed)
    return figures


def reference_ledger(work: Path, log: Log = _log) -> str:
    """A ledger of the reference size with its read model, kept for the whole run."""
    log(f"[reference] a {_size_label(REFERENCE_SIZE)} ledger for state latencies beside each size")
    ledger = ledger_command()
    jsonl = work / "claims.jsonl"
    db = str(work / "reference.db")
    generate(REFERENCE_SIZE, jsonl)
    run_quiet([*ledger, "--db", db, "init"], work)
    run_quiet([*ledger, "--db", db, "append", "--file", str(jsonl)], work)
    return db


def _remove_store(db: str) -> None:
    for suffix in ("", ".views.db", ".key", "-wal", "-shm"):
        Path(db + suffix).unlink(missing_ok=True)


def cold_start(options: Options, log: Log = _log) -> tuple[list[float], list[float]]:
    """Wall ms of ``ledger state`` on the sample and of ``python -c pass``, alternated."""
    ledger = ledger_command()
    with tempfile.TemporaryDirectory(prefix="ledger-bench-sample-") as scratch:
        work = Path(scratch)
        db = str(work / "sample.db")
        run_quiet([*ledger, "--db", db, "init"], work)
        run_quiet([*ledger, "--db", db, "append", "--file", str(samples.GHWAYRAN)], work)
        ours = [*ledger, "--db", db, "state", "ghwayran-2022", "--at", "2022-01-23"]
        bare = [sys.executable, "-c", "pass"]
        log(f"[sample] cold start: {options.cold_runs} runs each")
        wall_seconds(ours, work)  # warm-up runs fill the page cache; not counted
        wall_seconds(bare, work)
        state_ms: list[float] = []
        pass_ms: list[float] = []
        for _ in range(options.cold_runs):
            state_ms.append(wall_seconds(ours, work) * 1000)
            pass_ms.append(wall_seconds(bare, work) * 1000)
    return state_ms, pass_ms


# --- the table -------------------------------------------------------------------------------


def _size_label(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def _per_s(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}/s"


def _ms(value: float) -> str:
    return f"{value:,.2f} ms"


def _mb(value: int) -> str:
    return f"{value / MB:,.1f} MB"


def import_row(figures: SizeFigures) -> Row:
    """Bulk import beside the raw SQLite import of the same lines."""
    ours = _rate(figures.claims, figures.import_seconds)
    base = _rate(figures.claims, figures.import_baseline_seconds)
    return Row(
        _size_label(figures.size),
        "bulk import",
        _per_s(ours, "claims"),
        _per_s(base, "claims") + " (sqlite3 executemany)",
        ours / base,
        f"≥ {IMPORT_RATE:,}/s and ≥ {IMPORT_RATIO}× baseline",
        ours >= IMPORT_RATE and ours / base >= IMPORT_RATIO,
    )


def rebuild_row(figures: SizeFigures) -> Row:
    """The rebuild beside reading and decoding every stored event."""
    ours = _rate(figures.rebuild_events, figures.rebuild_seconds)
    base = _rate(figures.rebuild_baseline_events, figures.rebuild_baseline_seconds)
    return _events_row(figures, "rebuild", ours, base, "SELECT + json.loads", REBUILD_RATE)


def verify_row(figures: SizeFigures) -> Row:
    """Verify beside hashing every leaf of an export into the tree root."""
    ours = _rate(figures.verify_events, figures.verify_seconds)
    base = _rate(figures.verify_baseline_leaves, figures.verify_baseline_seconds)
    return _events_row(figures, "verify", ours, base, "hashlib.sha256", VERIFY_RATE)


def _events_row(
    figures: SizeFigures, name: str, ours: float, base: float, baseline: str, floor: int
) -> Row:
    """A row of events per second, ours beside a baseline's, passing at ``floor``."""
    return Row(
        _size_label(figures.size),
        name,
        _per_s(ours, "events"),
        _per_s(base, "events") + f" ({baseline})",
        ours / base,
        f"≥ {floor:,}/s",
        ours >= floor,
    )


def size_rows(figures: SizeFigures, reference_p50: float, reference: str) -> list[Row]:
    """The table rows of one size."""
    label = _size_label(figures.size)
    base_import = _rate(figures.claims, figures.import_baseline_seconds)
    state_p50 = percentile(figures.state_ms, 0.5)
    state_ratio = state_p50 / reference_p50 if reference_p50 > 0 else None
    return [
        import_row(figures),
        Row(
            label,
            "import + read model",
            _per_s(_rate(figures.claims, figures.import_projected_seconds), "claims"),
            "—",
            _rate(figures.claims, figures.import_projected_seconds) / base_import,
            "—",
            None,
        ),
        _shown(label, "append claim p50", _ms(percentile(figures.append_ms, 0.5))),
        _shown(label, "append claim p99", _ms(percentile(figures.append_ms, 0.99))),
        rebuild_row(figures),
        Row(
            label,
            "state --at p50",
            _ms(state_p50),
            f"{_ms(reference_p50)} (p50 at {reference})",
            state_ratio,
            f"≤ {STATE_P50_MS:g} ms and ≤ {STATE_GROWTH:g}× p50 at {reference}",
            state_p50 <= STATE_P50_MS and state_p50 <= STATE_GROWTH * reference_p50,
        ),
        _shown(label, "state --at p99", _ms(percentile(figures.state_ms, 0.99))),
        verify_row(figures),
        _shown(
            label,
            "verify + read model",
            _per_s(_rate(figures.verify_events, figures.verify_model_seconds), "events"),
        ),
        _shown(
            label,
            "read-model check",
            _per_s(_rate(figures.verify_events, _model_check_seconds(figures)), "events")
            + " (verify + read model less verify)",
        ),
        peak_rss_row(label, "peak RSS import", figures.import_rss),
        peak_rss_row(label, "peak RSS import + read model", figures.import_projected_rss),
        peak_rss_row(label, "peak RSS rebuild", figures.rebuild_rss),
    ]


def _model_check_seconds(figures: SizeFigures) -> float:
    """What comparing the read model with the log adds to ``verify`` (at least a
    millisecond: at tiny sizes the two medians may come out in either order)."""
    return max(figures.verify_model_seconds - figures.verify_seconds, 0.001)


def _shown(label: str, measure: str, value: str) -> Row:
    """A row with a figure alone: no baseline, no target."""
    return Row(label, measure, value, "—", None, "—", None)


def peak_rss_row(label: str, measure: str, rss: int) -> Row:
    """A peak RSS figure against the memory target."""
    return Row(
        label, measure, _mb(rss), "—", None, f"≤ {PEAK_RSS_MB:g} MB", rss <= PEAK_RSS_MB * MB
    )


def cold_row(state_ms: list[float], pass_ms: list[float]) -> Row:
    """The cold-start row (once per run)."""
    ours, bare = statistics.median(state_ms), statistics.median(pass_ms)
    return Row(
        "sample",
        "cold start state",
        f"{ours:,.0f} ms",
        f"{bare:,.0f} ms (python -c pass)",
        ours / bare if bare > 0 else None,
        f"≤ {COLD_START_MS:g} ms",
        ours <= COLD_START_MS,
    )


def _met(met: bool | None) -> str:
    return "—" if met is None else ("✓" if met else "✗")


def render_table(rows: Sequence[Row]) -> str:
    """The Markdown table."""
    lines = [
        "| Size | Measure | Ours | Baseline | Ours/baseline | Target | Met |",
        "|---|---|---:|---:|---:|---|:---:|",
    ]
    for row in rows:
        ratio = "—" if row.ratio is None else f"{row.ratio:.3g}×"
        lines.append(
            f"| {row.size} | {row.measure} | {row.ours} | {row.baseline} | {ratio} "
            f"| {row.target} | {_met(row.met)} |"
        )
    return "\n".join(lines)


def _notes(all_figures: Sequence[SizeFigures], options: Options) -> list[str]:
    notes = [
        "Ours/baseline = our figure divided by the baseline's: for rates, the fraction of the "
        "baseline's speed we reach; for times, how many times longer we take.",
        f"bulk import, rebuild and verify, their baselines and their peak RSS: the median of "
        f"{options.repeats} runs (each import into a fresh store); import + read model: one run.",
        "bulk import: `ledger --db X append --file F --defer-projection` as a subprocess, wall "
        "time around it (interpreter start, strict JSON, validation, the spool, events and "
        "their Merkle leaves, committed); claims = claim + correction records. "
        "import + read model: the default `ledger append --file F` into a second fresh store, "
        "which also brings the read model up to date before it returns (the rebuild's work); "
        "its ratio is to the same baseline. "
        "Baseline: read + `json.loads` each line and one `executemany` of every record "
        "(`type:id`, 1, type, JSON line) into a fresh WAL SQLite file shaped like "
        "`stored_events` (same primary key), one transaction.",
        f"append claim: in-process `ledger.writing.append_one(db, fields)` — {options.samples} "
        "new claims on random incidents and reports into the loaded ledger, after the other "
        "measures; each call opens the workspace, validates, records one event with its Merkle "
        "leaf and refreshes the read model. No baseline.",
        "rebuild: `ledger --db X replay --json` as a subprocess (interpreter start included). "
        "Baseline: `SELECT` of every `stored_events` row in ledger order + `json.loads` of "
        "each `state`.",
        "state --at: in-process `projections.understanding.state` on one read model, opened "
        "as `ledger state` opens it (memory-mapped), "
        f"{options.samples} queries after {WARM_UP_QUERIES} warm-up ones; random incident and T "
        f"uniform between the earliest and latest report `published_at` (seed {options.seed}). "
        "Baseline column: the p50 of queries drawn the same way on a reference-size ledger, "
        "measured right after each size's own, so both are taken under the same load.",
        "verify: `ledger --db X verify --json --no-read-model` (the log alone) as a "
        "subprocess; verify + read model: `ledger --db X verify --json`, which then compares "
        "the read model with the log; the read-model check: the difference of their medians. "
        "Baseline of verify: `hashlib.sha256` of "
        "every leaf line of the `ledger export --format jsonl` bundle (RFC 9162 leaf prefix) "
        "folded into the tree root; roots equal to verify's: "
        + ", ".join(
            f"{_size_label(f.size)} {'yes' if f.roots_match else 'NO'}" for f in all_figures
        )
        + ".",
        "peak RSS: each measured command runs as the only child of a fresh `python -c` wrapper "
        "that reads `resource.getrusage(RUSAGE_CHILDREN).ru_maxrss` after it exits (a "
        "maximum over children, so a fresh wrapper per command isolates it); MB = 10^6 bytes.",
        "Every command runs with the project's modules compiled to bytecode first "
        "(`compileall`), as an installed package has them; a Python that may not write "
        "bytecode would otherwise compile them again at every start.",
        f"cold start: `ledger --db SAMPLE state ghwayran-2022 --at 2022-01-23` on the Ghwayran "
        f"sample vs `python -c pass`, median of {options.cold_runs} alternated runs after one "
        "warm-up run of each, measured before the sizes (not while the kernel writes back "
        "their files).",
    ]
    notes.extend(
        f"{_size_label(figures.size)}: {figures.records:,} records, {figures.claims:,} "
        f"claims, {figures.events:,} events; event store {_mb(figures.store_bytes)}."
        for figures in all_figures
    )
    return notes


def render_run(
    info: dict[str, str],
    all_figures: Sequence[SizeFigures],
    cold: tuple[list[float], list[float]],
    options: Options,
) -> str:
    """The whole Markdown report of one run."""
    reference = next((f for f in all_figures if f.size == REFERENCE_SIZE), all_figures[0])
    rows: list[Row] = []
    for figures in all_figures:
        beside = figures.reference_state_ms or reference.state_ms
        reference_p50 = percentile(beside, 0.5)
        rows.extend(size_rows(figures, reference_p50, _size_label(reference.size)))
    rows.append(cold_row(*cold))
    parts = [
        f"## incident-ledger benchmarks — {info['date']}",
        "",
        f"Machine: {info['platform']}; CPUs: {info['cpu']}; Python: {info['python']}",
        "",
        f"Load average (1/5/15 min) at the start: {info['load']}; at the end: "
        f"{info.get('load_end', 'n/a')}",
        "",
        render_table(rows),
        "",
        *(f"- {note}" for note in _notes(all_figures, options)),
        "",
    ]
    return "\n".join(parts)


# --- profiling -------------------------------------------------------------------------------


def _short_paths(text: str) -> str:
    paths = sysconfig.get_paths()
    # Longest first: site-packages lies inside the checkout's .venv.
    for prefix, short in (
        (paths["purelib"], "site-packages"),
        (str(Path(__file__).resolve().parent.parent), ""),
        (paths["stdlib"], "stdlib"),
    ):
        text = text.replace(prefix + "/", short + "/" if short else "")
    return text


def _profiled(title: str, call: Callable[[], object], top: int) -> str:
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.runcall(call)
    seconds = time.perf_counter() - start
    buffer = io.StringIO()
    pstats.Stats(profile, stream=buffer).sort_stats("cumulative").print_stats(top)
    body = _short_paths(buffer.getvalue().strip("\n"))
    return (
        f"### cProfile: {title} — top {top} by cumulative time ({seconds:.1f} s under the "
        f"profiler)\n\n```\n{body}\n```\n"
    )


def profile_run(size: int, top: int = 25, log: Log = _log) -> str:
    """Profile the import and the rebuild of ``size`` synthetic claims (in-process)."""
    with tempfile.TemporaryDirectory(prefix=f"ledger-profile-{size}-") as scratch:
        work = Path(scratch)
        jsonl = work / "claims.jsonl"
        db = str(work / "ledger.db")
        generate(size, jsonl)
        writing.init(db)
        label = _size_label(size)
        log(f"[{size}] profiling the import")
        imported = _profiled(
            f"import of {label} (writing.append_file)",
            lambda: writing.append_file(db, str(jsonl)),
            top,
        )
        log(f"[{size}] profiling the rebuild")
        rebuilt = _profiled(
            f"rebuild of {label} (rebuilding.replay)", lambda: rebuilding.replay(db), top
        )
    return f"## incident-ledger profile\n\n{imported}\n{rebuilt}"


# --- command line ----------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """A size such as ``100000``, ``100_000``, ``100k`` or ``1M``."""
    cleaned = text.strip().replace("_", "").replace(",", "")
    factor = 1
    if cleaned[-1:] in ("k", "K"):
        factor, cleaned = 1_000, cleaned[:-1]
    elif cleaned[-1:] in ("m", "M"):
        factor, cleaned = 1_000_000, cleaned[:-1]
    if not cleaned.isdigit() or int(cleaned) * factor <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive number of claims")
    return int(cleaned) * factor


def parse_sizes(text: str) -> list[int]:
    """A comma-separated list of sizes."""
    return [parse_size(part) for part in text.split(",") if part.strip()]


# Over 60 lines: the harness's options, one declaration each, with no logic.
def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.harness",
        description="Measure incident-ledger against raw baselines on synthetic ledgers.",
    )
    parser.add_argument(
        "--scenario",
        choices=("standard", "hot"),
        default="standard",
        help="standard: the synthetic ledgers of benchmarks.synthetic (default); hot: one "
        "incident holding a fifth of the claims (benchmarks.hot), its read commands beside a "
        "small incident's, state() beside plain SQLite and DuckDB",
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        help="comma-separated claim counts (standard: 10000,100000, and 10000 is added as the "
        "state reference when a larger size is asked without it; hot: 100000; 1M only when "
        "asked)",
    )
    parser.add_argument("--out", type=Path, help="also append the Markdown report to this file")
    parser.add_argument(
        "--samples",
        type=int,
        help="appends and state queries per size (standard: 200); state queries per "
        "incident and engine (hot: 40)",
    )
    parser.add_argument(
        "--cold-runs", type=int, default=7, help="runs of each cold-start command (7)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the random queries (7)")
    parser.add_argument(
        "--repeats",
        type=int,
        help="runs of each import, rebuild and verify and of their baselines; medians "
        "(standard: 3, hot: 1)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="hot: seconds before a read command is killed and reported so (120)",
    )
    parser.add_argument(
        "--rss-limit",
        type=int,
        default=4_000,
        help="hot: MB of resident memory past which a command is killed (4000; 0: none)",
    )
    parser.add_argument(
        "--command-runs",
        type=int,
        default=3,
        help="hot: runs of a read command quicker than 5 s on its first run; median (3)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of the table, profile the import and rebuild with cProfile",
    )
    parser.add_argument(
        "--profile-size",
        type=parse_size,
        default=100_000,
        help="claims for --profile (100000)",
    )
    arguments = parser.parse_args(list(argv))
    counts = (arguments.samples, arguments.cold_runs, arguments.repeats, arguments.command_runs)
    if any(count is not None and count < 1 for count in counts):
        parser.error("--samples, --cold-runs, --repeats and --command-runs must be at least 1")
    if arguments.timeout <= 0 or arguments.rss_limit < 0:
        parser.error("--timeout must be positive and --rss-limit not negative")
    if arguments.sizes is not None and not arguments.sizes:
        parser.error("--sizes needs at least one size")
    return arguments


def _with_reference(sizes: Sequence[int]) -> list[int]:
    chosen = sorted(set(sizes))
    if REFERENCE_SIZE not in chosen and chosen[-1] > REFERENCE_SIZE:
        chosen.insert(0, REFERENCE_SIZE)
    return chosen


def _emit(text: str, out: Path | None) -> None:
    print(text)
    if out is not None:
        with out.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks (or the profile) and print the Markdown report."""
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    if arguments.profile:
        _emit(profile_run(arguments.profile_size), arguments.out)
        return 0
    if arguments.scenario == "hot":
        # Imported here: the hot scenario builds on this module's table and constants.
        from benchmarks.hot_harness import run_hot

        _emit(run_hot(arguments, _log), arguments.out)
        return 0
    options = Options(
        arguments.samples or Options.samples,
        arguments.cold_runs,
        arguments.seed,
        arguments.repeats or Options.repeats,
    )
    info = machine()
    compile_project()
    # Cold start first: after a large size the kernel is still writing back gigabytes of
    # the benchmark's own files, which a user starting ``ledger state`` would not face.
    cold = cold_start(options)
    sizes = _with_reference(arguments.sizes or DEFAULT_SIZES)
    with tempfile.TemporaryDirectory(prefix="ledger-bench-reference-") as scratch:
        reference_db = reference_ledger(Path(scratch)) if sizes[-1] > REFERENCE_SIZE else None
        all_figures = [measure_size(size, options, reference_db) for size in sizes]
    info["load_end"] = load_average()
    _emit(render_run(info, all_figures, cold, options), arguments.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
