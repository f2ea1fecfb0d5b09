"""The hot-incident scenario's measures and its report: what is measured, how it is shown.

``benchmarks.hot_harness`` fills a :class:`HotFigures` per size; this module
turns them into the Markdown report (a reads table with the hot and the small
incident side by side, the harness's ledger table for the writes, and notes
saying how each figure was taken).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks import hot
from benchmarks.harness import (
    MB,
    PEAK_RSS_MB,
    Row,
    SizeFigures,
    _met,
    _per_s,
    _rate,
    _size_label,
    import_row,
    peak_rss_row,
    rebuild_row,
    render_table,
    verify_row,
)
from benchmarks.measure import SCREEN_LINES, Outcome, percentile

DEFAULT_SIZES = (100_000,)
DIFF_FROM, DIFF_TO = "2022-01-21", "2022-02-20"
"""``diff`` over 30 days of the 60 the ledger's reports span."""
QUICK_SECONDS = 5.0
"""A command quicker than this on its first run is run ``command_runs`` times (median)."""
WARM_UP_QUERIES = 3
INCIDENTS = (hot.HOT, hot.SMALL)
INCIDENT_WIDE = ("sources",)
"""Commands that read the whole ledger: measured once, in the hot column."""

COMMANDS: dict[str, tuple[str, float | None]] = {
    f"history INC {hot.HOT_FACT}": ("≤ 1 s", 1.0),
    "export --format html --incident INC": ("≤ 30 s", 30.0),
    "export --format jsonl --incident INC": ("≥ 100,000 events/s", None),
    f"diff INC --from {DIFF_FROM} --to {DIFF_TO}": ("≤ 2 s", 2.0),
    "timeline INC": ("— (the whole run; its first screen below)", None),
    "state INC --json": ("—", None),
    "sources": ("≤ 1 s", 1.0),
    f"search {hot.SEARCH_PHRASE} --incident INC": ("≤ 300 ms", 0.3),
}
"""Each read command (INC: the incident), its target for the hot incident and that target
in seconds (None: not a time). Every command's peak RSS must also stay ≤ PEAK_RSS_MB."""
FIRST_SCREEN = {"timeline INC": ("timeline INC: first screen", "≤ 2 s", 2.0)}
"""Commands whose first screen (``measure.SCREEN_LINES`` lines of output read from a pipe)
is a measure of its own, in a row after the whole run: its name, target and limit."""
STATE_ROWS = (
    "state() p50 in process",
    "`state` as its table p50 in process (now, summed up)",
    "plain SQLite p50",
    "DuckDB p50",
)
WRITE_ROWS = ("bulk import", "rebuild", "verify", "peak RSS import", "peak RSS rebuild")
HOT_ROWS = (
    "python -c pass",
    *(row for t in COMMANDS for row in (t, *(FIRST_SCREEN[t][:1] if t in FIRST_SCREEN else ()))),
    *STATE_ROWS,
)
"""Every measure of the reads table, in order; then WRITE_ROWS in the ledger table."""


@dataclass(frozen=True)
class HotOptions:
    """How a hot run measures (see ``python -m benchmarks.harness --help``)."""

    samples: int = 40
    repeats: int = 1
    command_runs: int = 3
    seed: int = 7
    timeout: float = 120.0
    rss_limit_mb: int = 4_000
    build_timeout: float = 3_600.0


@dataclass
class HotFigures:
    """Everything measured on one hot ledger."""

    size: int
    records: int = 0
    claims: int = 0
    bare: Outcome | None = None
    commands: dict[str, tuple[Outcome, Outcome | None]] = field(default_factory=dict)
    bundle_events: int = 0
    state_ms: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    positions: tuple[int, int] = (0, 0)
    table_ms: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    """``ledger state`` as its reader gets it, in process: the understanding now, summed up
    per fact, laid out as its table (written to a pipe), on each incident."""
    incident_claims: tuple[int, int] = (0, 0)
    disagreements: dict[str, int] = field(default_factory=dict)
    queries: int = 0
    ledger: SizeFigures = field(init=False)
    """Import, rebuild and verify with their baselines, as the standard scenario keeps them."""

    def __post_init__(self) -> None:
        self.ledger = SizeFigures(self.size)


