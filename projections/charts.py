"""A fact's history as a chart (SVG or PNG) drawn with matplotlib.

x is known time; each claimant is a step line at the lower bound of its
position, shaded up to the upper bound when there is one and marked with an
upward triangle when there is none; the fact's range (min–max) is the light
grey band behind. matplotlib is imported only when a chart is drawn, with the
Agg canvas (no display, no global pyplot state), so the other views never pay
for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from incident_ledger.ledger.errors import BadInputError

FORMATS = {".svg": "svg", ".png": "png"}
# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_KIND_WORDS = {"time": "dates", "text": "text", "mixed": "numbers mixed with other values"}


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


@dataclass
class _Series:
    """One claimant's position at every step: lower and upper bounds (NaN when absent)."""

    name: str
    lows: list[float] = field(default_factory=list)
    highs: list[float | None] = field(default_factory=list)  # None: unbounded
    labels: list[str | None] = field(default_factory=list)  # the claim's value, when new


def draw_history(history: Mapping[str, Any], path: str) -> str:
    """Draw a numeric fact's history into ``path`` (SVG or PNG by suffix); returns the format."""
    fmt = chart_format(path)
    check_chartable(history)
    steps = history["steps"]
    times = [datetime.fromisoformat(s["at"].replace("Z", "+00:00")) for s in steps]
    end = _end(times)
    xs = [*times, end]
    series = _series(steps)
    top = _top(steps, series)

    from matplotlib import dates as mdates
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    with rc_context({"svg.hashsalt": "incident-ledger", "svg.fonttype": "none"}):
        figure = Figure(figsize=(10, 5.6), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        _band(axes, steps, xs, top)
        for index, item in enumerate(series):
            _draw_series(axes, item, xs, PALETTE[index % len(PALETTE)], _label_tops(series))
        start = times[0] - (end - times[-1]) / 4
        left, right = mdates.date2num([start, end])  # type: ignore[no-untyped-call]
        axes.set_xlim(float(left), float(right))
        axes.set_ylim(0, top)
        locator = mdates.AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_locator(locator)
        formatter = mdates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_formatter(formatter)
        axes.grid(True, axis="y", color="#dddddd", linewidth=0.6)
        axes.set_xlabel("known time (when reports were published, UTC)")
        unit = f" ({history['unit']})" if history.get("unit") else ""
        axes.set_ylabel(f"{history['fact']}{unit}")
        recorded = history.get("recorded_at")
        title = f"{history['fact']} in {history['incident']}: what each claimant said, over time"
        if recorded:
            title += f"\nas recorded by {recorded}"
        axes.set_title(title)
        handles, _ = axes.get_legend_handles_labels()
        handles.append(Patch(color="#d9d9d9", label="range (min–max)"))
        handles.append(
            Line2D([], [], marker="^", linestyle="none", color="#444444", label="no upper bound")
        )
        # Outside the plot, so it never hides a step or the band.
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
        metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {"Software": None}
        figure.savefig(path, format=fmt, dpi=120, metadata=metadata)
    return fmt


def _end(times: list[datetime]) -> datetime:
    """Where the last step stops: a little past the last change."""
    span = times[-1] - times[0]
    return times[-1] + max(timedelta(days=1), span / 8)


def _series(steps: Sequence[Mapping[str, Any]]) -> list[_Series]:
    by_claimant: dict[str, _Series] = {}
    previous: dict[str, str] = {}
    for index, step in enumerate(steps):
        for position in step["positions"]:
            interval = position.get("interval") or {}
            if not isinstance(interval.get("min"), int):
                continue
            claimant = position["claimant"]
            name = position.get("claimant_name") or claimant
            item = by_claimant.setdefault(claimant, _Series(name))
            _pad(item, index)
            item.lows.append(float(interval["min"]))
            high = interval.get("max")
            item.highs.append(None if high is None else float(high))
            is_new = previous.get(claimant) != position["claim"]
            item.labels.append(_label(interval, position) if is_new else None)
            previous[claimant] = position["claim"]
        for claimant, item in by_claimant.items():
            _pad(item, index + 1)
            if not any(p["claimant"] == claimant for p in step["positions"]):
                previous.pop(claimant, None)
    for item in by_claimant.values():
        _pad(item, len(steps))
    return list(by_claimant.values())


def _pad(item: _Series, length: int) -> None:
    while len(item.lows) < length:
        item.lows.append(math.nan)
        item.highs.append(math.nan)
        item.labels.append(None)


def _label(interval: dict[str, Any], position: dict[str, Any]) -> str:
    """``121+`` (no upper bound), ``~374`` (approximate), ``7``, ``11,000–12,000``."""
    low, high = interval["min"], interval.get("max")
    if high is None:
        return f"{low:,}+"
    approximate = "~" if position.get("approximate") else ""
    return f"{approximate}{low:,}" if low == high else f"{low:,}–{high:,}"


def _top(steps: Sequence[Mapping[str, Any]], series: list[_Series]) -> float:
    values = [v for item in series for v in item.lows if not math.isnan(v)]
    values += [v for item in series for v in item.highs if v is not None and not math.isnan(v)]
    for step in steps:
        span = step.get("range") or {}
        values += [v for v in (span.get("min"), span.get("max")) if isinstance(v, int)]
    return max(values, default=1.0) * 1.3 or 1.0


def _band(axes: Any, steps: Sequence[Mapping[str, Any]], xs: list[datetime], top: float) -> None:
    lows: list[float] = []
    highs: list[float] = []
    for step in steps:
        span = step.get("range") or {}
        low, high = span.get("min"), span.get("max")
        lows.append(float(low) if isinstance(low, int) else math.nan)
        highs.append(float(high) if isinstance(high, int) else top)
    axes.fill_between(
        xs, [*lows, lows[-1]], [*highs, highs[-1]], step="post", color="#d9d9d9", zorder=0
    )


def _label_tops(series: list[_Series]) -> list[float]:
    """At each step, the highest value labelled there (other labels go below their line)."""
    length = len(series[0].lows) if series else 0
    return [
        max(
            (s.lows[i] for s in series if s.labels[i] is not None and not math.isnan(s.lows[i])),
            default=math.inf,
        )
        for i in range(length)
    ]


def _draw_series(
    axes: Any, item: _Series, xs: list[datetime], colour: str, tops: list[float]
) -> None:
    """A claimant's step line, its shaded bounds, and a label where its claim changed.

    Only the highest label at a step sits above its line; the others sit below,
    so claims that start at the same instant at close values stay legible.
    """
    lows = [*item.lows, item.lows[-1]]
    axes.step(xs, lows, where="post", color=colour, linewidth=2.2, label=item.name, zorder=3)
    bounded_highs = [h if h is not None else math.nan for h in item.highs]
    bounded_highs.append(bounded_highs[-1])
    axes.fill_between(
        xs, lows, bounded_highs, step="post", color=colour, alpha=0.18, linewidth=0, zorder=2
    )
    for index, (low, high, label) in enumerate(
        zip(item.lows, item.highs, item.labels, strict=True)
    ):
        if math.isnan(low):
            continue
        if high is None and label is not None:
            axes.plot(xs[index], low, marker="^", markersize=9, color=colour, zorder=4)
        if label is not None:
            axes.annotate(
                label,
                (xs[index], low),
                xytext=(6, 5 if low >= tops[index] else -13),
                textcoords="offset points",
                fontsize="small",
                color=colour,
                zorder=5,
            )
