"""``ledger append --file X.csv``: a spreadsheet's rows as records. The order-independence
corpus written as CSV gives the very ledger its JSON Lines give; bad rows get the error
a bad line gets, named by line, exit 2, nothing written; ``ledger template csv``."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import tests.test_order_independence as corpus
from incident_ledger.cli.main import app
from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.imports.parsing import value_from_text
from incident_ledger.usecases import writing
from tests.events import log_state, stored_events

runner = CliRunner()


def cell(name: str, value: Any) -> str:
    """A field's value as a spreadsheet cell holds it (docs/import-format.md, "CSV")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=str if name == "value" else float)
    if name == "value":
        try:
            plain = value_from_text(value) == value
        except BadInputError:
            plain = False
        return value if plain else json.dumps(value)
    return str(value)


def as_csv(records: list[dict[str, Any]], bom: bool = False) -> str:
    """Records as CSV with a ``type`` column, columns in order of first use."""
    columns: list[str] = []
    for record in records:
        columns += [name for name in record if name not in columns]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([cell(name, record.get(name)) for name in columns])
    return ("\ufeff" if bom else "") + text.getvalue()


def imported(workdir: Path, name: str, text: str, suffix: str) -> tuple[str, list[Any]]:
    db = str(workdir / f"{name}.db")
    path = workdir / f"{name}{suffix}"
    path.write_text(text, encoding="utf-8", newline="")
    writing.init(db)
    writing.append_file(db, str(path))
    return db, stored_events(db)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drawn=corpus.claims,
    ends=st.lists(
        st.tuples(
            st.sampled_from(["retract", "correct"]),
            st.integers(0, 30),
            st.integers(0, len(corpus.REPORTS) - 1),
        ),
        max_size=3,
    ),
    declared=st.lists(st.booleans(), min_size=len(corpus.FACTS), max_size=len(corpus.FACTS)),
    bom=st.booleans(),
)
def test_the_corpus_as_csv_gives_the_ledger_its_json_lines_give(
    drawn: list[Any], ends: list[Any], declared: list[bool], bom: bool
) -> None:
    lines = corpus.build(drawn, ends, declared)
    records = [json.loads(line, parse_float=Decimal) for line in lines]
    with tempfile.TemporaryDirectory() as name:
        workdir = Path(name)
        from_jsonl, events = imported(workdir, "jsonl", "\n".join(lines) + "\n", ".jsonl")
        from_csv, csv_events = imported(workdir, "csv", as_csv(records, bom), ".csv")
        assert csv_events == events
        for day in corpus.DAYS:
            assert corpus.understood_in(from_csv, day) == corpus.understood_in(from_jsonl, day)


def ledger(db: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args])
    return result.exit_code, result.stdout, result.stderr


SETUP = [
    {"type": "incident", "id": "g", "title": "G"},
    {"type": "source", "id": "s", "name": "S", "kind": "outlet"},
    {"type": "report", "id": "r1", "source": "s", "published_at": "2022-01-21"},
]


@pytest.fixture
def db(store_url: str, tmp_path: Path) -> str:
    assert ledger(store_url, "init")[0] == 0
    path = tmp_path / "setup.csv"
    path.write_text(as_csv(SETUP), encoding="utf-8")
    assert ledger(store_url, "append", "--file", str(path))[:2] == (
        0,
        "added 3 record(s) (1 incident, 1 report, 1 source); 0 already present\n",
    )
    return store_url