def write_rows(figures: SizeFigures) -> list[Row]:
    """The ledger table of one size: the standard scenario's rows on the hot ledger."""
    label = _size_label(figures.size)
    return [
        import_row(figures),
        rebuild_row(figures),
        verify_row(figures),
        peak_rss_row(label, "peak RSS import", figures.import_rss),
        peak_rss_row(label, "peak RSS rebuild", figures.rebuild_rss),
    ]


def _command_met(template: str, outcome: Outcome, events: int) -> bool:
    if outcome.killed or outcome.code or outcome.peak_rss_bytes > PEAK_RSS_MB * MB:
        return False
    limit = COMMANDS[template][1]
    if template.startswith("export --format jsonl"):
        return _rate(events, outcome.seconds) >= 100_000
    return limit is None or outcome.seconds <= limit


def _cell(outcome: Outcome | None, events: int = 0) -> str:
    if outcome is None:
        return "— (reads the whole ledger)"
    shown = outcome.shown()
    if events and not outcome.killed and not outcome.code:
        shown += f" ({events:,} events: {_per_s(_rate(events, outcome.seconds), 'events')})"
    return shown


def _state_rows(figures: HotFigures) -> list[str]:
    p50 = {
        name: (percentile(h, 0.5), percentile(s, 0.5)) for name, (h, s) in figures.state_ms.items()
    }
    ours_hot, ours_small = p50["ours"]
    plain = p50.get("plain SQLite")
    duck = p50.get("DuckDB")
    met = (duck is None or ours_hot <= duck[0]) and ours_small <= 10.0
    met = met and (plain is None or ours_small <= plain[1])
    hot_positions, small_positions = figures.positions
    rows = [
        f"| state() p50 in process | {ours_hot:,.1f} ms (≈ {hot_positions:,} positions) "
        f"| {ours_small:,.1f} ms (≈ {small_positions:,} positions) | hot ≤ DuckDB's; small "
        f"≤ 10 ms and ≤ plain SQLite's | {_met(met)} |"
    ]
    if figures.table_ms[0]:
        hot_table, small_table = (percentile(t, 0.5) for t in figures.table_ms)
        rows.append(
            f"| `state` as its table p50 in process (now, summed up) | {hot_table:,.1f} ms "
            f"| {small_table:,.1f} ms | hot ≤ 50 ms | {_met(hot_table <= 50.0)} |"
        )
    for name, figure in (("plain SQLite", plain), ("DuckDB", duck)):
        if figure is None:
            rows.append(f"| {name} p50 | not installed: skipped | — | — | — |")
        else:
            rows.append(f"| {name} p50 | {figure[0]:,.1f} ms | {figure[1]:,.1f} ms | — | — |")
    return rows


def _first_screen_row(template: str, hot_run: Outcome, small: Outcome | None) -> str:
    """The time to a command's first screen on both incidents, beside its target."""
    name, target, limit = FIRST_SCREEN[template]
    cells = [
        "—" if o is None else o.shown() if o.killed or o.code else f"{o.first_screen:,.2f} s"
        for o in (hot_run, small)
    ]
    met = not hot_run.killed and not hot_run.code and hot_run.first_screen <= limit
    return f"| {name} | {cells[0]} | {cells[1]} | {target} | {_met(met)} |"


def render_reads(figures: HotFigures) -> str:
    """The reads table of one size."""
    claims = figures.incident_claims
    lines = [
        f"| Measure | Hot incident `{hot.HOT}` ({claims[0]:,} claims) | Small incident "
        f"`{hot.SMALL}` ({claims[1]:,} claims) | Target (hot incident) | Met |",
        "|---|---:|---:|---|:---:|",
        f"| python -c pass | {_cell(figures.bare)} | — (every command's start) | — | — |",
    ]
    for template, (hot_run, small) in figures.commands.items():
        events = figures.bundle_events if template.startswith("export --format jsonl") else 0
        target = COMMANDS[template][0]
        target = f"{target}, ≤ {PEAK_RSS_MB:g} MB" if target != "—" else f"≤ {PEAK_RSS_MB:g} MB"
        lines.append(
            f"| {template} | {_cell(hot_run, events)} | {_cell(small)} "
            f"| {target} | {_met(_command_met(template, hot_run, events))} |"
        )
        if template in FIRST_SCREEN:
            lines.append(_first_screen_row(template, hot_run, small))
    return "\n".join([*lines, *_state_rows(figures)])


