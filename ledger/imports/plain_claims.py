"""Plain claims validated without building their model: most of a bulk import's records.

A claim record is validated by its model (``records.ClaimRecord``) and then written out
again as its fields (``spool.spool_row``); for the common shape — every field text, a
whole number or a list of ids, none of them unusual — building and dumping the model
costs more than everything else an import does with the line. ``claim_row`` takes that
shape straight from the decoded line, checking each field with the very rules the model
applies (its id pattern and text limits, ``_check_fact``, ``check_claim_value``,
``_check_edtf``, ``qualifier_problem``), and gives the spool row ``spool_row`` would
give. Anything it is not sure of — another record type, a field it does not know, a
value of another shape, a line whose text was not NFC already, any rule a field breaks —
it leaves to the model (None), which accepts or refuses it and names the problem as
always. ``tests/test_plain_claims.py`` holds the two ways equal, and to the model's
fields: a field added to the model is left to the model until it is added here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from incident_ledger.ledger.domain import fact_id
from incident_ledger.ledger.facts import signature
from incident_ledger.ledger.imports.parsing import read_lines, validate_record
from incident_ledger.ledger.imports.spool import fields_row, spool_row
from incident_ledger.ledger.records import (
    CREDIBILITY,
    ID_PATTERN,
    TEXT_MAX,
    UNIT_MAX,
    _check_edtf,
    _check_fact,
    qualifier_problem,
)
from incident_ledger.ledger.values import MAX_SAFE_INTEGER, Qualifier, check_claim_value

FIELDS = frozenset(
    {
        "type",
        "id",
        "incident",
        "fact",
        "value",
        "qualifier",
        "unit",
        "valid_time",
        "report",
        "claimant",
        "via",
        "quote",
        "translation",
        "credibility",
        "note",
    }
)
"""The fields of ``ClaimRecord`` this path knows (a test keeps them the model's)."""

_REQUIRED = frozenset({"type", "id", "incident", "fact", "value", "report"})
_ID_CHARS = ID_PATTERN.removeprefix("^").removesuffix("$")
_are_ids = re.compile(f"{_ID_CHARS}(?:\n{_ID_CHARS})*").fullmatch
"""Whether ids joined by newlines are each an id (``records.RecordId``: a newline is
not a character of one, and fullmatch lets none end the text either)."""
_QUALIFIERS = frozenset(Qualifier)
_VALUES = (int, str, bool, dict)


def claim_row(where: str, data: dict[str, Any]) -> tuple[Any, ...] | None:
    """The spool row of a plain claim (``spool.spool_row`` of its validated record), or
    None: validate it with the model. ``data`` is the decoded line, its text NFC."""
    if data.get("type") != "claim" or not FIELDS.issuperset(data):
        return None
    fields = {key: value for key, value in data.items() if value is not None}
    if not _REQUIRED.issubset(fields) or not _plain_fields(fields):
        return None
    del fields["type"]
    record_id = fields.pop("id")
    sig = signature(fields["value"], fields.get("qualifier"), fields.get("unit"))
    return fields_row(
        where, "claim", record_id, fields, fact_id(fields["incident"], fields["fact"]), sig
    )


def _plain_fields(fields: dict[str, Any]) -> bool:
    """Whether a claim's fields (None left out, the required ones there) keep every rule
    of the model, each checked as the model checks it; False for anything else, right
    or wrong."""
    ids = [fields["id"], fields["incident"], fields["report"]]
    claimant, via = fields.get("claimant"), fields.get("via")
    if claimant is not None:
        ids.append(claimant)
    if via is not None:
        if type(via) is not list:
            return False
        ids += via
    try:
        joined = "\n".join(ids)  # a value that is not text: TypeError
        if _are_ids(joined) is None or joined.count("\n") != len(ids) - 1:
            return False
        if via is not None and len(set(via)) != len(via):
            return False
        fact, value = fields["fact"], fields["value"]
        if type(fact) is not str or type(value) not in _VALUES or not _plain_value(value):
            return False
        _check_fact(fact)
        check_claim_value(value)
    except (TypeError, ValueError):
        return False
    others = len(fields) - len(_REQUIRED) - (claimant is not None) - (via is not None)
    return others == 0 or _plain_extras(fields, value)


def _plain_value(value: Any) -> bool:
    """Whether a value's validated form is itself: text, a whole number (``Count``), a
    boolean, or a range of two whole numbers; the rest of its rules are
    ``check_claim_value``'s."""
    kind = type(value)
    if kind is str:
        return len(value) <= TEXT_MAX
    if kind is int:
        return bool(0 <= value <= MAX_SAFE_INTEGER)
    if kind is dict:
        return value.keys() == {"min", "max"} and all(type(b) is int for b in value.values())
    return True  # a boolean


def _plain_extras(fields: dict[str, Any], value: Any) -> bool:
    """The optional fields past ids and the value: texts, qualifier, unit, valid time,
    credibility (``via`` is checked with the ids)."""
    for name in ("quote", "translation", "note"):
        text = fields.get(name)
        if text is not None and (type(text) is not str or not 1 <= len(text) <= TEXT_MAX):
            return False
    qualifier = fields.get("qualifier")
    if qualifier is not None and (
        type(qualifier) is not str
        or qualifier not in _QUALIFIERS
        or qualifier_problem(qualifier, value) is not None
    ):
        return False
    unit = fields.get("unit")
    if unit is not None and (type(unit) is not str or not 1 <= len(unit) <= UNIT_MAX):
        return False
    credibility = fields.get("credibility")
    if credibility is not None and (
        type(credibility) is not int or not CREDIBILITY[0] <= credibility <= CREDIBILITY[1]
    ):
        return False
    valid_time = fields.get("valid_time")
    if valid_time is None:
        return True
    try:
        return type(valid_time) is str and _check_edtf(valid_time) == valid_time
    except ValueError:
        return False


def read_rows(
    lines: Iterable[str],
    label: str = "line",
    progress: Callable[[int], None] | None = None,
    first_line: int = 1,
) -> Iterator[tuple[Any, ...]]:
    """The spool row of every record of a JSON Lines input (``parsing.read_records`` then
    ``spool.spool_row``): plain claims by ``claim_row``, the rest by their models."""
    for where, data, normalized in read_lines(lines, label, progress, first_line):
        row = claim_row(where, data) if normalized and type(data) is dict else None
        if row is None:
            row = spool_row(where, validate_record(data, where, normalized=normalized))
        yield row
