"""Geometry of the HTML report's step charts: how each numeric fact evolved.

The understanding is recomputed with :func:`state` at every instant something
became known (a claim, a retraction or a correction was published), so each
step shows exactly what :func:`state` answered from then on. A claimant's line
is the lower bound of its position; a whisker at each new claim reaches its
upper bound (dashed to the top of the plot when open-ended); the shaded band is
the fact's min–max range. Only numbers and coordinates are computed here: the
template writes every label as escaped text.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from incident_ledger.ledger.times import from_key, zone_or_none
from incident_ledger.projections.understanding import state

Scale = Callable[[int], float]

WIDTH = 720
LEFT, RIGHT, TOP, BOTTOM = 64, WIDTH - 16, 16, 196
LEGEND_TOP, LEGEND_ROW = 256, 18
LABEL_CHAR = 7.0  # the width of a tick label's character at the SVG's 12px font, roughly
MIN_LABEL_GAP = 16  # between two tick labels
INSET = 12  # keeps the first step's marker and whisker off the y axis
# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


@dataclass(frozen=True)
class Tick:
    """An axis tick: its coordinate and its label."""

    at: float
    label: str


@dataclass(frozen=True)
class Rect:
    """A band segment: the fact's range over one step."""

    x: float
    y: float
    width: float
    height: float
    open: bool


@dataclass(frozen=True)
class Line:
    """A straight line (a step, a connector or a whisker)."""

    x1: float
    y1: float
    x2: float
    y2: float
    open: bool = False


@dataclass(frozen=True)
class Marker:
    """Where a claimant's new claim took effect, with its tooltip text."""

    x: float
    y: float
    label: str


@dataclass
class Series:
    """One claimant's line over time."""

    name: str
    colour: str
    stroke: float
    legend_y: float = 0.0
    steps: list[Line] = field(default_factory=list)
    whiskers: list[Line] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)


@dataclass
class Chart:
    """Everything the template needs to draw one fact's chart."""

    fact: str
    unit: str
    height: float
    band: list[Rect]
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    band_legend_y: float
    x_title: str
    left: float = LEFT
    right: float = RIGHT
    top: float = TOP
    bottom: float = BOTTOM
    width: float = WIDTH


@dataclass(frozen=True)
class _Point:
    """A claimant's position at one breakpoint."""

    claim: str
    low: int
    high: int | None
    label: str


@dataclass
class _History:
    """One numeric fact's understanding at every breakpoint."""

    ranges: list[tuple[int, int | None] | None]
    positions: dict[str, list[_Point | None]]  # claimant name → one entry per breakpoint


def charts(
    db: sqlite3.Connection,
    incident: str,
    breakpoints: Sequence[str],
    at: datetime,
    units: dict[str, str],
    describe: dict[str, str],
    zone: str | None = None,
) -> list[Chart]:
    """One chart per numeric fact, from the state at each breakpoint up to ``at``.

    ``breakpoints`` are the sorted published-time keys at which anything became
    known; ``units`` maps numeric facts to their unit; ``describe`` maps claim
    ids to a human reading of their value (for tooltips). The time axis is read in
    ``zone``, the incident's (None: UTC).
    """
    if not breakpoints or not units:
        return []
    states = [state(db, incident, from_key(key))["facts"] for key in breakpoints]
    times = [from_key(key) for key in breakpoints]
    end = min(at, times[-1] + timedelta(days=1))
    if end <= times[0]:
        end = times[0] + timedelta(days=1)
    return [
        _chart(fact, unit, _history(fact, states, describe), times, end, zone)
        for fact, unit in sorted(units.items())
    ]


def _history(fact: str, states: list[dict[str, Any]], describe: dict[str, str]) -> _History:
    history = _History(ranges=[], positions={})
    for index, facts in enumerate(states):
        understanding = facts.get(fact)
        span = understanding["range"] if understanding else None
        history.ranges.append(
            (span["min"], span["max"]) if span and isinstance(span["min"], int) else None
        )
        for position in understanding["positions"] if understanding else []:
            interval = position.get("interval")
            if interval is None or not isinstance(interval["min"], int):
                continue  # a non-numeric claim on a mostly numeric fact
            name = position.get("claimant_name") or position["claimant"]
            row = history.positions.setdefault(name, [None] * len(states))
            # FSI … PDI: a name or unit cannot reorder the rest of the tooltip.
            value = describe.get(position["claim"], "")
            label = f"\u2068{name}\u2069: \u2068{value}\u2069 ({position['claim']})"
            row[index] = _Point(position["claim"], interval["min"], interval["max"], label)
    return history


