"""A numeric fact's understanding over known time, drawn with matplotlib: the one chart of
both ``history --chart`` (an SVG or PNG file) and the HTML report (its SVG, inline).

x is known time in the incident's zone; each claimant is a step line at the lower bound of
its position, shaded up to the upper bound when there is one and marked with an upward
triangle when there is none; the fact's range (min–max) is the light grey band behind.

The data are the sweep's (``projections.sweep``): the fact's understanding at each instant
something about it became known, exactly as ``state`` answers then, never a whole state
per instant. Only what the drawing needs is kept: each claimant's position where it
changed, and the range. A large incident is capped: the :data:`TOP` claimants with the
most claims on the fact get a line each, and all the others one grey band, "others",
from the lowest to the highest of their positions.

matplotlib is imported only when a chart is drawn, with the Agg canvas (no display, no
global pyplot state), so the other views never pay for it.

Over 400 lines on purpose: the data and their drawing are the project's one chart, for
both its uses, and stay together.
"""

from __future__ import annotations

import io
import math
import re
import sqlite3
import warnings
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.times import from_key, zone_or_none
from incident_ledger.projections.results import FactState, PositionResult
from incident_ledger.projections.sweep import Sweep

FORMATS = {".svg": "svg", ".png": "png"}
TOP = 7
"""Claimants drawn with a line of their own; the rest are one "others" band."""
# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
OTHERS_COLOUR = "#7f7f7f"
OTHERS_FACE = (0.5, 0.5, 0.5, 0.22)  # "others": a hatched band, unlike the plain range band
OTHERS_HATCH = "///"
STYLES = ("-", "--", ":")
"""Line styles: with the palette's colours, the looks a claimant's line can take."""
MOST_STEPS = 240
"""The most instants a chart is drawn at (see :func:`sampled`)."""
MAX_LABELS = 40  # value labels beyond this many would hide the lines they label
_KIND_WORDS = {"time": "dates", "text": "text", "mixed": "numbers mixed with other values"}

_INSTANTS = """
SELECT published_at FROM claims
WHERE incident = :incident AND fact = :fact AND published_at <= :known
UNION
SELECT e.published_at FROM claim_ends e JOIN claims c ON c.id = e.claim
WHERE c.incident = :incident AND c.fact = :fact AND e.published_at <= :known
ORDER BY 1
"""


def chart_format(path: str) -> str:
    """``svg`` or ``png`` from the file's suffix; anything else is bad input."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise BadInputError(
            f"{{chart}} must name a .svg or .png file, not '{path}'", arguments=("chart",)
        )
    return FORMATS[suffix]


def check_chartable(history: Mapping[str, Any]) -> None:
    """Only numeric facts are charted: refuse dates and text with a clear message."""
    kind = history["kind"]
    if kind != "number":
        raise BadInputError(
            f"{{chart}} draws numbers only: '{history['fact']}' holds "
            f"{_KIND_WORDS.get(kind, kind)}; use {{as_json}} for its history",
            arguments=("chart", "as_json"),
        )


Bounds = tuple[float, float | None]  # low, high (None: no upper bound)


@dataclass
class Series:
    """One line: a claimant's position at every step (None where it holds none), and the
    value's label at each step where its claim changed."""

    name: str
    points: list[Bounds | None]
    labels: list[str | None]
    key: str = ""  # the claimant, whose look (``Looks``) the line takes


@dataclass
class Others:
    """The claimants beyond the cap, as one band: at each step the lowest low and the
    highest high of their positions (None where none holds one)."""

    claimants: int
    spans: list[Bounds | None]


@dataclass
class ChartData:
    """Everything one chart draws, step by step (step ``i`` holds from ``times[i]``)."""

    fact: str
    unit: str
    zone: str | None
    times: list[datetime]
    end: datetime
    ranges: list[Bounds | None]
    series: list[Series]
    others: Others | None
    title: str | None = None
    looks: Looks | None = None  # shared by the charts of one report


