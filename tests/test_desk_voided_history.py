"""``history`` of a fact none of whose claims counts says why rather than print an empty
table: every claim voided (by whose erratum or rejection, when, why), or, in the
reviewed view, only proposals waiting."""

from __future__ import annotations

import re

from tests.desk_cli import Member
from tests.test_desk_proposed_ends import claim, desk

__all__ = ["desk"]  # the fixture, shared


def test_history_says_why_no_claim_of_a_fact_counts(desk: tuple[Member, Member, Member]) -> None:
    alice, bob, eve = desk
    wounded = {**claim("w1", 3, "t2"), "fact": "wounded"}
    assert bob.append([wounded]).returncode == 0
    waiting = alice.run("history", "g", "wounded", "--reviewed-only")
    assert (waiting.returncode, waiting.stdout, waiting.stderr) == (
        1,
        "",
        "error: no claim of 'wounded' in incident 'g' counts in the reviewed view: "
        "1 proposal(s) wait for review\n",
    )
    before = alice.json("queue")[-1]["recorded_at"]
    eve.ok("erratum", "g", "--reason", "not one incident")
    for args in ((), ("--json",), ("--reviewed-only",)):
        done = alice.run("history", "g", "killed", *args)
        assert (done.returncode, done.stdout) == (1, "")
        assert re.fullmatch(
            r"error: every claim of 'killed' in incident 'g' was voided: incident:g entered "
            r"in error \(recorded 20\S+Z by eve: not one incident\)\n",
            done.stderr,
        ), done.stderr
    as_before = alice.json("history", "g", "killed", "--as-recorded", before)
    assert len(as_before["steps"]) == 3