def _chart(
    fact: str, unit: str, history: _History, times: list[datetime], end: datetime, zone: str | None
) -> Chart:
    x = _time_scale(times[0], end)
    xs = [x(moment) for moment in times] + [x(end)]
    y, y_ticks = _value_scale(history)
    band = [
        _band(span, xs[i], xs[i + 1], y)
        for i, span in enumerate(history.ranges)
        if span is not None
    ]
    series = [
        _series(name, n, points, xs, y)
        for n, (name, points) in enumerate(history.positions.items())
    ]
    for row, item in enumerate(series):
        item.legend_y = LEGEND_TOP + (row + 1) * LEGEND_ROW
    height = LEGEND_TOP + (len(series) + 1) * LEGEND_ROW + 8
    tz = zone_or_none(zone) or UTC
    first, last = times[0].astimezone(tz), end.astimezone(tz)
    x_title = f"published, {first.day} {first:%b %Y} to {last.day} {last:%b %Y} ({zone or 'UTC'})"
    ticks = _x_ticks([moment.astimezone(tz) for moment in times], xs)
    return Chart(fact, unit, height, band, series, ticks, y_ticks, LEGEND_TOP, x_title)


def _band(span: tuple[int, int | None], left: float, right: float, y: Scale) -> Rect:
    low, high = span
    top = y(high) if high is not None else TOP
    return Rect(left, top, right - left, y(low) - top, open=high is None)


def _series(
    name: str, index: int, points: list[_Point | None], xs: list[float], y: Scale
) -> Series:
    # Claimants often agree exactly; drawing earlier series wider keeps every line
    # visible as a stripe where they overlap.
    stroke = max(1.5, 6.0 - 1.5 * index)
    series = Series(name, PALETTE[index % len(PALETTE)], stroke)
    previous: _Point | None = None
    for i, point in enumerate(points):
        if point is None:
            previous = None
            continue
        level = y(point.low)
        series.steps.append(Line(xs[i], level, xs[i + 1], level))
        if previous is not None and previous.low != point.low:
            series.steps.append(Line(xs[i], y(previous.low), xs[i], level))
        if previous is None or previous.claim != point.claim:
            series.markers.append(Marker(xs[i], level, point.label))
            if point.high != point.low:
                top = y(point.high) if point.high is not None else TOP
                series.whiskers.append(Line(xs[i], level, xs[i], top, point.high is None))
        previous = point
    return series


def _time_scale(start: datetime, end: datetime) -> Callable[[datetime], float]:
    span = (end - start).total_seconds()

    def scale(moment: datetime) -> float:
        fraction = (moment - start).total_seconds() / span
        return round(LEFT + INSET + (RIGHT - LEFT - INSET) * fraction, 1)

    return scale


def _value_scale(history: _History) -> tuple[Scale, list[Tick]]:
    values = [v for span in history.ranges if span for v in span if v is not None]
    values += [
        v
        for points in history.positions.values()
        for p in points
        if p
        for v in (p.low, p.high)
        if v is not None
    ]
    step = _nice_step(max([*values, 1]) * 1.05 / 4)
    top_value = step * math.ceil(max([*values, 1]) * 1.05 / step)

    def scale(value: int) -> float:
        return round(BOTTOM - (BOTTOM - TOP) * value / top_value, 1)

    ticks = [Tick(scale(v), f"{v:,}") for v in range(0, top_value + 1, step)]
    return scale, ticks


def _nice_step(raw: float) -> int:
    magnitude = 10 ** max(0, math.floor(math.log10(raw))) if raw >= 1 else 1
    for multiple in (1, 2, 5, 10):
        if multiple * magnitude >= raw:
            return int(multiple * magnitude)
    return int(10 * magnitude)


def _x_ticks(times: list[datetime], xs: list[float]) -> list[Tick]:
    """A tick for each local day something became known (``21 Jan``), with its clock
    time (``21 Jan 10:00``) when that day saw several breakpoints at different times;
    a label that would crowd the one before it is left out."""
    days = Counter(moment.date() for moment in times)
    ticks: list[Tick] = []
    for moment, at in zip(times, xs, strict=False):
        label = f"{moment.day} {moment:%b}"
        if days[moment.date()] > 1:
            label += f" {moment:%H:%M}"
        if ticks and ticks[-1].label == label:
            continue
        if (
            ticks
            and at - ticks[-1].at
            < LABEL_CHAR * (len(ticks[-1].label) + len(label)) / 2 + MIN_LABEL_GAP
        ):
            continue
        ticks.append(Tick(at, label))
    return ticks
