"""A claimant's total of a cumulative fact put below its last one is said as such in
``history`` and ``diff``: "sohr revised: 30 → 20" read as an ordinary revision, where a
total cannot fall (a revision down, or here a relay of an older figure)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from incident_ledger.projections.lowered import lowered_lines
from tests.test_understanding_rules import claim, cli, fact, jsonl, ledger_of, report


def test_a_total_put_lower_by_its_claimant_is_said_to_fall(tmp_path: Path) -> None:
    records = [
        fact("killed", cumulative=True),
        fact("wounded"),
        report("r1", "ministry", "2022-01-21"),
        report("r2", "ministry", "2022-01-22"),
        report("r3", "wire", "2022-01-23"),
        claim("c1", "killed", 20, "r1"),
        claim("c2", "killed", 30, "r2"),
        claim("c3", "killed", 20, "r3", claimant="ministry", via=["wire"]),
        claim("w1", "wounded", 30, "r2"),
        claim("w2", "wounded", 20, "r3", claimant="ministry", via=["wire"]),
    ]
    db = ledger_of(tmp_path, records)
    steps = json.loads(cli(db, "history", "b", "killed", "--json")[1])["steps"]
    kinds = [[c["change"] for c in s["changes"] if "claimant" in c] for s in steps]
    assert kinds == [["joined"], ["revised"], ["lowered"]]
    table = " ".join(cli(db, "history", "b", "killed")[1].split())
    assert "lowered its" in table and "cannot fall" in table, table
    # Not cumulative: a figure may go down, and that is a revision.
    steps = json.loads(cli(db, "history", "b", "wounded", "--json")[1])["steps"]
    assert [c["change"] for c in steps[-1]["changes"] if "claimant" in c] == ["revised"]
    diff = " ".join(cli(db, "diff", "b", "--from", "2022-01-22", "--to", "2022-01-23")[1].split())
    assert "lowered its" in diff and "cannot fall" in diff, diff


def test_a_claimant_withdrawing_its_higher_figure_has_not_lowered_it(tmp_path: Path) -> None:
    """A retraction of a claimant's later figure brings back its earlier, lower one: that
    is a withdrawal, not a total put lower (it read "lowered its total")."""
    records = [
        fact("killed", cumulative=True),
        report("r1", "ministry", "2022-01-21"),
        report("r2", "ministry", "2022-01-22"),
        report("r3", "ministry", "2022-01-23"),
        claim("c1", "killed", 20, "r1"),
        claim("c2", "killed", 30, "r2"),
        {"type": "retraction", "id": "x2", "claim": "c2", "report": "r3"},
    ]
    db = ledger_of(tmp_path, records)
    steps = json.loads(cli(db, "history", "b", "killed", "--json")[1])["steps"]
    assert "lowered" not in [c["change"] for s in steps for c in s["changes"]]


def test_yes_then_yes_and_no_at_once_is_no_restatement(tmp_path: Path) -> None:
    """A claimant who said yes, then yes and no at one time, "restated: no and yes": the
    comparison looked at the position's first value only."""
    records = [
        fact("open", "boolean"),
        report("r1", "ministry", "2022-01-21"),
        report("r2", "ministry", "2022-01-22"),
        claim("o1", "open", True, "r1"),
        claim("o2", "open", True, "r2"),
        claim("o3", "open", False, "r2"),
    ]
    db = ledger_of(tmp_path, records)
    steps = json.loads(cli(db, "history", "b", "open", "--json")[1])["steps"]
    assert [c["change"] for c in steps[-1]["changes"] if "claimant" in c] == ["revised"]


