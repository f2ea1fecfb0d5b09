"""Claimed values, positions and ranges in words, as a reader would say them.

``at least 20``, ``about 374``, ``20 or 21 Jan 2022``, ``7–∞``, ``yes``. Qualifiers are
never dropped: "at least 20" is not "20". Time ranges are said in the incident's
time zone when one is given (the stored bounds are UTC instants).
"""

from __future__ import annotations

from collections.abc import Mapping, Sized
from decimal import Decimal
from typing import Any

from incident_ledger.ledger.times import local_time, local_words, zone_or_none
from incident_ledger.projections.timewords import describe

_QUALIFIER_WORDS = {
    "exact": "",
    "approx": "about ",
    "at_least": "at least ",
    "more_than": "more than ",
    "at_most": "at most ",
    "less_than": "less than ",
}


def value_words(value: Any, qualifier: str | None, kind: str) -> str:
    """A claimed value as a reader would say it: ``at least 20``, ``20 or 21 Jan 2022``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if "name" in value:
            return f"{value['name']} ({value['lat']}, {value['lon']})"
        return f"{value['min']}–{value['max']}"
    if isinstance(value, int) or (kind == "number" and isinstance(value, str)):
        return f"{_QUALIFIER_WORDS.get(qualifier or 'exact', '')}{value}"
    if kind == "time" and isinstance(value, str):
        return describe(value)
    return str(value)


def position_words(position: Mapping[str, Any], kind: str | None = None) -> str:
    """A position from ``state`` in words: its value with its qualifier, and, when one
    report's claims were read together, the others (``20 (also at least 20)``) or that
    they contradict each other. ``kind`` (number, time or text), when the caller knows
    it, saves finding it from the position."""
    kind = kind or _kind(position)
    words = value_words(position["value"], position.get("qualifier"), kind)
    combined = position.get("combined") or ()
    if position.get("inconsistent_within_report"):
        # Contradicting values are listed from the lowest up (then by claim id).
        ordered = sorted(combined, key=lambda c: (_low_key(c), c["claim"]))
        every = [value_words(c["value"], c.get("qualifier"), kind) for c in ordered]
        return f"{' and '.join(every)} (inconsistent at one time)"
    said = (
        value_words(c["value"], c.get("qualifier"), kind)
        for c in combined
        if c["claim"] != position["claim"]
    )
    others = list(dict.fromkeys(w for w in said if w != words))  # "50 (also 50)" says 50
    if not others:
        return words
    return f"{words} (also {', '.join(others)})"


def _low_key(claim: dict[str, Any]) -> tuple[int, Decimal, str]:
    """Sorts a combined claim by its interval's lower bound: numbers by value, then
    times by their UTC text (which sorts as time), then values without one by text."""
    low = (claim.get("interval") or {}).get("min")
    if isinstance(low, int) or (isinstance(low, str) and "T" not in low):
        return (0, Decimal(low), "")  # a count, or a quantity's exact decimal
    if isinstance(low, str):
        return (1, Decimal(0), low)
    return (2, Decimal(0), str(claim["value"]))


def _kind(position: Mapping[str, Any]) -> str:
    interval = position.get("interval")
    if interval is None:
        return "text"
    bounds = [interval.get("min"), interval.get("max")]
    return "time" if any(isinstance(b, str) and "T" in b for b in bounds) else "number"


def interval_words(
    interval: Mapping[str, Any] | None, zone: str | None = None, kind: str | None = None
) -> str:
    """``7–∞``, ``20``, ``20–21 Jan 2022``; ``—`` when there is none. Time bounds are
    said as days of ``zone`` when they fall on its day edges. ``kind``: the fact's kind
    of value, which says what an interval open at both ends is (``… – …`` for a time,
    not ``0–∞``)."""
    if interval is None:
        return "—"
    low, high = interval.get("min"), interval.get("max")
    if kind == "time" or _is_instant(low) or _is_instant(high):
        return _time_interval_words(low, high, zone)
    shown_low = "0" if low is None else str(low)
    shown_high = "∞" if high is None else str(high)
    return shown_low if low == high and low is not None else f"{shown_low}–{shown_high}"


def fact_value_words(
    fact: Mapping[str, Any], zone: str | None = None, policy: str | None = None
) -> str:
    """The value a policy gives a fact (``state``'s ``value``), in words: ``7–∞``,
    ``20–21 Jan 2022``, ``yes``; ``—`` when it gives none. The ``conservative`` policy's
    number is a lower bound, which no claim may have said as such ("about 70" allows 63):
    ``at least 63`` (a time ``not before …``), never a bare figure that reads as exact."""
    value = fact.get("value")
    if value is None:
        return "—"
    if policy == "conservative" and fact.get("kind") in ("number", "time"):
        words = interval_words({"min": value, "max": value}, zone, fact["kind"])
        return ("at least " if fact["kind"] == "number" else "not before ") + words
    if isinstance(value, dict) and "min" in value:
        return interval_words(value, zone, fact.get("kind"))
    if isinstance(value, list):  # several values at once, each in its words (yes, no)
        return " | ".join(value_words(v, None, "text") for v in value)
    return value_words(value, None, "text")  # yes/no, a place, a text


def _is_instant(bound: Any) -> bool:
    return isinstance(bound, str) and len(bound) > 10 and bound[10] == "T"


def _time_interval_words(low: str | None, high: str | None, zone: str | None) -> str:
    """Whole local days in words (``20–21 Jan 2022``, ``from 1 Feb 2022``); other
    instants in local time with their offset."""
    if low is None and high is None:
        return "… – …"
    first = _whole_day(low, zone, start=True)
    last = _whole_day(high, zone, start=False)
    if first is None or last is None:
        tz = zone_or_none(zone)
        if low == high and low:
            return local_words(low, tz, seconds=True)
        shown_low = "…" if low is None else local_words(low, tz, seconds=True)
        shown_high = "…" if high is None else local_words(high, tz, seconds=True)
        return f"{shown_low} – {shown_high}"
    if first == last:
        return describe(first)
    return describe(f"{first}/{last}")


def _whole_day(bound: str | None, zone: str | None, *, start: bool) -> str | None:
    """``2022-01-20`` for a bound on a local day's edge, ``..`` for none, else None."""
    if bound is None:
        return ".."
    moment = local_time(bound, zone_or_none(zone))
    clock = (moment.hour, moment.minute, moment.second, moment.microsecond)
    if start and clock == (0, 0, 0, 0):
        return moment.date().isoformat()
    if not start and clock == (23, 59, 59, 999_999):
        return moment.date().isoformat()
    return None


LISTED_POSITIONS = 12
"""A table lists a fact's positions up to this many; beyond, it sums them up: a fact held
by hundreds of claimants would fill screens with them."""


def sums_up(positions: Sized) -> bool:
    """Whether a table sums up these positions (a fact's, or a step's) in a line: past
    ``LISTED_POSITIONS``."""
    return len(positions) > LISTED_POSITIONS


SUMMED_VALUES = 5
"""A summed-up fact names this many of its most held values."""


def positions_summary(says: list[str]) -> str:
    """``340 positions; most held: 20 (96), at least 20 (41), …; 12 other values``, from
    what each position says in words."""
    from collections import Counter

    counts = Counter(says)
    named = ", ".join(f"{words} ({n})" for words, n in counts.most_common(SUMMED_VALUES))
    others = len(counts) - SUMMED_VALUES
    more = f"; {others} other value{'s' if others > 1 else ''}" if others > 0 else ""
    return f"{len(says)} positions; most held: {named}{more}"
