"""What a claimed value means: numbers and dates as intervals, status as text.

docs/understanding.md, "Numbers are intervals": every number is an interval (exact n
is [n, n], ``at_least`` n is [n, ∞) …), every EDTF date is the interval from its
earliest to its latest instant, and status facts are compared as text.

Over 400 lines: how a value is checked on the way in and read on the way out is one
rule, kept in one module.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple

from incident_ledger.ledger.edtf_forms import fast_bounds
from incident_ledger.ledger.errors import shown
from incident_ledger.ledger.times import to_key

MAX_SAFE_INTEGER = 2**53 - 1

DECIMAL_TEXT = re.compile(r"^(0|[1-9]\d{0,14})(\.\d{1,12})?$", re.ASCII)
"""A decimal as the ledger keeps it, and as a quantity may be written as a string
(``"2750"``, ``"2.5"``): ASCII digits, no sign, no exponent, no leading zero (``"0000"``
is a year, not a number)."""

# A string value is read as a date only when it looks like one: EDTF also
# accepts things like "X" (an unspecified digit), which as status text means
# something else entirely. "\d" is any script's digit, and a sign before one
# starts a number (EDTF's negative years are outside what the ledger holds).
_DATE_LIKE = re.compile(r"^([+-]?\d|\[|\{|\.\.)")
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

    ``low``/``high`` are ints for counts (Decimals for fractional quantities) and
    storage keys (UTC ISO strings) for times; ``None`` is unbounded. ``text`` is
    the comparison form of a status.
    A named tuple: a rebuild reads every claim's value, and a frozen dataclass
    took a third of that reading just to construct.
    """

    kind: ValueKind
    low: int | Decimal | str | None = None
    high: int | Decimal | str | None = None
    text: str | None = None
    approximate: bool = False


class ValueProblem(ValueError):
    """A value the ledger cannot read, with the reason in words for the user."""


class EDTFError(ValueProblem):
    """A string that is not a valid EDTF date or interval the ledger can hold."""

    def __init__(self, expression: str, reason: str | None = None) -> None:
        detail = f" ({reason})" if reason else ""
        super().__init__(f"{shown(expression)} is not a valid EDTF date or interval{detail}")
        self.reason = reason
        """Why, when the expression is EDTF in form (a date not on the calendar, a year
        out of range); None when it is not EDTF at all."""


def edtf_bounds(expression: str) -> tuple[str | None, str | None]:
    """The earliest and latest instant an EDTF expression admits, as storage keys.

    Day-precision values cover whole days (``2023-03-04`` runs to its last
    microsecond); a date-time is that instant; an open end is ``None``.
    Raises ``EDTFError`` for anything else: text that is not EDTF, a date not on
    the calendar, an instant outside the years 0001–9999 in UTC, an interval that
    ends before it starts. The projector reads every stored value with this very
    function, and the records are checked with it before they are stored.
    Each distinct expression is read once a process, a refusal as much as bounds.
    """
    bounds, reason, refused = _read_once(expression)
    if refused:
        raise EDTFError(expression, reason)
    return bounds


@lru_cache(maxsize=65_536)
def _read_once(expression: str) -> tuple[tuple[str | None, str | None], str | None, bool]:
    """(bounds, reason, refused): the reading of an expression, kept whether it is
    bounds or a refusal, so that a value refused once is not parsed again."""
    try:
        return read_edtf(expression), None, False
    except EDTFError as error:
        return (None, None), error.reason, True


def read_edtf(expression: str) -> tuple[str | None, str | None]:
    """:func:`edtf_bounds` without the cache: the forms reports use are read by
    ``edtf_forms``, anything else by the ``edtf`` package."""
    fast = fast_bounds(expression)
    if fast is not None:
        return fast
    try:
        low, high = _parsed_bounds(expression)
    except EDTFError:
        raise
    except (ValueError, OverflowError, TypeError, IndexError) as error:
        raise EDTFError(expression, _reason(error)) from None
    if low is not None and high is not None and low > high:
        raise EDTFError(expression, "it ends before it starts")
    return low, high


