"""A fact's status that only a proposal gives is marked in every output that shows it,
as ``state`` marks it: each step of ``history`` (table and JSON), both columns of the
``diff`` table, ``why.summary``, and the HTML report with proposals; and a position a
proposed end from the claim's own report took away is listed, never silently gone
(read-side: SQLite is enough)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.desk_cli import Member, review_desk

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


def test_proposed_by_is_a_list_in_every_json(desk: tuple[Member, Member, Member]) -> None:
    alice, _, _ = desk
    state = alice.json("state", "g", "--at", "2022-01-23")["facts"]["killed"]
    assert [e["proposed_by"] for e in state["ended_by_proposals"]] == [["bob"]]
    assert [item["proposed_by"] for item in alice.json("queue")] == [["bob"]]
    assert "proposed by bob)" in alice.ok("queue")
