"""A change that exists only because of a proposal is marked wherever it is shown: the
changes of ``history`` and ``diff`` (tables and JSON) and, in ``state``, the positions
a proposed retraction or correction ended, which are listed under their fact rather
than dropped. The reviewed view ignores the proposal (read-side: SQLite is enough)."""

from __future__ import annotations

import re
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
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
    {"type": "report", "id": "t1", "source": "tala", "published_at": "2022-01-21"},
    {"type": "report", "id": "t2", "source": "tala", "published_at": "2022-01-22"},
    {"type": "report", "id": "r3", "source": "sohr", "published_at": "2022-01-23"},
]


def claim(claim_id: str, value: int, report: str) -> dict[str, Any]:
    return {"type": "claim", "id": claim_id, "incident": "g", "fact": "killed", "value": value,
            "report": report}  # fmt: skip


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Member, Member, Member]:
    """alice (admin), bob (reporter) and eve (editor), review required; eve's c0 (sohr 5)
    and c2 (tala 7); bob proposes x2, tala's withdrawal of c2 (t2), and k0, sohr's
    correction of c0 to 6 (r3)."""
    monkeypatch.setenv("COLUMNS", "200")
    alice, bob, eve = review_desk(tmp_path)
    assert alice.append(SETUP).returncode == 0
    assert eve.append([claim("c0", 5, "r1"), claim("c2", 7, "t1")]).returncode == 0
    bob.ok("retract", "--id", "x2", "--claim", "c2", "--report", "t2")
    bob.ok("correct", "--id", "k0", "--claim", "c0", "--incident", "g", "--fact", "killed",
           "--value", "6", "--report", "r3")  # fmt: skip
    return alice, bob, eve


def changes(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (c["change"], c.get("claimant"), c.get("review"), c.get("proposed_by"))
        for step in result["steps"]
        for c in step["changes"]
        if c["change"] not in ("status", "range")
    ]


