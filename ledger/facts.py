"""Fact kinds: what kind of value each fact of an incident takes, and whether a claim fits.

A fact of an incident is a count, a quantity, a time, text, a choice, a boolean or a
place (docs/understanding.md, "Fact kinds"; docs/import-format.md, "Facts and their
kinds"). A ``fact`` record declares one (its kind, unit, whether it is cumulative, the
tolerance of "about", the choices); a fact never declared takes the kind of its first
claim and keeps it. Every claim must fit its fact's kind, whichever way it enters the
ledger: the import pipelines, ``append claim`` and ``correct`` all ask :func:`misfit`.

To check a claim without its whole record, an import reduces it to a *signature*
(:func:`signature`): the shape of its value (a whole number, a decimal, a string, a
boolean, a place), whether it carries a qualifier, its unit, and the string itself
when it is one. Two claims with one signature fit a fact alike, so an import checks
each distinct signature of a fact once.

The read side reads values through :func:`read_claim`, which knows the kind: a choice is
compared as its declared value (aliases mapped), a quantity as an exact decimal, a time
as the EDTF interval in the incident's zone, and "about n" as n ± the fact's tolerance.

Over 400 lines: the kinds, a claim's signature, the checks of one against the other
and the reading are one rule, and splitting them would let them drift apart.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from typing import Any

from incident_ledger.ledger.errors import shown as quoted
from incident_ledger.ledger.times import wall_key_in
from incident_ledger.ledger.values import (
    DECIMAL_TEXT,
    EDTFError,
    Reading,
    ValueKind,
    edtf_bounds,
    has_offset,
    looks_like_date,
    read_value,
    status_text,
)


class FactKind(StrEnum):
    """What kind of value a fact takes."""

    COUNT = "count"
    QUANTITY = "quantity"
    TIME = "time"
    TEXT = "text"
    CHOICE = "choice"
    BOOLEAN = "boolean"
    PLACE = "place"


NUMERIC_KINDS = frozenset({FactKind.COUNT, FactKind.QUANTITY})
_TEXT_KINDS = frozenset({FactKind.TEXT, FactKind.CHOICE, FactKind.PLACE})

_KIND_WORDS = {
    FactKind.COUNT: "counts are whole numbers ≥ 0 (a JSON integer, with a qualifier if "
    'need be, or {"min": a, "max": b})',
    FactKind.QUANTITY: "quantities are decimals ≥ 0 (a JSON number or a decimal string "
    'such as "2.5", with a qualifier if need be, or {"min": a, "max": b})',
    FactKind.TIME: "times are EDTF dates or intervals such as 2022-01-20 or "
    "[2022-01-20,2022-01-21], without a qualifier",
    FactKind.TEXT: "text facts take a string, without a qualifier",
    FactKind.CHOICE: "a choice takes one of its declared values or aliases",
    FactKind.BOOLEAN: "booleans are true or false",
    FactKind.PLACE: 'places are text, or {"name": text, "lat": degrees, "lon": degrees}',
}


@dataclass(frozen=True)
class Choice:
    """One declared value of a choice fact and the other words that mean it."""

    value: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tolerance:
    """The width of "about n": a fraction of n, or an absolute number."""

    fraction: Decimal | None = None
    absolute: Decimal | None = None


@dataclass(frozen=True)
class FactRules:
    """What a fact's claims must be and how they are read: a declaration, or the kind
    its first claim gave it (``declared`` false)."""

    kind: FactKind
    declared: bool = False
    unit: str | None = None
    cumulative: bool = False
    tolerance: Tolerance | None = None
    choices: tuple[Choice, ...] = ()

    @classmethod
    def from_fields(cls, fields: dict[str, Any], *, declared: bool = True) -> FactRules:
        """The rules of a ``fact`` record's JSON fields (or a fact event's data)."""
        tolerance = fields.get("tolerance")
        choices = fields.get("choices") or ()
        return cls(
            kind=FactKind(fields["kind"]),
            declared=declared,
            unit=fields.get("unit"),
            cumulative=bool(fields.get("cumulative")),
            tolerance=None
            if tolerance is None
            else Tolerance(
                fraction=_decimal(tolerance.get("fraction")),
                absolute=_decimal(tolerance.get("absolute")),
            ),
            choices=tuple(Choice(str(c["value"]), tuple(c.get("aliases") or ())) for c in choices),
        )

    def choice_of(self, text: str) -> str | None:
        """The declared value a string names (itself or an alias, compared case-folded)."""
        folded = status_text(text)
        for choice in self.choices:
            if status_text(choice.value) == folded or any(
                status_text(alias) == folded for alias in choice.aliases
            ):
                return choice.value
        return None

    def words(self) -> str:
        """``a count``, ``a cumulative count``; for messages."""
        prefix = "a cumulative " if self.cumulative else "an " if self.kind[0] in "aeiou" else "a "
        kind = "boolean" if self.kind is FactKind.BOOLEAN else self.kind.value
        return f"{prefix}{kind}"


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


# --- signatures -------------------------------------------------------------------------

# The shape of a claimed value, the first letter of its signature.
_WHOLE, _DECIMAL, _STRING, _BOOLEAN, _PLACE = "c", "d", "s", "b", "p"


def signature(value: Any, qualifier: str | None, unit: str | None) -> str:
    """A claim's value reduced to what decides whether it fits a fact: its shape, a
    qualifier mark, its unit and, for a string, the string.

    ``value`` is a validated record's value (an int, a ``Decimal``, a string, a
    boolean, a range or a place model) or a stored one (the leaf's JSON: decimals
    are strings there, ranges and places objects).
    """
    mark = "q" if qualifier is not None and qualifier != "exact" else "-"
    kind = type(value)
    text = ""
    if kind is int:
        shape = _WHOLE
    elif kind is bool:
        shape = _BOOLEAN
    elif kind is str:
        shape, text = _STRING, value
    elif kind is Decimal:
        shape = _DECIMAL
    elif kind is dict:
        bounds = (value.get("min"), value.get("max"))
        whole = all(type(b) is int for b in bounds)
        shape = _PLACE if "lat" in value else _WHOLE if whole else _DECIMAL
    elif "lat" in vars(value):  # a place model (its fields are in its __dict__)
        shape = _PLACE
    else:  # a range model: whole only when both bounds are
        bounds = (value.min, value.max)
        shape = _WHOLE if all(type(b) is int for b in bounds) else _DECIMAL
    measure = unit or ""
    return f"{shape}{mark}{len(measure)}:{measure}{text}"


@dataclass(frozen=True)
class _Signature:
    shape: str
    qualified: bool
    unit: str
    text: str


def _parse(sig: str) -> _Signature:
    length, _, rest = sig[2:].partition(":")
    size = int(length)
    return _Signature(sig[0], sig[1] == "q", rest[:size], rest[size:])


def inferred_kind(sig: str) -> FactKind | None:
    """The kind a first claim gives a fact that was never declared; None for a number
    written as a string (``"20"``, ``"2.5"``), which only a declared quantity takes
    (``number_as_text`` says what to write instead)."""
    parsed = _parse(sig)
    if parsed.shape == _WHOLE:
        return FactKind.COUNT
    if parsed.shape == _DECIMAL:
        return FactKind.QUANTITY
    if parsed.shape == _BOOLEAN:
        return FactKind.BOOLEAN
    if parsed.shape == _PLACE:
        return FactKind.PLACE
    if is_edtf(parsed.text):
        return FactKind.TIME
    return None if DECIMAL_TEXT.match(parsed.text) else FactKind.TEXT


def number_as_text(sig: str) -> str:
    """What to write instead of a number given as a string to a fact that takes none."""
    text = _parse(sig).text
    return f"{quoted(text)} is a number written as text: give it as a number ({text})"


def is_edtf(text: str) -> bool:
    """Whether a string is an EDTF date or interval the ledger can hold."""
    if not looks_like_date(text):
        return False
    try:
        edtf_bounds(text)
    except EDTFError:
        return False
    return True


def shown(sig: str) -> str:
    """The claimed value of a signature as an error message names it."""
    parsed = _parse(sig)
    if parsed.shape == _STRING:
        return repr(parsed.text)
    return {
        _WHOLE: "a whole number",
        _DECIMAL: "a decimal number",
        _BOOLEAN: "a boolean",
        _PLACE: "a place with coordinates",
    }[parsed.shape]


# Whether a value of this shape (s), text (t; n: a number as text) fits each kind: only
# the fact's own kind is asked (an EDTF parse or a choice look-up costs).
_FITS: dict[FactKind, Callable[[str, str, bool, FactRules], bool]] = {
    FactKind.COUNT: lambda s, t, n, rules: s == _WHOLE,
    FactKind.QUANTITY: lambda s, t, n, rules: s in (_WHOLE, _DECIMAL) or n,
    FactKind.TIME: lambda s, t, n, rules: s == _STRING and is_edtf(t),
    FactKind.TEXT: lambda s, t, n, rules: s == _STRING and not n,
    FactKind.CHOICE: lambda s, t, n, rules: s == _STRING and rules.choice_of(t) is not None,
    FactKind.BOOLEAN: lambda s, t, n, rules: s == _BOOLEAN,
    FactKind.PLACE: lambda s, t, n, rules: s in (_STRING, _PLACE),
}


def misfit(rules: FactRules, sig: str) -> tuple[str, str] | None:
    """Why a claim with this signature does not fit a fact: (field, reason), or None."""
    parsed = _parse(sig)
    kind = rules.kind
    if kind in NUMERIC_KINDS and rules.unit and parsed.unit and parsed.unit != rules.unit:
        return "unit", f"must be {rules.unit!r}, the fact's unit (or left out)"
    if parsed.qualified and kind not in NUMERIC_KINDS:
        return "qualifier", "applies only to counts and quantities"
    shape, text = parsed.shape, parsed.text
    number_text = shape == _STRING and DECIMAL_TEXT.match(text) is not None
    if _FITS[kind](shape, text, number_text, rules):
        return None
    if number_text and kind is not FactKind.TIME:
        return "value", number_as_text(sig)
    if kind is FactKind.CHOICE and shape == _STRING:
        named = ", ".join(c.value for c in rules.choices)
        return "value", f"{text!r} is not one of its choices ({named}) or their aliases"
    return "value", _KIND_WORDS[kind]


# --- reading a claimed value ----------------------------------------------------------


def read_claim(
    value: Any, qualifier: str | None, rules: FactRules | None, zone: str | None
) -> Reading:
    """A stored claim value read for comparison, knowing its fact's rules (``None``: a
    claim recorded before facts had kinds, read by its shape) and the incident's zone.

    Numbers become intervals (``approx`` n is n ± the tolerance), times EDTF
    intervals whose calendar days are days in ``zone``, and everything else the
    comparison text: a choice its declared value, a boolean ``true``/``false``, a
    place its name. A value that does not fit its fact (only possible for claims
    recorded before kinds were checked) is read by its shape.
    """
    kind = rules.kind if rules is not None else None
    value_type = type(value)
    if value_type is int and (kind is None or kind is FactKind.COUNT):  # most claims
        if qualifier == "approx":
            low, high = approx_bounds(value, rules)
            return Reading(ValueKind.NUMBER, low, high, approximate=True)
        return read_value(value, qualifier)
    if value_type is bool:
        return read_value(value, qualifier)
    if kind in _TEXT_KINDS and isinstance(value, str) and looks_like_date(value):
        read_value(value, None)  # text never starts like a date unless it is one: ValueProblem
    if kind is FactKind.QUANTITY:
        reading = _quantity(value, qualifier, rules)
        if reading is not None:
            return reading
    elif kind is FactKind.CHOICE and isinstance(value, str):
        chosen = rules.choice_of(value) if rules is not None else None
        return Reading(ValueKind.TEXT, text=status_text(chosen or value))
    elif kind is FactKind.PLACE and isinstance(value, dict) and "name" in value:
        return Reading(ValueKind.TEXT, text=status_text(value["name"]))
    elif kind in (FactKind.TEXT, FactKind.PLACE) and isinstance(value, str):
        return Reading(ValueKind.TEXT, text=status_text(value))
    if type(value) is int and qualifier == "approx":
        low, high = approx_bounds(value, rules)
        return Reading(ValueKind.NUMBER, low, high, approximate=True)
    if isinstance(value, str) and is_edtf(value):
        low_key, high_key = edtf_in_zone(value, zone)
        return Reading(ValueKind.TIME, low_key, high_key)
    return read_value(value, qualifier)


def _quantity(value: Any, qualifier: str | None, rules: FactRules | None) -> Reading | None:
    if isinstance(value, dict):
        low, high = _number(value.get("min")), _number(value.get("max"))
        if low is None or high is None:
            return None
        return Reading(ValueKind.NUMBER, low, high)
    n = _number(value)
    if n is None:
        return None
    match qualifier or "exact":
        case "approx":
            low, high = approx_bounds(n, rules)
            return Reading(ValueKind.NUMBER, low, high, approximate=True)
        # A measured amount is rounded to its last written digit: "more than 2.5" cannot
        # be told from 2.5 at that precision, and 2.55 is more than 2.5. Moving to the next
        # written value (as a count moves to n + 1) made both a false contest.
        case "at_least" | "more_than":
            return Reading(ValueKind.NUMBER, n, None)
        case "at_most" | "less_than":
            return Reading(ValueKind.NUMBER, 0, n)
    return Reading(ValueKind.NUMBER, n, n)


def _number(value: Any) -> int | Decimal | None:
    """A quantity as an exact number: ints stay ints, decimal strings become Decimals."""
    if type(value) is int:
        return value
    if isinstance(value, str) and DECIMAL_TEXT.match(value):
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() and "." not in value else number
    return None


def _step(n: int | Decimal) -> int | Decimal:
    """The unit of a number's last written digit: 1 for whole numbers, 0.1 for 2.5."""
    if isinstance(n, int):
        return 1
    exponent = n.as_tuple().exponent
    return Decimal(1).scaleb(exponent) if isinstance(exponent, int) and exponent < 0 else 1