class Looks:
    """Each claimant's colour and line style, the same in every chart drawn with one
    ``Looks``: a claimant's slot among the palette's colours × ``STYLES`` is a stable hash
    of it (CRC-32, the same in every process); when another claimant already holds that
    slot, the next free one; once all are taken, the hashed one, shared."""

    def __init__(self) -> None:
        self._slots: dict[str, int] = {}
        self._taken: set[int] = set()

    def of(self, claimant: str) -> tuple[str, str]:
        """The claimant's (colour, line style)."""
        slot = self._slots.get(claimant)
        if slot is None:
            count = len(PALETTE) * len(STYLES)
            first = zlib.crc32(claimant.encode("utf-8")) % count
            free = [n % count for n in range(first, first + count) if n % count not in self._taken]
            slot = self._slots[claimant] = free[0] if free else first
            self._taken.add(slot)
        return PALETTE[slot % len(PALETTE)], STYLES[slot // len(PALETTE)]


@dataclass
class _Track:
    """One claimant's position where it changed: (step, bounds or None, label)."""

    name: str
    key: str = ""  # the claimant
    claims: set[str] = field(default_factory=set)
    changes: list[tuple[int, Bounds | None, str | None]] = field(default_factory=list)
    last: tuple[str, Any, Any] | None = None  # the claim and bounds it holds
    seen: object = None  # the position it was last seen holding, as given


def collect(
    fact: str,
    steps: Iterable[tuple[datetime, FactState]],
    *,
    unit: str = "",
    zone: str | None = None,
    until: datetime | None = None,
    top: int = TOP,
) -> ChartData | None:
    """A chart's data from a fact's understanding at each instant it changed (in known-time
    order, as the sweep or ``history`` give it); None when nothing numeric was held.

    The ``top`` claimants by claims held on the fact get a series each; the rest are one
    :class:`Others` band. The last step holds until a little past it (``until`` at most).
    """
    times: list[datetime] = []
    ranges: list[Bounds | None] = []
    tracks: dict[str, _Track] = {}
    for index, (moment, understanding) in enumerate(steps):
        times.append(moment)
        span: Mapping[str, Any] = understanding.get("range") or {}
        ranges.append(_bounds(span.get("min"), span.get("max")))
        held = set()
        for position in understanding["positions"]:
            claimant = position["claimant"]
            track = tracks.get(claimant) or tracks.setdefault(
                claimant, _Track(position.get("claimant_name") or claimant, claimant)
            )
            # A sweep hands the positions it did not read again as the very objects of the
            # step before, which it never changes: most of a hot fact's hundreds, at each
            # of hundreds of steps. Only a new object is compared.
            if position is not track.seen:
                track.seen = position
                _hold(track, index, position)
            held.add(claimant)
        if len(held) < len(tracks):  # someone holds nothing now
            for claimant, track in tracks.items():
                if claimant not in held:
                    track.seen = None
                    if track.last is not None:
                        track.changes.append((index, None, None))
                        track.last = None
    if not times or not any(track.claims for track in tracks.values()):
        return None
    ranked = sorted(tracks.values(), key=lambda t: (-len(t.claims), t.name))
    ranked = [track for track in ranked if track.claims]
    shown, rest = ranked[:top], ranked[top:]
    labelled = sum(1 for t in shown for _, _, label in t.changes if label) <= MAX_LABELS
    return ChartData(
        fact=fact,
        unit=unit,
        zone=zone,
        times=times,
        end=_end(times, until),
        ranges=ranges,
        series=[_expand(track, len(times), labelled) for track in shown],
        others=Others(len(rest), _others(rest, len(times))) if rest else None,
    )


def _number(value: object) -> bool:
    """A count or a quantity (an int or a Decimal), not a time or a text."""
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _bounds(low: Any, high: Any) -> Bounds | None:
    """An interval's numeric bounds (None when it is not numeric; no upper one: None)."""
    if not _number(low):
        return None
    return float(low), float(high) if _number(high) else None


def _hold(track: _Track, index: int, position: PositionResult) -> None:
    """Note a claimant's position at a step when it differs from the one it held.

    A position of several claims in one report keeps its first claim's id when one of
    them ends, but not its bounds: both are compared."""
    interval: Mapping[str, Any] = position.get("interval") or {}
    low, high = interval.get("min"), interval.get("max")
    held = (position["claim"], low, high)
    if held == track.last:
        return
    bounds = _bounds(low, high)
    if bounds is None:  # a non-numeric claim on a mostly numeric fact
        if track.last is not None:
            track.changes.append((index, None, None))
            track.last = None
        return
    track.last = held
    track.claims.add(held[0])
    track.changes.append((index, bounds, _label(low, high, position)))


def _label(low: Any, high: Any, position: PositionResult) -> str:
    """``121+`` (no upper bound), ``~374`` (approximate), ``7``, ``11,000–12,000``."""
    if not _number(high):
        return f"{low:,}+"
    approximate = "~" if position.get("approximate") else ""
    return f"{approximate}{low:,}" if low == high else f"{low:,}–{high:,}"


def _expand(track: _Track, length: int, labelled: bool) -> Series:
    points: list[Bounds | None] = [None] * length
    labels: list[str | None] = [None] * length
    for n, (index, bounds, label) in enumerate(track.changes):
        stop = track.changes[n + 1][0] if n + 1 < len(track.changes) else length
        points[index:stop] = [bounds] * (stop - index)
        labels[index] = label if labelled else None
    return Series(track.name, points, labels, track.key)


def _others(rest: Sequence[_Track], length: int) -> list[Bounds | None]:
    """The band of the claimants beyond the cap, step by step."""
    at: dict[int, list[tuple[str, Bounds | None]]] = {}
    for track in rest:
        for index, bounds, _ in track.changes:
            at.setdefault(index, []).append((track.name, bounds))
    held: dict[str, Bounds] = {}
    spans: list[Bounds | None] = []
    span: Bounds | None = None
    for index in range(length):
        if index in at:
            for name, bounds in at[index]:
                if bounds is None:
                    held.pop(name, None)
                else:
                    held[name] = bounds
            span = _span(held.values())
        spans.append(span)
    return spans


def _span(held: Iterable[Bounds]) -> Bounds | None:
    lows, highs, unbounded = [], [], False
    for low, high in held:
        lows.append(low)
        highs.append(low if high is None else high)
        unbounded = unbounded or high is None
    if not lows:
        return None
    return (min(lows), None if unbounded else max(highs))


def _end(times: list[datetime], until: datetime | None) -> datetime:
    """Where the last step stops: a little past the last change (``until`` at most)."""
    end = times[-1] + max(timedelta(days=1), (times[-1] - times[0]) / 8)
    if until is not None and times[-1] < until < end:
        return until
    return end


def swept(
    db: sqlite3.Connection,
    incident: str,
    fact: str,
    known: str,
    zone: str | None,
    most: int = MOST_STEPS,
    *,
    reviewed_only: bool = False,
) -> Iterator[tuple[datetime, FactState]]:
    """The fact's understanding at each instant up to ``known`` (a storage key) where it
    changed, from one sweep of its claims: at ``most`` instants at the most
    (:func:`sampled`). The sweep applies the desk's rules as ``state`` does
    (``reviewed_only``: a proposal counts only once approved)."""
    params = {"incident": incident, "fact": fact, "known": known}
    instants = sampled([row[0] for row in db.execute(_INSTANTS, params)], most)
    sweep = Sweep(db, incident, zone, fact=fact, reviewed_only=reviewed_only)
    previous: FactState | None = None
    for instant in instants:
        sweep.advance(instant)
        current = sweep.fact(fact)
        if current is not None and current is not previous:  # re-understood: maybe changed
            previous = current
            yield from_key(instant), current


def sampled(instants: list[str], most: int) -> list[str]:
    """``instants`` (sorted storage keys) when there are at most ``most``, else the last
    of them in each of ``most`` equal stretches of their span: a chart cannot show
    more steps than it has points across, and the understanding is exact at each."""
    if len(instants) <= most:
        return instants
    first = from_key(instants[0])
    width = (from_key(instants[-1]) - first) / most
    chosen: dict[int, str] = {}
    for key in instants:
        chosen[min(int((from_key(key) - first) / width), most - 1)] = key
    return list(chosen.values())


def fact_charts(
    db: sqlite3.Connection,
    incident: str,
    units: Mapping[str, str],
    known: str,
    zone: str | None,
    *,
    reviewed_only: bool = False,
) -> Iterator[ChartData]:
    """One chart's data per numeric fact (``units``: fact → unit), one fact at a time,
    counting what the page's tables count (``reviewed_only`` as they were selected)."""
    until = from_key(known)
    looks = Looks()  # a claimant has one look in all the charts of the page
    for fact, unit in sorted(units.items()):
        steps = swept(db, incident, fact, known, zone, reviewed_only=reviewed_only)
        chart = collect(fact, steps, unit=unit, zone=zone, until=until)
        if chart is not None:
            chart.looks = looks
            yield chart


def draw_history(history: Mapping[str, Any], path: str) -> tuple[str, bytes]:
    """A numeric fact's history drawn for ``path`` (SVG or PNG by its suffix): the format
    and the file's bytes, for the caller to write."""
    fmt = chart_format(path)
    check_chartable(history)
    steps = (
        (datetime.fromisoformat(str(step["at"]).replace("Z", "+00:00")), step)
        for step in history["steps"]
    )
    chart = collect(
        history["fact"],
        steps,  # a history step holds a FactState's keys
        unit=history.get("unit") or "",
        zone=history.get("timezone"),
    )
    if chart is None:
        raise BadInputError(f"no numeric position of '{history['fact']}' to chart")
    title = f"{history['fact']} in {history['incident']}: what each claimant said, over time"
    if history.get("recorded_at"):
        title += f"\nas recorded by {history['recorded_at']}"
    chart.title = title
    return fmt, render(chart, fmt)


def inline_svg(chart: ChartData, scope: str) -> str:
    """The chart as an ``<svg>`` element to set in an HTML page: no XML prolog, and its
    ids prefixed with ``scope`` so that several charts on one page never share one."""
    text = render(chart, "svg", salt=scope).decode("utf-8")
    text = text[text.index("<svg") :]
    text = re.sub(r' id="', f' id="{scope}-', text)
    return re.sub(r'(url\(#|href="#)', rf"\g<1>{scope}-", text)


def render(chart: ChartData, fmt: str, *, salt: str = "incident-ledger") -> bytes:
    """The chart drawn as SVG (its text kept as text, for the reader's fonts) or PNG."""
    from matplotlib import rc_context

    with (
        rc_context({"svg.hashsalt": salt, "svg.fonttype": "none", "text.parse_math": False}),
        warnings.catch_warnings(),
    ):
        # U+2068/U+2069 isolate names in SVG text; the measuring font has no glyph for them.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure = _figure(chart, fmt)
        metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {"Software": None}
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, dpi=120, metadata=metadata, bbox_inches="tight")
    return buffer.getvalue()