def test_state_says_a_total_stands_below_its_claimants_own_earlier_one(tmp_path: Path) -> None:
    """``state`` showed the ministry's 20, relayed by a wire on 23 Jan, as its position, with
    nothing of the 30 it gave on 22 Jan: a total that cannot fall read as settled."""
    records = [
        fact("killed", cumulative=True),
        report("r1", "ministry", "2022-01-21"),
        report("r2", "ministry", "2022-01-22"),
        report("r3", "wire", "2022-01-23"),
        report("r4", "governor", "2022-01-22"),
        claim("c1", "killed", 20, "r1"),
        claim("c2", "killed", 30, "r2"),
        claim("c3", "killed", 20, "r3", claimant="ministry", via=["wire"]),
        claim("g1", "killed", 40, "r4", claimant="governor", qualifier="at_least"),
    ]
    db = ledger_of(tmp_path, records)
    code, out, _ = cli(db, "state", "b", "--json")
    killed = json.loads(out)["facts"]["killed"]
    assert code == 0 and [e["claimant"] for e in killed["lowered"]] == ["ministry"]
    assert killed["lowered"][0]["claim"] == "c3"
    assert killed["lowered"][0]["earlier"]["claim"] == "c2"
    assert killed["lowered"][0]["earlier"]["interval"] == {"min": 30, "max": 30}
    assert killed["lowered"][0]["words"] == (
        "ministry (via wire) lowered its total from 30 as of 22 Jan 2022 to 20 as of 23 Jan "
        "2022; a total cannot fall"
    )
    assert "lowered" not in killed["why"]["summary"]  # the status's reason is the rules'
    table = re.sub(r"[\s│]", "", cli(db, "state", "b")[1])  # the cell's lines, joined
    assert "lowereditstotalfrom30asof22Jan2022to20asof23Jan2022" in table, table
    html = tmp_path / "b.html"
    assert cli(db, "export", "--format", "html", "--incident", "b", "--out", str(html))[0] == 0
    assert "lowered its total from 30 as of 22 Jan 2022 to 20" in html.read_text()
    # Before the relay, and once the ministry's 30 is retracted, nothing fell.
    assert (
        "lowered"
        not in json.loads(cli(db, "state", "b", "--at", "2022-01-22", "--json")[1])["facts"][
            "killed"
        ]
    )
    retract = {"type": "retraction", "id": "x2", "claim": "c2", "report": "r3"}
    assert cli(db, "append", "--file", "-", stdin=jsonl([retract]))[0] == 0
    again = json.loads(cli(db, "state", "b", "--json")[1])["facts"]["killed"]
    assert "lowered" not in again


def test_an_open_total_or_a_total_that_touches_the_earlier_one_has_not_fallen(
    tmp_path: Path,
) -> None:
    records = [
        fact("killed", cumulative=True),
        report("r1", "ministry", "2022-01-21"),
        report("r2", "ministry", "2022-01-22"),
        report("r3", "ministry", "2022-01-23"),
        claim("c1", "killed", 20, "r1", qualifier="at_least"),
        claim("c2", "killed", 20, "r2"),
        claim("c3", "killed", 10, "r3", qualifier="at_least"),
    ]
    db = ledger_of(tmp_path, records)
    at_22 = json.loads(cli(db, "state", "b", "--at", "2022-01-22", "--json")[1])["facts"]
    assert "lowered" not in at_22["killed"]  # "at least 20", then 20: no fall
    assert "lowered" not in json.loads(cli(db, "state", "b", "--json")[1])["facts"]["killed"]


def test_a_lower_total_as_of_an_earlier_day_has_not_fallen(tmp_path: Path) -> None:
    """A ministry saying 30 on 22 Jan and, the next day, 20 as of 20 Jan has told a rising
    total's past: state flagged it, comparing when the figures came out."""
    records = [
        fact("killed", cumulative=True),
        report("r1", "ministry", "2022-01-22"),
        report("r2", "ministry", "2022-01-23"),
        claim("c1", "killed", 30, "r1"),
        claim("c2", "killed", 20, "r2", valid_time="2022-01-20"),
    ]
    db = ledger_of(tmp_path, records)
    assert "lowered" not in json.loads(cli(db, "state", "b", "--json")[1])["facts"]["killed"]
    steps = json.loads(cli(db, "history", "b", "killed", "--json")[1])["steps"]
    assert "lowered" not in [c["change"] for s in steps for c in s["changes"]]


def test_the_earlier_total_is_said_whole_and_a_relay_of_it_named(tmp_path: Path) -> None:
    """The earlier position read "at most 40" of "at least 25" and "at most 40" (25–40),
    and a figure only a wire printed was called the claimant's own."""
    records = [
        fact("killed", cumulative=True),
        report("r1", "ministry", "2022-01-22"),
        report("r2", "ministry", "2022-01-23"),
        report("w1", "wire", "2022-01-22"),
        claim("c1", "killed", 25, "r1", qualifier="at_least"),
        claim("c1b", "killed", 40, "r1", qualifier="at_most"),
        claim("c2", "killed", 20, "r2"),
        claim("g1", "wounded", 30, "w1", claimant="governor"),
        report("g2", "governor", "2022-01-23"),
        claim("g3", "wounded", 20, "g2"),
        fact("wounded", cumulative=True),
    ]
    db = ledger_of(tmp_path, records)
    facts = json.loads(cli(db, "state", "b", "--json")[1])["facts"]
    assert facts["killed"]["lowered"][0]["words"] == (
        "ministry lowered its total from 25–40 as of 22 Jan 2022 to 20 as of 23 Jan 2022; "
        "a total cannot fall"
    )
    assert facts["wounded"]["lowered"][0]["words"] == (
        "governor lowered its total from 30 as of 22 Jan 2022 (as wire reported it) to 20 "
        "as of 23 Jan 2022; a total cannot fall"
    )
    assert facts["wounded"]["lowered"][0]["earlier"]["relays"] == ["wire"]


