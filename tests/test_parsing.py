"""Reading input lines: strict JSON (the fast path through orjson agrees with the
strict decoder on every line) and the patterns ids and fact keys must match."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.imports import parsing as importing
from incident_ledger.ledger.imports.parsing import parse_json

keys = st.sampled_from(["a", "b", "id", "type", 'q"', "", "é", ":"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(['":', '\\":', " : ", '"a":1']),
)
spaces = st.sampled_from(["", " ", "\t", "\n", "  "])


@st.composite
def json_texts(draw: Any, depth: int = 0) -> str:
    """JSON text as a person might write it: any spacing, repeated keys, decimals."""
    if depth < 2 and draw(st.booleans()):
        if draw(st.booleans()):
            items = draw(st.lists(json_texts(depth + 1), max_size=3))
            return "[" + ",".join(items) + "]"
        pairs = draw(st.lists(st.tuples(keys, json_texts(depth + 1)), max_size=4))
        members = [
            json.dumps(key, ensure_ascii=draw(st.booleans()))
            + draw(spaces)
            + ":"
            + draw(spaces)
            + value
            for key, value in pairs
        ]
        return "{" + str(draw(spaces)) + ",".join(members) + "}"
    return str(json.dumps(draw(scalars), ensure_ascii=draw(st.booleans())))


def _strict(text: str) -> tuple[str, Any]:
    try:
        return "value", importing._DECODER.decode(text)
    except (ValueError, json.JSONDecodeError) as error:
        return "error", str(error)


def _fast(text: str) -> tuple[str, Any]:
    try:
        return "value", parse_json(text)
    except (ValueError, json.JSONDecodeError) as error:
        return "error", str(error)


@settings(max_examples=600)
@given(json_texts())
def test_fast_parse_equals_the_strict_decoder(text: str) -> None:
    fast, strict = _fast(text), _strict(text)
    assert fast == strict
    if fast[0] == "value":  # same types too: True is not 1, and 1 is not Decimal("1.0")
        assert _typed(fast[1]) == _typed(strict[1])


def _typed(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=lambda d: f"Decimal({d})")


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1,"a":2}',
        '{"a" :1,"a":2}',
        '{"a":{"b":1,"b":1}}',
        '{"a":[{"b":1,"b":2}]}',
        '{"x":"\\":","x":1}',
        '{"a":NaN}',
        '{"a":-Infinity}',
    ],
)
def test_lines_the_fast_path_must_not_accept(text: str) -> None:
    with pytest.raises(ValueError):
        parse_json(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [('{"a":1.0}', {"a": Decimal("1.0")}), ('{"a":[1e3]}', {"a": [Decimal("1E+3")]})],
)
def test_decimals_are_read_exactly_never_as_floats(text: str, value: Any) -> None:
    parsed = parse_json(text)
    assert parsed == value
    assert _typed(parsed) == _typed(value)


FACT_EXAMPLE = "killed.security_forces"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": "inc-1\n"}, "id: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -"),
        ({"incident": "inc 1"}, "incident: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -"),
        ({"id": "x" * 129}, "id: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -"),
        ({"fact": "killed\n"}, "fact: must be a dotted lowercase key such as " + FACT_EXAMPLE),
    ],
)
def test_ids_and_fact_keys_match_their_pattern_to_the_end(
    fields: dict[str, str], message: str
) -> None:
    """A pattern's ``$`` must not let a trailing newline through (Python's ``re`` would)."""
    from incident_ledger.ledger.errors import BadInputError
    from incident_ledger.ledger.imports.parsing import validate_record

    claim: dict[str, object] = {"type": "claim", "id": "c-1", "incident": "inc-1", "report": "r-1"}
    claim |= {"fact": "killed", "value": 3} | fields
    with pytest.raises(BadInputError) as raised:
        validate_record(claim, "line 4")
    assert str(raised.value) == f"line 4: {message}"
