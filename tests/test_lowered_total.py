"""A claimant's total of a cumulative fact put below its last one is said as such in
``history`` and ``diff``: "sohr revised: 30 → 20" read as an ordinary revision, where a
total cannot fall (a revision down, or here a relay of an older figure)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_understanding_rules import claim, cli, fact, ledger_of, report


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
