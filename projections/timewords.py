"""Valid time in words: an EDTF string as a reader would say it.

``2022-01-20`` → "20 Jan 2022", ``[2022-01-20,2022-01-21]`` → "20 or 21 Jan 2022",
``{2022-01-20,2022-01-21}`` → "20 and 21 Jan 2022", ``2022-01-20/2022-01-30`` →
"20–30 Jan 2022", ``2022-02-01/..`` → "from 1 Feb 2022", ``2022-01-20?`` →
"possibly 20 Jan 2022". The structure comes from the ``edtf`` package's parser,
or for the forms ``ledger.edtf_forms`` reads, from the text itself (the package
takes milliseconds a value); only the wording is ours. Shared parts are said
once ("20 or 21 Jan 2022", not "20 Jan 2022 or 21 Jan 2022"), and a range
across months or years is written out in full ("30 Jan – 2 Feb 2022").

Over 400 lines: the two readings (the package's nodes, the common forms' text)
share every wording function, and are kept together so that they cannot drift.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from incident_ledger.ledger.edtf_forms import fast_bounds
from incident_ledger.ledger.values import parse_edtf

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# EDTF level 2 season codes (21–41) in words.
_SEASONS = {
    21: "spring",
    22: "summer",
    23: "autumn",
    24: "winter",
    25: "spring (north)",
    26: "summer (north)",
    27: "autumn (north)",
    28: "winter (north)",
    29: "spring (south)",
    30: "summer (south)",
    31: "autumn (south)",
    32: "winter (south)",
    33: "Q1",
    34: "Q2",
    35: "Q3",
    36: "Q4",
    37: "first third of",
    38: "second third of",
    39: "last third of",
    40: "first half of",
    41: "second half of",
}


@dataclass(frozen=True)
class _Point:
    """A calendar date at year, month or day precision, maybe with a clock time."""

    year: int
    month: int | None = None
    day: int | None = None
    clock: str | None = None
    hedge: str = ""  # "possibly ", "about " or "possibly about "

    @property
    def plain(self) -> bool:
        """No hedge and no clock: parts can be shared with a neighbour."""
        return not self.hedge and self.clock is None

    @property
    def precision(self) -> int:
        return 3 if self.day is not None else 2 if self.month is not None else 1


def describe(expression: str) -> str:
    """An EDTF date, interval or set in words for a reader.

    Raises :class:`ledger.values.EDTFError` when ``expression`` is not EDTF.
    """
    return _describe(expression.strip())


@lru_cache(maxsize=4_096)
def _describe(expression: str) -> str:
    plain = _describe_plain(expression)
    return plain if plain is not None else _describe_parsed(expression)


_HEDGES = {"?": "possibly ", "~": "about ", "%": "possibly about "}
_NO_QUALIFIER = str.maketrans("", "", "?~%")


def _plain_point(text: str) -> _Point:
    """A ``YYYY[-MM[-DD]]`` date with an optional trailing qualifier or a clock time, as
    ``edtf_forms`` has checked it (only checked expressions come here)."""
    hedge = _HEDGES.get(text[-1:], "")
    date_part, _, clock = text.rstrip("?~%").partition("T")
    year, month, day = ([int(part) for part in date_part.split("-")] + [None, None])[:3]
    assert year is not None
    return _Point(year, month, day, clock=_clock(clock) if clock else None, hedge=hedge)


def _describe_plain(expression: str) -> str | None:
    """Words for the forms reports mostly use, without the EDTF parser.

    The ``edtf`` package's parser takes milliseconds a value, which a table of
    dates multiplies into a slow command. The forms ``ledger.edtf_forms`` reads
    (dates with a qualifier or a clock, unspecified digits, intervals with open
    ends, sets of dates and runs) are worded here by the same functions as parsed
    ones; a test checks both paths give the same words. Anything else returns None.
    """
    if fast_bounds(expression) is None:
        return None
    if _is_season(expression):
        return f"{_SEASONS[int(expression[5:])]} {expression[:4]}"
    if _partly(expression):  # one qualifier anywhere in a date hedges it all
        hedge = next(_HEDGES[c] for c in expression if c in _HEDGES)
        return hedge + _full(_plain_point(expression.translate(_NO_QUALIFIER)))
    if expression[0] in "[{":
        return _plain_set(expression)
    if "/" in expression:
        start, _, end = expression.partition("/")
        if not end:
            return f"from {_full(_plain_point(start))} (end unknown)"
        if not start:
            return f"until {_full(_plain_point(end))} (start unknown)"
        if start == ".." and end == "..":
            return "at an unknown time"
        if end == "..":
            return f"from {_full(_plain_point(start))}"
        if start == "..":
            return f"until {_full(_plain_point(end))}"
        return _between(_plain_point(start), _plain_point(end))
    if "X" in expression:
        year, _, rest = expression.partition("-")
        month, _, day = rest.partition("-")
        return _unspecified(SimpleNamespace(_year=year, _month=month or None, _day=day or None))
    return _full(_plain_point(expression))


def _partly(expression: str) -> bool:
    """A date qualified before or inside it (``?2022-01-21``, ``2022-?01-21``)."""
    body = expression.rstrip("?~%")
    return body != body.translate(_NO_QUALIFIER) and not any(c in body for c in "[{/")


def _is_season(expression: str) -> bool:
    return len(expression) == 7 and expression[4] == "-" and expression[5] in "234"


def _plain_set(expression: str) -> str:
    conjunction = "or" if expression[0] == "[" else "and"
    members = [m.strip(" ") for m in expression[1:-1].split(",")]
    if any(m.startswith("..") or m.endswith("..") for m in members):
        return _join([_plain_member(m) for m in members], conjunction)
    items = []
    for member in members:
        low, _, high = member.partition("..")
        items.append(_Item(_plain_point(low), _plain_point(high or low)))
    if conjunction == "or" and len(items) == 1 and items[0].low != items[0].high:
        return _range_words(items[0].low, items[0].high, between=True)
    return _compact(items, conjunction)


def _plain_member(member: str) -> str:
    if member.startswith(".."):
        return f"on or before {_full(_plain_point(member[2:]))}"
    if member.endswith(".."):
        return f"on or after {_full(_plain_point(member[:-2]))}"
    low, _, high = member.partition("..")
    return _range_words(_plain_point(low), _plain_point(high or low))


def _describe_parsed(expression: str) -> str:
    return _words(parse_edtf(expression), expression)


def _words(node: Any, original: str) -> str:
    """Words for any parsed EDTF node (falls back to its bounds, then to the text)."""
    kind = type(node).__name__
    if kind == "OneOfASet":
        return _set_words(list(node.objects), "or")
    if kind == "MultipleDates":
        return _set_words(list(node.objects), "and")
    if kind in ("EarlierConsecutives", "LaterConsecutives"):
        return _open_item(node)
    if kind == "Consecutives":
        return _set_words([node], "and")
    if hasattr(node, "lower") and hasattr(node, "upper"):
        return _interval_words(node, original)
    point = _point(node)
    if point is not None:
        return _full(point)
    try:
        special = _special(node)
    except (TypeError, ValueError):  # forms the edtf package parses but cannot compute
        special = None
    if special is not None:
        return special
    return _bounds_words(node) or original


# --- single dates -----------------------------------------------------------------


def _point(node: Any) -> _Point | None:
    """A plain or qualified calendar date; None for anything less specific."""
    kind = type(node).__name__
    if kind == "DateAndTime":
        base = _point(node.date)
        return None if base is None else replace(base, clock=_clock(str(node.time)))
    if kind == "UncertainOrApproximate":
        base = _point(node.date)
        return None if base is None else replace(base, hedge=_hedge(node))
    if kind not in ("Date", "PartialUncertainOrApproximate"):
        return None
    parts = (node._year, node._month, node._day)
    if getattr(node, "significant_digits", None):
        return None
    try:
        year, month, day = (None if p is None else int(p) for p in parts)
    except (TypeError, ValueError):  # "X" digits, exponent years
        return None
    if year is None:
        return None
    hedge = _hedge(node) if kind == "PartialUncertainOrApproximate" else ""
    return _Point(year, month, day, hedge=hedge)


def _hedge(node: Any) -> str:
    if getattr(node, "is_uncertain_and_approximate", False) or getattr(
        node, "_uncertain_and_approximate", False
    ):
        return "possibly about "
    uncertain = getattr(node, "is_uncertain", False) or getattr(node, "_is_uncertain", False)
    approximate = getattr(node, "is_approximate", False) or getattr(node, "_is_approximate", False)
    if uncertain and approximate:
        return "possibly about "
    return "possibly " if uncertain else "about " if approximate else ""


def _clock(text: str) -> str:
    """``10:00:00Z`` → ``10:00 UTC``; ``10:00:05+03:00`` → ``10:00:05 +03:00``."""
    zone = ""
    if text.endswith("Z"):
        text, zone = text[:-1], " UTC"
    elif len(text) > 8 and text[-6] in "+-":
        text, zone = text[:-6], f" {text[-6:]}"
    clock = text.split(".")[0]
    if clock.endswith(":00") and clock.count(":") == 2:
        clock = clock[:-3]
    return clock + zone


def _year(year: int) -> str:
    # Astronomical numbering: year 0 is 1 BCE.
    return str(year) if year > 0 else f"{1 - year} BCE"


def _bare(point: _Point, *, month: bool = True, year: bool = True) -> str:
    """The date without hedge or clock, dropping the month or year when shared."""
    parts: list[str] = []
    if point.day is not None:
        parts.append(str(point.day))
    if point.month is not None and (month or point.day is None):
        parts.append(MONTHS[point.month - 1])
    if year or point.month is None:
        parts.append(_year(point.year))
    return " ".join(parts)


def _full(point: _Point) -> str:
    clock = f" {point.clock}" if point.clock else ""
    return f"{point.hedge}{_bare(point)}{clock}"


# --- ranges -----------------------------------------------------------------------


def _range_parts(low: _Point, high: _Point) -> tuple[str, str, str]:
    """(left, right, shared suffix): ("20", "30", " Jan 2022"), ("30 Jan", "2 Feb", " 2022")."""
    if not (low.plain and high.plain and low.precision == high.precision):
        return _full(low), _full(high), ""
    if low.year != high.year or low.precision == 1:
        return _bare(low), _bare(high), ""
    if low.precision == 3 and low.month == high.month:
        return str(low.day), str(high.day), f" {_bare(replace(low, day=None))}"
    return _bare(low, year=False), _bare(high, year=False), f" {_year(low.year)}"


def _range_words(low: _Point, high: _Point, *, between: bool = False) -> str:
    """``20–30 Jan 2022``, ``30 Jan – 2 Feb 2022``; or ``between 20 and 22 Jan 2022``."""
    if low == high:
        return _full(low)
    left, right, suffix = _range_parts(low, high)
    if between:
        return f"between {left} and {right}{suffix}"
    tight = " " not in left and " " not in right
    return f"{left}{'–' if tight else ' – '}{right}{suffix}"


def _interval_words(node: Any, original: str) -> str:
    lower, upper = node.lower, node.upper
    low_open, high_open = _section(lower), _section(upper)
    if low_open and high_open:
        return "at an unknown time"
    if low_open:
        unknown = " (start unknown)" if low_open == "unknown" else ""
        return f"until {_endpoint(upper, original)}{unknown}"
    if high_open:
        unknown = " (end unknown)" if high_open == "unknown" else ""
        return f"from {_endpoint(lower, original)}{unknown}"
    low, high = _point(lower), _point(upper)
    if low is None or high is None:
        return f"{_endpoint(lower, original)} – {_endpoint(upper, original)}"
    return _between(low, high)


def _between(low: _Point, high: _Point) -> str:
    """Words for an interval between two dates."""
    if low.hedge and low.hedge == high.hedge and low.clock is None and high.clock is None:
        # One hedge for the whole range: "about 20–30 Jan 2022".
        return low.hedge + _range_words(replace(low, hedge=""), replace(high, hedge=""))
    return _range_words(low, high)


def _section(node: Any) -> str | None:
    """'open' (``..``), 'unknown' (empty) or None for an interval endpoint."""
    if type(node).__name__ != "UnspecifiedIntervalSection":
        return None
    return "unknown" if node.is_unknown else "open"


def _endpoint(node: Any, original: str) -> str:
    point = _point(node)
    return _full(point) if point is not None else _words(node, original)


# --- sets -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    """One member of a set: a date or a run of consecutive dates."""

    low: _Point
    high: _Point


def _set_words(members: list[Any], conjunction: str) -> str:
    items: list[_Item] = []
    for member in members:
        item = _item(member)
        if item is None:
            return _join([_member_words(m) for m in members], conjunction)
        items.append(item)
    if conjunction == "or" and len(items) == 1 and items[0].low != items[0].high:
        # One of a single run of days: some day within it.
        return _range_words(items[0].low, items[0].high, between=True)
    return _compact(items, conjunction)


def _item(member: Any) -> _Item | None:
    if type(member).__name__ == "Consecutives":
        low, high = _point(member.lower), _point(member.upper)
        return None if low is None or high is None else _Item(low, high)
    point = _point(member)
    return None if point is None else _Item(point, point)


def _member_words(member: Any) -> str:
    if type(member).__name__ in ("EarlierConsecutives", "LaterConsecutives"):
        return _open_item(member)
    item = _item(member)
    if item is not None:
        return _range_words(item.low, item.high)
    return _words(member, str(member))


def _open_item(node: Any) -> str:
    """``..2022-01-20`` → "on or before 20 Jan 2022"; ``2022-01-20..`` → "on or after …"."""
    if type(node).__name__ == "EarlierConsecutives":
        return f"on or before {_endpoint(node.upper, str(node))}"
    return f"on or after {_endpoint(node.lower, str(node))}"


def _compact(items: list[_Item], conjunction: str) -> str:
    """Say the shared month and year once: "20 or 21 Jan 2022", "31 Jan or 1 Feb 2022"."""
    points = [p for item in items for p in (item.low, item.high)]
    shared_year = (
        all(p.plain for p in points)
        and len({p.year for p in points}) == 1
        and len({p.precision for p in points}) == 1
        and points[0].precision > 1
    )
    if not shared_year:
        return _join([_range_words(i.low, i.high) for i in items], conjunction)
    first = points[0]
    shared_month = first.precision == 3 and len({p.month for p in points}) == 1
    words = [_item_words(item, keep_month=not shared_month) for item in items]
    suffix = _bare(replace(first, day=None)) if shared_month else _year(first.year)
    return f"{_join(words, conjunction)} {suffix}"


def _item_words(item: _Item, *, keep_month: bool) -> str:
    low = _bare(item.low, month=keep_month, year=False)
    if item.low == item.high:
        return low
    if keep_month and item.low.precision == 3 and item.low.month == item.high.month:
        return f"{item.low.day}–{_bare(item.high, year=False)}"
    high = _bare(item.high, month=keep_month, year=False)
    tight = " " not in low and " " not in high
    return f"{low}{'–' if tight else ' – '}{high}"


def _join(words: list[str], conjunction: str) -> str:
    if len(words) <= 2:
        return f" {conjunction} ".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


# --- the rest of EDTF ---------------------------------------------------------------


def _special(node: Any) -> str | None:
    """Seasons, unspecified digits (``2022-01-XX``) and years with significant digits."""
    kind = type(node).__name__
    if kind in ("Season", "Level2Season"):
        name = _SEASONS.get(int(node.season))
        return None if name is None else f"{name} {node.year}"
    if kind in ("Unspecified", "PartialUnspecified"):
        return _unspecified(node)
    if kind in ("Date", "LongYear", "ExponentialYear") and getattr(
        node, "significant_digits", None
    ):
        return _significant(node)
    if kind in ("LongYear", "ExponentialYear"):
        return f"year {node._precise_year() if kind == 'ExponentialYear' else node.year}"
    return None


def _unspecified(node: Any) -> str | None:
    """``2022-01-XX`` → "a day in Jan 2022"; ``2022-01-2X`` → "a day in 20–29 Jan 2022"."""
    year, month, day = str(node._year), node._month, node._day
    unit = "day" if day else "month" if month else "year"
    if year.startswith("-"):
        return None
    years = (int(year.replace("X", "0")), int(year.replace("X", "9")))
    if "X" in year:
        return f"a {unit} in {_range_words(_Point(years[0]), _Point(years[1]))}"
    if month is None:
        return None
    months = (max(1, int(month.replace("X", "0"))), min(12, int(month.replace("X", "9"))))
    if "X" in month:
        if months == (1, 12):
            return f"a {unit} in {_year(years[0])}"
        return (
            f"a {unit} in {_range_words(_Point(years[0], months[0]), _Point(years[0], months[1]))}"
        )
    if day is None or "X" not in day:
        return None
    last = calendar.monthrange(years[0], months[0])[1]
    days = (max(1, int(day.replace("X", "0"))), min(last, int(day.replace("X", "9"))))
    if days == (1, last):
        return f"a day in {_bare(_Point(years[0], months[0]))}"
    low, high = _Point(years[0], months[0], days[0]), _Point(years[0], months[0], days[1])
    return f"a day in {_range_words(low, high)}"


def _significant(node: Any) -> str | None:
    """``1950S2`` → "a year in 1900–1999 (estimated 1950)"."""
    low, high = _struct(node.lower_fuzzy()), _struct(node.upper_fuzzy())
    if low is None or high is None:
        return None
    span = _range_words(_Point(low[0]), _Point(high[0]))
    return f"a year in {span} (estimated {_year(node.estimated())})"


def _struct(value: Any) -> tuple[int, int, int] | None:
    if isinstance(value, time.struct_time):
        return value.tm_year, value.tm_mon, value.tm_mday
    return None


def _bounds_words(node: Any) -> str | None:
    """Last resort: the earliest and latest day the expression admits."""
    try:
        low, high = _struct(node.lower_strict()), _struct(node.upper_strict())
    except Exception:  # the edtf package leaves some forms without strict bounds
        return None
    if low is None or high is None:
        return None
    return _range_words(_Point(*low), _Point(*high))
