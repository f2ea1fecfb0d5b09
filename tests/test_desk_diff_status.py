"""``diff`` marks a fact's status that only a proposal gives as ``state`` does, on both
sides and on the status change, even when the change itself came from an approved claim
(read-side: SQLite is enough)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.desk_cli import review_desk

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


def claim(claim_id: str, value: int, report: str) -> dict[str, Any]:
    return {"type": "claim", "id": claim_id, "incident": "g", "fact": "killed", "value": value,
            "report": report}  # fmt: skip


def marks(fact: dict[str, Any] | None) -> tuple[Any, ...]:
    assert fact is not None
    return (
        fact["status"],
        fact.get("status_review"),
        fact.get("status_proposed_by"),
        fact.get("reviewed_status"),
    )


def test_diff_marks_a_status_only_a_proposal_gives(tmp_path: Path) -> None:
    alice, bob, eve = review_desk(tmp_path)
    assert alice.append(SETUP).returncode == 0
    assert eve.append([claim("c0", 5, "r1"), claim("c2", 7, "t1")]).returncode == 0
    bob.ok("retract", "--id", "x2", "--claim", "c2", "--report", "t2")
    assert eve.append([claim("c4", 5, "n4")]).returncode == 0
    state = alice.json("state", "g", "--at", "2022-01-25")["facts"]["killed"]
    assert marks(state) == ("corroborated", "proposed", ["bob"], "contested")
    [killed] = alice.json("diff", "g", "--from", "2022-01-23", "--to", "2022-01-25")["facts"]
    assert marks(killed["before"]) == ("single", "proposed", ["bob"], "contested")
    assert marks(killed["after"]) == ("corroborated", "proposed", ["bob"], "contested")
    [status] = [c for c in killed["changes"] if c["change"] == "status"]
    assert (status.get("review"), status.get("proposed_by")) == ("proposed", ["bob"])
    [nour] = [c for c in killed["changes"] if c.get("claimant") == "nour"]
    assert "review" not in nour  # eve's claim: not a proposal
    reviewed = alice.json("diff", "g", "--from", "2022-01-23", "--to", "2022-01-25",
                          "--reviewed-only")  # fmt: skip
    assert "status_review" not in str(reviewed)
    eve.ok("review", "x2", "--approve")
    [killed] = alice.json("diff", "g", "--from", "2022-01-23", "--to", "2022-01-25")["facts"]
    assert marks(killed["after"]) == ("corroborated", None, None, None)
