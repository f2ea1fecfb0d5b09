"""A desk's day with review required: a reporter proposes, an editor approves or rejects,
an entry error is fixed by an erratum, a note is attached — each member at their own
terminal (a process of the real command line with their own LEDGER_KEY), on SQLite and
PostgreSQL, each outcome read on state, history, sources and verify."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.chained import cli, whole_log_read
from tests.desk_cli import Member, claim, new_key


def facts(member: Member, *extra: str) -> dict[str, Any]:
    result: dict[str, Any] = member.json("state", "g", "--at", "2022-01-23", *extra)["facts"]
    return result


def test_a_proposal_counts_for_reviewed_views_once_another_editor_approves(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, bob, eve = desk
    done = bob.append([claim("c1", "killed", 7), claim("c2", "wounded", 3)])
    assert done.returncode == 0, done.stderr
    waiting = [item["record"] for item in alice.json("queue")]
    assert waiting == ["claim:c1", "claim:c2"]
    assert sorted(facts(alice)) == ["killed", "wounded"]  # proposals show by default
    assert facts(alice, "--reviewed-only") == {}
    own = bob.run("review", "c1", "--approve")
    assert (own.returncode, own.stderr) == (
        2,
        "error: member 'bob' may not review a proposal: that needs an editor, and bob is a "
        "reporter; ask an editor of the desk (ledger members lists them)\n",
    )
    assert eve.run("review", "c1", "--approve").returncode == 0
    rejected = eve.run("review", "c2", "--reject", "--note", "not in the report")
    assert rejected.returncode == 0, rejected.stderr
    again = eve.run("review", "c1", "--reject")
    assert again.returncode == 2 and re.fullmatch(  # by whom and when, to ask them
        r"error: 'claim:c1' is already approved \(recorded 20\S+Z by eve\)\n", again.stderr
    ), again.stderr
    assert alice.json("queue") == []
    assert sorted(facts(alice, "--reviewed-only")) == ["killed"]
    assert sorted(facts(alice)) == ["killed"]  # a rejected proposal counts nowhere
    history = alice.json("history", "g", "killed")
    assert [entry["words"] for entry in history["desk"]] == ["approved by eve"]
    sources = {s["id"]: s for s in alice.json("sources")}
    assert (sources["sohr"]["retracted"], sources["sohr"]["corrected"]) == (0, 0)
    # init, the review setting, two members, the setup, bob's claims, two reviews
    assert alice.json("verify")["batches"] == 8


def test_an_editor_cannot_review_their_own_proposal_nor_what_was_not_proposed(
    desk: tuple[Member, Member, Member], tmp_path: Path
) -> None:
    alice, bob, eve = desk
    key, public = new_key(tmp_path, "rita")
    alice.ok("member", "add", "rita", "--name", "Rita", "--role", "reporter", "--public-key",
             public)  # fmt: skip
    assert Member(alice.db, key).append([claim("c1", "killed", 7)]).returncode == 0
    assert eve.append([claim("c9", "killed", 9)]).returncode == 0  # an editor's: no proposal
    not_proposed = alice.run("review", "c9", "--approve")
    assert (not_proposed.returncode, not_proposed.stderr) == (
        2,
        "error: 'claim:c9' is not waiting for review\n",
    )
    assert alice.run("review", "c1", "--approve").returncode == 0  # an admin reviews too
    assert bob.run("queue").stdout == "nothing waits for review\n"


def test_an_erratum_ends_an_entry_from_its_recorded_time_and_not_against_the_source(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, _, eve = desk
    assert eve.append([claim("c1", "killed", 70)]).returncode == 0
    before = alice.json("verify")["events"]
    recorded = alice.json("state", "g")["facts"]["killed"]["positions"][0]["recorded_at"]
    fixed = eve.run("erratum", "c1", "--reason", "typo: the report says 7")
    assert fixed.returncode == 0, fixed.stderr
    assert eve.append([claim("c1-fixed", "killed", 7)]).returncode == 0
    assert facts(alice)["killed"]["value"] == {"min": 7, "max": 7}
    as_before = alice.json("state", "g", "--at", "2022-01-23", "--as-recorded", recorded)
    assert as_before["facts"]["killed"]["value"] == {"min": 70, "max": 70}
    twice = alice.run("erratum", "c1", "--reason", "again")
    assert twice.returncode == 2 and re.fullmatch(
        r"error: 'claim:c1' is already recorded as an entry error \(recorded 20\S+Z by eve\)\n",
        twice.stderr,
    ), twice.stderr
    history = alice.json("history", "g", "killed")
    assert [entry["words"] for entry in history["desk"]] == [
        "entry error fixed by eve: typo: the report says 7"
    ]
    sohr = {s["id"]: s for s in alice.json("sources")}["sohr"]
    assert (sohr["retracted"], sohr["corrected"]) == (0, 0)  # an erratum is not a retraction
    assert alice.json("verify")["events"] == before + 2 + 2  # erratum, claim, two signatures


def test_a_reporters_erratum_voids_only_their_own_waiting_proposal(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, bob, eve = desk
    assert eve.append([claim("k5", "wounded", 5)]).returncode == 0
    bobs = [claim("b1", "killed", 7), claim("b2", "killed", 8), claim("b3", "killed", 9)]
    assert bob.append(bobs).returncode == 0
    eve.ok("review", "b1", "--approve")
    eve.ok("review", "b3", "--reject")
    before = alice.json("verify")["events"]
    rule = (
        ", and with review required a reporter's erratum voids only their own proposal "
        "waiting for review; "
    )
    for record, why in (
        ("claim:k5", "it was entered by eve, not proposed by bob"),
        ("claim:b1", "it was approved by eve"),
        ("report:r1", "it is a report, whose erratum voids every record it holds"),
    ):
        refused = bob.run("erratum", record.split(":")[1], "--reason", "I think")
        assert (refused.returncode, refused.stderr) == (
            2,
            f"error: member 'bob' may not record an erratum of '{record}': {why}{rule}ask an "
            "editor of the desk to record it\n",
        )
    refused = bob.run("erratum", "b3", "--reason", "I think")  # rejected: voided already
    assert (refused.returncode, refused.stderr) == (
        2,
        "error: member 'bob' may not record an erratum of 'claim:b3': it was rejected by "
        f"eve{rule}nothing to fix: a rejected record already counts nowhere\n",
    )
    assert alice.json("verify")["events"] == before  # nothing of them was written
    assert sorted(facts(alice, "--reviewed-only")) == ["killed", "wounded"]
    bob.ok("erratum", "b2", "--reason", "typo")  # his own proposal: at once
    assert [p["claim"] for p in facts(alice)["killed"]["positions"]] == ["b1"]
    eve.ok("erratum", "k5", "--reason", "wrong fact")  # an editor's: at once
    assert sorted(facts(alice, "--reviewed-only")) == ["killed"]


def test_a_note_is_shown_and_never_counted(desk: tuple[Member, Member, Member]) -> None:
    alice, bob, eve = desk
    assert eve.append([claim("c1", "killed", 7)]).returncode == 0
    before = facts(alice)
    assert bob.run("note", "c1", "--text", "seen on video").returncode == 0
    assert facts(alice) == before
    history = alice.json("history", "g", "killed")
    assert [entry["words"] for entry in history["desk"]] == ["note by bob: seen on video"]
    missing = bob.run("note", "nope", "--text", "x")
    assert (missing.returncode, missing.stderr) == (1, "error: no record 'nope' in the ledger\n")


def enter_two_dated_claims(bob: Member, eve: Member) -> None:
    """eve's c0 (5 killed, r1) and bob's proposal c1 (7 killed, r2), both of 20 Jan."""
    dated = {"valid_time": "2022-01-20"}
    assert eve.append([claim("c0", "killed", 5) | dated]).returncode == 0
    assert bob.append([claim("c1", "killed", 7, "r2") | dated]).returncode == 0


def test_reviewed_only_timeline_history_and_diff_wait_for_the_approval(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, bob, eve = desk
    enter_two_dated_claims(bob, eve)
    proposed = alice.json("queue")[0]["recorded_at"]

    def timeline(*extra: str) -> list[str]:
        shown = alice.json("timeline", "g", "--at", "2022-01-23", *extra)
        return [entry["claim"] for entry in shown["entries"]]

    def values(*extra: str) -> list[Any]:
        shown = alice.json("history", "g", "killed", *extra)
        return [step["value"] for step in shown["steps"]]

    def changed(*extra: str) -> list[str]:
        shown = alice.json("diff", "g", "--from", "2022-01-21", "--to", "2022-01-23", *extra)
        return [fact["fact"] for fact in shown["facts"]]

    assert (timeline(), timeline("--reviewed-only")) == (["c0", "c1"], ["c0"])
    assert values("--reviewed-only") == [{"min": 5, "max": 5}]
    assert len(values()) == 2
    assert (changed(), changed("--reviewed-only")) == (["killed"], [])
    assert eve.run("review", "c1", "--approve").returncode == 0
    assert timeline("--reviewed-only") == ["c0", "c1"]
    assert values("--reviewed-only") == values()
    assert changed("--reviewed-only") == ["killed"]
    # As recorded before the approval, the proposal still waits.
    assert values("--reviewed-only", "--as-recorded", proposed) == [{"min": 5, "max": 5}]
    # An entry error leaves the timeline too, as it leaves the state.
    assert eve.run("erratum", "c0", "--reason", "wrong report").returncode == 0
    assert timeline() == ["c1"]


def test_exports_leave_out_proposals_by_default_when_review_is_required(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, bob, eve = desk
    assert eve.append([claim("c0", "killed", 5)]).returncode == 0
    assert bob.append([claim("c1", "killed", 7, "r2"), claim("c2", "wounded", 2)]).returncode == 0
    assert eve.run("review", "c2", "--reject").returncode == 0

    def exported(*extra: str) -> tuple[list[str], str]:
        done = alice.run("export", "--format", "csv", "--incident", "g", *extra)
        assert done.returncode == 0, done.stderr
        rows = csv.DictReader(io.StringIO(done.stdout.lstrip("\ufeff")))
        return sorted(row["claim"] for row in rows), done.stderr

    note = (
        "note: review is required: proposals waiting for review are left out "
        "(--with-proposals brings them in); rejected proposals and entry errors are left "
        "out either way\n"
    )
    assert exported() == (["c0"], note)
    assert exported("--reviewed-only") == (["c0"], "")
    assert exported("--with-proposals") == (["c0", "c1"], "")  # a rejection counts nowhere
    page = alice.ok("export", "--format", "html", "--incident", "g", "--with-proposals")
    said = " ".join(page.split())
    assert "The desk's current work: a reporter's proposals still waiting for review" in said
    assert "Entry errors and rejected proposals count nowhere." in said
    assert eve.run("review", "c1", "--approve").returncode == 0
    assert exported() == (  # nothing waits now: the note does not say something is left out
        ["c0", "c1"],
        "note: review is required: the reviewed view (nothing waits for review now); "
        "rejected proposals and entry errors are left out either way\n",
    )
    html = alice.ok("export", "--format", "html", "--incident", "g")
    assert "<code>c1</code>" in html and "<code>c2</code>" not in html
    bundle = alice.run("export", "--format", "jsonl", "--out", "b", "--reviewed-only")
    assert (bundle.returncode, bundle.stderr) == (
        2,
        "error: a JSONL bundle holds the whole log, proposals and reviews alike\n",
    )


def test_the_queue_reads_the_proposals_by_index_not_every_claim(
    desk: tuple[Member, Member, Member],
) -> None:
    from incident_ledger.projections.review_queue import _QUEUE
    from incident_ledger.usecases.workspace import read_model

    alice, bob, eve = desk
    assert eve.append([claim(f"e{i}", "killed", i) for i in range(20)]).returncode == 0
    retract = {"type": "retraction", "id": "x1", "claim": "e1", "report": "r2"}
    assert bob.append([claim("c1", "killed", 7, "r2"), retract]).returncode == 0
    assert [item["record"] for item in alice.json("queue")] == ["claim:c1", "retraction:x1"]
    with read_model(alice.db) as conn:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + _QUEUE)]
    # Nothing is scanned: the proposed batches are found by an index (most batches are
    # not proposed), and their records by position.
    assert [step for step in plan if step.startswith("SCAN")] == [], plan
    batches = "SEARCH b USING INDEX idx_batches_proposed_first (proposed=?)"
    assert plan.count(batches) == 3, plan
    by_position = ("SEARCH x USING INDEX idx_", "SEARCH x USING INTEGER PRIMARY KEY")
    assert sum(step.startswith(by_position) for step in plan) == 3, plan


def test_history_diff_timeline_and_exports_say_who_recorded_each_claim(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, bob, eve = desk
    enter_two_dated_claims(bob, eve)
    by = {"c0": "eve", "c1": "bob"}
    shown = alice.json("timeline", "g", "--at", "2022-01-23")
    assert {entry["claim"]: entry["recorded_by"] for entry in shown["entries"]} == by
    assert alice.json("history", "g", "killed")["recorded_by"] == by
    changed = alice.json("diff", "g", "--from", "2022-01-21", "--to", "2022-01-23")
    assert changed["recorded_by"] == by
    done = alice.run("export", "--format", "csv", "--incident", "g", "--with-proposals")
    rows = csv.DictReader(io.StringIO(done.stdout.lstrip("\ufeff")))
    assert {row["claim"]: row["recorded_by"] for row in rows} == by


def test_two_members_racing_to_end_a_claim_one_wins_in_separate_processes(
    desk: tuple[Member, Member, Member],
) -> None:
    """eve corrects and alice retracts the same claim, each from a process of their own,
    at once: whichever the store takes first wins, the other is told who won and writes
    nothing; state, history, sources and verify all say the same."""
    alice, _, eve = desk
    assert eve.append([claim("c1", "killed", 7)]).returncode == 0
    correcting = eve.start(
        "correct", "--id", "k1", "--claim", "c1", "--incident", "g", "--fact", "killed",
        "--value", "9", "--report", "r2",
    )  # fmt: skip
    retracting = alice.start("retract", "--id", "x1", "--claim", "c1", "--report", "r2")
    (k_code, _, k_err), (x_code, _, x_err) = correcting.wait(), retracting.wait()
    # The loser is bad input (2) when the winner's end was in the ledger as it began, a
    # lost race (1) when the winner committed while it waited for the store: the two
    # processes may or may not overlap there. Either way it names the winner.
    assert sorted((k_code, x_code)) in ([0, 1], [0, 2]), (k_err, x_err)
    corrected = k_code == 0
    lost = x_err if corrected else k_err
    winner = "corrected by 'k1'" if corrected else "retracted by 'x1'"
    assert lost.startswith("error: ") and winner in lost, lost
    assert lost.count("\n") == 1
    killed = alice.json("state", "g", "--at", "2022-01-23")["facts"]["killed"]
    expected = ("single", {"min": 9, "max": 9}) if corrected else ("withdrawn", None)
    assert (killed["status"], killed["value"]) == expected
    last = alice.json("history", "g", "killed")["steps"][-1]
    assert (last["status"], last["value"]) == expected
    sohr = {s["id"]: s for s in alice.json("sources")}["sohr"]
    assert (sohr["corrected"], sohr["retracted"]) == ((1, 0) if corrected else (0, 1))
    verified = alice.json("verify")
    assert verified["batches"] == 7  # init, setting, two members, setup, the claim, the winner
    loser = ("retraction", "x1") if corrected else ("claim", "k1")
    assert alice.run("prove", "inclusion", f"{loser[0]}:{loser[1]}").returncode == 1


def test_an_incident_bundle_finds_its_desk_entries_in_the_read_model(
    desk: tuple[Member, Member, Member], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, eve = desk
    assert bob.append([claim("c1", "killed", 7), claim("c2", "wounded", 3)]).returncode == 0
    eve.ok("review", "c1", "--approve")
    eve.ok("review", "c2", "--reject")
    ended = [
        {"type": "retraction", "id": "x1", "claim": "c1", "report": "r2", "reason": "misread"},
        {"type": "assessment", "id": "a1", "claim": "c1", "verdict": "mixed", "by": "Desk",
         "published_at": "2022-01-26", "url": "https://desk.example/a1"},
    ]  # fmt: skip
    assert alice.append(ended).returncode == 0
    for record in ("incident:g", "claim:c1", "retraction:x1", "assessment:a1", "report:r1"):
        alice.ok("note", record, "--text", "checked")
    alice.ok("erratum", "retraction:x1", "--reason", "wrong report")
    alice.ok("erratum", "assessment:a1", "--reason", "wrong claim")
    walks = whole_log_read(monkeypatch)
    code, out = cli(alice.db, "export", "--format", "jsonl", "--incident", "g",
                    "--out", str(tmp_path / "g"))  # fmt: skip
    assert (code, walks) == (0, []), out  # every event of the incident was placed
    code, out = cli(None, "verify", "--export", str(tmp_path / "g"))
    # the incident, 2 claims and the kinds of their facts, 2 reviews, the retraction (and
    # the claim's end), the assessment, 4 notes, 2 errata; the report's note concerns none
    assert (code, out.split("; ")[-1]) == (0, "complete: all 16 events of incident g\n")


def test_a_proposed_end_blocks_another_until_it_is_rejected(
    desk: tuple[Member, Member, Member],
) -> None:
    """A reporter's retraction waiting for review holds its claim: another end is bad
    input naming the proposal; once an editor rejects it, the claim is ended again."""
    alice, bob, eve = desk
    assert alice.append([claim("c1", "killed", 7)]).returncode == 0
    bob.ok("retract", "--id", "x1", "--claim", "c1", "--report", "r2")
    correct = ("correct", "--id", "k1", "--claim", "c1", "--incident", "g", "--fact",
               "killed", "--value", "9", "--report", "r2")  # fmt: skip
    refused = alice.run(*correct)
    assert refused.returncode == 2
    assert refused.stderr.startswith(
        "error: input: claim: claim 'c1' has a proposed retraction 'x1' (recorded "
    ), refused.stderr
    assert refused.stderr.endswith(
        " by bob) waiting for review: it is ended again only if an editor rejects it\n"
    )
    eve.ok("review", "x1", "--reject")
    alice.ok(*correct)
    assert [p["claim"] for p in facts(alice)["killed"]["positions"]] == ["k1"]
    again = alice.run("retract", "--id", "x2", "--claim", "c1", "--report", "r2")
    assert again.returncode == 2
    assert again.stderr.startswith("error: input: claim: claim 'c1' was corrected by 'k1' ")
