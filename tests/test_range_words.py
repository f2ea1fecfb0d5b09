"""How a fact's range is said: its bounds' words follow the fact's kind, not the bounds."""

from __future__ import annotations

import json
from pathlib import Path

from incident_ledger.projections.changes import change_words
from incident_ledger.usecases import reading
from tests.test_understanding_rules import claim, cli, fact, ledger_of, report

BLAST = [
    fact("blast.time", "time"),
    report("r1", "local", "2022-02-01"),
    claim("c1", "blast.time", "../2022-01-20", "r1"),
    report("r2", "wire", "2022-02-02"),
    claim("c2", "blast.time", "2022-01-25/..", "r2"),
]
"""A blast placed before 20 Jan by one report, after 25 Jan by the next."""


def test_a_time_open_at_both_ends_is_said_as_a_time_not_a_count(tmp_path: Path) -> None:
    """Two reports place a blast before 20 Jan and after 25 Jan: contested, and their hull
    is open at both ends. Said as a count it read "0–∞"; it is a time."""
    db = ledger_of(tmp_path, BLAST)
    state = reading.current_state(db, "b", at="2022-02-02")
    assert state["facts"]["blast.time"]["range"] == {"min": None, "max": None}
    code, out, _ = cli(db, "state", "b", "--at", "2022-02-02")
    assert code == 0
    row = next(line for line in out.splitlines() if "blast.time" in line)
    assert "… – …" in row and "0–∞" not in out
    code, out, _ = cli(db, "diff", "b", "--from", "2022-02-01", "--to", "2022-02-02", "--json")
    assert code == 0
    (changed,) = json.loads(out)["facts"]
    ranges = [c for c in changed["changes"] if c["change"] == "range"]
    assert ranges == [
        {
            "change": "range",
            "from": {"min": None, "max": "2022-01-20T23:59:59.999999Z"},
            "to": {"min": None, "max": None},
            "kind": "time",
        }
    ]
    assert change_words(ranges[0]) == "range until 20 Jan 2022 → … – …"
    code, out, _ = cli(db, "diff", "b", "--from", "2022-02-01", "--to", "2022-02-02")
    assert code == 0 and "… – …" in out and "0–∞" not in out


def test_history_and_the_reason_say_a_time_open_at_both_ends_as_a_time(tmp_path: Path) -> None:
    """``history`` words a range change as ``diff`` does, and says what it is; agreeing
    positions that share a time open at both ends share "… – …", not "0–∞"."""
    records = [
        *BLAST,
        fact("fire.time", "time"),
        claim("f1", "fire.time", "../..", "r1"),
        claim("f2", "fire.time", "../..", "r2"),
    ]
    db = ledger_of(tmp_path, records)
    code, out, _ = cli(db, "history", "b", "blast.time", "--json")
    assert code == 0
    ranges = [
        change
        for step in json.loads(out)["steps"]
        for change in step["changes"]
        if change["change"] == "range"
    ]
    assert ranges[-1]["kind"] == "time"
    assert change_words(ranges[-1]) == "range until 20 Jan 2022 → … – …"
    code, out, _ = cli(db, "history", "b", "blast.time")
    assert code == 0 and "0–∞" not in out
    fire = reading.current_state(db, "b", at="2022-02-02")["facts"]["fire.time"]
    assert fire["status"] == "corroborated"
    assert fire["why"]["summary"].endswith("who share … – …")