def _figure(chart: ChartData, fmt: str) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    def isolate(text: str) -> str:  # FSI … PDI: a name cannot reorder the text around it
        return f"\u2068{text}\u2069" if fmt == "svg" and text else text

    xs = [*chart.times, chart.end]
    top = _top(chart)
    figure = Figure(figsize=(10, 5.6))
    figure.subplots_adjust(left=0.08, right=0.74, top=0.92, bottom=0.1)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    _band(axes, xs, chart.ranges, top, colour="#d9d9d9", zorder=0)
    handles: list[Any] = []
    if chart.others is not None:
        _band(axes, xs, chart.others.spans, top, colour=OTHERS_FACE, zorder=1, hatched=True)
        others = f"others ({chart.others.claimants} claimants)"
        handles.append(
            Patch(facecolor=OTHERS_FACE, edgecolor=OTHERS_COLOUR, hatch=OTHERS_HATCH, label=others)
        )
    tops = _label_tops(chart.series)
    looks = chart.looks or Looks()
    for series in chart.series:
        look = looks.of(series.key or series.name)
        _draw_series(axes, series, xs, look, tops, isolate(series.name))
    _axes(axes, chart, top, isolate)
    lines, _ = axes.get_legend_handles_labels()
    handles = [*lines, *handles, Patch(color="#d9d9d9", label="range (min–max)")]
    handles.append(
        Line2D([], [], marker="^", linestyle="none", color="#444444", label="no upper bound")
    )
    # Outside the plot, so it never hides a step or the band.
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return figure


