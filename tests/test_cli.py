"""The command line through typer's CliRunner: exit codes and exact messages.

Over 400 lines: every command's messages and exit codes, side by side.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app

runner = CliRunner()

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor", "reliability": "C"},
    {"type": "source", "id": "outlet", "name": "Outlet", "kind": "outlet"},
    {"type": "report", "id": "r1", "source": "outlet", "published_at": "2022-01-21"},
    {
        "type": "claim",
        "id": "c1",
        "incident": "g",
        "fact": "killed.security_forces",
        "value": 20,
        "qualifier": "at_least",
        "report": "r1",
        "claimant": "sohr",
        "quote": "ما لا يقل عن 20",
    },
    {
        "type": "claim",
        "id": "c2",
        "incident": "g",
        "fact": "killed.security_forces",
        "value": 7,
        "report": "r1",
    },
]


def jsonl(records: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def ledger(db: str, *args: str, stdin: str | bytes | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(store_url: str) -> str:
    """An initialised, empty ledger on each backend (SQLite file, PostgreSQL schema)."""
    code, out, _ = ledger(store_url, "init")
    assert code == 0, out
    return store_url


def test_init_prints_verifier_key_and_keeps_existing_key(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.db")
    code, out, _ = ledger(path, "init")
    assert code == 0
    assert "signing key created at" in out
    key_file = tmp_path / "ledger.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    verifier = out.strip().splitlines()[-2]
    assert verifier.startswith("incident-ledger/")
    assert out.strip().splitlines()[-1].endswith("registered as admin with that key")
    code, again, _ = ledger(path, "init")
    assert code == 0
    assert "signing key kept at" in again
    assert again.strip().splitlines()[-1] == verifier  # the desk has its admin already


def test_commands_need_an_initialised_ledger(tmp_path: Path) -> None:
    path = str(tmp_path / "none.db")
    code, _, err = ledger(path, "state", "g")
    assert code == 1
    assert err == f"error: no ledger at {path}: run 'ledger init' first\n"


def test_append_file_then_state_json(db: str, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(SETUP), encoding="utf-8")
    code, out, _ = ledger(db, "append", "--file", str(source))
    assert code == 0
    assert out.replace("\n", "") == (
        "added 6 record(s) (2 claim, 1 incident, 1 report, 2 source); 0 already present"
    )
    code, out, _ = ledger(db, "state", "g", "--at", "2022-01-21", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["known_at"] == "2022-01-21T23:59:59.999999Z"
    assert result["recorded_at"] is None
    assert result["policy"] == "range"
    fact = result["facts"]["killed.security_forces"]
    assert fact["status"] == "contested"
    assert fact["value"] == {"min": 7, "max": None}
    assert fact["range"] == {"min": 7, "max": None}
    sohr = next(p for p in fact["positions"] if p["claimant"] == "sohr")
    assert sohr["value"] == 20 and sohr["qualifier"] == "at_least"
    # A report that gives only a date is known from the END of that day (v2; v1 said the
    # start, before the events it describes could have been reported).
    assert sohr["report"] == "r1" and sohr["published_at"] == "2022-01-21T23:59:59.999999Z"
    assert sohr["quote"] == "ما لا يقل عن 20"


def test_deferred_projection_answers_the_same_on_the_next_read(db: str, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(SETUP), encoding="utf-8")
    code, _, _ = ledger(db, "append", "--file", str(source), "--defer-projection")
    assert code == 0
    from incident_ledger.usecases import workspace

    with workspace.open_workspace(db) as ws:
        assert ws.views.position() == 2  # nothing projected after the desk's first admin
    code, out, _ = ledger(db, "state", "g", "--at", "2022-01-21", "--json")
    assert code == 0
    assert json.loads(out)["facts"]["killed.security_forces"]["status"] == "contested"


RECORDED = r"\(recorded [\dT:.-]+Z by [^)]+\)"
"""When, and by which member, what ended a claim was recorded."""


def test_a_file_correcting_stored_claims_replaces_each_once(db: str) -> None:
    assert ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))[0] == 0
    fix = {"type": "correction", "incident": "g", "fact": "killed.security_forces",
           "report": "r1"}  # fmt: skip
    first = [{**fix, "id": "k1", "claim": "c1", "value": 21, "claimant": "sohr"},
             {**fix, "id": "k2", "claim": "c2", "value": 8}]  # fmt: skip
    assert ledger(db, "append", "--file", "-", stdin=jsonl(first))[0] == 0
    again = jsonl([{**fix, "id": "k3", "claim": "c2", "value": 9}])
    code, _, err = ledger(db, "append", "--file", "-", stdin=again)
    assert code == 2  # corrected before this command began: bad input, not a race
    assert re.fullmatch(
        rf"error: line 1: claim: claim 'c2' was already corrected by 'k2' {RECORDED}; "
        "correct 'k2' instead\n",
        err,
    ), err
    code, out, _ = ledger(db, "state", "g", "--json")
    assert code == 0
    positions = json.loads(out)["facts"]["killed.security_forces"]["positions"]
    assert sorted((p["claim"], p["corrects"], p["value"]) for p in positions) == [
        ("k1", "c1", 21),
        ("k2", "c2", 8),
    ]


def test_two_corrections_of_one_claim_in_one_file_are_refused(db: str) -> None:
    fix = {"type": "correction", "claim": "c2", "incident": "g", "fact": "killed.security_forces",
           "report": "r1"}  # fmt: skip
    records = [*SETUP, {**fix, "id": "k1", "value": 8}, {**fix, "id": "k2", "value": 9}]
    code, _, err = ledger(db, "append", "--file", "-", stdin=jsonl(records))
    assert code == 2
    assert err == (
        "error: line 8: claim: claim 'c2' is already corrected by 'k1' (line 7 of this input); "
        "a claim is corrected once: correct 'k1' instead\n"
    )
    code, _, err = ledger(db, "state", "g", "--json")
    assert (code, "'g'" in err) == (1, True)  # nothing was written: not even the incident


def test_state_before_publication_is_empty(db: str) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    code, out, _ = ledger(db, "state", "g", "--at", "2022-01-20", "--json")
    assert code == 0
    assert json.loads(out)["facts"] == {}


def test_state_of_no_known_claims_says_so_in_a_sentence(db: str) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    assert ledger(db, "state", "g", "--at", "2022-01-20") == (
        0,
        "no claims of g known by the end of 20 Jan 2022 (UTC)\n",
        "",
    )
    assert ledger(db, "state", "g", "--at", "2022-01-20T21:00:00Z", "--tz", "Asia/Riyadh") == (
        0,
        "no claims of g known at 21 Jan 2022 00:00 +03:00\n",
        "",
    )
    assert ledger(db, "append", "--file", "-", stdin=jsonl([{**SETUP[0], "id": "h"}]))[0] == 0
    code, out, err = ledger(db, "state", "h")
    assert (code, out.startswith("no claims of h known at "), out.count("\n"), err) == (
        0,
        True,
        1,
        "",
    )
    code, out, _ = ledger(db, "state", "h", "--json")
    assert (code, json.loads(out)["facts"]) == (0, {})


def test_reimport_is_a_no_op(db: str) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    code, out, _ = ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    assert code == 0
    assert out == "added 0 record(s); 6 already present\n"


def test_different_record_under_used_id_is_bad_input(db: str) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    changed = dict(SETUP[5], value=8)
    code, _, err = ledger(db, "append", "--file", "-", stdin=jsonl([changed]))
    assert code == 2
    assert err == (
        "error: line 1: id: 'c2' is already used by a different claim record in the ledger\n"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "message"),
    [
        (  # decimals are read exactly now (quantities); this fact is a count
            '{"type":"claim","id":"c9","incident":"g","fact":"killed.security_forces",'
            '"value":1.5,"report":"r1"}',
            "line 7: value: a decimal number does not fit fact 'killed.security_forces' of "
            "incident 'g', a count (as its first claim made it): counts are whole numbers ≥ 0 "
            '(a JSON integer, with a qualifier if need be, or {"min": a, "max": b})',
        ),
        ('{"type":"claim","id":"c9","id":"c8"}', "line 7: invalid JSON: duplicate key 'id'"),
        (
            '{"type":"claim","id":"c9","incident":"g","fact":"x","value":NaN,"report":"r1"}',
            "line 7: invalid JSON: NaN is not a number",
        ),
        (
            '{"type":"claim","id":"c9","incident":"g","fact":"Killed","value":1,"report":"r1"}',
            "line 7: fact: must be a dotted lowercase key such as killed.security_forces",
        ),
        (
            '{"type":"claim","id":"c9","incident":"g","fact":"x","value":-3,"report":"r1"}',
            "line 7: value: numbers must not be negative",
        ),
        (
            '{"type":"claim","id":"c9","incident":"g","fact":"x","value":9007199254740993,'
            '"report":"r1"}',
            "line 7: value: numbers must not exceed 2^53 - 1",
        ),
        (
            '{"type":"claim","id":"c9","incident":"nope","fact":"x","value":1,"report":"r1"}',
            "line 7: incident: no incident 'nope' in the ledger or in this input",
        ),
        (
            '{"type":"claim","id":"c9","incident":"g","fact":"x","value":1,"report":"r1",'
            '"claimant":"afp"}',
            "line 7: claimant: no source 'afp' in the ledger or in this input",
        ),
        (
            '{"type":"claim","id":"c9","incident":"g","fact":"x","value":1}',
            "line 7: report: is required",
        ),
        (
            '{"type":"rumour","id":"c9"}',
            "line 7: type: must be one of incident, source, fact, report, claim, correction, "
            "retraction, assessment (got 'rumour')",
        ),
        (
            '{"type":"report","id":"r9","source":"outlet","published_at":"2022-01-21T10:00"}',
            "line 7: published_at: '2022-01-21T10:00' is not a date (YYYY-MM-DD) or a date-time "
            "with a UTC offset (YYYY-MM-DDTHH:MM:SSZ)",
        ),
        (
            '{"type":"claim","id":"c9","incident":"g","fact":"x","value":"sdf","qualifier":"approx",'
            '"report":"r1"}',
            "line 7: qualifier: a qualifier applies only to a single number",
        ),
        (
            '{"type":"claim","id":"c9","incident":"g","fact":"x","value":1,"report":"r1",'
            '"valid_time":"last week"}',
            "line 7: valid_time: 'last week' is not a valid EDTF date or interval",
        ),
        (
            '{"type":"claim","id":"c 9","incident":"g","fact":"x","value":1,"report":"r1"}',
            "line 7: id: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -",
        ),
        (
            '{"type":"retraction","id":"x1","claim":"c404","report":"r1"}',
            "line 7: claim: no claim 'c404' in the ledger or in this input",
        ),
        ("not json", "line 7: invalid JSON: Expecting value"),
    ],
)
def test_bad_line_names_line_and_field_and_writes_nothing(db: str, line: str, message: str) -> None:
    code, _, err = ledger(db, "append", "--file", "-", stdin=jsonl(SETUP) + line + "\n")
    assert (code, err) == (2, f"error: {message}\n")
    code, _, err = ledger(db, "state", "g")
    assert (code, err) == (1, "error: no incident 'g' in the ledger\n")


def _append_escaped(db: str, value: str, *more: str) -> tuple[int, str, str]:
    """``ledger append claim`` of claim c3 on ``escaped`` in report r1, with ``more`` flags."""
    flags = ("--id", "c3", "--incident", "g", "--fact", "escaped", "--report", "r1")
    return ledger(db, "append", "claim", *flags, "--value", value, *more)


def test_append_claim_retract_and_correct_from_flags(db: str) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    code, out, err = _append_escaped(db, "150", "--qualifier", "more_than", "--claimant", "sohr")
    assert (code, err) == (0, "")
    assert out == "added 1 record(s) (1 claim); 0 already present\n"
    code, out, _ = ledger(
        db,
        "correct",
        "--id",
        "c2b",
        "--claim",
        "c2",
        "--incident",
        "g",
        "--fact",
        "killed.security_forces",
        "--value",
        "9",
        "--report",
        "r1",
    )
    assert (code, out) == (0, "added 1 record(s) (1 correction); 0 already present\n")
    code, _, err = ledger(
        db,
        "correct",
        "--id",
        "c2c",
        "--claim",
        "c2",
        "--incident",
        "g",
        "--fact",
        "killed.security_forces",
        "--value",
        "10",
        "--report",
        "r1",
    )
    assert code == 2
    assert re.fullmatch(
        rf"error: input: claim: claim 'c2' was already corrected by 'c2b' {RECORDED}; "
        "correct 'c2b' instead\n",
        err,
    ), err
    code, out, _ = ledger(db, "retract", "--id", "x1", "--claim", "c3", "--report", "r1")
    assert code == 0
    state = json.loads(ledger(db, "state", "g", "--at", "2022-01-21", "--json")[1])
    assert state["facts"]["escaped"]["status"] == "withdrawn"
    positions = state["facts"]["killed.security_forces"]["positions"]
    assert sorted(p["claim"] for p in positions) == ["c1", "c2b"]


def test_flag_value_must_be_valid(db: str) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    code, _, err = _append_escaped(db, "{bad")
    assert code == 2
    assert err.startswith("error: input: value: ")


def test_as_recorded_shows_what_the_ledger_showed(db: str, tmp_path: Path) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    code, out, _ = ledger(
        db, "state", "g", "--at", "2022-02-01", "--as-recorded", "2000-01-01", "--json"
    )
    assert code == 0
    assert json.loads(out)["facts"] == {}
    assert json.loads(out)["recorded_at"] == "2000-01-01T23:59:59.999999Z"


def test_policies(db: str) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    values = {}
    for policy in ("range", "conservative", "latest", "preferred"):
        out = ledger(db, "state", "g", "--policy", policy, "--json")[1]
        values[policy] = json.loads(out)["facts"]["killed.security_forces"]["value"]
    assert values == {
        "range": {"min": 7, "max": None},
        "conservative": 7,
        # One instant: the tie goes to the claimant id (sohr after outlet), never to the
        # order in which the lines were imported.
        "latest": {"min": 20, "max": None},
        "preferred": {"min": 20, "max": None},  # SOHR is rated C, the outlet unrated
    }
    code, _, err = ledger(db, "state", "g", "--policy", "loudest")
    assert (code, err) == (
        2,
        "error: --policy must be one of range, conservative, latest, preferred (got 'loudest')\n",
    )


def test_bad_dates_and_unknown_incident(db: str) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    code, _, err = ledger(db, "state", "g", "--at", "21/01/2022")
    assert code == 2
    assert err == (
        "error: '21/01/2022' is not a date (YYYY-MM-DD) or a date-time with a UTC offset "
        "(YYYY-MM-DDTHH:MM:SSZ)\n"
    )
    assert ledger(db, "state", "nowhere")[0] == 1


def test_missing_file_and_empty_input(db: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.jsonl")
    assert ledger(db, "append", "--file", missing)[1:] == ("", f"error: no such file: {missing}\n")
    assert ledger(db, "append", "--file", "-", stdin="\n\n")[2] == (
        "error: the input holds no records\n"
    )


def test_replay_rebuilds_the_same_read_model(db: str, tmp_path: Path) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    before = ledger(db, "state", "g", "--at", "2022-02-01", "--json")[1]
    code, out, _ = ledger(db, "replay")
    assert code == 0
    # the desk's first admin and its batch, the records, the fact's kind (from c1), a batch
    assert out.startswith("replayed 10 events into ")
    assert ledger(db, "state", "g", "--at", "2022-02-01", "--json")[1] == before
    code, _, err = ledger(db, "replay", "--until", "2022-01-01")
    assert (code, err) == (
        2,
        "error: --until needs --out: the live read model always follows the whole ledger\n",
    )
    snapshot = str(tmp_path / "then.db")
    code, out, _ = ledger(db, "replay", "--until", "2000-01-01", "--out", snapshot, "--json")
    assert code == 0 and json.loads(out)["events"] == 0


def test_human_state_table(db: str) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    code, out, _ = ledger(db, "state", "g", "--at", "2022-01-21")
    assert code == 0
    assert "killed.security_forces" in out
    assert "contested" in out
    assert "sohr: at least 20" in out


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name in group.list_commands(None):  # with those made when asked for
        found.append((*prefix, name))
        command = group.get_command(None, name)
        if hasattr(command, "commands"):
            found += _commands(command, (*prefix, name))
    return found


@pytest.mark.slow
def test_every_command_has_help() -> None:
    import typer.main

    root = typer.main.get_command(app)
    assert hasattr(root, "commands")
    commands = _commands(root)
    assert {
        ("init",),
        ("append",),
        ("append", "claim"),
        ("retract",),
        ("correct",),
        ("replay",),
        ("state",),
        ("demo",),
    } <= set(commands)
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.stdout
        command = root
        for name in path:
            command = command.get_command(None, name)  # type: ignore[attr-defined,unused-ignore]
        assert command.help, f"{' '.join(path)} has no help text"


@pytest.mark.slow
def test_rate_changes_preferred_from_its_effective_date(db: str) -> None:
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    code, out, _ = ledger(
        db, "rate", "outlet", "a", "--reason", "verified track record", "--from", "2022-01-21"
    )
    assert (code, out) == (0, "outlet is now rated A\n")

    def preferred(at: str) -> object:
        result = ledger(db, "state", "g", "--at", at, "--policy", "preferred", "--json")[1]
        return json.loads(result)["facts"]["killed.security_forces"]["basis"]

    assert preferred("2022-01-21") == "c2"  # the outlet, now A, outranks SOHR (C)
    code, _, _ = ledger(
        db, "rate", "outlet", "E", "--reason", "fabricated figures", "--from", "2022-01-22"
    )
    assert preferred("2022-01-21") == "c2"
    assert preferred("2022-01-22") == "c1"  # from the 22nd the outlet is E: SOHR wins
    assert ledger(db, "rate", "outlet", "G", "--reason", "x")[1:] == (
        "",
        "error: the grade must be an Admiralty letter A to F\n",
    )
    assert ledger(db, "rate", "nobody", "B", "--reason", "x")[2] == (
        "error: no source 'nobody' in the ledger\n"
    )


@pytest.mark.slow
def test_closed_choices_list_their_values_and_refuse_others(db: str) -> None:
    """--qualifier and rate's grade are closed choices: the help lists their values, and
    any other value is one error line naming them (exit 2), and nothing is written."""
    _, claim_help, _ = ledger(db, "append", "claim", "--help")
    assert "--qualifier [exact|approx|at_least|more_than|at_most|less_than]" in claim_help
    _, correct_help, _ = ledger(db, "correct", "--help")
    assert "--qualifier [exact|approx|at_least|more_than|at_most|less_than]" in correct_help
    _, rate_help, _ = ledger(db, "rate", "--help")
    assert " rate [OPTIONS] SOURCE [A|B|C|D|E|F]\n" in rate_help
    ledger(db, "append", "--file", "-", stdin=jsonl(SETUP))
    before = ledger(db, "state", "g", "--json", "--at", "2022-02-01")[1]
    flags = ["--id", "c9", "--incident", "g", "--fact", "killed.x", "--value", "5"]
    code, out, err = ledger(db, "append", "claim", *flags, "--report", "r1", "--qualifier", "about")
    assert (code, out, err) == (
        2,
        "",
        "error: input: qualifier: must be 'exact', 'approx', 'at_least', 'more_than', "
        "'at_most' or 'less_than'\n",
    )
    assert ledger(db, "state", "g", "--json", "--at", "2022-02-01")[1] == before
    code, out, _ = ledger(
        db, "append", "claim", *flags, "--report", "r1", "--qualifier", "at_least"
    )
    assert code == 0, out
    assert (
        json.loads(ledger(db, "state", "g", "--json")[1])["facts"]["killed.x"]["positions"][0][
            "qualifier"
        ]
        == "at_least"
    )


def test_an_uninitialised_store_says_so_on_each_backend(store_url: str) -> None:
    code, _, err = ledger(store_url, "state", "g")
    assert code == 1
    assert err.startswith("error: no ledger at ")
    assert err.endswith(": run 'ledger init' first\n")
    assert len(err.splitlines()) == 1
