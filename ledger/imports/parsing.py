"""Reading JSON Lines into validated records (SPEC "Import format").

JSON is parsed strictly — duplicate keys, NaN/Infinity and decimal numbers are
refused — before pydantic validates each record. The first bad line stops the
import with one message naming the line and the field; nothing is written.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.records import PATTERN_RULES, RECORD_TYPES, AnyRecord, Record

_RECORD = TypeAdapter[AnyRecord](Record)


class _JSONError(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _JSONError(f"duplicate key '{key}'")
            seen.add(key)
    return result


def _no_decimals(text: str) -> Any:
    raise _JSONError(f"decimal numbers are not accepted ({text}); counts are whole numbers")


def _no_constants(text: str) -> Any:
    raise _JSONError(f"{text} is not a number")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicate_keys,
    parse_float=_no_decimals,
    parse_constant=_no_constants,
)


def parse_json(text: str) -> Any:
    """Parse one JSON document strictly (no duplicate keys, no floats, no NaN).

    orjson parses a line in a third of the time the standard module takes with
    the hooks that make it strict, but it keeps the last of two equal keys
    silently. So its result stands only when the line plainly has no duplicate:
    every key is followed by its colon directly, and the line holds exactly as
    many ``":`` as the parsed objects hold keys (a repeated key, or ``":`` inside
    a string, makes more); and only when no number in it was a decimal. Anything
    else — including every line orjson refuses — is parsed again by the strict
    decoder, which names the problem.
    """
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _DECODER.decode(text)
    if (
        type(data) is dict
        and text.count('":') == _key_count(data)
        and _SPACE_BEFORE_COLON.search(text) is None
    ):
        return data
    return _DECODER.decode(text)


_SPACE_BEFORE_COLON = re.compile(r'"[ \t\r\n]+:')
_SCALARS = (str, int, bool, type(None))


def _key_count(value: Any) -> int:
    """How many keys the objects in a parsed value hold; -1 if it holds a float."""
    kind = type(value)
    if kind is dict:
        items, count = value.values(), len(value)
    elif kind is list:
        items, count = value, 0
    elif kind is float:
        return -1
    else:
        return 0
    for item in items:
        if type(item) in _SCALARS:
            continue
        inner = _key_count(item)
        if inner < 0:
            return -1
        count += inner
    return count


def validate_record(data: Any, where: str, *, normalized: bool = False) -> AnyRecord:
    """Validate one decoded JSON object as a record, or raise a one-line error.

    ``normalized`` says every string in ``data`` is already valid NFC text
    (``normalized_line``), sparing the models a walk over every value.
    """
    if not isinstance(data, dict):
        raise BadInputError(f"{where}: expected a JSON object")
    kind = data.get("type")
    if kind not in RECORD_TYPES:
        raise BadInputError(
            f"{where}: type: must be one of {', '.join(RECORD_TYPES)} (got {kind!r})"
        )
    try:
        return _RECORD.validate_python(data, context=_NORMALIZED if normalized else None)
    except ValidationError as error:
        raise BadInputError(f"{where}: {_first_problem(error)}") from None


def _first_problem(error: ValidationError) -> str:
    problems = error.errors(include_url=False)
    first = problems[0]
    # The first location element is the union tag (the record type): drop it.
    location = [str(part) for part in first["loc"][1:]]
    if location[:1] == ["value"]:
        # Inside the value union pydantic names each branch it tried; name the field.
        location = ["value"]
    fieldname = ".".join(location) or "record"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "string_pattern_mismatch":
        message = PATTERN_RULES.get(str(first.get("ctx", {}).get("pattern")), message)
    elif first["type"] == "missing":
        message = "is required"
    elif first["type"] == "extra_forbidden":
        message = "is not a field of this record type"
    more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return f"{fieldname}: {message}" + (more if len(problems) > 1 else "")


def read_records(
    lines: Iterable[str],
    label: str = "line",
    progress: Callable[[int], None] | None = None,
    first_line: int = 1,
) -> Iterator[tuple[str, AnyRecord]]:
    """(``line N``, record) for every line of a JSON Lines input; blank lines are skipped.

    The first bad line raises ``BadInputError`` naming the line and the field.
    ``first_line`` is the number of the first line given (for part of a file).
    """
    for number, line in _numbered(lines, first_line):
        where = f"{label} {number}"
        normalized = normalized_line(line)
        try:
            data = parse_json(line if normalized is None else normalized)
        except (_JSONError, json.JSONDecodeError) as error:
            message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            raise BadInputError(f"{where}: invalid JSON: {message}") from None
        yield where, validate_record(data, where, normalized=normalized is not None)
        if progress is not None:
            progress(len(line) + 1)


_NORMALIZED = {"normalized": True}


def normalized_line(line: str) -> str | None:
    """The line in NFC, when that makes every string it holds NFC; else None.

    NFC works character by character except around combining sequences, and a
    JSON string begins and ends with a quote, which never combines with what
    is beside it; so normalizing the whole line normalizes each string in it.
    Escapes (``\\u0301``, a lone ``\\ud800``) only become characters once
    parsed: a line holding one is left to the models to check string by string.
    """
    if "\\u" in line:
        return None
    if line.isascii() or unicodedata.is_normalized("NFC", line):
        return line
    return unicodedata.normalize("NFC", line)


def _numbered(lines: Iterable[str], first_line: int = 1) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(lines, start=first_line):
        stripped = line.strip()
        if stripped:
            yield number, stripped