def approx_bounds(n: int | Decimal, rules: FactRules | None) -> tuple[int | Decimal, int | Decimal]:
    """The interval of "about n": n ± t, never below 0.

    Without a declared tolerance t = max(u, 10 % of n rounded up to u), where u is
    the unit of n's last written digit (1 for whole numbers: max(1, ⌈0.1·n⌉)). A
    declared ``{"fraction": f}`` makes t = f·n rounded up to u; ``{"absolute": a}``
    makes t = a.
    """
    tolerance = rules.tolerance if rules is not None else None
    if tolerance is None and type(n) is int:  # a count's default, in integers: the same rule
        t_whole = max(1, -(-n // 10))  # ⌈0.1·n⌉, at least 1
        return max(n - t_whole, 0), n + t_whole
    unit = _step(n)
    if tolerance is not None and tolerance.absolute is not None:
        t: int | Decimal = _same_type(tolerance.absolute, n)
    else:
        fraction = Decimal("0.1") if tolerance is None else tolerance.fraction or Decimal(0)
        t = _round_up(fraction * n, unit)
        if tolerance is None:
            t = max(t, unit)
    return _same_type(max(n - t, Decimal(0)), n), _same_type(n + t, n)


def _round_up(amount: Decimal, unit: int | Decimal) -> int | Decimal:
    quantum = Decimal(unit)
    steps = (amount / quantum).to_integral_value(rounding=ROUND_CEILING)
    return steps * quantum


def _same_type(amount: Any, n: int | Decimal) -> int | Decimal:
    """Whole numbers stay ints (counts compare and store as integers)."""
    number = Decimal(amount)
    if isinstance(n, int) and number == number.to_integral_value():
        return int(number)
    return number


def edtf_in_zone(expression: str, zone: str | None) -> tuple[str | None, str | None]:
    """An EDTF value's earliest and latest instants, its calendar days taken as days in
    ``zone`` (UTC when None); a date-time with an offset is that instant wherever."""
    low, high = edtf_bounds(expression)
    return bounds_in_zone(low, high, not has_offset(expression), zone)


def bounds_in_zone(
    low: str | None, high: str | None, local: bool, zone: str | None
) -> tuple[str | None, str | None]:
    """Bounds read on UTC's clock (``edtf_bounds``) as instants in ``zone``: moved to its
    wall clock when ``local`` (calendar days and times of day are the incident's), as
    they are otherwise (a time with ``Z`` or an offset)."""
    if zone is None or not local:
        return low, high
    return (
        None if low is None else wall_key_in(low, zone),
        None if high is None else wall_key_in(high, zone),
    )


def normalized(text: str) -> str:
    """NFC text, trimmed: how declared choices are kept."""
    return unicodedata.normalize("NFC", text).strip()