def _axes(axes: Any, chart: ChartData, top: float, isolate: Any) -> None:
    """Limits, the time axis in the incident's zone (a tick a local day), labels, title."""
    from matplotlib import dates as mdates
    from matplotlib.ticker import FuncFormatter

    tz = zone_or_none(chart.zone) or UTC
    times, end = chart.times, chart.end
    start = times[0] - (end - times[-1]) / 4
    left, right = mdates.date2num([start, end])  # type: ignore[no-untyped-call]
    axes.set_xlim(float(left), float(right))
    axes.set_ylim(0, top)
    days = (end - start).total_seconds() / 86_400
    if days >= 2:
        locator: Any = mdates.DayLocator(interval=max(1, math.ceil(days / 8)), tz=tz)  # type: ignore[no-untyped-call]
        shape = "{0.day} {0:%b}"
    else:
        locator = mdates.AutoDateLocator(tz=tz, maxticks=8)  # type: ignore[no-untyped-call]
        shape = "{0.day} {0:%b} {0:%H:%M}"

    def label(x: float, _: object) -> str:
        return shape.format(mdates.num2date(x, tz))  # type: ignore[no-untyped-call]

    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(FuncFormatter(label))
    axes.grid(True, axis="y", color="#dddddd", linewidth=0.6)
    axes.set_xlabel(f"known time: when reports were published ({chart.zone or 'UTC'})")
    unit = f" ({isolate(chart.unit)})" if chart.unit else ""
    axes.set_ylabel(f"{chart.fact}{unit}")
    if chart.title:
        axes.set_title(chart.title)