def test_history_and_diff_mark_what_a_proposal_changed(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, _, eve = desk
    history = reading.fact_history(alice.db, "g", "killed")
    assert changes(dict(history)) == [
        ("joined", "sohr", None, None),
        ("joined", "tala", None, None),
        ("withdrawn", "tala", "proposed", ["bob"]),
        ("revised", "sohr", "proposed", ["bob"]),
    ]
    status = [c for c in history["steps"][1]["changes"] if c["change"] == "status"]
    assert status and all(c["review"] == "proposed" for c in status)
    table = words(alice.ok("history", "g", "killed"))
    assert "tala withdrawn (was 7), proposed by bob" in table
    assert "sohr revised: 5 → 6, proposed by bob" in table
    assert "tala joined: 7 status contested (7 (tala) vs 5 (sohr)) range 5–7 22 Jan" in table
    via_cli = alice.json("history", "g", "killed")
    assert changes(via_cli) == [(a, b, c, d) for a, b, c, d in changes(dict(history))]
    reviewed = alice.json("history", "g", "killed", "--reviewed-only")
    assert changes(reviewed) == [("joined", "sohr", None, None), ("joined", "tala", None, None)]
    span = ("--from", "2022-01-21", "--to", "2022-01-23")
    diff = alice.json("diff", "g", *span)
    (killed,) = diff["facts"]
    assert [(c["change"], c.get("claimant"), c.get("review"), c.get("proposed_by"))
            for c in killed["changes"]] == [
        ("revised", "sohr", "proposed", ["bob"]),
        ("withdrawn", "tala", "proposed", ["bob"]),
        ("status", None, "proposed", ["bob"]),
        ("range", None, "proposed", ["bob"]),
    ]  # fmt: skip
    table = words(alice.ok("diff", "g", *span))
    assert "tala withdrawn (was 7), proposed by bob" in table
    assert "withdrawn" not in words(alice.ok("diff", "g", *span, "--reviewed-only"))
    eve.ok("review", "x2", "--approve")
    eve.ok("review", "k0", "--approve")
    assert "proposed" not in alice.ok("history", "g", "killed")
    assert changes(alice.json("history", "g", "killed"))[2] == ("withdrawn", "tala", None, None)


def test_state_lists_a_position_a_proposal_ended(desk: tuple[Member, Member, Member]) -> None:
    alice, _, eve = desk
    at = ("--at", "2022-01-23")
    fact = reading.current_state(alice.db, "g", at="2022-01-23")["facts"]["killed"]
    assert [(p["claim"], p.get("review")) for p in fact["positions"]] == [("k0", "proposed")]
    ended = [
        (e["claimant"], e["claim"], e["value"], e["end"], e["review"], e["proposed_by"])
        for e in fact["ended_by_proposals"]
    ]
    assert ended == [
        ("sohr", "c0", 5, {"how": "corrected", "by": "k0"}, "proposed", ["bob"]),
        ("tala", "c2", 7, {"how": "retracted", "by": "x2"}, "proposed", ["bob"]),
    ]
    shown = alice.json("state", "g", *at)["facts"]["killed"]
    assert shown["ended_by_proposals"] == fact["ended_by_proposals"]
    table = words(alice.ok("state", "g", *at))
    assert "tala: 7 withdrawn — proposal x2 by bob awaiting review" in table
    assert "sohr: 5 corrected — proposal k0 by bob awaiting review" in table
    reviewed = alice.json("state", "g", *at, "--reviewed-only")["facts"]["killed"]
    assert "ended_by_proposals" not in reviewed
    assert sorted((p["claim"], p["value"]) for p in reviewed["positions"]) == [
        ("c0", 5),
        ("c2", 7),
    ]
    assert "proposal" not in alice.ok("state", "g", *at, "--reviewed-only")
    eve.ok("review", "x2", "--approve")
    after = alice.json("state", "g", *at)["facts"]["killed"]["ended_by_proposals"]
    assert [e["claim"] for e in after] == ["c0"]
    eve.ok("review", "k0", "--reject")
    assert "ended_by_proposals" not in alice.json("state", "g", *at)["facts"]["killed"]
    assert not re.search(r"proposal", alice.ok("state", "g", *at))


def test_the_datasette_incident_page_marks_proposals(desk: tuple[Member, Member, Member]) -> None:
    from tests.test_web_pages import get, serving

    alice, bob, _ = desk
    with serving(alice.db) as base:  # tala's 7 withdrawn only by bob's proposal x2
        status, page = get(f"{base}/ledger/-/incident/g?at=2022-01-22")
    assert status == 200
    marked = '<em class="proposed">(proposed by bob; reviewed: contested)</em>'
    assert f'<td class="status-single">single {marked}</td>' in page
    dated = {**claim("p1", 9, "t2"), "valid_time": "2022-01-20"}  # tala's toll, proposed
    assert bob.append([dated]).returncode == 0
    with serving(alice.db) as base:
        status, page = get(f"{base}/ledger/-/incident/g?at=2022-01-23")
    assert status == 200
    assert "reviewed:" not in page  # contested either way
    answer = page.split('<div id="answer">')[1].split("</div>")[0]
    assert 'SOHR</bdi>: 6 (r3, <em class="proposed">proposed</em>)' in answer
    assert 'Tala</bdi>: 9 (t2, <em class="proposed">proposed</em>)' in answer
    assert "sohr: 5 corrected — proposal k0 by bob awaiting review" in answer
    timeline = page.split("<h2>Timeline</h2>")[1].split("<h2>")[0]
    rows = re.findall(r"<tr><td>.*?</tr>", timeline, flags=re.S)
    assert len(rows) == 1 and "<td>t2</td>" in rows[0]
    assert '<td class="recorded-by">bob, <em class="proposed">proposed</em></td>' in rows[0]


def test_the_timeline_marks_an_undated_proposal(desk: tuple[Member, Member, Member]) -> None:
    alice, bob, eve = desk
    assert bob.append([claim("p1", 9, "t2")]).returncode == 0
    at = ("--at", "2022-01-23")
    undated = alice.json("timeline", "g", *at)["undated"]
    assert undated == {"count": 2, "claims": ["p1", "k0"], "proposed": ["p1", "k0"]}
    assert "2 undated claim(s) left out (2 proposed)" in alice.ok("timeline", "g", *at)
    assert "proposed" not in alice.json("timeline", "g", *at, "--reviewed-only")["undated"]
    eve.ok("review", "p1", "--approve")
    assert alice.json("timeline", "g", *at)["undated"]["proposed"] == ["k0"]


def test_state_marks_a_status_only_a_proposal_made(desk: tuple[Member, Member, Member]) -> None:
    """Tala's 7 withdrawn only by bob's proposal x2: the fact reads ``single`` in the
    default view, ``contested`` in the reviewed one; the status says so."""
    alice, _, eve = desk
    at = ("--at", "2022-01-22")
    fact = reading.current_state(alice.db, "g", at="2022-01-22")["facts"]["killed"]
    assert (fact["status"], fact.get("status_review"), fact.get("status_proposed_by")) == (
        "single",
        "proposed",
        ["bob"],
    )
    assert fact.get("reviewed_status") == "contested"
    shown = alice.json("state", "g", *at)["facts"]["killed"]
    assert {key: shown.get(key) for key in ("status", "status_review", "reviewed_status")} == {
        "status": "single",
        "status_review": "proposed",
        "reviewed_status": "contested",
    }
    assert "single (proposed by bob; reviewed: contested)" in words(alice.ok("state", "g", *at))
    reviewed = alice.json("state", "g", *at, "--reviewed-only")["facts"]["killed"]
    assert reviewed["status"] == "contested" and "status_review" not in reviewed
    assert "proposed" not in alice.ok("state", "g", *at, "--reviewed-only")
    later = alice.json("state", "g", "--at", "2022-01-23")["facts"]["killed"]  # k0 too
    assert (later["status"], later["status_proposed_by"]) == ("single", ["bob"])
    eve.ok("review", "x2", "--approve")
    approved = alice.json("state", "g", *at)["facts"]["killed"]
    assert approved["status"] == "single" and "status_review" not in approved
    assert "proposed" not in alice.ok("state", "g", *at)


def test_the_canned_queries_mark_proposals_and_leave_out_what_the_desk_voided(
    desk: tuple[Member, Member, Member],
) -> None:
    """The Datasette canned queries answer as the ledger stands now: a proposal counts,
    marked ``proposed by bob`` (``review``; ``end_review`` for an end), with the ends in
    force that are proposals beside each fact; a rejected or voided record counts nowhere."""
    from incident_ledger.usecases.workspace import read_model
    from tests.test_datasette import python_state, run_query, sql_state

    alice, _, eve = desk
    both = "tala: c2 withdrawn by x2, proposed by bob; sohr: c0 corrected by k0, proposed by bob"

    def ask(name: str, **params: str) -> list[dict[str, Any]]:
        with read_model(alice.db) as conn:
            if name == "state_at":
                assert sql_state(conn, "g", params["at"]) == python_state(conn, "g", params["at"])
            return run_query(conn, name, **params)

    rows = ask("state_at", incident="g", at="2022-01-23")
    marked = "single (proposed by bob; reviewed: contested)"
    assert [(r["status"], r["claim"], r["review"], r["proposed_ends"]) for r in rows] == [
        (marked, "k0", "proposed by bob", both)
    ]
    # bob's proposed ends alone undo the contest: it stays listed, marked
    [hidden] = ask("contested_facts", incident="g", at="2022-01-23")
    assert (hidden["fact"], hidden["status"], hidden["claims"]) == ("killed", marked, "k0")
    [contested] = ask("contested_facts", incident="g", at="2022-01-21")
    assert (contested["status"], contested["proposals"], contested["proposed_ends"]) == (
        "contested",
        None,
        None,
    )
    history = ask("fact_history", incident="g", fact="killed")
    assert [(r["claim"], r["review"], r["ended_by"], r["end_review"]) for r in history] == [
        ("c0", None, "k0", "proposed by bob"),
        ("c2", None, "x2", "proposed by bob"),
        ("k0", "proposed by bob", None, None),
    ]
    eve.ok("review", "x2", "--reject")
    rows = ask("state_at", incident="g", at="2022-01-23")
    assert [(r["status"], r["claim"], r["review"]) for r in rows] == [
        ("contested", "c2", None),
        ("contested", "k0", "proposed by bob"),
    ]
    [contested] = ask("contested_facts", incident="g", at="2022-01-23")
    assert contested["status"] == "contested"  # contested in the reviewed view too
    assert (contested["claims"], contested["proposals"], contested["proposed_ends"]) == (
        "c2 k0",
        "k0 proposed by bob",
        "sohr: c0 corrected by k0, proposed by bob",
    )
    [c2] = ask("claims_by_source", source="tala")
    assert (c2["status"], c2["ended_by"], c2["end_review"]) == ("active", None, None)
    eve.ok("erratum", "k0", "--reason", "wrong report")
    rows = ask("state_at", incident="g", at="2022-01-23")
    assert [(r["claim"], r["review"], r["proposed_ends"]) for r in rows] == [
        ("c0", None, None),
        ("c2", None, None),
    ]
    sohr = {r["claim"]: r for r in ask("claims_by_source", source="sohr")}
    assert (sohr["k0"]["review"], sohr["c0"]["status"], sohr["c0"]["ended_by"]) == (
        "voided",
        "active",
        None,
    )
    assert sohr["k0"]["status"] == "voided"  # never counted by status = 'active'
    [x2] = [r for r in ask("claims_by_source", source="tala") if r["claim"] == "c2"]
    assert x2["status"] == "active"  # the rejected end x2 ends nothing


def test_the_canned_queries_mark_a_status_only_proposals_give(
    desk: tuple[Member, Member, Member],
) -> None:
    """A contest only bob's unreviewed claim makes, and a fact only his proposals hold,
    read in the canned queries as in ``state``: ``contested (proposed by bob; reviewed:
    single)``; approved, the same status is plain."""
    from incident_ledger.usecases.workspace import read_model
    from tests.test_datasette import python_state, run_query, sql_state

    alice, bob, eve = desk
    eve.ok("review", "x2", "--approve")  # tala's 7 withdrawn: sohr's 5 alone, reviewed
    escaped = {**claim("p2", 3, "t2"), "fact": "escaped"}
    assert bob.append([claim("p1", 9, "t2"), escaped]).returncode == 0

    def ask(name: str, at: str) -> list[dict[str, Any]]:
        with read_model(alice.db) as conn:
            if name == "state_at":
                assert sql_state(conn, "g", at) == python_state(conn, "g", at)
            return run_query(conn, name, incident="g", at=at)

    statuses = {(r["fact"], r["status"]) for r in ask("state_at", "2022-01-22")}
    assert statuses == {
        ("escaped", "single (proposed by bob; reviewed: no claim counts)"),
        ("killed", "contested (proposed by bob; reviewed: single)"),
    }
    [contested] = ask("contested_facts", "2022-01-22")
    assert (contested["fact"], contested["status"], contested["proposals"]) == (
        "killed",
        "contested (proposed by bob; reviewed: single)",
        "p1 proposed by bob",
    )
    shown = words(alice.ok("state", "g", "--at", "2022-01-22"))
    assert "contested (proposed by bob; reviewed: single)" in shown
    eve.ok("review", "p1", "--approve")
    eve.ok("review", "p2", "--approve")
    assert {(r["fact"], r["status"]) for r in ask("state_at", "2022-01-22")} == {
        ("escaped", "single"),
        ("killed", "contested"),
    }
    assert [r["status"] for r in ask("contested_facts", "2022-01-22")] == ["contested"]
