"""What a claimed value means: numbers and dates as intervals, status as text.

SPEC "Understanding at a point in time": every number is an interval (exact n
is [n, n], ``at_least`` n is [n, ∞) …), every EDTF date is the interval from its
earliest to its latest instant, and status facts are compared as text.
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple

from incident_ledger.ledger.times import to_key

MAX_SAFE_INTEGER = 2**53 - 1

# A string value is read as a date only when it looks like one: EDTF also
# accepts things like "X" (an unspecified digit), which as status text means
# something else entirely.
_DATE_LIKE = re.compile(r"^(\d|\[|\{|\.\.)")
_LAST_MICROSECOND = timedelta(days=1) - timedelta(microseconds=1)


class Qualifier(StrEnum):
    """How a number relates to the truth, as the claimant put it."""

    EXACT = "exact"
    APPROX = "approx"
    AT_LEAST = "at_least"
    MORE_THAN = "more_than"
    AT_MOST = "at_most"
    LESS_THAN = "less_than"


class ValueKind(StrEnum):
    """The three shapes a claimed value can take."""

    NUMBER = "number"
    TIME = "time"
    TEXT = "text"


class Reading(NamedTuple):
    """A claimed value read as an interval (numbers, times) or as text.

    ``low``/``high`` are ints for numbers and storage keys (UTC ISO strings) for
    times; ``None`` is unbounded. ``text`` is the comparison form of a status.
    A named tuple: a rebuild reads every claim's value, and a frozen dataclass
    took a third of that reading just to construct.
    """

    kind: ValueKind
    low: int | str | None = None
    high: int | str | None = None
    text: str | None = None
    approximate: bool = False


class EDTFError(ValueError):
    """A string that is not a valid EDTF date or interval."""


@lru_cache(maxsize=65_536)
def edtf_bounds(expression: str) -> tuple[str | None, str | None]:
    """The earliest and latest instant an EDTF expression admits, as storage keys.

    Day-precision values cover whole days (``2023-03-04`` runs to its last
    microsecond); a date-time is that instant; an open end is ``None``.
    """
    simple = _simple_bounds(expression)
    if simple is not None:
        return simple
    import edtf  # imported on first use: it costs ~50 ms, and plain dates never need it

    try:
        parsed = edtf.parse_edtf(expression)
    except Exception as error:  # the edtf package raises several unrelated types
        raise EDTFError(f"'{expression}' is not a valid EDTF date or interval") from error
    if isinstance(parsed, edtf.DateAndTime):
        moment = datetime.fromisoformat(expression.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        key = to_key(moment)
        return key, key
    return _bound(parsed, lower=True), _bound(parsed, lower=False)


_PLAIN = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def _simple_bounds(expression: str) -> tuple[str, str] | None:
    """Bounds of a plain ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (or ``A/B`` of two).

    The edtf package's parser takes milliseconds per value; these plain forms are
    most of what reports contain, so they are read directly. Anything else goes to
    the package, and a test checks that both readings agree on the plain forms.
    """
    if "/" in expression:
        start, _, end = expression.partition("/")
        first, last = _plain_day_range(start), _plain_day_range(end)
        if first is None or last is None or first[0] > last[0]:
            return None
        return to_key(first[0]), to_key(last[1])
    days = _plain_day_range(expression)
    return None if days is None else (to_key(days[0]), to_key(days[1]))


def _plain_day_range(text: str) -> tuple[datetime, datetime] | None:
    match = _PLAIN.match(text)
    if match is None:
        return None
    year, month, day = match.groups()
    try:
        if day is not None:
            first = datetime(int(year), int(month), int(day), tzinfo=UTC)
            last = first
        elif month is not None:
            first = datetime(int(year), int(month), 1, tzinfo=UTC)
            last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        else:
            first = datetime(int(year), 1, 1, tzinfo=UTC)
            last = datetime(int(year), 12, 31, tzinfo=UTC)
    except ValueError:
        return None
    return first, last + _LAST_MICROSECOND


def _bound(parsed: Any, *, lower: bool) -> str | None:
    try:
        value = parsed.lower_strict() if lower else parsed.upper_strict()
    except (TypeError, AttributeError):
        return None
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return None
    day = datetime(*value[:3], tzinfo=UTC) if isinstance(value, time.struct_time) else None
    if day is None:
        return None
    return to_key(day if lower else day + _LAST_MICROSECOND)


def looks_like_date(value: str) -> bool:
    """True when a string value should be read as an EDTF date rather than status text."""
    if not _DATE_LIKE.match(value):
        return False
    try:
        edtf_bounds(value)
    except EDTFError:
        return False
    return True


def status_text(value: str | bool) -> str:
    """The comparison form of a status value: booleans as words, text case-folded."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return unicodedata.normalize("NFC", value).strip().casefold()


def read_value(value: Any, qualifier: str | None) -> Reading:
    """Interpret a validated claim value with its qualifier (SPEC interval rules)."""
    if type(value) is int and (qualifier is None or qualifier == "exact"):
        return Reading(ValueKind.NUMBER, value, value)  # most claims: read without the match
    if isinstance(value, bool):
        return Reading(ValueKind.TEXT, text=status_text(value))
    if isinstance(value, int):
        n = value
        match Qualifier(qualifier or Qualifier.EXACT):
            case Qualifier.EXACT:
                return Reading(ValueKind.NUMBER, n, n)
            case Qualifier.APPROX:
                return Reading(ValueKind.NUMBER, n, n, approximate=True)
            case Qualifier.AT_LEAST:
                return Reading(ValueKind.NUMBER, n, None)
            case Qualifier.MORE_THAN:
                return Reading(ValueKind.NUMBER, n + 1, None)
            case Qualifier.AT_MOST:
                return Reading(ValueKind.NUMBER, 0, n)
            case Qualifier.LESS_THAN:
                return Reading(ValueKind.NUMBER, 0, max(n - 1, 0))
    if isinstance(value, dict):
        low, high = value["min"], value["max"]
        if type(low) is not int or type(high) is not int:
            raise TypeError(f"unexpected claim value {value!r}")
        return Reading(ValueKind.NUMBER, low, high)
    if isinstance(value, str):
        if looks_like_date(value):
            low, high = edtf_bounds(value)
            return Reading(ValueKind.TIME, low, high)
        return Reading(ValueKind.TEXT, text=status_text(value))
    raise TypeError(f"unexpected claim value {value!r}")
