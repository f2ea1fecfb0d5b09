"""The Datasette canned queries give a claim the desk voided or rejected that status, so
that a filter on ``status = 'active'`` never counts it."""

from __future__ import annotations

from tests.desk_cli import Member
from tests.test_desk_filters import claim, desk

__all__ = ["desk"]  # the fixture, shared


def test_claims_by_source_says_voided_and_rejected(desk: tuple[Member, Member]) -> None:
    from incident_ledger.usecases.workspace import read_model
    from tests.test_datasette import run_query

    ed, rita = desk
    assert ed.append([claim("c1", "killed", 20, "r1"), claim("c2", "esc", 5, "r1")]).returncode == 0
    assert (
        rita.append([claim("p1", "killed", 7, "r3"), claim("p2", "esc", 6, "r3")]).returncode == 0
    )
    ed.ok("erratum", "c2", "--reason", "typo")
    ed.ok("review", "p1", "--reject", "--note", "not in the report")
    with read_model(ed.db) as conn:
        rows = run_query(conn, "claims_by_source", source="s")
    assert {row["claim"]: (row["status"], row["review"]) for row in rows} == {
        "c1": ("active", None),
        "c2": ("voided", "voided"),
        "p1": ("rejected", "rejected"),
        "p2": ("active", "proposed by rita"),
    }