def test_state_history_and_diff_read_a_fall_by_one_rule(tmp_path: Path) -> None:
    """30 on 22 Jan, 10 as of 20 Jan, then 20 on 24 Jan: state said the 20 fell below the
    30 that stands, while history compared it with the 10 alone ("revised") and diff said
    either, by its window; and a diff over a retraction of the 30 still said "lowered"."""
    records = [
        fact("killed", cumulative=True),
        report("r1", "ministry", "2022-01-22"),
        report("r2", "ministry", "2022-01-23"),
        report("r3", "ministry", "2022-01-24"),
        claim("c1", "killed", 30, "r1"),
        claim("c2", "killed", 10, "r2", valid_time="2022-01-20"),
        claim("c3", "killed", 20, "r3"),
    ]
    db = ledger_of(tmp_path, records)
    state = json.loads(cli(db, "state", "b", "--json")[1])["facts"]["killed"]
    assert [e["claim"] for e in state["lowered"]] == ["c3"]
    steps = json.loads(cli(db, "history", "b", "killed", "--json")[1])["steps"]
    kinds = [[c["change"] for c in s["changes"] if "claimant" in c] for s in steps]
    assert kinds == [["joined"], ["revised"], ["lowered"]]
    for start in ("2022-01-22", "2022-01-23"):
        diff = json.loads(cli(db, "diff", "b", "--from", start, "--to", "2022-01-24", "--json")[1])
        changes = [c for f in diff["facts"] for c in f["changes"] if "claimant" in c]
        assert [c["change"] for c in changes] == ["lowered"], (start, changes)
    retract = [report("r4", "ministry", "2022-01-25"),
               {"type": "retraction", "id": "x1", "claim": "c1", "report": "r4"}]  # fmt: skip
    assert cli(db, "append", "--file", "-", stdin=jsonl(retract))[0] == 0
    diff = json.loads(
        cli(db, "diff", "b", "--from", "2022-01-22", "--to", "2022-01-25", "--json")[1]
    )
    changes = [c for f in diff["facts"] for c in f["changes"] if "claimant" in c]
    assert [c["change"] for c in changes] == ["revised"]


def test_a_figure_the_claimant_said_itself_is_not_put_on_its_relay(tmp_path: Path) -> None:
    """The ministry's own 30, printed by a wire too, read "(as wire reported it)"."""
    records = [
        fact("killed", cumulative=True),
        report("r1", "ministry", "2022-01-22"),
        report("w1", "wire", "2022-01-22"),
        report("r2", "ministry", "2022-01-23"),
        claim("c1", "killed", 30, "r1"),
        claim("w", "killed", 30, "w1", claimant="ministry"),
        claim("c2", "killed", 20, "r2"),
    ]
    (entry,) = json.loads(cli(ledger_of(tmp_path, records), "state", "b", "--json")[1])["facts"][
        "killed"
    ]["lowered"]
    assert entry["words"] == (
        "ministry lowered its total from 30 as of 22 Jan 2022 to 20 as of 23 Jan 2022; a total "
        "cannot fall"
    )
    assert entry["earlier"]["relays"] == ["wire"]


def test_past_six_falls_a_table_names_them_in_one_line() -> None:
    fact_shown = {"lowered": [{"claimant": f"s{n}", "words": "…"} for n in range(7)]}
    assert lowered_lines(fact_shown) == [
        "7 claimants lowered their totals, which cannot fall: s0, s1, s2, s3, s4, s5 and s6"
    ]
    assert lowered_lines({"lowered": fact_shown["lowered"][:2]}, summed=True) == [
        "2 claimants lowered their totals, which cannot fall: s0 and s1"
    ]
