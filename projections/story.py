"""What the story views share: claimed values in words, report references, and
what changed between two understandings of one fact.

The story views (``projections.timeline``, ``projections.history``,
``projections.diff``) never re-derive statuses or ranges: every understanding
comes from :func:`projections.understanding.state`, and this module only
compares two of its answers.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from incident_ledger.ledger.times import to_key
from incident_ledger.projections.timewords import describe
from incident_ledger.projections.understanding import END_OF_TIME, iso

_QUALIFIER_WORDS = {
    "exact": "",
    "approx": "about ",
    "at_least": "at least ",
    "more_than": "more than ",
    "at_most": "at most ",
    "less_than": "less than ",
}


def recorded_key(recorded_at: datetime | None) -> str:
    """The storage key bounding recorded time (the end of time when not given)."""
    return to_key(recorded_at) if recorded_at else END_OF_TIME


def value_words(value: Any, qualifier: str | None, kind: str) -> str:
    """A claimed value as a reader would say it: ``at least 20``, ``20 or 21 Jan 2022``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return f"{value['min']}–{value['max']}"
    if isinstance(value, int):
        return f"{_QUALIFIER_WORDS.get(qualifier or 'exact', '')}{value}"
    if kind == "time" and isinstance(value, str):
        return describe(value)
    return str(value)


def position_words(position: dict[str, Any]) -> str:
    """A position from :func:`state` (its ``value`` and ``qualifier``) in words."""
    if "interval" not in position:
        kind = "text"
    else:
        kind = "time" if isinstance(position["value"], str) else "number"
    return value_words(position["value"], position.get("qualifier"), kind)


def report_refs(db: sqlite3.Connection, reports: Iterable[str]) -> list[dict[str, Any]]:
    """Reports as ``{id, outlet, outlet_name, published_at}``, in publication order."""
    wanted = sorted(set(reports))
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    rows = db.execute(
        f"SELECT r.id, r.source, s.name, r.published_at FROM reports r "
        f"LEFT JOIN sources s ON s.id = r.source WHERE r.id IN ({marks}) "
        "ORDER BY r.published_at, r.seq",
        wanted,
    )
    return [
        {"id": row[0], "outlet": row[1], "outlet_name": row[2], "published_at": iso(row[3])}
        for row in rows
    ]


def positions_by_claimant(fact: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A fact's positions keyed by claimant (empty when the fact is absent)."""
    return {p["claimant"]: p for p in fact["positions"]} if fact else {}


def changed_parts(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """Which of status, range and positions differ between two understandings of a fact."""
    parts: list[str] = []
    if _get(before, "status") != _get(after, "status"):
        parts.append("status")
    if _get(before, "range") != _get(after, "range"):
        parts.append("range")
    old = {c: p["claim"] for c, p in positions_by_claimant(before).items()}
    new = {c: p["claim"] for c, p in positions_by_claimant(after).items()}
    if old != new:
        parts.append("positions")
    return parts


def fact_changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """What changed in one fact: claimants joined, revised, restated or withdrawn; status; range.

    ``restated`` is a new claim by the same claimant with the same value (or interval).
    """
    changes: list[dict[str, Any]] = []
    old, new = positions_by_claimant(before), positions_by_claimant(after)
    for claimant, position in new.items():
        previous = old.get(claimant)
        if previous is None:
            changes.append(_claimant_change("joined", claimant, None, position))
        elif previous["claim"] != position["claim"]:
            same = _comparable_value(previous) == _comparable_value(position)
            changes.append(
                _claimant_change("restated" if same else "revised", claimant, previous, position)
            )
    for claimant, previous in old.items():
        if claimant not in new:
            changes.append(_claimant_change("withdrawn", claimant, previous, None))
    if _get(before, "status") != _get(after, "status"):
        changes.append(
            {"change": "status", "from": _get(before, "status"), "to": _get(after, "status")}
        )
    if _get(before, "range") != _get(after, "range"):
        changes.append(
            {"change": "range", "from": _get(before, "range"), "to": _get(after, "range")}
        )
    return changes


def _claimant_change(
    change: str, claimant: str, previous: dict[str, Any] | None, position: dict[str, Any] | None
) -> dict[str, Any]:
    shown = position or previous or {}
    out: dict[str, Any] = {
        "change": change,
        "claimant": claimant,
        "claimant_name": shown.get("claimant_name", claimant),
    }
    if previous is not None:
        out["from_claim"] = previous["claim"]
        out["from"] = position_words(previous)
    if position is not None:
        out["claim"] = position["claim"]
        out["to"] = position_words(position)
        out["report"] = position["report"]
    return out


def _comparable_value(position: dict[str, Any]) -> str:
    if "interval" in position:
        return json.dumps(position["interval"], sort_keys=True)
    value = position["value"]
    return json.dumps(value.casefold() if isinstance(value, str) else value)


def _get(fact: dict[str, Any] | None, key: str) -> Any:
    return None if fact is None else fact.get(key)


def change_words(change: dict[str, Any]) -> str:
    """One change in words: ``sdf joined: more than 120``, ``status single → contested``."""
    kind = change["change"]
    if kind == "status":
        if change["from"] is None:
            return f"status {change['to']}"
        return f"status {change['from']} → {change['to']}"
    if kind == "range":
        if change["from"] is None:
            return f"range {interval_words(change['to'])}"
        return f"range {interval_words(change['from'])} → {interval_words(change['to'])}"
    who = change["claimant"]
    if kind == "joined":
        return f"{who} joined: {change['to']}"
    if kind == "withdrawn":
        return f"{who} withdrawn (was {change['from']})"
    if kind == "restated":
        return f"{who} restated: {change['to']}"
    return f"{who} {kind}: {change['from']} → {change['to']}"


def interval_words(interval: dict[str, Any] | None) -> str:
    """``7–∞``, ``20``, ``20–21 Jan 2022``; ``—`` when there is none."""
    if interval is None:
        return "—"
    low, high = interval.get("min"), interval.get("max")
    if isinstance(low, str) or isinstance(high, str):
        return _time_interval_words(low, high)
    shown_low = "0" if low is None else str(low)
    shown_high = "∞" if high is None else str(high)
    return shown_low if low == high and low is not None else f"{shown_low}–{shown_high}"


def _time_interval_words(low: str | None, high: str | None) -> str:
    """Whole days in words (``20–21 Jan 2022``, ``from 1 Feb 2022``); other instants as ISO."""
    first = _whole_day(low, "T00:00:00Z")
    last = _whole_day(high, "T23:59:59.999999Z")
    if first is None or last is None:
        return low if low == high and low else f"{low or '…'} – {high or '…'}"
    if first == last:
        return describe(first)
    return describe(f"{first}/{last}")


def _whole_day(key: str | None, boundary: str) -> str | None:
    """``2022-01-20`` for a bound on a day's edge, ``..`` for none, else None."""
    if key is None:
        return ".."
    return key[:10] if key[10:] == boundary else None