CLAIMS = "id,incident,fact,value,report,via,qualifier,credibility\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            CLAIMS + "c1,g,killed,20,r1,,,\n\nc2,g,killed,about 20,r1,,,x\n",
            "line 4: value: 'about 20' is a number in words: give the number (20) with the "
            "qualifier approx; credibility: 'x' is not a whole number",
        ),
        (
            CLAIMS + 'c1,g,"killed\nnow",20,r1,,,\nc2,g,killed,20,r9,"[""s""",,\n',
            "line 2: fact: must be a dotted lowercase key such as killed.security_forces",
        ),
        (
            CLAIMS + 'c2,g,killed,20,r1,"[""s""",,\n',
            "line 2: via: invalid JSON: Expecting ',' delimiter",
        ),
        (CLAIMS + "c2,g,killed,20,r9,,,,\n", "line 2: has 9 cells, the header names 8"),
        (
            CLAIMS + "c2,g,killed,20,r9,,,\n",
            "line 2: report: no report 'r9' in the ledger or in this input",
        ),
        ("id,colour\nc1,red\n", "line 1: column 2 ('colour') is not a field of a claim record"),
        ("id,id\nc1,c2\n", "line 1: column 'id' is named twice"),
        (
            "id,incident,fact,value,Report\nc2,g,killed,20,r1\n",
            "line 1: column 5 ('Report') is not a field of a claim record: did you mean "
            "'report'? (names are lower case)",
        ),
        (
            "id;incident;fact;value;report\nc2;g;killed;20;r1\n",
            "line 1: the columns are separated by semicolons: save the spreadsheet as CSV "
            'with commas between columns ("CSV UTF-8")',
        ),
        (
            CLAIMS + 'c2,g,killed,20,r1,"afp, s",,\n',
            'line 2: via: \'afp, s\' is several ids: write them as a JSON list, ["afp","s"] '
            "(from the command line, give the option once per id)",
        ),
        (
            "type,id,title\nincident,g2,G\nsauce,x,\n",
            "line 3: type: must be one of incident, source, fact, report, claim, correction, "
            "retraction, assessment (got 'sauce')",
        ),
        (
            "type,id,title,name,kind\nsource,s2,G,S,outlet\n",
            "line 2: title: is not a field of this record type",
        ),
    ],
)
def test_a_bad_row_is_named_by_its_line_and_nothing_is_written(
    db: str, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "claims.csv"
    path.write_text(text, encoding="utf-8")
    before = log_state(db)
    code, out, err = ledger(db, "append", "--file", str(path), "--type", "claim")
    assert (code, out, err) == (2, "", f"error: {message}\n")
    assert log_state(db) == before


def test_bytes_that_are_not_utf8_and_a_missing_type_are_refused(db: str, tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_bytes(b"id,title\ng2,caf\xe9\n")
    code, _, err = ledger(db, "append", "--file", str(path), "--type", "incident")
    assert (code, err) == (
        2,
        'error: line 2: is not UTF-8 text (byte 0xE9): save the spreadsheet as "CSV UTF-8"\n',
    )
    code, _, err = ledger(db, "append", "--file", str(path))
    assert (code, err) == (
        2,
        "error: line 1: a CSV input says its records' type: a 'type' column, or --type\n",
    )
    jsonl = tmp_path / "claims.jsonl"
    jsonl.write_text(json.dumps(SETUP[0]) + "\n")
    code, _, err = ledger(db, "append", "--file", str(jsonl), "--type", "incident")
    assert (code, err) == (
        2,
        "error: --type is for a CSV file (FILE.csv): a JSON Lines record names its type\n",
    )
    code, _, err = ledger(db, "append", "--file", str(path), "--type", "sauce")
    assert (code, err) == (
        2,
        "error: --type must be one of incident, source, fact, report, claim, correction, "
        "retraction, assessment (got 'sauce')\n",
    )


def test_a_byte_order_mark_quoted_cells_and_empty_cells(db: str, tmp_path: Path) -> None:
    path = tmp_path / "claims.CSV"
    text = (
        CLAIMS + 'c1,g,killed,"{""min"": 3, ""max"": 5}",r1,s,,\nc2,g,started,"""2022""",r1,,,2\n'
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    code, out, err = ledger(db, "append", "--file", str(path), "--type", "claim")
    assert (code, out, err) == (0, "added 2 record(s) (2 claim); 0 already present\n", "")
    state = json.loads(ledger(db, "state", "g", "--at", "2022-01-22", "--json")[1])["facts"]
    assert state["killed"]["value"] == {"min": 3, "max": 5}
    assert state["started"]["positions"][0]["value"] == "2022"


def test_template_prints_the_header_row() -> None:
    code, out, _ = ledger("unused.db", "template", "csv", "report")
    assert (code, out) == (
        0,
        "id,source,published_at,url,title,language,author,sha256,archive_url\n",
    )
    code, out, _ = ledger("unused.db", "template", "csv")
    assert code == 0 and out.startswith("type,id,title,") and ",claim," in out
    code, out, err = ledger("unused.db", "template", "csv", "sauce")
    assert (code, out) == (2, "")
    assert err == (
        "error: the record type must be one of incident, source, fact, report, claim, "
        "correction, retraction, assessment (got 'sauce')\n"
    )
    assert ledger("unused.db", "template", "json")[2] == (
        "error: the only template format is csv (got 'json')\n"
    )


def test_standard_input_is_read_as_csv_when_its_first_line_is_not_a_json_object(
    db: str,
) -> None:
    def piped(text: str, *args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["--db", db, "append", "--file", "-", *args], input=text)
        return result.exit_code, result.stdout, result.stderr

    before = log_state(db)
    assert piped(CLAIMS + "c1,g,killed,20,r1,,,\nc2,g,killed,20,r9,,,\n", "--type", "claim") == (
        2,
        "",
        "error: line 3: report: no report 'r9' in the ledger or in this input\n",
    )
    assert log_state(db) == before
    spreadsheet = "\ufeff" + CLAIMS + 'c1,g,killed,"{""min"": 3, ""max"": 5}",r1,s,,\n'
    assert piped(spreadsheet, "--type", "claim") == (
        0,
        "added 1 record(s) (1 claim); 0 already present\n",
        "",
    )
    claim = {"type": "claim", "id": "c3", "incident": "g", "fact": "wounded", "value": 2,
             "report": "r1"}  # fmt: skip
    assert piped("\n" + json.dumps(claim) + "\n")[:2] == (
        0,
        "added 1 record(s) (1 claim); 0 already present\n",
    )
    assert piped(json.dumps(claim) + "\n", "--type", "claim") == (
        2,
        "",
        "error: --type is for a CSV file (FILE.csv): a JSON Lines record names its type\n",
    )
    state = json.loads(ledger(db, "state", "g", "--at", "2022-01-22", "--json")[1])["facts"]
    assert state["killed"]["value"] == {"min": 3, "max": 5}


def test_blank_rows_before_the_header_are_skipped_and_lines_stay_the_files(
    db: str, tmp_path: Path
) -> None:
    def piped(text: str, *args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["--db", db, "append", "--file", "-", *args], input=text)
        return result.exit_code, result.stdout, result.stderr

    lead = "\n\ntype,id,incident,fact,value,report\nclaim,cs4,g,killed,22,r1\n"
    added = (0, "added 1 record(s) (1 claim); 0 already present\n", "")
    assert piped(lead) == added
    path = tmp_path / "lead.csv"
    path.write_text("\ufeff\r\n,,\r\n" + CLAIMS + "c5,g,killed,20,r1,,,\n", encoding="utf-8")
    assert ledger(db, "append", "--file", str(path), "--type", "claim") == added
    before = log_state(db)
    path.write_text("\n\n" + CLAIMS + "\nc6,g,killed,20,r9,,,\n", encoding="utf-8")
    assert ledger(db, "append", "--file", str(path), "--type", "claim") == (
        2,
        "",
        "error: line 5: report: no report 'r9' in the ledger or in this input\n",
    )
    path.write_text("\n\nid,colour\nc7,red\n", encoding="utf-8")
    assert ledger(db, "append", "--file", str(path), "--type", "claim")[2] == (
        "error: line 3: column 2 ('colour') is not a field of a claim record\n"
    )
    assert log_state(db) == before
    assert piped(",,\n" + CLAIMS + "c8,g,killed,20,r1,,,\n", "--type", "claim") == added
    claim = {"type": "claim", "id": "c9", "incident": "g", "fact": "wounded", "value": 2,
             "report": "r1"}  # fmt: skip
    assert piped("\n \r\n\n" + json.dumps(claim) + "\n") == added
