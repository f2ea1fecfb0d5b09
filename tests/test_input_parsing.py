"""Reading input the same way everywhere: the classes of input that once escaped as a
traceback, values typed on the command line read like values in an import line, a
byte-order mark, every problem of a line named, and a claim corrected twice in one file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger.imports import importer, rules, spool, streaming
from incident_ledger.ledger.imports.parsing import validate_record, value_from_text
from tests.events import log_state
from tests.test_cli import jsonl, ledger

runner = CliRunner()

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "outlet", "name": "Outlet", "kind": "outlet"},
    {"type": "report", "id": "r1", "source": "outlet", "published_at": "2022-01-21"},
    {"type": "claim", "id": "c1", "incident": "g", "fact": "escaped", "value": 5, "report": "r1"},
]


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    assert ledger(path, "init")[0] == 0
    assert ledger(path, "append", "--file", "-", stdin=jsonl(SETUP))[0] == 0
    return path


def refused(db: str, data: bytes, tmp_path: Path, message: str) -> None:
    """The input, given as a file and on standard input, is refused with exactly this one
    line, and nothing is written."""
    before = log_state(db)
    path = tmp_path / "input.jsonl"
    path.write_bytes(data)
    for args, stdin in ((["--file", str(path)], None), (["--file", "-"], data)):
        code, out, err = ledger(db, "append", *args, stdin=stdin)
        assert (code, out, err) == (2, "", f"error: {message}\n")
    assert log_state(db) == before


# --- classes of input that once escaped as a traceback -----------------------------------------


def test_an_integer_longer_than_python_converts_is_refused(db: str, tmp_path: Path) -> None:
    line = '{"type":"claim","id":"c9","incident":"g","fact":"x","value":' + "9" * 5000 + "}"
    refused(
        db,
        (line + "\n").encode(),
        tmp_path,
        "line 1: invalid JSON: a number of 5000 digits is far too large (the largest "
        "accepted is 2^53 - 1)",
    )


@pytest.mark.slow
@pytest.mark.parametrize("opener", ["[", '{"a":'])
@pytest.mark.parametrize("depth", [990, 100_000])
def test_nesting_too_deep_is_refused(db: str, tmp_path: Path, opener: str, depth: int) -> None:
    closer = "]" if opener == "[" else "}"
    line = opener * depth + "1" + closer * depth
    refused(
        db,
        f'{{"type":"incident","id":"i","title":"t"}}\n{line}\n'.encode(),
        tmp_path,
        "line 2: invalid JSON: nested too deeply (records are at most a few levels deep)",
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("data", "where", "byte"),
    [
        (b'{"type":"incident","id":"i","title":"caf\xe9"}\n', "line 1", "E9"),
        (
            jsonl(SETUP[:1]).encode() + b'{"type":"incident","id":"j","title":"\xff"}\n',
            "line 2",
            "FF",
        ),
        (b"\n\n" + jsonl(SETUP[:1]).encode() + b'{"title":"\xc0\x80"}\r\n', "line 4", "C0"),
        (
            jsonl(SETUP[:1]).encode() + b'{"type":"incident","id":"j","title":"\xe2\x82"}',
            "line 2",
            "E2",
        ),
    ],
    ids=["Latin-1", "a stray byte", "an overlong form after CRLF", "cut at the end"],
)
def test_bytes_that_are_not_utf8_name_their_line(
    db: str, tmp_path: Path, data: bytes, where: str, byte: str
) -> None:
    refused(db, data, tmp_path, f"{where}: is not UTF-8 text (byte 0x{byte})")


@pytest.mark.slow
def test_a_large_file_not_utf8_names_its_line_when_validated_by_helpers(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 64)
    lines = [json.dumps({"type": "incident", "id": f"i{n}", "title": "t"}) for n in range(40)]
    data = ("\n".join(lines[:30]) + "\n").encode() + b'{"title":"\xff"}\n'
    path = tmp_path / "big.jsonl"
    path.write_bytes(data + ("\n".join(lines[30:]) + "\n").encode())
    before = log_state(db)
    assert ledger(db, "append", "--file", str(path)) == (
        2,
        "",
        "error: line 31: is not UTF-8 text (byte 0xFF)\n",
    )
    assert log_state(db) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    ("instant", "field"),
    [("9999-12-31T23:59:59-05:00", "published_at"), ("0001-01-01T00:00:00+01:00", "published_at")],
)
def test_an_offset_that_takes_an_instant_out_of_years_1_to_9999_is_refused(
    db: str, tmp_path: Path, instant: str, field: str
) -> None:
    line = jsonl([{"type": "report", "id": "r9", "source": "outlet", field: instant}])
    refused(
        db,
        line.encode(),
        tmp_path,
        f"line 1: {field}: '{instant}' falls outside the years 0001 to 9999 once its "
        "offset is applied (in UTC)",
    )


# --- a byte-order mark, and every problem of a line ---------------------------------------------


@pytest.mark.slow
def test_a_byte_order_mark_may_start_the_input(db: str, tmp_path: Path) -> None:
    data = "\ufeff" + jsonl([{"type": "incident", "id": "i2", "title": "t"}])
    path = tmp_path / "bom.jsonl"
    path.write_bytes(data.encode())
    assert ledger(db, "append", "--file", str(path))[0:2] == (
        0,
        "added 1 record(s) (1 incident); 0 already present\n",
    )
    code, out, _ = ledger(db, "append", "--file", "-", stdin=data.encode())
    assert (code, out) == (0, "added 0 record(s); 1 already present\n")
    refused(
        db,
        (jsonl(SETUP[:1]) + data).encode(),
        tmp_path,
        "line 2: invalid JSON: a byte-order mark (U+FEFF) may only start the input",
    )


@pytest.mark.slow
def test_every_problem_of_a_line_is_named_up_to_five(db: str, tmp_path: Path) -> None:
    line = {
        "type": "claim",
        "id": "c 9",
        "incident": "g",
        "fact": "X",
        "value": "1,000",
        "qualifier": "approx",
        "report": "r1",
        "credibility": 9,
        "colour": "red",
    }
    five = (
        "line 1: id: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -; "
        "fact: must be a dotted lowercase key such as killed.security_forces; "
        "value: '1,000' is not a number as written: write whole numbers without separators "
        "(1000); credibility: must be less than or equal to 6; "
        "colour: is not a field of this record type"
    )
    refused(db, jsonl([line]).encode(), tmp_path, five)
    line["note"], line["quote"] = 5, ""  # the line's 6th and 7th problems
    refused(db, jsonl([line]).encode(), tmp_path, five + " (and 2 more problems)")


# --- the command line reads a value as the import reads it --------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("typed", "in_json", "message"),
    [
        ("-5", "-5", "value: numbers must not be negative"),
        (
            "1,000",
            '"1,000"',
            "value: '1,000' is not a number as written: write whole numbers "
            "without separators (1000)",
        ),
        (
            "20.5",  # a decimal, read exactly: but escaped is a count (from c1's 5)
            "20.5",
            "value: a decimal number does not fit fact 'escaped' of incident 'g', a count (as "
            "its first claim made it): counts are whole numbers ≥ 0 (a JSON integer, with a "
            'qualifier if need be, or {"min": a, "max": b})',
        ),
        (
            "about 20",
            '"about 20"',
            "value: 'about 20' is a number in words: give the number "
            "(20) with the qualifier approx",
        ),
        (
            "0000",
            '"0000"',
            "value: '0000' is not a valid EDTF date or interval (years run from "
            "0001 to 9999, in UTC)",
        ),
        (
            "2023-13-45",
            '"2023-13-45"',
            "value: '2023-13-45' is not a valid EDTF date or interval (month must be in 1..12)",
        ),
        (
            '{"min":5,"max":1}',
            '{"min":5,"max":1}',
            "value: range bounds must satisfy 0 <= min <= max <= 2^53 - 1",
        ),
        ("9007199254740992", "9007199254740992", "value: numbers must not exceed 2^53 - 1"),
        ("", '""', "value: must not be empty"),
    ],
)
def test_a_value_typed_is_checked_like_the_same_value_in_a_line(
    db: str, typed: str, in_json: str, message: str
) -> None:
    before = log_state(db)
    line = (
        '{"type":"claim","id":"c9","incident":"g","fact":"escaped","value":'
        + in_json
        + ',"report":"r1"}\n'
    )
    assert ledger(db, "append", "--file", "-", stdin=line) == (2, "", f"error: line 1: {message}\n")
    flags = ["--incident", "g", "--fact", "escaped", "--value", typed, "--report", "r1"]
    assert ledger(db, "append", "claim", "--id", "c9", *flags) == (
        2,
        "",
        f"error: input: {message}\n",
    )
    assert ledger(db, "correct", "--id", "k9", "--claim", "c1", *flags) == (
        2,
        "",
        f"error: input: {message}\n",
    )
    assert log_state(db) == before


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("20", 20),
        ("  20 ", 20),
        ("٢٠", 20),
        ("۲۰", 20),
        ("١٢٠", 120),
        ("true", True),
        ('{"min": 10, "max": 20}', {"min": 10, "max": 20}),
        ('{"min": ١٠, "max": ٢٠}', {"min": 10, "max": 20}),
        ('"2022"', "2022"),
        ("2022-01-21", "2022-01-21"),
        ("{2020,2021}", "{2020,2021}"),
        ("lifted", "lifted"),
        (" lifted ", " lifted "),
    ],
)
def test_what_a_typed_value_stands_for(typed: str, value: Any) -> None:
    assert value_from_text(typed) == value
    assert type(value_from_text(typed)) is type(value)


@pytest.mark.slow
def test_arabic_digits_typed_are_the_number(db: str) -> None:
    flags = ["--incident", "g", "--fact", "escaped", "--value", "٢٠", "--report", "r1"]
    assert ledger(db, "append", "claim", "--id", "c9", *flags)[0] == 0
    _, out, _ = ledger(db, "state", "g", "--json")
    positions = json.loads(out)["facts"]["escaped"]["positions"]
    # c1 and c9 are the outlet's claims in one report: one position, both listed
    claims = [c for p in positions for c in p.get("combined") or [p]]
    assert {c["claim"]: c["value"] for c in claims}["c9"] == 20


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "{min:1,max:2}",
            'a range is written {"min": a, "max": b}, with the quotes (quote the '
            "whole value for the shell)",
        ),
        ('{"min":1,', "invalid JSON: Expecting property name enclosed in double quotes"),
        ('"abc', "invalid JSON: Unterminated string starting at"),
    ],
)
def test_a_typed_value_that_is_broken_json_says_how(db: str, typed: str, message: str) -> None:
    flags = ["--incident", "g", "--fact", "escaped", "--value", typed, "--report", "r1"]
    code, _, err = ledger(db, "append", "claim", "--id", "c9", *flags)
    assert code == 2
    assert err.startswith(f"error: input: value: {message}")


def test_the_help_says_how_a_value_is_read() -> None:
    result = runner.invoke(app, ["append", "claim", "--help"])
    assert "Arabic-Indic" in result.stdout
    assert "1000" in result.stdout


# --- a claim corrected twice in one input --------------------------------------------------------


def _correction(record_id: str, value: int, claim: str = "c1") -> dict[str, Any]:
    return {
        "type": "correction",
        "id": record_id,
        "claim": claim,
        "incident": "g",
        "fact": "escaped",
        "value": value,
        "report": "r1",
    }


TWICE = (
    "claim: claim 'c1' is already corrected by 'k1' (line {first} of this input); a claim "
    "is corrected once: correct 'k1' instead"
)


@pytest.mark.parametrize("page", [spool.PAGE, 1], ids=["one page", "a page per record"])
@pytest.mark.parametrize("waits", [False, True], ids=["in order", "waiting for a report"])
def test_two_corrections_of_a_claim_in_one_file_are_bad_input_naming_both_lines(
    db: str, page: int, waits: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming, "PAGE", page)
    first = _correction("k1", 6)
    if waits:  # its report comes later in the file: it is recorded at the end
        first["report"] = "r2"
    records = [first, {"type": "incident", "id": "i2", "title": "t"}, _correction("k2", 7)]
    if waits:
        records.append(
            {"type": "report", "id": "r2", "source": "outlet", "published_at": "2022-01-22"}
        )
    before = log_state(db)
    code, out, err = ledger(db, "append", "--file", "-", stdin=jsonl(records))
    if waits:  # the second in the file is recorded first; the first is then refused
        expected = (
            "line 1: claim: claim 'c1' is already corrected by 'k2' (line 3 of this input); "
            "a claim is corrected once: correct 'k2' instead"
        )
    else:
        expected = f"line 3: {TWICE.format(first=1)}"
    assert (code, out, err) == (2, "", f"error: {expected}\n")
    assert log_state(db) == before


def test_two_corrections_in_one_batch_are_bad_input_too(db: str) -> None:
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.errors import BadInputError
    from incident_ledger.ledger.stores.location import locate

    entries = [
        importer.Entry(where, validate_record(record, where))
        for where, record in (("line 1", _correction("k1", 6)), ("line 2", _correction("k2", 7)))
    ]
    app_ = Ledger(locate(db).event_store_env())
    try:
        with pytest.raises(BadInputError) as raised:
            importer.record(app_, entries)
    finally:
        app_.close()
    assert str(raised.value) == f"line 2: {TWICE.format(first=1)}"
    assert callable(rules.corrected_twice)  # the one rule both pipelines call


def test_correcting_a_claim_corrected_in_the_ledger_is_bad_input(db: str) -> None:
    """Corrected before this command began: not a race between writers, bad input."""
    assert ledger(db, "append", "--file", "-", stdin=jsonl([_correction("k1", 6)]))[0] == 0
    code, _, err = ledger(db, "append", "--file", "-", stdin=jsonl([_correction("k2", 7)]))
    assert code == 2
    assert re.fullmatch(
        r"error: line 1: claim: claim 'c1' was already corrected by 'k1' \(recorded "
        r"[\dT:.-]+Z by [^)]+\); correct 'k1' instead\n",
        err,
    ), err