def _top(chart: ChartData) -> float:
    values = [v for s in chart.series for p in s.points if p for v in p if v is not None]
    values += [v for span in chart.ranges if span for v in span if v is not None]
    if chart.others is not None:
        values += [v for span in chart.others.spans if span for v in span if v is not None]
    return max(values, default=1.0) * 1.3 or 1.0


def _band(
    axes: Any,
    xs: list[datetime],
    spans: list[Bounds | None],
    top: float,
    *,
    colour: Any,
    zorder: int,
    hatched: bool = False,
) -> None:
    """A step band from each span's low to its high (to the top when it has none);
    ``hatched``: hatched in ``OTHERS_COLOUR`` (the others' band)."""
    lows = [span[0] if span else math.nan for span in spans]
    highs = [(top if span[1] is None else span[1]) if span else math.nan for span in spans]
    axes.fill_between(
        xs,
        [*lows, lows[-1]],
        [*highs, highs[-1]],
        step="post",
        facecolor=colour,
        edgecolor=OTHERS_COLOUR if hatched else "none",
        hatch=OTHERS_HATCH if hatched else None,
        linewidth=0,
        zorder=zorder,
    )


def _label_tops(series: list[Series]) -> list[float]:
    """At each step, the highest value labelled there (other labels go below their line)."""
    length = len(series[0].points) if series else 0
    return [
        max(
            (s.points[i][0] for s in series if s.labels[i] is not None and s.points[i]),  # type: ignore[index]
            default=math.inf,
        )
        for i in range(length)
    ]


def _draw_series(
    axes: Any,
    item: Series,
    xs: list[datetime],
    look: tuple[str, str],
    tops: list[float],
    name: str,
) -> None:
    """A claimant's step line, its shaded bounds, and a label where its claim changed.

    Only the highest label at a step sits above its line; the others sit below,
    so claims that start at the same instant at close values stay legible.
    """
    lows = [point[0] if point else math.nan for point in item.points]
    highs = [point[1] if point and point[1] is not None else math.nan for point in item.points]
    lows.append(lows[-1])
    highs.append(highs[-1])
    colour, style = look
    axes.step(
        xs, lows, where="post", color=colour, linestyle=style, linewidth=2.2, label=name, zorder=3
    )
    axes.fill_between(xs, lows, highs, step="post", color=colour, alpha=0.18, linewidth=0, zorder=2)
    for index, (point, label) in enumerate(zip(item.points, item.labels, strict=True)):
        if point is None or label is None:
            continue
        low, high = point
        if high is None:
            axes.plot(xs[index], low, marker="^", markersize=9, color=colour, zorder=4)
        axes.annotate(
            label,
            (xs[index], low),
            xytext=(6, 5 if low >= tops[index] else -13),
            textcoords="offset points",
            fontsize="small",
            color=colour,
            zorder=5,
        )
