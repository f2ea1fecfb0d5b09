"""Reading JSON Lines into validated records (docs/import-format.md).

JSON is parsed strictly — duplicate keys, NaN/Infinity, integers too long to
convert and nesting too deep to walk are refused; decimal numbers are kept exact
(``Decimal``) for the fields to judge — before pydantic validates each record. The
first bad line stops the import with one message naming the line and every field
wrong in it (up to five); nothing is written. ``value_from_text`` reads a value
given as text on the command line as the JSON value an import line would hold.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.records import PATTERN_RULES, RECORD_TYPES, AnyRecord, Record
from incident_ledger.ledger.values import ARABIC_DIGITS

_RECORD = TypeAdapter[AnyRecord](Record)
_VALIDATE = _RECORD.validator.validate_python
"""The adapter's compiled validator, called directly: the adapter's own method adds a
sixth to each record's validation (checks of its arguments made again at every call)."""


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


def _whole_number(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > sys.get_int_max_str_digits():  # int() would refuse it with a traceback
        raise _JSONError(
            f"a number of {digits} digits is far too large (the largest accepted is 2^53 - 1)"
        )
    return int(text)


def _no_constants(text: str) -> Any:
    raise _JSONError(f"{text} is not a number")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicate_keys,
    parse_float=Decimal,  # exact; whether a field takes a decimal is for the field to say
    parse_int=_whole_number,
    parse_constant=_no_constants,
)
_TOO_DEEP = "nested too deeply (records are at most a few levels deep)"


def json_message(error: Exception) -> str:
    """Why a text is not JSON, in the parser's words: its message, and where when the
    message names a place (``Invalid control character at column 24``), not its line
    (a record is one line)."""
    if not isinstance(error, json.JSONDecodeError):
        return str(error)
    if error.msg.endswith(" at"):
        return f"{error.msg} column {error.colno}"
    return error.msg


def parse_json(text: str) -> Any:
    """Parse one JSON document strictly (``_parse_json``); nesting too deep for the
    parser or for walking the result is a JSON problem like any other."""
    try:
        return _parse_json(text)
    except RecursionError:
        raise _JSONError(_TOO_DEEP) from None


def _parse_json(text: str) -> Any:
    """Parse one JSON document strictly (no duplicate keys, no NaN, decimals exact).

    orjson parses a line in a third of the time the standard module takes with
    the hooks that make it strict, but it keeps the last of two equal keys
    silently. So its result stands only when the line plainly has no duplicate:
    every key is followed by its colon directly, and the line holds exactly as
    many ``":`` as the parsed objects hold keys (a repeated key, or ``":`` inside
    a string, makes more); and only when no number in it was a decimal (orjson
    reads those as floats). Anything else — including every line orjson refuses —
    is parsed again by the strict decoder, which names the problem and reads
    decimals exactly.
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


def validate_record(
    data: Any, where: str, *, normalized: bool = False, problems: dict[str, str] | None = None
) -> AnyRecord:
    """Validate one decoded JSON object as a record, or raise a one-line error naming
    every field that is wrong (up to ``SHOWN_PROBLEMS``).

    ``normalized`` says every string in ``data`` is already valid NFC text
    (``normalized_line``), sparing the models a walk over every value. ``problems``:
    fields found wrong before (a text that could not be read, ``text_fields``), named
    with the models' own and before them.
    """
    if not isinstance(data, dict):
        raise BadInputError(f"{where}: expected a JSON object")
    kind = data.get("type")
    if kind is None and {"topic", "data", "recorded_at"} <= data.keys():
        raise BadInputError(
            f"{where}: an event of an exported bundle, not a record: "
            "rebuild a ledger from the bundle with 'ledger restore BUNDLE'"
        )
    if type(kind) is not str or kind not in RECORD_TYPES:
        raise BadInputError(
            f"{where}: type: must be one of {', '.join(RECORD_TYPES)} (got {_kind_shown(kind)})"
        )
    try:
        record: AnyRecord = _VALIDATE(data, context=_NORMALIZED if normalized else None)
    except ValidationError as error:
        raise BadInputError(f"{where}: {_problems(error, list(data), problems)}") from None
    except RecursionError:
        raise BadInputError(f"{where}: invalid JSON: {_TOO_DEEP}") from None
    if problems:
        raise BadInputError(f"{where}: {_problems(None, list(data), problems)}")
    return record


SHOWN_PROBLEMS = 5
"""How many of a line's problems its error line names (one per field, in field order)."""


