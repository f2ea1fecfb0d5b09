"""A fact's status that only a proposal gives is marked in every output that shows it,
as ``state`` marks it: each step of ``history`` (table and JSON), both columns of the
``diff`` table, ``why.summary``, and the HTML report with proposals; and a position a
proposed end from the claim's own report took away is listed, never silently gone
(read-side: SQLite is enough)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.usecases import reading
from tests.desk_cli import Member, review_desk
from tests.test_desk_marks import words

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "G", "timezone": "UTC"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "source", "id": "tala", "name": "Tala", "kind": "agency"},
    {"type": "source", "id": "nour", "name": "Nour", "kind": "outlet"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
    {"type": "report", "id": "t1", "source": "tala", "published_at": "2022-01-21"},
    {"type": "report", "id": "t2", "source": "tala", "published_at": "2022-01-22"},
    {"type": "report", "id": "n4", "source": "nour", "published_at": "2022-01-24"},
]

MARKS = ("status_review", "status_proposed_by", "reviewed_status")


def claim(claim_id: str, value: int, report: str) -> dict[str, Any]:
    return {"type": "claim", "id": claim_id, "incident": "g", "fact": "killed", "value": value,
            "report": report}  # fmt: skip


def marks(fact: dict[str, Any]) -> tuple[Any, ...]:
    return (fact["status"], *(fact.get(key) for key in MARKS))


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Member, Member, Member]:
    """eve's c0 (sohr 5, 21 Jan) and c2 (tala 7, 21 Jan); bob proposes x2, tala's
    withdrawal of c2 (22 Jan); then eve's c4 (nour 5, 24 Jan): ``corroborated`` in the
    default view, ``contested`` in the reviewed one, though an approved claim made it."""
    monkeypatch.setenv("COLUMNS", "200")
    alice, bob, eve = review_desk(tmp_path)
    assert alice.append(SETUP).returncode == 0
    assert eve.append([claim("c0", 5, "r1"), claim("c2", 7, "t1")]).returncode == 0
    bob.ok("retract", "--id", "x2", "--claim", "c2", "--report", "t2")
    assert eve.append([claim("c4", 5, "n4")]).returncode == 0
    return alice, bob, eve


def test_history_marks_every_step_whose_status_only_a_proposal_gives(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, _, eve = desk
    steps = alice.json("history", "g", "killed")["steps"]
    assert [marks(step) for step in steps] == [
        ("contested", None, None, None),
        ("single", "proposed", ["bob"], "contested"),
        ("corroborated", "proposed", ["bob"], "contested"),
    ]
    for step in steps:  # each step marked as ``state`` at its instant marks the fact
        shown = reading.current_state(alice.db, "g", at=step["at"])["facts"]["killed"]
        assert marks(step) == marks(dict(shown))
        assert step["why"]["summary"] == shown["why"]["summary"]
    assert "proposed by bob; reviewed: contested" in steps[2]["why"]["summary"]
    [status] = [c for c in steps[2]["changes"] if c["change"] == "status"]
    assert (status["review"], status["proposed_by"]) == ("proposed", ["bob"])
    table = words(alice.ok("history", "g", "killed"))
    assert "corroborated (proposed by bob; reviewed: contested)" in table
    assert "single (proposed by bob; reviewed: contested)" in table
    reviewed = alice.json("history", "g", "killed", "--reviewed-only")
    assert "status_review" not in str(reviewed) and "proposed" not in str(reviewed)
    before_review = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    eve.ok("review", "x2", "--approve")
    assert "proposed" not in alice.ok("history", "g", "killed")
    as_then = alice.json("history", "g", "killed", "--as-recorded", before_review)["steps"]
    assert marks(as_then[2]) == ("corroborated", "proposed", ["bob"], "contested")


def test_history_lists_a_position_a_proposed_end_from_its_own_report_took(
    desk: tuple[Member, Member, Member],
) -> None:
    """eve's w1 (sohr 3, 21 Jan) and w2 (tala 4, 22 Jan); bob's y2 withdraws w2 by its
    own report t2: nothing changes at 22 Jan in the default view, yet the reviewed view
    is contested from then on, and ``state`` lists tala's 4 as a proposal took it."""
    alice, bob, eve = desk
    wounded = [
        {**claim("w1", 3, "r1"), "fact": "wounded"},
        {**claim("w2", 4, "t2"), "fact": "wounded"},
    ]
    assert eve.append(wounded).returncode == 0
    bob.ok("retract", "--id", "y2", "--claim", "w2", "--report", "t2")
    steps = alice.json("history", "g", "wounded")["steps"]
    assert [(s["at"][:10], s["changed"], *marks(s)[1:]) for s in steps] == [
        ("2022-01-21", ["status", "range", "positions"], None, None, None),
        ("2022-01-22", ["review"], "proposed", ["bob"], "contested"),
    ]
    shown = reading.current_state(alice.db, "g", at="2022-01-22")["facts"]["wounded"]
    assert steps[1]["ended_by_proposals"] == shown["ended_by_proposals"]
    assert [(e["claim"], e["end"]) for e in steps[1]["ended_by_proposals"]] == [
        ("w2", {"how": "retracted", "by": "y2"})
    ]
    table = words(alice.ok("history", "g", "wounded"))
    assert "tala: 4 withdrawn — proposal y2 by bob awaiting review" in table
    assert "single (proposed by bob; reviewed: contested)" in table
    eve.ok("review", "y2", "--approve")  # a plain withdrawal: nothing changed at 22 Jan
    assert len(alice.json("history", "g", "wounded")["steps"]) == 1