def _notes(all_figures: Sequence[HotFigures], options: HotOptions) -> list[str]:
    agreement = "; ".join(
        f"{_size_label(f.size)}: "
        + ", ".join(
            f"{name} {'yes' if n == 0 else f'NO ({n} differ)'}"
            for name, n in f.disagreements.items()
        )
        for f in all_figures
    )
    notes = [
        "Data: `benchmarks.hot` (seed 7): one incident holds a fifth of the claims, from 800 "
        "claimants over 30 facts; ordinary incidents of about 500 claims each; 60 days of "
        "reports; 10% EDTF valid times in every accepted form, 20% Arabic quotes, 2% retracted, "
        "2% corrected.",
        "Commands: `ledger --db X COMMAND` as a whole process (interpreter start included), "
        "exports written to a file; wall time and peak RSS under a watchdog that kills the "
        f"command after {options.timeout:g} s or past {options.rss_limit_mb:,} MB of resident "
        f"memory. A command under {QUICK_SECONDS:g} s on its first run runs "
        f"{options.command_runs} time(s) in all (median), a slower one once. Baseline: "
        "`python -c pass`, median of 5, under the same wrapper. `sources` reads the whole "
        "ledger (hot column). The wrapper reads each command's output from a pipe: a first "
        f"screen is the time until its first {SCREEN_LINES} lines (all of it, when shorter) "
        "were read.",
        f"state(): in process on the read model as `ledger state` opens it; {options.samples} "
        f"queries per incident after {WARM_UP_QUERIES} warm-up ones, known time uniform over the "
        f"incident's own reports (seed {options.seed}). Peers on the same rows: one plain table "
        "of the read model's claims (earliest end folded in) with one index on (incident, "
        "published_at); plain SQLite picks positions and statuses in Python, DuckDB "
        "(in memory) picks positions in SQL. Answers checked equal (every fact's status and "
        f"number of positions, at every known time): {agreement}.",
        f"bulk import: `ledger append --file F --defer-projection`; rebuild: `ledger replay`; "
        "verify: `ledger verify --no-read-model` (the log alone), each the median of "
        f"{options.repeats} run(s) and beside the "
        "raw baselines of the standard scenario (sqlite3 executemany of the same lines; SELECT + "
        "json.loads of every stored event; hashlib.sha256 over the exported leaves); roots "
        "equal to verify's: "
        + ", ".join(
            f"{_size_label(f.size)} {'yes' if f.ledger.roots_match else 'NO'}" for f in all_figures
        )
        + ".",
    ]
    notes.extend(
        f"{_size_label(f.size)}: {f.records:,} records, {f.claims:,} claims." for f in all_figures
    )
    return notes


def render_run(info: dict[str, str], all_figures: Sequence[HotFigures], options: HotOptions) -> str:
    """The whole Markdown report of a hot run."""
    parts = [
        f"## incident-ledger benchmarks, hot-incident scenario — {info['date']}",
        "",
        f"Machine: {info['platform']}; CPUs: {info['cpu']}; Python: {info['python']}",
        "",
        f"Load average (1/5/15 min) at the start: {info['load']}; at the end: "
        f"{info.get('load_end', 'n/a')}",
    ]
    for figures in all_figures:
        label = _size_label(figures.size)
        parts += ["", f"### {label} ledger: reads", "", render_reads(figures)]
        parts += ["", f"### {label} ledger: writes", "", render_table(write_rows(figures.ledger))]
    parts += ["", *(f"- {note}" for note in _notes(all_figures, options)), ""]
    return "\n".join(parts)
