"""A claim is found by its words whatever became of it, and shown with how it stands:
retracted, corrected, entered in error, rejected, or a proposal waiting for review.
``search`` listed them all as ordinary claims."""

from __future__ import annotations

import json
from pathlib import Path

from tests.desk_cli import Member
from tests.test_desk_status_marks import claim as desk_claim
from tests.test_desk_status_marks import desk  # noqa: F401 (the fixture)
from tests.test_understanding_rules import claim, cli, ledger_of, report


def standings(found: str) -> dict[str, dict[str, object]]:
    keys = ("voided", "ended", "review", "proposed_by")
    return {
        hit["ref"]: {key: hit[key] for key in keys if key in hit}
        for hit in json.loads(found)["hits"]
    }


def test_search_says_how_each_claim_found_stands(tmp_path: Path) -> None:
    quoted = {"quote": "the prison guards were wounded"}
    records = [
        report("r1", "wire", "2020-08-05"),
        report("r2", "wire", "2020-08-06"),
        claim("c1", "wounded", 30, "r1", **quoted),
        claim("c2", "wounded", 31, "r1", claimant="ministry", **quoted),
        claim("c3", "wounded", 32, "r1", claimant="local", **quoted),
        claim("c4", "wounded", 33, "r1", claimant="paper", **quoted),
        claim("c1b", "wounded", 40, "r2", claim="c1") | {"type": "correction"},
        {"type": "retraction", "id": "x2", "claim": "c2", "report": "r2"},
    ]
    db = ledger_of(tmp_path, records)
    assert cli(db, "erratum", "c3", "--reason", "the wrong report")[0] == 0
    code, out, _ = cli(db, "search", "wounded", "--json")
    assert code == 0
    assert standings(out) == {
        "c1": {"ended": {"how": "corrected", "by": "c1b"}},
        "c2": {"ended": {"how": "retracted", "by": "x2"}},
        "c3": {"voided": "erratum"},
        "c4": {},
    }
    code, table, _ = cli(db, "search", "wounded")
    assert code == 0
    for said in ("corrected by c1b", "retracted by x2", "entered in error: counts nowhere"):
        assert said in table, table


def test_search_marks_proposals_and_what_was_rejected(desk: tuple[Member, Member, Member]) -> None:  # noqa: F811
    alice, bob, eve = desk
    bob_claims = [
        desk_claim("q1", 9, "n4") | {"quote": "captured twelve guards"},
        desk_claim("q2", 11, "n4") | {"quote": "captured ninety nine fighters"},
    ]
    assert bob.append(bob_claims).returncode == 0
    eve.ok("review", "q2", "--reject")
    # eve's own claim, which bob proposes to retract: no retraction until reviewed
    assert eve.append([desk_claim("e1", 8, "n4") | {"quote": "captured eight"}]).returncode == 0
    bob.ok("retract", "--id", "x9", "--claim", "e1", "--report", "n4")
    waiting = {"review": "proposed", "proposed_by": ["bob"]}
    assert standings(alice.ok("search", "captured", "--json")) == {
        "q1": waiting,
        "q2": {"voided": "rejected"},
        "e1": {"ended": {"how": "retracted", "by": "x9"} | waiting},
    }
    table = " ".join(alice.ok("search", "captured").split())
    assert "rejected: counts nowhere" in table, table
    assert "retracted by x9 (proposed by bob, not yet reviewed)" in table, table