def test_the_diff_table_marks_both_statuses(desk: tuple[Member, Member, Member]) -> None:
    alice, _, _ = desk
    table = words(alice.ok("diff", "g", "--from", "2022-01-23", "--to", "2022-01-25"))
    assert "single (proposed by bob; reviewed: contested)" in table
    assert "corroborated (proposed by bob; reviewed: contested)" in table
    reviewed = alice.ok(
        "diff", "g", "--from", "2022-01-23", "--to", "2022-01-25", "--reviewed-only"
    )
    assert "proposed" not in reviewed


def test_state_json_says_in_its_summary_that_a_proposal_makes_the_status(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, _, _ = desk
    fact = alice.json("state", "g", "--at", "2022-01-25")["facts"]["killed"]
    assert fact["why"]["summary"].endswith(" (proposed by bob; reviewed: contested)")
    reviewed = alice.json("state", "g", "--at", "2022-01-25", "--reviewed-only")
    assert "proposed" not in reviewed["facts"]["killed"]["why"]["summary"]


def test_the_html_report_with_proposals_marks_the_status(
    desk: tuple[Member, Member, Member], tmp_path: Path
) -> None:
    alice, _, _ = desk
    out = tmp_path / "report.html"
    flags = ("export", "--incident", "g", "--format", "html", "--at", "2022-01-25")
    alice.ok(*flags, "--with-proposals", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert "corroborated <em>(proposed by bob; reviewed: contested)</em>" in page
    alice.ok(*flags, "--out", str(out))  # the reviewed view: contested, unmarked
    assert "reviewed: contested" not in out.read_text(encoding="utf-8")


def test_proposed_by_is_a_list_in_every_json(desk: tuple[Member, Member, Member]) -> None:
    alice, _, _ = desk
    state = alice.json("state", "g", "--at", "2022-01-23")["facts"]["killed"]
    assert [e["proposed_by"] for e in state["ended_by_proposals"]] == [["bob"]]
    assert [item["proposed_by"] for item in alice.json("queue")] == [["bob"]]
    assert "proposed by bob)" in alice.ok("queue")


def test_a_hot_history_step_sums_up_the_positions_proposals_ended() -> None:
    """Past a dozen positions a history row sums them up, as ``state``'s table does; the
    positions proposals ended are then counted in a line too, not listed under it."""
    from incident_ledger.cli.time_commands import history_row

    position = {"claimant": "s", "value": 1, "qualifier": "exact", "report": "r"}
    ended = {**position, "end": {"how": "retracted", "by": "x"}, "proposed_by": ["bob"]}
    step: dict[str, Any] = {
        "at": "2022-01-21T00:00:00Z",
        "reports": [],
        "status": "contested",
        "range": None,
        "positions": [dict(position, claimant=f"s{n}") for n in range(13)],
        "ended_by_proposals": [dict(ended, claimant=f"t{n}") for n in range(3)],
        "changes": [],
    }
    cell = str(history_row(step, None, {})[4])
    assert cell.splitlines() == [
        "13 positions (history --json lists them)",
        "3 position(s) ended by proposals awaiting review",
    ]


def test_facts_marks_a_status_only_a_proposal_gives_unless_reviewed_only(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, _, _ = desk
    at = ("--at", "2022-01-25")
    (killed,) = alice.json("facts", "g", *at)["facts"]
    assert marks(killed) == ("corroborated", "proposed", ["bob"], "contested")
    table = words(alice.ok("facts", "g", *at))
    assert "corroborated (proposed by bob; reviewed: contested)" in table, table
    (reviewed,) = alice.json("facts", "g", *at, "--reviewed-only")["facts"]
    assert marks(reviewed) == ("contested", None, None, None)
    table = words(alice.ok("facts", "g", *at, "--reviewed-only"))
    assert "contested" in table and "proposed" not in table, table


def test_facts_and_incidents_count_claims_by_the_desks_rules(
    desk: tuple[Member, Member, Member],
) -> None:
    """A rejected proposal counts nowhere, a waiting one only outside ``--reviewed-only``:
    the counts of ``facts`` and ``incidents`` took every claim entered."""
    alice, bob, eve = desk
    assert bob.append([claim("q1", 9, "n4"), claim("q2", 11, "n4")]).returncode == 0
    eve.ok("review", "q2", "--reject")
    at = ("--at", "2022-01-25")
    (killed,) = alice.json("facts", "g", *at)["facts"]
    assert killed["claims"] == 4  # c0, c2, c4 and q1, waiting
    (killed,) = alice.json("facts", "g", *at, "--reviewed-only")["facts"]
    assert killed["claims"] == 3
    (listed,) = alice.json("incidents")
    assert listed["claims"] == 4
