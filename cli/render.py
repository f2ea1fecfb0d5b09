"""Terminal rendering: tables for people, JSON for machines, progress bars on a terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def raw(text: str) -> None:
    """Text that must reach stdout byte for byte (keys, signed notes): never wrapped."""
    sys.stdout.write(text)


def print_json(data: Any) -> None:
    """Machine output: UTF-8 JSON, Arabic as characters."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@contextmanager
def phase_bars() -> Iterator[Callable[[str, int, int], None] | None]:
    """A callback drawing one bar per phase on stderr when it is a terminal, else None."""
    if not err.is_terminal:
        yield None
        return
    # Imported here: a command whose output is not a terminal never draws a bar.
    from rich.progress import (
        BarColumn,
        Progress,
        TaskID,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield advance


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing one bar on stderr when it is a terminal, else None."""
    with phase_bars() as phases:
        if phases is None:
            yield None
        else:
            yield lambda done, total: phases(description, done, total)


def format_interval(interval: dict[str, Any] | None) -> str:
    """``7``, ``20–∞``, ``11000–12000``, or dates."""
    if interval is None:
        return "—"
    low, high = interval.get("min"), interval.get("max")
    if isinstance(low, str) and isinstance(high, str) and low[:10] == high[:10]:
        return _short(low) if high.endswith("T23:59:59.999999Z") else f"{low}–{high}"
    shown_low = "0" if low is None else _short(low)
    shown_high = "∞" if high is None else _short(high)
    return shown_low if low == high and low is not None else f"{shown_low}–{shown_high}"


def _short(value: Any) -> str:
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-":
        return value[:10] if value[10:] in ("T00:00:00Z", "T23:59:59.999999Z") else value
    return str(value)


def describe_claim_value(position: dict[str, Any]) -> str:
    """A claimed value in words: ``at least 20``, ``11000–12000``, ``20 or 21 Jan 2022``."""
    from incident_ledger.projections.story import position_words

    return position_words(position)


def describe_value(fact: dict[str, Any]) -> str:
    """The policy value of a fact, in words."""
    value = fact.get("value")
    if value is None:
        return "—"
    if isinstance(value, dict):
        return format_interval(value)
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


_STATUS_STYLE = {
    "contested": "bold red",
    "corroborated": "green",
    "single": "yellow",
    "withdrawn": "dim",
}


def state_table(result: dict[str, Any]) -> Table:
    """The understanding of an incident as a table: one row per fact."""
    recorded = result["recorded_at"]
    title = f"{result['incident']} — known at {result['known_at']}"
    if recorded:
        title += f", as recorded by {recorded}"
    table = Table(title=title, caption=f"policy: {result['policy']}", show_lines=True)
    table.add_column("fact", no_wrap=True)
    table.add_column("status")
    table.add_column("value", no_wrap=True)
    table.add_column("who says what")
    for name, fact in result["facts"].items():
        status = fact["status"]
        lines = [
            f"{p['claimant']}: {describe_claim_value(p)} ({p['published_at'][:10]}, {p['report']})"
            for p in fact["positions"]
        ]
        table.add_row(
            name,
            Text(status, style=_STATUS_STYLE.get(status, "")),
            describe_value(fact),
            "\n".join(lines) or "no active claim",
        )
    return table
