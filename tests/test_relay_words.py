"""The reason's relays: a source named in a claim's ``via`` or the outlet whose report
carries a claimant's words (of every claim a position combines), said together when they
relay the same claimants, counted past six; ``history`` says the same at each step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from incident_ledger.usecases import reading
from tests.test_understanding_rules import claim, cli, ledger_of, report


def test_an_outlet_quoting_a_claimant_is_named_as_its_relay(tmp_path: Path) -> None:
    """A paper printing the governor's figure relays it, named in ``via`` or not: the reason
    said "wire's relays counted as …" for relays in ``via`` alone."""
    records = [
        report("r1", "paper", "2022-01-21"),
        report("r2", "ministry", "2022-01-21"),
        claim("g1", "killed", 7, "r1", claimant="governor"),
        claim("m1", "killed", 9, "r2"),
        claim("w1", "wounded", 30, "r1", claimant="governor"),
        claim("w2", "wounded", 30, "r2"),
    ]
    facts = reading.current_state(ledger_of(tmp_path, records), "b", at="2022-01-21")["facts"]
    assert facts["killed"]["why"]["summary"] == (
        "contested: ministry says 9 but governor (via paper) says 7; "
        "paper's relays counted as governor"
    )
    assert facts["wounded"]["why"]["relays"] == {"paper": ["governor"]}


def test_past_six_relays_the_reason_counts_them(tmp_path: Path) -> None:
    """Hundreds of outlets quoting a claimant are no sentence: past six, the reason counts
    the relays, and ``relays`` lists every one; ``history`` says the same at each step."""
    outlets = [f"outlet-{n}" for n in range(7)]
    records: list[dict[str, Any]] = [
        {"type": "source", "id": o, "name": o, "kind": "outlet"} for o in outlets
    ]
    for n, outlet in enumerate(outlets):  # each outlet quotes the next one
        records.append(report(f"r{n}", outlet, f"2022-01-{n + 10}"))
        records.append(claim(f"c{n}", "killed", 7, f"r{n}", claimant=outlets[(n + 1) % 7]))
    db = ledger_of(tmp_path, records)
    killed = reading.current_state(db, "b", at="2022-01-30")["facts"]["killed"]
    assert killed["why"]["summary"].endswith("; 7 relays counted as the claimants they relayed")
    assert killed["why"]["relays"] == {o: [outlets[(n + 1) % 7]] for n, o in enumerate(outlets)}
    steps = json.loads(cli(db, "history", "b", "killed", "--json")[1])["steps"]
    assert steps[-1]["why"]["summary"] == killed["why"]["summary"]
    assert steps[-1]["why"]["relays_count"] == 7  # (each step gives what changed)
    assert steps[-1]["why"]["relays_changed"] == {"outlet-6": ["outlet-0"]}
    assert steps[5]["why"]["summary"].endswith(
        "; outlet-0's relays counted as outlet-1; outlet-1's relays counted as outlet-2; "
        "outlet-2's relays counted as outlet-3; outlet-3's relays counted as outlet-4; "
        "outlet-4's relays counted as outlet-5; outlet-5's relays counted as outlet-6"
    )


def test_every_outlet_of_a_position_is_its_relay_and_its_own_word_says_also(
    tmp_path: Path,
) -> None:
    """Of the governor's 7 printed by a paper and a wire at one time, the reason named the
    paper alone; with the governor's own report beside the paper's, "governor (via paper)"
    read as if the figure were only second-hand."""
    records = [
        report("p1", "paper", "2022-01-21"),
        report("w1", "wire", "2022-01-21"),
        report("m1", "ministry", "2022-01-21"),
        report("g1", "governor", "2022-01-21"),
        claim("a1", "killed", 7, "p1", claimant="governor"),
        claim("a2", "killed", 7, "w1", claimant="governor"),
        claim("m", "killed", 9, "m1"),
        claim("b1", "wounded", 3, "p1", claimant="governor"),
        claim("b2", "wounded", 3, "g1"),
        claim("n", "wounded", 5, "m1"),
    ]
    facts = reading.current_state(ledger_of(tmp_path, records), "b", at="2022-01-21")["facts"]
    assert facts["killed"]["why"]["summary"] == (
        "contested: ministry says 9 but governor (via paper, wire) says 7; paper's and wire's "
        "relays counted as governor"
    )
    assert facts["wounded"]["why"]["summary"] == (
        "contested: ministry says 5 but governor (also via paper) says 3; paper's relays "
        "counted as governor"
    )
