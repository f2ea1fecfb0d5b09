"""The bounds of the EDTF forms reports use, read without the ``edtf`` package.

The package's parser takes 4–40 ms a value (its grammar is built from
combinators and tried alternative by alternative), and a ledger's time values are
mostly distinct: a file of a few thousand sets or uncertain dates took minutes to
import. The forms below are read here in microseconds; anything else — seasons,
qualifiers inside a date, unspecified digits
other than a trailing day, month, year or decade, and anything the calendar
refuses — returns None and is left to the package, so what the ledger accepts
and the bounds it gives are the package's (a hypothesis test holds this module
to the package's answers on generated values of every form).

Forms read here:

- a date ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, with an optional trailing
  qualifier ``?``, ``~`` or ``%``, or one before or after one of its parts
  (``?2022-01-21``, ``2022-?01-21``);
- a season ``YYYY-21`` to ``YYYY-24``;
- unspecified digits ``YYYY-MM-XX``, ``YYYY-XX``, ``YYYY-XX-XX``, ``YYYX``, ``YYXX``;
- a date-time ``YYYY-MM-DDTHH:MM:SS`` with ``Z``, an offset ``±HH:MM`` of 00:01 to
  13:59 or ``±HH`` of 01 to 13 (the package refuses ``+00:00``), or none;
- an interval ``A/B`` of two dates, either end open (``..``) or unknown (empty);
- a set ``[a,b,…]`` or ``{a,b,…}`` of plain dates and ranges ``a..b`` (both ends of
  one precision), the first
  open at its start (``..b``) or the last at its end (``a..``).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime

from incident_ledger.ledger.times import to_key

Bounds = tuple[str | None, str | None]

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?[?~%]?", re.ASCII)
_PLAIN = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", re.ASCII)
_UNSPECIFIED = re.compile(r"(\d{4})-(?:(\d{2})-XX|XX(?:-XX)?)|(\d{3})X|(\d{2})XX", re.ASCII)
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(?:Z|[+-](?:(?:0[1-9]|1[0-3])(?::[0-5]\d)?|00:(?:0[1-9]|[1-5]\d)))?",
    re.ASCII,
)
_FIRST = "T00:00:00.000000Z"
_LAST = "T23:59:59.999999Z"


def fast_bounds(expression: str) -> Bounds | None:
    """The earliest and latest instant of one of the forms above, as storage keys
    (``None``: open); None when the expression is not one of them (or not on the
    calendar), for the ``edtf`` package to read or refuse."""
    if not expression:
        return None
    first = expression[0]
    if first in {"[", "{"}:
        return _set(expression)
    if "/" in expression:
        return _interval(expression)
    if "T" in expression:
        return _instant(expression)
    if _PARTLY.fullmatch(expression):  # one qualifier before or after one part of a date
        return _date(expression.translate(_NO_QUALIFIER), _PLAIN)
    return _date(expression, _DATE) or _unspecified(expression) or _season(expression)


def _days(year: str, month: str | None, day: str | None) -> tuple[str, str] | None:
    """The first and last day a calendar date of that precision covers (``YYYY-MM-DD``),
    or None when it is not on the calendar (years 0001–9999)."""
    y = int(year)
    if y < 1:
        return None
    if month is None:
        return f"{year}-01-01", f"{year}-12-31"
    m = int(month)
    if not 1 <= m <= 12:
        return None
    last = calendar.monthrange(y, m)[1]
    if day is None:
        return f"{year}-{month}-01", f"{year}-{month}-{last:02d}"
    if not 1 <= int(day) <= last:
        return None
    return f"{year}-{month}-{day}", f"{year}-{month}-{day}"


def _date(text: str, form: re.Pattern[str]) -> tuple[str, str] | None:
    match = form.fullmatch(text)
    if match is None:
        return None
    days = _days(*match.groups())
    return None if days is None else (days[0] + _FIRST, days[1] + _LAST)


def _unspecified(text: str) -> tuple[str, str] | None:
    match = _UNSPECIFIED.fullmatch(text)
    if match is None:
        return None
    year, month, decade, century = match.groups()
    if year is not None:
        days = _days(year, month, None)
        return None if days is None else (days[0] + _FIRST, days[1] + _LAST)
    low, high = (
        (decade + "0", decade + "9") if decade is not None else (century + "00", century + "99")
    )
    if int(low) < 1:
        return None
    return f"{low}-01-01{_FIRST}", f"{high}-12-31{_LAST}"


_PARTLY = re.compile(
    r"[?~%]\d{4}(?:-\d{2}(?:-\d{2})?)?|\d{4}[?~%]-\d{2}(?:-\d{2})?"
    r"|\d{4}-[?~%]\d{2}(?:-\d{2})?|\d{4}-\d{2}[?~%]-\d{2}|\d{4}-\d{2}-[?~%]\d{2}",
    re.ASCII,
)
_NO_QUALIFIER = str.maketrans("", "", "?~%")
_SEASON = re.compile(r"(\d{4})-(2[1-4])", re.ASCII)
_SEASON_MONTHS = {"21": ("03", "05"), "22": ("06", "08"), "23": ("09", "11"), "24": ("12", "12")}
"""The months the package gives a season (its winter is December alone)."""


def _season(text: str) -> tuple[str, str] | None:
    match = _SEASON.fullmatch(text)
    if match is None:
        return None
    year, season = match.groups()
    first, last = _SEASON_MONTHS[season]
    start, end = _days(year, first, None), _days(year, last, None)
    if start is None or end is None:
        return None
    return start[0] + _FIRST, end[1] + _LAST


def _instant(text: str) -> tuple[str, str] | None:
    if _DATETIME.fullmatch(text) is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:  # the package reads a date-time without an offset as UTC
            moment = moment.replace(tzinfo=UTC)
        key = to_key(moment)
    except (ValueError, OverflowError):
        return None  # not on the calendar, or past year 9999 in UTC: the package says why
    return key, key


def _interval(text: str) -> Bounds | None:
    start, _, end = text.partition("/")
    if not start or not end:
        return _unknown_end(start, end)
    low: str | None = None
    high: str | None = None
    if start != "..":
        first = _date(start, _DATE)
        if first is None:
            return None
        low = first[0]
    if end != "..":
        last = _date(end, _DATE)
        if last is None:
            return None
        high = last[1]
    if low is not None and high is not None and low > high:
        return None  # ends before it starts: the package's reading is refused with the reason
    return low, high


def _unknown_end(start: str, end: str) -> Bounds | None:
    """``A/`` and ``/B``: an interval whose other end is unknown, which the package reads
    as ten years on from (or back from) the known end, in its own way at each precision:
    ``2022-01/`` ends on 1 Jan 2032, ``/2022-01`` starts on 31 Jan 2012."""
    known, bounds = _DATE.fullmatch(start or end), _date(start or end, _DATE)
    if known is None or bounds is None:
        return None
    year, month, day = known.groups()
    y = int(year) + (10 if start else -10)
    if not 1 <= y <= 9999:
        return None
    if start:
        m, d = int(month or 1), int(day or 1)
    else:
        m = int(month or 12)
        d = int(day) if day else calendar.monthrange(int(year), m)[1]
    other = f"{y:04d}-{m:02d}-{min(d, calendar.monthrange(y, m)[1]):02d}"
    return (bounds[0], other + _LAST) if start else (other + _FIRST, bounds[1])


def _set(text: str) -> Bounds | None:
    closing = "]" if text[0] == "[" else "}"
    if text[-1] != closing or len(text) < 3:
        return None
    members = text[1:-1].split(",")
    lows: list[str] = []
    highs: list[str] = []
    open_start = open_end = False
    for n, written in enumerate(members):
        member = written.strip(" ")
        if member.startswith("..") and n == 0:
            open_start, member = True, member[2:]
        elif member.endswith("..") and n == len(members) - 1:
            open_end, member = True, member[:-2]
        start, dots, end = member.partition("..")
        if dots and (open_start or open_end or len(start) != len(end)):
            return None  # a range's ends share a precision, and one cannot be open
        first = _date(start, _PLAIN)
        last = _date(end, _PLAIN) if dots else first
        if first is None or last is None or first[0] > last[1]:
            return None
        lows.append(first[0])
        highs.append(last[1])
    if len(members) == 1 and not (open_start or open_end or ".." in members[0]):
        return None  # a set of one date is not EDTF
    return (None if open_start else min(lows)), (None if open_end else max(highs))
