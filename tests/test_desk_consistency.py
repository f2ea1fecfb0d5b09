"""Ending a claim once: retracted once, never both corrected and retracted (told what
ended it, by which member, when), a correction never moving it to another incident nor,
unless it says so, to another fact, never from a report published before the claim's —
each rule through the file import and the command line, and a retraction racing a
correction (one wins, the other is told who)."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import ConflictError
from incident_ledger.ledger.imports import importer, rules
from incident_ledger.ledger.imports.importer import Entry
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.stores.location import locate
from incident_ledger.usecases.workspace import acting_key
from tests.events import log_state

runner = CliRunner()

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "G"},
    {"type": "incident", "id": "h", "title": "H"},
    {"type": "source", "id": "s", "name": "S", "kind": "monitor"},
    {"type": "report", "id": "r1", "source": "s", "published_at": "2022-01-21"},
    {"type": "report", "id": "r2", "source": "s", "published_at": "2022-01-22"},
    {"type": "claim", "id": "c1", "incident": "g", "fact": "killed", "value": 7, "report": "r1"},
]
RETRACT = {"type": "retraction", "claim": "c1", "report": "r2"}
CORRECT = {"type": "correction", "claim": "c1", "incident": "g", "fact": "killed", "value": 9,
           "report": "r2"}  # fmt: skip


def cli(db: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["--db", db, *args], input=stdin)
    return result.exit_code, result.stderr


def append(db: str, *records: dict[str, Any]) -> tuple[int, str]:
    return cli(db, "append", "--file", "-", stdin="".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def db(store_url: str) -> str:
    assert cli(store_url, "init")[0] == 0
    assert append(store_url, *SETUP) == (0, "")
    return store_url


FLAGS = {
    "retraction": lambda record_id: [
        "retract",
        "--id",
        record_id,
        "--claim",
        "c1",
        "--report",
        "r2",
    ],
    "correction": lambda record_id: [
        "correct",
        "--id",
        record_id,
        "--claim",
        "c1",
        "--incident",
        "g",
        "--fact",
        "killed",
        "--value",
        "9",
        "--report",
        "r2",
    ],
}


def second(db: str, way: str, kind: str) -> tuple[int, str]:
    """The second ending of c1, as a file import or from flags."""
    if way == "file":
        record = (RETRACT if kind == "retraction" else CORRECT) | {"id": "second"}
        return append(db, record)
    return cli(db, *FLAGS[kind]("second"))


@pytest.mark.parametrize("way", ["file", "flags"])
@pytest.mark.parametrize(
    ("first", "then", "said"),
    [
        ("retraction", "retraction", "claim 'c1' was already retracted by 'first' (recorded "),
        ("retraction", "correction", "claim 'c1' was retracted by 'first' (recorded "),
        ("correction", "retraction", "claim 'c1' was corrected by 'first' (recorded "),
        ("correction", "correction", "claim 'c1' was already corrected by 'first' (recorded "),
    ],
)
def test_a_claim_is_ended_once(db: str, way: str, first: str, then: str, said: str) -> None:
    """What ended the claim was in the ledger when the command began: bad input."""
    assert append(db, (RETRACT if first == "retraction" else CORRECT) | {"id": "first"})[0] == 0
    before = log_state(db)
    code, err = second(db, way, then)
    where = ("line 1" if way == "file" else "input") + ": claim"
    assert code == 2
    assert err.startswith(f"error: {where}: {said}")
    member = json.loads(runner.invoke(app, ["--db", db, "members", "--json"]).stdout)[0]["id"]
    when = rf"\(recorded \d{{4}}-\d\d-\d\dT[\d:.]+Z by {re.escape(member)}\)"
    said = re.escape(said.removesuffix(" (recorded "))
    assert re.fullmatch(rf"error: {where}: {said} {when}([;:] .*)?\n", err), err
    assert log_state(db) == before  # nothing of it was written


EARLY = {"type": "report", "id": "r0", "source": "s", "published_at": "2022-01-20"}


@pytest.mark.parametrize("way", ["file", "flags", "same file"])
@pytest.mark.parametrize("kind", ["retraction", "correction"])
def test_an_end_from_a_report_published_before_the_claim_s_is_refused(
    db: str, way: str, kind: str
) -> None:
    if way != "same file":
        assert append(db, EARLY) == (0, "")
    before = log_state(db)
    if way == "flags":
        args = FLAGS[kind]("e")
        args[args.index("r2")] = "r0"
        code, err = cli(db, *args)
    else:
        record = (RETRACT if kind == "retraction" else CORRECT) | {"id": "e", "report": "r0"}
        code, err = append(db, *([EARLY] if way == "same file" else []), record)
    where = {"flags": "input", "file": "line 1", "same file": "line 2"}[way]
    assert (code, err) == (
        2,
        f"error: {where}: report: 'r0' (published 2022-01-20) came out before claim 'c1''s "
        f"report 'r1' (published 2022-01-21): a {kind} comes from a report published no "
        "earlier than its claim's\n",
    )
    assert log_state(db) == before


def test_a_report_of_the_claim_s_day_may_end_it(db: str) -> None:
    """A date-only report is some time of its day: one at a time of that day may follow it."""
    same_day = {"type": "report", "id": "r05", "source": "s", "published_at": "2022-01-21T05:00Z"}
    assert append(db, same_day, RETRACT | {"id": "x", "report": "r05"}) == (0, "")
    late = {"type": "report", "id": "r9", "source": "s", "published_at": "2022-01-20T05:00Z"}
    code, err = append(db, late, CORRECT | {"id": "k", "claim": "c1", "report": "r9"})
    assert code == 2 and "'r9' (published 2022-01-20T05:00:00Z) came out before" in err


@pytest.mark.parametrize("way", ["file", "flags"])
def test_a_correction_changes_the_fact_only_when_it_says_so(db: str, way: str) -> None:
    before = log_state(db)
    if way == "file":
        code, err = append(db, CORRECT | {"id": "k", "fact": "wounded"})
        how = (
            'change_fact true ("change_fact": true in JSON Lines; true in a CSV file\'s '
            "change_fact column)"
        )
    else:
        args = FLAGS["correction"]("k")
        args[args.index("killed")] = "wounded"
        code, err = cli(db, *args)
        how = "--change-fact"
    where = "line 1" if way == "file" else "input"
    assert (code, err) == (
        2,
        f"error: {where}: fact: the correction changes claim 'c1''s fact from 'killed' to "
        f"'wounded': say so with {how}\n",
    )
    assert log_state(db) == before
    if way == "file":
        assert append(db, CORRECT | {"id": "k", "fact": "wounded", "change_fact": True}) == (0, "")
    else:
        assert cli(db, *args, "--change-fact") == (0, "")
    facts = json.loads(runner.invoke(app, ["--db", db, "state", "g", "--json"]).stdout)["facts"]
    assert [p["claim"] for p in facts["wounded"]["positions"]] == ["k"]
    assert "c1" not in [p["claim"] for p in facts["killed"]["positions"]]


@pytest.mark.parametrize("way", ["file", "flags"])
def test_a_correction_never_moves_its_claim(db: str, way: str) -> None:
    before = log_state(db)
    if way == "file":
        code, err = append(db, CORRECT | {"id": "k", "incident": "h"})
    else:
        args = FLAGS["correction"]("k")
        args[args.index("g")] = "h"
        code, err = cli(db, *args)
    where = "line 1" if way == "file" else "input"
    assert (code, err) == (
        2,
        f"error: {where}: incident: a correction stays in its claim's incident ('g'), not 'h'\n",
    )
    assert log_state(db) == before


def test_one_input_ending_a_claim_twice_names_both_lines(db: str) -> None:
    code, err = append(db, RETRACT | {"id": "x1"}, RETRACT | {"id": "x2"})
    assert (code, err) == (
        2,
        "error: line 2: claim: claim 'c1' is already retracted by 'x1' (line 1 of this input)\n",
    )
    code, err = append(db, CORRECT | {"id": "k1"}, RETRACT | {"id": "x3"})
    assert (code, err) == (
        2,
        "error: line 2: claim: claim 'c1' is corrected by 'k1' (line 1 of this input); "
        "retract 'k1' instead\n",
    )


def test_a_retraction_racing_a_correction_one_wins(db: str, tmp_path: Path) -> None:
    """The correcting writer has read the claim when the retracting one tries to save:
    the store serialises them; the loser is told who won and writes nothing."""
    env = locate(db).event_store_env()
    retracting, correcting = Ledger(env), Ledger(env)
    retracting.actor = correcting.actor = acting_key(locate(db))
    original = rules.Checks._load_claim
    outcome: dict[str, BaseException | None] = {}

    def retract() -> None:
        try:
            entry = Entry("input", validate_record(RETRACT | {"id": "x1"}, "input"))
            importer.record(retracting, [entry])
            outcome["retract"] = None
        except BaseException as error:  # reported below
            outcome["retract"] = error

    racer = threading.Thread(target=retract)

    def interleaved(checks: Any, spooled: Any, claim_id: str) -> Any:
        claim = original(checks, spooled, claim_id)
        if checks.ledger is correcting and not racer.is_alive():
            racer.start()
            time.sleep(1.0)  # the retracting writer now waits for the store
        return claim

    rules.Checks._load_claim = interleaved  # type: ignore[method-assign,assignment]
    try:
        importer.record(correcting, [Entry("input", validate_record(CORRECT | {"id": "k1"}, "x"))])
        racer.join(timeout=60)
    finally:
        rules.Checks._load_claim = original  # type: ignore[method-assign]
        retracting.close()
        correcting.close()
    lost = outcome["retract"]
    assert isinstance(lost, ConflictError), lost
    assert str(lost).startswith("input: claim 'c1' was corrected by 'k1' (recorded ")
    assert cli(db, "verify")[0] == 0
    assert cli(db, "prove", "inclusion", "x1")[0] == 1  # nothing of the loser was written


def positions(db: str, fact: str) -> list[tuple[str, Any]]:
    """(claim, value) of each position on a fact of g after every report."""
    out = runner.invoke(app, ["--db", db, "state", "g", "--at", "2022-01-25", "--json"]).stdout
    found = json.loads(out)["facts"].get(fact, {"positions": []})["positions"]
    return [(p["claim"], p["value"]) for p in found]


@pytest.mark.parametrize("way", ["file", "flags"])
@pytest.mark.parametrize("first", ["retraction", "correction"])
@pytest.mark.parametrize("then", ["retraction", "correction"])
def test_an_end_entered_in_error_ends_nothing(db: str, way: str, first: str, then: str) -> None:
    """An erratum of what ended the claim frees it: it is ended again, and only the new
    end counts."""
    assert append(db, (RETRACT if first == "retraction" else CORRECT) | {"id": "first"}) == (0, "")
    assert cli(db, "erratum", "first", "--reason", "wrong report")[0] == 0
    assert second(db, way, then) == (0, "")
    linked = runner.invoke(app, ["--db", db, "erratum", "first", "--replaced-by", "second"])
    kind = "claim" if first == "correction" else "retraction"
    new = "claim" if then == "correction" else "retraction"
    assert (linked.exit_code, linked.stdout) == (
        0,
        f"erratum of {kind}:first: replaced by {new}:second\n",
    )
    code, refused = cli(db, "erratum", "first", "--replaced-by", "second")
    said = rf"'{kind}:first' is already recorded as an entry error \(recorded 20\S+Z by \S+\)"
    assert code == 2 and re.fullmatch(f"error: {said}, replaced by '{new}:second'\n", refused)
    if then == "retraction":
        assert positions(db, "killed") == []
    else:
        assert positions(db, "killed") == [("second", 9)]
    assert cli(db, "verify")[0] == 0


def test_the_end_that_stands_is_named_not_a_voided_one(db: str) -> None:
    assert append(db, RETRACT | {"id": "x1"}) == (0, "")
    assert cli(db, "erratum", "x1", "--reason", "wrong report")[0] == 0
    assert append(db, CORRECT | {"id": "k1"}) == (0, "")
    code, err = append(db, RETRACT | {"id": "x2"})
    assert code == 2
    assert err.startswith("error: line 1: claim: claim 'c1' was corrected by 'k1' (recorded "), err


@pytest.mark.parametrize(
    ("first", "again"),
    [
        (["--no-change-fact"], []),
        ([], ["--no-change-fact"]),
    ],
)
def test_change_fact_false_and_absent_are_one_record(
    db: str, first: list[str], again: list[str], tmp_path: Path
) -> None:
    assert cli(db, *FLAGS["correction"]("k"), *first) == (0, "")
    out = runner.invoke(app, ["--db", db, *FLAGS["correction"]("k"), *again])
    assert (out.exit_code, out.stderr) == (0, "")
    assert "0 record(s)" in out.stdout or "already present" in out.stdout, out.stdout
    for change_fact in ("false", ""):
        row = f"id,claim,incident,fact,value,report,change_fact\nk,c1,g,killed,9,r2,{change_fact}\n"
        sheet = tmp_path / "k.csv"
        sheet.write_text(row, encoding="utf-8")
        code, err = cli(db, "append", "--file", str(sheet), "--type", "correction")
        assert (code, err) == (0, ""), change_fact


def statuses(db: str) -> dict[str, str]:  # claims.claim_status, as the read model holds it
    with contextlib.closing(sqlite3.connect(locate(db).views_path)) as conn:
        return dict(conn.execute("SELECT id, claim_status FROM claims").fetchall())


def test_an_erratum_of_a_report_a_source_or_an_incident_voids_what_it_holds(db: str) -> None:
    """The erratum says what no longer counts, and the outputs agree."""
    other = {"type": "source", "id": "t", "name": "T", "kind": "outlet"}
    r3 = {"type": "report", "id": "r3", "source": "t", "published_at": "2022-01-21"}
    c2 = {"type": "claim", "id": "c2", "incident": "g", "fact": "wounded", "value": 4,
          "report": "r3"}  # fmt: skip
    assert append(db, other, r3, c2, RETRACT | {"id": "x1", "report": "r3", "claim": "c1"}) == (
        0,
        "",
    )
    assert positions(db, "killed") == [] and positions(db, "wounded") == [("c2", 4)]
    assert statuses(db) == {"c1": "retracted", "c2": "active"}
    said = runner.invoke(app, ["--db", db, "erratum", "r3", "--reason", "not this report"])
    assert said.stdout == (
        "erratum recorded: report:r3 no longer counts, nor any claim, retraction or "
        "correction it reports\n"
    )
    assert positions(db, "wounded") == [] and positions(db, "killed") == [("c1", 7)]
    assert statuses(db) == {"c1": "active", "c2": "voided"}  # (claims.claim_status)
    # The retraction r3 reported ends nothing: c1 is retracted again, from its own report.
    assert append(db, RETRACT | {"id": "x2"}) == (0, "")
    assert positions(db, "killed") == []
    said = runner.invoke(app, ["--db", db, "erratum", "s", "--reason", "no such monitor"])
    assert said.stdout == (
        "erratum recorded: source:s no longer counts, nor any claim, retraction or "
        "correction of its reports\n"
    )
    assert (positions(db, "killed"), statuses(db)) == ([], {"c1": "voided", "c2": "voided"})
    assert append(db, RETRACT | {"id": "x3"}) == (
        2,
        "error: line 1: claim: claim 'c1' no longer counts (source:s was entered in error), "
        "so no retraction ends it\n",
    )
    c3 = {**c2, "id": "c3", "incident": "h", "report": "r2"}
    assert (append(db, c3), statuses(db)["c3"]) == ((0, ""), "voided")  # its outlet s
    said = runner.invoke(app, ["--db", db, "erratum", "h", "--reason", "a duplicate"])
    assert said.stdout == (
        "erratum recorded: incident:h no longer counts: it is not listed, and none of its "
        "claims count\n"
    )
    listed = json.loads(runner.invoke(app, ["--db", db, "incidents", "--json"]).stdout)
    assert [i["id"] for i in listed] == ["g"]
    assert cli(db, "verify")[0] == 0


def test_an_erratum_of_a_fact_says_how_a_fact_is_fixed(db: str) -> None:
    before = log_state(db)
    assert cli(db, "erratum", "fact:g/killed", "--reason", "wrong kind") == (
        2,
        "error: 'fact:g/killed': a fact's declaration is not entered in error: declare the "
        "fact again as it should be; its latest declaration is the one that counts\n",
    )
    assert log_state(db) == before


@pytest.mark.parametrize("way", ["file", "flags"])
@pytest.mark.parametrize("kind", ["retraction", "correction"])
def test_a_claim_entered_in_error_is_not_ended(db: str, way: str, kind: str) -> None:
    assert cli(db, "erratum", "c1", "--reason", "typo")[0] == 0
    before = log_state(db)
    code, err = second(db, way, kind)
    where = "line 1" if way == "file" else "input"
    assert (code, err) == (
        2,
        f"error: {where}: claim: claim 'c1' was entered in error: it no longer counts, so no "
        f"{kind} ends it\n",
    )
    assert log_state(db) == before