def parse_edtf(expression: str) -> Any:
    """The edtf package's reading of an expression, or ``EDTFError`` saying why there is
    none: the one way into that package, for the bounds here and the read side's words.

    The package is imported on first use: it costs ~50 ms, and plain dates never need it.
    """
    import edtf

    try:
        # The parser prints its internal state on some failures: keep stdout clean.
        with contextlib.redirect_stdout(io.StringIO()):
            return edtf.parse_edtf(expression)
    except Exception:  # the edtf package raises several unrelated types
        raise EDTFError(expression, _calendar_reason(expression)) from None


def _parsed_bounds(expression: str) -> tuple[str | None, str | None]:
    import edtf

    parsed = parse_edtf(expression)
    if isinstance(parsed, edtf.DateAndTime):
        moment = datetime.fromisoformat(expression.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        key = to_key(moment)
        return key, key
    return _bound(parsed, lower=True), _bound(parsed, lower=False)


def _reason(error: Exception) -> str:
    """Python's words for why a date cannot be made, in the ledger's terms."""
    words = str(error)
    if isinstance(error, OverflowError) or ("out of range" in words and "year" in words):
        return "years run from 0001 to 9999, in UTC"
    if "invalid literal" in words or "Couldn't convert" in words:  # 2022-01-2X, 2022-1X-01
        return "a month or a day may be unspecified only whole (2022-01-XX, 2022-XX)"
    return words


_CALENDAR_PART = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?", re.ASCII)


def _calendar_reason(expression: str) -> str | None:
    """Why the first calendar date written in an expression does not exist, if one does
    not (``2023-13-45``: month must be in 1..12): for a message, never on the hot path."""
    for match in _CALENDAR_PART.finditer(expression):
        year, month, day = match.groups()
        try:
            datetime(int(year), int(month), int(day or 1))
        except ValueError as error:
            return _reason(error)
    return None


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


_OFFSET = re.compile(r"T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)")


def has_offset(expression: str) -> bool:
    """Whether an EDTF value holds a time of day with ``Z`` or an offset: an instant
    wherever it is read, where a calendar day is a day in the incident's zone."""
    return "T" in expression and _OFFSET.search(expression) is not None


def looks_like_date(value: str) -> bool:
    """True when a string value starts like a date, so must be read as an EDTF date: a
    digit (of any script), ``[``, ``{`` or ``..`` after any leading space. Status text
    never starts so; a value that does and is not a date the ledger can hold is refused."""
    return _DATE_LIKE.match(value.lstrip()) is not None


def status_text(value: str | bool) -> str:
    """The comparison form of a status value: booleans as words, text case-folded."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return unicodedata.normalize("NFC", value).strip().casefold()


def read_value(value: Any, qualifier: str | None) -> Reading:
    """Interpret a claim value with its qualifier (docs/understanding.md, "Numbers are intervals").

    The projector reads every stored claim with this function, and every way a
    claim comes in checks its value with it first (``check_claim_value``), so what
    is stored can be read. Raises ``ValueProblem`` for a value it cannot read.
    """
    if type(value) is int and (qualifier is None or qualifier == "exact"):
        return Reading(ValueKind.NUMBER, value, value)  # most claims: read without the match
    if isinstance(value, bool):
        return Reading(ValueKind.TEXT, text=status_text(value))
    if isinstance(value, int):
        return _number(value, qualifier)
    if isinstance(value, dict):
        if "name" in value:  # a place with a point: compared by its name
            return Reading(ValueKind.TEXT, text=status_text(str(value["name"])))
        try:
            low, high = value["min"], value["max"]
        except KeyError:
            raise ValueProblem(_RANGE_SHAPE) from None
        if type(low) is not int or type(high) is not int:
            low, high = _exact_bound(low), _exact_bound(high)
        return Reading(ValueKind.NUMBER, low, high)
    if isinstance(value, Decimal):
        return _number(_exact_number(value), qualifier)
    if isinstance(value, str):
        if looks_like_date(value):
            try:
                low, high = edtf_bounds(value)
            except EDTFError as error:
                number = decimal_text(value)
                if number is not None:  # a decimal written as a string: a quantity's value
                    return _number(number, qualifier)
                raise ValueProblem(_not_a_date(value, error)) from None
            return Reading(ValueKind.TIME, low, high)
        return Reading(ValueKind.TEXT, text=status_text(value))
    raise ValueProblem(_SHAPES)


def decimal_text(value: str) -> int | Decimal | None:
    """The exact number a decimal written as a string stands for (``"2750"`` → 2750,
    ``"2.5"`` → Decimal("2.5")), or None when it is not one."""
    if not DECIMAL_TEXT.match(value):
        return None
    return _exact_number(Decimal(value))


def _exact_number(number: Decimal) -> int | Decimal:
    """Whole numbers as ints (they compare and store as counts do), others as Decimals."""
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(number)
    return number


def _exact_bound(bound: Any) -> int | Decimal:
    if type(bound) is int:
        return bound
    if isinstance(bound, Decimal):
        return _exact_number(exact_decimal(bound))
    if isinstance(bound, str):
        number = decimal_text(bound)
        if number is not None:
            return number
    raise ValueProblem("range bounds must be numbers")


def exact_decimal(value: Any) -> Decimal:
    """A decimal as the ledger keeps it: finite, not negative, written without an
    exponent, at most 15 digits before the point and 12 after (``DECIMAL_TEXT``)."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValueProblem(f"{shown(str(value))} is not a decimal number") from None
    if not number.is_finite():
        raise ValueProblem("must be a finite number")
    if number < 0:
        raise ValueProblem("numbers must not be negative")
    plain = format(number, "f").lstrip("-")
    if not DECIMAL_TEXT.match(plain):
        raise ValueProblem("decimals have at most 15 digits before the point and 12 after it")
    return Decimal(plain)


def degrees(value: Any) -> Decimal:
    """A latitude or longitude in degrees: an exact decimal that may be negative."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValueProblem("must be a number of degrees")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueProblem(f"{shown(str(value))} is not a number of degrees") from None
    magnitude = exact_decimal(abs(number))
    return -magnitude if number < 0 else magnitude


def _number(n: int | Decimal, qualifier: str | None) -> Reading:
    try:
        chosen = Qualifier(qualifier or Qualifier.EXACT)
    except ValueError:
        raise ValueProblem(f"unknown qualifier {qualifier!r}") from None
    match chosen:
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


_RANGE_SHAPE = 'a range is written {"min": a, "max": b}'
_SHAPES = (
    'must be a number, {"min": a, "max": b}, an EDTF date, text, a boolean or a place '
    '{"name": text, "lat": degrees, "lon": degrees}'
)


def check_claim_value(value: Any) -> Any:
    """Check a claim's value as it arrived (decoded JSON, or ``value_from_text`` of a
    command-line text): the same rules for every way in. Returns it unchanged.

    A whole number from 0 to 2^53 - 1, a range ``{"min": a, "max": b}`` of two,
    a boolean, or non-empty text; text that starts like a date must be an EDTF
    date the ledger can hold, and text that is only a number in words ("about
    20") is refused with the number and qualifier to give instead. A range or a
    text is then read as the projector will read it (``read_value``); a whole
    number or a boolean always reads, whatever its qualifier. Raises ``ValueProblem``.
    """
    kind = type(value)
    if kind is int:  # most claims: a count
        if not 0 <= value <= MAX_SAFE_INTEGER:
            raise ValueProblem(
                "numbers must not be negative" if value < 0 else "numbers must not exceed 2^53 - 1"
            )
        return value
    if kind is bool:
        return value
    if kind is dict:
        _check_object(value)
    elif kind is str:
        _check_text(value)
    elif kind is Decimal:  # a JSON number with a fraction or an exponent: a quantity's
        return exact_decimal(value)
    elif isinstance(value, float):
        raise ValueProblem("numbers must be exact: a decimal is read from JSON, not a float")
    else:
        raise ValueProblem(_SHAPES)
    read_value(value, None)
    return value


def _check_object(value: dict[str, Any]) -> None:
    """A value that is an object: a range of counts or quantities, or a place."""
    keys = set(value)
    if keys == {"name", "lat", "lon"}:
        name = value["name"]
        if not isinstance(name, str) or not name.strip():
            raise ValueProblem("a place's name must be text")
        for axis, limit in (("lat", 90), ("lon", 180)):
            if abs(degrees(value[axis])) > limit:
                raise ValueProblem(f"{axis} must be between -{limit} and {limit} degrees")
        return
    if keys != {"min", "max"}:
        raise ValueProblem(_RANGE_SHAPE)
    bounds = []
    for bound in (value["min"], value["max"]):
        if isinstance(bound, bool) or not isinstance(bound, int | Decimal | str):
            raise ValueProblem("range bounds must be numbers")
        if isinstance(bound, int) and not 0 <= bound <= MAX_SAFE_INTEGER:
            raise ValueProblem("range bounds must satisfy 0 <= min <= max <= 2^53 - 1")
        bounds.append(bound if isinstance(bound, int) else _exact_bound(bound))
    if bounds[0] > bounds[1]:
        raise ValueProblem("range bounds must satisfy 0 <= min <= max <= 2^53 - 1")


def _check_text(value: str) -> None:
    if not value.strip():
        raise ValueProblem("must not be empty")
    worded = number_in_words(value)
    if worded is not None:
        number, qualifier = worded
        raise ValueProblem(
            f"{shown(value.strip())} is a number in words: give the number ({number}) "
            f"with the qualifier {qualifier}"
        )


# --- what a string that is not a date was probably meant to be (for messages only) ---

ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
"""Arabic-Indic (U+0660–0669) and Eastern Arabic-Indic (U+06F0–06F9) digits as ASCII."""

_WHOLE = re.compile(r"[+-]?\d+", re.ASCII)
_GROUPED = re.compile(r"\d{1,3}([,\u066c' ]\d{3})+", re.ASCII)
_DECIMAL = re.compile(r"\d+[.\u066b]\d+", re.ASCII)


def _not_a_date(value: str, error: EDTFError) -> str:
    """Why a string that starts like a date or a number is neither, with what to write."""
    text = value.strip()
    plain = text.translate(ARABIC_DIGITS)
    if _WHOLE.fullmatch(plain) and (plain != text or len(plain.lstrip("+-")) != 4):
        return f"{shown(text)} is a number written as text: give it as a number ({int(plain)})"
    if _GROUPED.fullmatch(plain):
        digits = re.sub(r"\D", "", plain)
        return (
            f"{shown(text)} is not a number as written: write whole numbers without "
            f"separators ({digits})"
        )
    if _DECIMAL.fullmatch(plain):
        number = plain.replace("\u066b", ".")
        return f"{shown(text)} is a number written as text: give it as a number ({number})"
    if error.reason is None:
        return (
            f"{shown(text)} is neither a number nor an EDTF date: text must not start with "
            "a digit, '[', '{' or '..'"
        )
    return str(error)


_QUALIFIER_WORDS = {
    "about": "approx",
    "approximately": "approx",
    "approx.": "approx",
    "approx": "approx",
    "around": "approx",
    "roughly": "approx",
    "nearly": "approx",
    "almost": "approx",
    "some": "approx",
    "circa": "approx",
    "ca.": "approx",
    "~": "approx",
    "≈": "approx",
    "نحو": "approx",
    "حوالي": "approx",
    "حوالى": "approx",
    "قرابة": "approx",
    "زهاء": "approx",
    "at least": "at_least",
    "no fewer than": "at_least",
    "no less than": "at_least",
    "≥": "at_least",
    ">=": "at_least",
    "ما لا يقل عن": "at_least",
    "على الأقل": "at_least",
    "more than": "more_than",
    "over": "more_than",
    "above": "more_than",
    "upwards of": "more_than",
    ">": "more_than",
    "أكثر من": "more_than",
    "at most": "at_most",
    "up to": "at_most",
    "no more than": "at_most",
    "≤": "at_most",
    "<=": "at_most",
    "less than": "less_than",
    "fewer than": "less_than",
    "under": "less_than",
    "below": "less_than",
    "<": "less_than",
    "أقل من": "less_than",
}
_IN_WORDS = re.compile(
    r"("
    + "|".join(re.escape(w) for w in sorted(_QUALIFIER_WORDS, key=len, reverse=True))
    + r")\s*([0-9٠-٩۰-۹][0-9٠-٩۰-۹,٬]*)",
    re.IGNORECASE,
)


def number_in_words(text: str) -> tuple[int, str] | None:
    """(number, qualifier) when a text is only a number with a qualifier in words
    ("about 20", "more than 120", "نحو ٢٠"), else None."""
    match = _IN_WORDS.fullmatch(text.strip())
    if match is None:
        return None
    digits = re.sub(r"[,٬]", "", match.group(2)).translate(ARABIC_DIGITS)
    if not digits.isascii() or not digits.isdigit():
        return None
    return int(digits), _QUALIFIER_WORDS[match.group(1).casefold()]