def _kind_shown(kind: Any) -> str:
    text = repr(kind)
    return text if len(text) <= 40 else text[:39] + "…"


def _problems(
    error: ValidationError | None, keys: list[str], earlier: dict[str, str] | None = None
) -> str:
    """Every field's first problem (``earlier`` ones first), as ``field: message`` joined by
    ``; `` in the order the line gives its fields (``keys``; missing ones last), up to
    ``SHOWN_PROBLEMS``, then how many more."""
    found: dict[str, str] = dict(earlier or {})
    for problem in error.errors(include_url=False) if error is not None else ():
        fieldname, message = _problem(problem)
        if fieldname.split(".")[0] in (earlier or {}):
            continue  # the field's text could not be read: that is its problem
        found.setdefault(fieldname, message)
    place = {key: i for i, key in enumerate(keys)}
    ordered = sorted(found.items(), key=lambda item: place.get(item[0].split(".")[0], len(place)))
    named = [f"{fieldname}: {message}" for fieldname, message in ordered]
    more = len(named) - SHOWN_PROBLEMS
    shown = "; ".join(named[:SHOWN_PROBLEMS])
    return shown + (f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else "")


def _problem(problem: Any) -> tuple[str, str]:
    # The first location element is the union tag (the record type): drop it.
    location = [str(part) for part in problem["loc"][1:]]
    if location[:1] == ["value"]:
        # Inside the value union pydantic names each branch it tried; name the field.
        location = ["value"]
    fieldname = ".".join(location) or "record"
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] == "string_pattern_mismatch":
        message = PATTERN_RULES.get(str(problem.get("ctx", {}).get("pattern")), message)
    elif problem["type"] == "missing":
        message = "is required"
    elif problem["type"] == "extra_forbidden":
        message = "is not a field of this record type"
    else:
        message = _WORDED.get(problem["type"], message)
        if problem["type"] == "string_too_short" and problem.get("ctx", {}).get("min_length") == 1:
            message = "must not be empty"
        # The models' other words, in the house's: "must be …", not "Input should be …".
        message = message.replace("Input should be ", "must be ", 1)
        message = message.replace("String should have ", "must have ", 1)
    return fieldname, message


_WORDED = {
    "list_type": "must be a list (a JSON array)",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "bool_type": "must be true or false",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
}
"""The house's words for the models' commonest problems."""


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
    for where, data, normalized in read_lines(lines, label, progress, first_line):
        yield where, validate_record(data, where, normalized=normalized)


def read_lines(
    lines: Iterable[str],
    label: str = "line",
    progress: Callable[[int], None] | None = None,
    first_line: int = 1,
) -> Iterator[tuple[str, Any, bool]]:
    """(``line N``, decoded JSON, whether its strings are NFC already) for every line of a
    JSON Lines input, for ``validate_record``; blank lines are skipped. A line that is not
    JSON (or not UTF-8) raises ``BadInputError`` naming it. ``progress`` is called with
    the bytes of each line once the caller has taken it."""
    for number, line in _numbered(lines, first_line):
        where = f"{label} {number}"
        normalized = normalized_line(line, where)
        try:
            data = parse_json(line if normalized is None else normalized)
        except (_JSONError, json.JSONDecodeError) as error:
            message = json_message(error)
            if line.startswith(BOM):
                message = "a byte-order mark (U+FEFF) may only start the input"
            raise BadInputError(f"{where}: invalid JSON: {message}") from None
        yield where, data, normalized is not None
        if progress is not None:
            # Bytes, as the input's size is counted (isascii is constant time).
            progress((len(line) if line.isascii() else len(line.encode("utf-8"))) + 1)


_NORMALIZED = {"normalized": True}


