"""``sources`` counts a reporter's retraction or correction against its source only once
an editor approves it: an unreviewed retraction never reads as the source withdrawing."""

from __future__ import annotations

from typing import Any

from tests.desk_cli import Member
from tests.test_desk_filters import claim, desk

__all__ = ["desk"]  # the fixture, shared


def track(ed: Member, source: str) -> tuple[Any, ...]:
    [row] = [row for row in ed.json("sources") if row["id"] == source]
    return row["claims_made"], row["retracted"], row["corrected"], row["first_to_report"]


def test_a_proposed_end_counts_against_its_source_once_approved(
    desk: tuple[Member, Member],
) -> None:
    ed, rita = desk
    claims = [claim("c1", "killed", 20, "r1"), claim("c2", "esc", 5, "r1")]
    assert ed.append(claims).returncode == 0
    assert track(ed, "s") == (2, 0, 0, 2)
    rita.ok("retract", "--id", "x1", "--claim", "c1", "--report", "r3")
    rita.ok("correct", "--id", "k2", "--claim", "c2", "--incident", "g", "--fact", "esc",
            "--value", "6", "--report", "r3")  # fmt: skip
    assert track(ed, "s") == (2, 0, 0, 2)  # both wait for review
    ed.ok("review", "x1", "--approve")
    assert track(ed, "s") == (2, 1, 0, 2)  # k2 still waits
    ed.ok("review", "k2", "--approve")
    assert track(ed, "s") == (3, 1, 1, 2)  # the kept tally
    rita.ok("retract", "--id", "x2", "--claim", "k2", "--report", "r3")
    ed.ok("erratum", "x1", "--reason", "wrong report")
    assert track(ed, "s") == (3, 0, 1, 2)  # grouped: x1 voided, x2 waiting
