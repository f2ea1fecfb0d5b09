"""Every claim must fit its fact's kind, whichever way it comes in: a file (``append
--file``, streamed, and the batch of records waiting for a reference further down),
``append claim`` and ``correct``. One test per kind and per way in; then declarations
(anew, contradicted), facts that take their kind from their first claim, and a ledger
written before facts had kinds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.domain import creation_data, creation_leaf
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.ledger.stores.location import locate
from incident_ledger.usecases import reading
from incident_ledger.usecases.workspace import acting_key

runner = CliRunner()

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran", "timezone": "Asia/Damascus"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "source", "id": "outlet", "name": "Outlet", "kind": "outlet"},
    {"type": "report", "id": "r1", "source": "outlet", "published_at": "2022-01-21"},
    {"type": "report", "id": "r2", "source": "outlet", "published_at": "2022-01-22"},
    {"type": "fact", "incident": "g", "key": "killed", "kind": "count", "unit": "people"},
    {"type": "fact", "incident": "g", "key": "fuel", "kind": "quantity", "unit": "tonnes"},
    {"type": "fact", "incident": "g", "key": "started", "kind": "time"},
    {"type": "fact", "incident": "g", "key": "curfew.hours", "kind": "text"},
    {
        "type": "fact",
        "incident": "g",
        "key": "control",
        "kind": "choice",
        "choices": [{"value": "sdf", "aliases": ["qsd", "قسد"]}, {"value": "isis"}],
    },
    {"type": "fact", "incident": "g", "key": "repelled", "kind": "boolean"},
    {"type": "fact", "incident": "g", "key": "location", "kind": "place"},
]

COUNT_RULE = 'counts are whole numbers ≥ 0 (a JSON integer, with a qualifier if need be, or {"min": a, "max": b})'  # noqa: E501
QUANTITY_RULE = (
    'quantities are decimals ≥ 0 (a JSON number or a decimal string such as "2.5", with a '
    'qualifier if need be, or {"min": a, "max": b})'
)
TIME_RULE = (
    "times are EDTF dates or intervals such as 2022-01-20 or [2022-01-20,2022-01-21], "
    "without a qualifier"
)

# (fact, a value that does not fit as the flag gives it, the same in JSON, message tail)
MISFITS = [
    ("killed", "many", "many", f"value: 'many' does not fit fact 'killed' of "
     f"incident 'g', a count (declared): {COUNT_RULE}"),
    ("fuel", "a lot", "a lot", f"value: 'a lot' does not fit fact 'fuel' of incident 'g', a "
     f"quantity (declared): {QUANTITY_RULE}"),
    ("started", "dawn", "dawn", f"value: 'dawn' does not fit fact 'started' of incident "
     f"'g', a time (declared): {TIME_RULE}"),
    ("curfew.hours", "true", True, "value: a boolean does not fit fact 'curfew.hours' of "
     "incident 'g', a text (declared): text facts take a string, without a qualifier"),
    ("control", "hamas", "hamas", "value: 'hamas' does not fit fact 'control' of incident "
     "'g', a choice (declared): 'hamas' is not one of its choices (sdf, isis) or their "
     "aliases"),
    ("repelled", "yes", "yes", "value: 'yes' does not fit fact 'repelled' of incident 'g', a "
     "boolean (declared): booleans are true or false"),
    ("location", "5", 5, "value: a whole number does not fit fact 'location' of incident "
     "'g', a place (declared): places are text, or {\"name\": text, \"lat\": degrees, "
     "\"lon\": degrees}"),
]  # fmt: skip
IDS = [fact for fact, *_ in MISFITS]

# Values that fit, one per kind, as the flag gives them.
FITS = [
    ("killed", "20", {"min": 20, "max": 20}),
    ("fuel", "2.5", {"min": "2.5", "max": "2.5"}),
    ("started", "[2022-01-20,2022-01-21]", {"min": "2022-01-19T22:00:00Z",
                                             "max": "2022-01-21T21:59:59.999999Z"}),
    ("curfew.hours", "from 18:00 to 06:00", None),
    ("control", "qsd", None),
    ("repelled", "false", None),
    ("location", '{"name": "Hasakah", "lat": 36.5, "lon": 40.75}', None),
]  # fmt: skip


def jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def cli(db: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    assert cli(path, "init")[0] == 0
    assert cli(path, "append", "--file", "-", stdin=jsonl(SETUP))[0] == 0
    return path


def event_count(db: str) -> int:
    ledger = Ledger(locate(db).event_store_env())
    try:
        return int(ledger.recorder.max_notification_id() or 0)
    finally:
        ledger.close()


def claim(fact: str, value: Any, **more: Any) -> dict[str, Any]:
    fields = {"type": "claim", "id": f"c-{fact}", "incident": "g", "fact": fact}
    return fields | {"value": value, "report": "r1"} | more


@pytest.mark.slow
@pytest.mark.parametrize(("fact", "flag", "value", "message"), MISFITS, ids=IDS)
def test_a_file_line_that_does_not_fit_is_refused(
    db: str, fact: str, flag: str, value: Any, message: str
) -> None:
    before = event_count(db)
    good = claim("killed", 3) | {"id": "ok"}
    code, out, err = cli(db, "append", "--file", "-", stdin=jsonl([good, claim(fact, value)]))
    assert (code, out, err) == (2, "", f"error: line 2: {message}\n")
    assert event_count(db) == before  # nothing written, not even the good line


@pytest.mark.slow
@pytest.mark.parametrize(("fact", "flag", "value", "message"), MISFITS, ids=IDS)
def test_a_waiting_line_that_does_not_fit_is_refused(
    db: str, fact: str, flag: str, value: Any, message: str
) -> None:
    """A claim whose report comes later in the file waits, and is checked when recorded."""
    late = {"type": "report", "id": "r9", "source": "outlet", "published_at": "2022-01-23"}
    records = [claim(fact, value, report="r9"), late]
    code, _, err = cli(db, "append", "--file", "-", stdin=jsonl(records))
    assert (code, err) == (2, f"error: line 1: {message}\n")


@pytest.mark.slow
@pytest.mark.parametrize(("fact", "flag", "value", "message"), MISFITS, ids=IDS)
def test_append_claim_that_does_not_fit_is_refused(
    db: str, fact: str, flag: str, value: Any, message: str
) -> None:
    before = event_count(db)
    args = ["--id", "c9", "--incident", "g", "--fact", fact, "--value", flag, "--report", "r1"]
    code, out, err = cli(db, "append", "claim", *args)
    assert (code, out, err) == (2, "", f"error: input: {message}\n")
    assert event_count(db) == before


@pytest.mark.slow
@pytest.mark.parametrize(("fact", "flag", "value", "message"), MISFITS, ids=IDS)
def test_a_correction_that_does_not_fit_is_refused(
    db: str, fact: str, flag: str, value: Any, message: str
) -> None:
    good = dict(zip(["fact", "flag"], next(f for f in FITS if f[0] == fact)[:2], strict=True))
    args = ["--incident", "g", "--fact", fact, "--report", "r1"]
    assert cli(db, "append", "claim", "--id", "c1", "--value", good["flag"], *args)[0] == 0
    before = event_count(db)
    fix = ["--id", "k1", "--claim", "c1", "--incident", "g", "--fact", fact, "--report", "r2"]
    code, out, err = cli(db, "correct", *fix, "--value", flag)
    assert (code, out, err) == (2, "", f"error: input: {message}\n")
    assert event_count(db) == before


@pytest.mark.slow
@pytest.mark.parametrize(("fact", "flag", "interval"), FITS, ids=[f[0] for f in FITS])
def test_values_that_fit_go_in_and_read_as_their_kind(
    db: str, fact: str, flag: str, interval: dict[str, Any] | None
) -> None:
    args = ["--id", "c1", "--incident", "g", "--fact", fact, "--value", flag, "--report", "r1"]
    assert cli(db, "append", "claim", *args)[:2] == (
        0,
        "added 1 record(s) (1 claim); 0 already present\n",
    )
    position = reading.current_state(db, "g", at="2022-01-21")["facts"][fact]["positions"][0]
    if interval is not None:
        assert position["interval"] == interval
    if fact == "control":  # an alias is read as the declared value, the words as reported
        assert (position["value"], position["reported"]) == ("sdf", "qsd")
    if fact == "location":
        assert position["value"] == {"name": "Hasakah", "lat": "36.5", "lon": "40.75"}


def test_a_quantity_is_exact_and_a_unit_must_match(db: str) -> None:
    records = [
        claim("fuel", 2750.5, id="f1", unit="tonnes", qualifier="approx"),
        claim("fuel", "2750", id="f2", claimant="sohr"),
    ]
    text = jsonl(records).replace("2750.5", "2750.50")  # as written, never a float
    assert cli(db, "append", "--file", "-", stdin=text)[0] == 0
    fact = reading.current_state(db, "g", at="2022-01-21")["facts"]["fuel"]
    by = {p["claim"]: p for p in fact["positions"]}
    # about 2750.50: ± 10 % rounded up to the last written digit (0.01)
    assert by["f1"]["interval"] == {"min": "2475.45", "max": "3025.55"}
    assert by["f1"]["value"] == "2750.50"
    assert fact["status"] == "corroborated"
    wrong = claim("fuel", 3, id="f3", unit="litres")
    assert cli(db, "append", "--file", "-", stdin=jsonl([wrong]))[2] == (
        "error: line 1: unit: it does not fit fact 'fuel' of incident 'g', a quantity "
        "(declared): must be 'tonnes', the fact's unit (or left out)\n"
    )


def test_a_fact_never_declared_keeps_the_kind_of_its_first_claim(db: str) -> None:
    first = claim("wounded", 12, id="w1")
    assert cli(db, "append", "--file", "-", stdin=jsonl([first]))[0] == 0
    code, _, err = cli(
        db, "append", "claim", "--id", "w2", "--incident", "g", "--fact", "wounded",
        "--value", "many", "--report", "r1",
    )  # fmt: skip
    assert (code, err) == (
        2,
        "error: input: value: 'many' does not fit fact 'wounded' of incident 'g', a count "
        f"(as its first claim made it): {COUNT_RULE}\n",
    )
    listed = {f["key"]: f for f in reading.facts(db, "g")["facts"]}
    assert (listed["wounded"]["kind"], listed["wounded"]["declared"]) == ("count", False)


def test_the_first_claim_in_a_file_sets_the_kind_for_the_rest_of_it(db: str) -> None:
    records = [claim("wounded", "many", id="w1"), claim("wounded", 12, id="w2")]
    code, _, err = cli(db, "append", "--file", "-", stdin=jsonl(records))
    assert (code, err) == (
        2,
        "error: line 2: value: a whole number does not fit fact 'wounded' of incident 'g', a "
        "text (as its first claim made it): text facts take a string, without a qualifier\n",
    )


@pytest.mark.slow
def test_a_fact_declared_anew_must_fit_its_claims(db: str) -> None:
    assert cli(db, "append", "--file", "-", stdin=jsonl([claim("killed", 7, id="k1")]))[0] == 0
    as_text = {"type": "fact", "incident": "g", "key": "killed", "kind": "text"}
    code, _, err = cli(db, "append", "--file", "-", stdin=jsonl([as_text]))
    assert (code, err) == (
        2,
        "error: line 1: kind: the fact's claims already recorded include a whole number, which "
        "does not fit a text (value: text facts take a string, without a qualifier)\n",
    )
    cumulative: dict[str, Any] = {"type": "fact", "incident": "g", "key": "killed", "kind": "count"}
    cumulative |= {"cumulative": True, "tolerance": {"absolute": 2}, "unit": "people"}
    code, out, _ = cli(db, "append", "--file", "-", stdin=jsonl([cumulative]))
    assert (code, out) == (0, "added 1 record(s) (1 fact); 0 already present\n")
    code, out, _ = cli(db, "append", "--file", "-", stdin=jsonl([cumulative]))
    assert (code, out) == (0, "added 0 record(s); 1 already present\n")  # the same: a no-op
    listed = {f["key"]: f for f in reading.facts(db, "g")["facts"]}
    assert (listed["killed"]["cumulative"], listed["killed"]["tolerance"]) == (
        True,
        {"absolute": "2"},
    )


def test_a_declaration_applies_to_the_claims_before_it_in_the_same_file(db: str) -> None:
    """A claim may come before its fact's declaration in a file: it takes its kind from
    that claim, then the declaration is checked against it and applies from there on."""
    records = [
        claim("casualties", "qsd", id="q1"),
        {
            "type": "fact",
            "incident": "g",
            "key": "casualties",
            "kind": "choice",
            "choices": [{"value": "sdf", "aliases": ["qsd"]}],
        },
        claim("casualties", "SDF", id="q2", claimant="sohr"),
    ]
    assert cli(db, "append", "--file", "-", stdin=jsonl(records))[0] == 0
    fact = reading.current_state(db, "g", at="2022-01-21")["facts"]["casualties"]
    assert (fact["status"], fact["value"]) == ("corroborated", "sdf")


def test_a_ledger_written_before_kinds_gets_them_from_its_first_claims(tmp_path: Path) -> None:
    """Claims recorded without fact events (as before facts had kinds): the first import
    that needs a fact's kind records, once, the kind each fact's first claim gives it."""
    db = str(tmp_path / "old.db")
    assert cli(db, "init")[0] == 0
    old = [
        *[r for r in SETUP if r["type"] != "fact"],
        claim("killed", 7, id="old-1"),
        claim("killed", "about 300", id="old-2", claimant="sohr"),  # a misfit v1 let in
    ]
    ledger = Ledger(locate(db).event_store_env())
    ledger.actor = acting_key(locate(db))  # signed by the desk's admin, as every write is
    try:
        with ledger.writing("test") as appender:
            rows, digests = [], []
            for record in old:
                fields = {k: v for k, v in record.items() if k not in ("type", "id")}
                record_id = record.get("id") or ""
                _, topic, leaf = creation_leaf(
                    record["type"],
                    record_id,
                    creation_data(fields, record["type"]),
                    "2022-02-01T00:00:00.000000Z",
                )
                aggregate_id = f"{record['type']}:{record_id}"
                rows.append(ledger.leaf_mapper.row_from_leaf(aggregate_id, 1, topic, leaf))
                digests.append(leaf_hash(leaf))
            appender.append(rows, digests)
    finally:
        ledger.close()
    code, _, err = cli(db, "append", "--file", "-", stdin=jsonl([claim("killed", "many")]))
    assert (code, err) == (
        2,
        "error: line 1: value: 'many' does not fit fact 'killed' of incident 'g', a count (as "
        f"its first claim made it): {COUNT_RULE}\n",
    )
    assert cli(db, "append", "--file", "-", stdin=jsonl([claim("killed", 9, report="r2")]))[0] == 0
    fact = reading.current_state(db, "g", at="2022-01-21")["facts"]["killed"]
    # the old misfit stays what it was: text beside the counts ("mixed", contested)
    assert (fact["status"], fact["kind"]) == ("contested", "mixed")
    code, out, _ = cli(db, "verify")
    assert code == 0, out