def normalized_line(line: str, where: str = "line") -> str | None:
    """The line in NFC, when that makes every string it holds NFC; else None.

    NFC works character by character except around combining sequences, and a
    JSON string begins and ends with a quote, which never combines with what
    is beside it; so normalizing the whole line normalizes each string in it.
    Escapes (``\\u0301``, a lone ``\\ud800``) only become characters once
    parsed: a line holding one is left to the models to check string by string.

    Input is decoded with ``surrogateescape`` (``input_text``), so a byte that is
    not UTF-8 is a lone surrogate here: such a line is refused, named by ``where``.
    """
    if line.isascii():
        return None if "\\u" in line else line
    undecoded = _UNDECODED.search(line)
    if undecoded is not None:
        byte = ord(undecoded.group()) - 0xDC00
        raise BadInputError(f"{where}: is not UTF-8 text (byte 0x{byte:02X})")
    if "\\u" in line:
        return None
    if unicodedata.is_normalized("NFC", line):
        return line
    return unicodedata.normalize("NFC", line)


_UNDECODED = re.compile("[\udc80-\udcff]")
"""What ``surrogateescape`` makes of a byte that is not UTF-8."""
BOM = "\ufeff"


def _numbered(lines: Iterable[str], first_line: int = 1) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(lines, start=first_line):
        stripped = line.strip()
        if number == 1 and stripped.startswith(BOM):  # a byte-order mark starts the input
            stripped = stripped[1:].strip()
        if stripped:
            yield number, stripped


def input_text(binary: Any) -> io.TextIOWrapper:
    """A binary stream as text lines for ``read_records``: UTF-8, with any byte that is not
    UTF-8 kept (as a lone surrogate) for the line holding it to be named; line ends as
    text mode reads them (``\\n``, ``\\r\\n`` or ``\\r``)."""
    return io.TextIOWrapper(binary, encoding="utf-8", errors="surrogateescape")


def stream_lines(stream: Any) -> Iterator[str]:
    """The lines of a text stream (standard input) read as ``input_text`` reads bytes, when
    it has its bytes underneath; the stream stays open for its owner."""
    binary = getattr(stream, "buffer", None)
    if binary is None:
        yield from stream
        return
    text = input_text(binary)
    try:
        yield from text
    finally:
        with contextlib.suppress(ValueError):  # its owner closed it first
            text.detach()


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SHELL_RANGE = re.compile(r"\{\s*[A-Za-z_]+\s*:")


def value_from_text(text: str) -> Any:
    """The JSON value a claim value given as text (on the command line) stands for,
    to be checked exactly as that value in an import line is.

    - a number as JSON writes one (``20``, ``-5``, ``20.5``, ``1e3``), its digits
      ASCII, Arabic-Indic (``٢٠``) or Eastern Arabic-Indic (``۲۰``): that number;
    - ``true`` or ``false``: a boolean; ``null``: null;
    - ``{"…`` (a JSON object): a range ``{"min": a, "max": b}``;
    - ``"…"`` (a JSON string): that string, so ``'"2022"'`` is the year;
    - anything else: the text itself, a string (``1,000``, ``about 20``, ``0000``,
      ``2022-01-21``, ``{2020,2021}``, ``lifted``).

    Spaces around the text are ignored for numbers and literals. A JSON object or
    string that is not valid JSON raises ``BadInputError``.
    """
    stripped = text.strip()
    plain = stripped.translate(ARABIC_DIGITS)
    if _JSON_NUMBER.fullmatch(plain) or plain in ("true", "false", "null"):
        return parse_json(plain)
    opens_object = stripped.startswith("{") and stripped[1:].lstrip()[:1] in ('"', "}")
    if opens_object or stripped.startswith('"'):
        try:
            return parse_json(plain if opens_object else stripped)
        except (_JSONError, json.JSONDecodeError) as error:
            raise BadInputError(f"invalid JSON: {json_message(error)}") from None
    if _SHELL_RANGE.match(stripped):
        raise BadInputError(
            'a range is written {"min": a, "max": b}, with the quotes (quote the whole '
            "value for the shell)"
        )
    return text
