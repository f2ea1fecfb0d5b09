"""Every view says who recorded what, and marks what is still a proposal: the history and
diff tables, the HTML report and the PROV export, and the JSON and tables of state,
timeline and history (a read-side concern: SQLite is enough)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.desk_cli import Member, review_desk

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran", "timezone": "UTC"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
    {"type": "report", "id": "r2", "source": "sohr", "published_at": "2022-01-22"},
]


def claim(claim_id: str, value: int, report: str) -> dict[str, Any]:
    return {"type": "claim", "id": claim_id, "incident": "g", "fact": "killed", "value": value,
            "report": report, "valid_time": "2022-01-20"}  # fmt: skip


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Member, Member, Member]:
    """alice (admin), bob (reporter: proposes) and eve (editor), review required; eve's
    c0 (r1), then bob's proposals c1 (r2) and x0, retracting c0 (r2). Tables as wide
    as they need: no cell wrapped."""
    monkeypatch.setenv("COLUMNS", "200")
    alice, bob, eve = review_desk(tmp_path)
    assert alice.append(SETUP).returncode == 0
    assert eve.append([claim("c0", 5, "r1")]).returncode == 0
    retraction = {"type": "retraction", "id": "x0", "claim": "c0", "report": "r2"}
    assert bob.append([claim("c1", 7, "r2"), retraction]).returncode == 0
    return alice, bob, eve


def words(text: str) -> str:
    """The text with its table rules and runs of blanks made one space."""
    return " ".join(re.sub(r"[│┃┆╎|─━┼╇╈╋┡┩┏┓┗┛└┘┌┐├┤┬┴]", " ", text).split())


def test_the_history_and_diff_tables_say_who_recorded_each_claim_and_retraction(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, _, _ = desk
    history = words(alice.ok("history", "g", "killed"))
    assert "sohr: 5 (r1, by eve)" in history
    assert "sohr: 7 (r2, by bob" in history  # (a proposal: ", proposed)")
    diff = alice.ok("diff", "g", "--from", "2022-01-20", "--to", "2022-01-23")
    new_claims, retractions = diff.split("new claims")[1].split("retractions")
    assert re.search(r"c0\s.*\n.*by eve", new_claims) and re.search(r"c1\s.*\n.*by bob", new_claims)
    assert re.search(r"c0\s.*\n.*by bob", retractions), retractions
    shown = alice.json("diff", "g", "--from", "2022-01-20", "--to", "2022-01-23")
    assert [(x["id"], x["recorded_by"]) for x in shown["retractions"]] == [("x0", "bob")]


def test_the_html_report_says_who_recorded_each_claim_note_and_erratum(
    desk: tuple[Member, Member, Member], tmp_path: Path
) -> None:
    alice, _, _ = desk
    page = tmp_path / "g.html"
    alice.ok("export", "--incident", "g", "--format", "html", "--with-proposals", "--out",
             str(page))  # fmt: skip
    appendix = page.read_text().split("Appendix: every claim")[1]
    assert "<th>Recorded by</th>" in appendix
    rows = re.findall(r"<tr class=\"claim-[^\"]*\">(.*?)</tr>", appendix, flags=re.S)
    last = r"<td><bdi>([^<]*)</bdi></td>\s*(?:<td class=\"leaf\">|$)"  # before the leaf
    by = {re.findall(r"<code>(\w+)</code>", row)[0]: re.findall(last, row) for row in rows}
    assert by == {"c0": ["eve"], "c1": ["bob"]}, by
    _, bob, eve = desk
    bob.ok("note", "c1", "--text", "seen on <video>")
    eve.ok("erratum", "c0", "--reason", "typo")
    alice.ok("export", "--incident", "g", "--format", "html", "--with-proposals", "--out",
             str(page))  # fmt: skip
    desk_section = page.read_text().split("The desk's notes, reviews and entry errors")[1]
    listed = re.findall(r"<li><code>([^<]*)</code>: <bdi>([^<]*)</bdi>", desk_section)
    assert listed == [
        ("claim:c1", "note by bob: seen on &lt;video&gt;"),
        ("claim:c0", "entry error fixed by eve: typo"),
    ]


def test_the_html_report_shows_notes_on_the_incident_its_reports_and_sources(
    desk: tuple[Member, Member, Member], tmp_path: Path
) -> None:
    alice, bob, _ = desk
    bob.ok("note", "report:r1", "--text", "paywalled")
    bob.ok("note", "sohr", "--text", "counts bodies")
    alice.ok("note", "g", "--text", "two attacks?")
    page = tmp_path / "g.html"
    alice.ok("export", "--incident", "g", "--format", "html", "--out", str(page))
    desk_section = page.read_text().split("The desk's notes, reviews and entry errors")[1]
    listed = re.findall(r"<li><code>([^<]*)</code>: <bdi>([^<]*)</bdi>", desk_section)
    assert listed == [
        ("report:r1", "note by bob: paywalled"),
        ("source:sohr", "note by bob: counts bodies"),
        ("incident:g", "note by alice: two attacks?"),
    ]


def test_prov_attributes_each_record_to_the_member_who_recorded_it(
    desk: tuple[Member, Member, Member],
) -> None:
    import prov.model as pm

    from tests.test_exports import prov_problems

    alice, _, _ = desk
    text = alice.ok("export", "--incident", "g", "--format", "prov", "--with-proposals")
    document = pm.ProvDocument.deserialize(content=text, format="json")
    assert prov_problems(document) == []
    recorded = {
        (str(r.get_attribute("prov:entity").pop()), str(r.get_attribute("prov:agent").pop()))
        for r in document.get_records(pm.ProvAttribution)
        if pm.PROV_TYPE in {k for k, _ in r.attributes}
    }
    members = {record: member.split("member-")[1] for record, member in recorded}
    assert {k.split(":")[1]: v for k, v in members.items()} == {
        "incident-g": "alice",
        "report-r1": "alice",
        "report-r2": "alice",
        "claim-c0": "eve",
        "claim-c1": "bob",
    }
    roles = {
        str(r.get_attribute("prov:agent").pop()): r.get_attribute("prov:role")
        for r in document.get_records(pm.ProvAssociation)
        if "retraction-x0" in str(r.get_attribute("prov:activity"))
    }
    assert any(agent.endswith("member-bob") for agent in roles), roles
    agents = {str(a.identifier).split(":")[1] for a in document.get_records(pm.ProvAgent)}
    assert {"member-alice", "member-bob", "member-eve"} <= agents


def test_a_proposal_is_marked_in_state_timeline_history_and_diff_until_approved(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, _, eve = desk
    at = ("--at", "2022-01-23")

    span = ("--from", "2022-01-20", "--to", "2022-01-23")

    def marks() -> tuple[list[Any], list[Any], list[Any], list[Any]]:
        state = alice.json("state", "g", *at)["facts"]["killed"]["positions"]
        timeline = alice.json("timeline", "g", *at)["entries"]
        steps = alice.json("history", "g", "killed", "--all-positions")["steps"]
        diff = alice.json("diff", "g", *span)
        return (
            [(p["claim"], p.get("review")) for p in state],
            [(e["claim"], e.get("review")) for e in timeline],
            [[(p["claim"], p.get("review")) for p in step["positions"]] for step in steps],
            [(c["claim"], c.get("review")) for c in diff["new_claims"]]
            + [(x["id"], x.get("review")) for x in diff["retractions"]]
            + [(p["claim"], p.get("review")) for p in diff["facts"][0]["after"]["positions"]],
        )

    proposed = [("c1", "proposed")]
    in_diff = [("c0", None), ("c1", "proposed"), ("x0", "proposed"), ("c1", "proposed")]
    assert marks() == (proposed, proposed, [[("c0", None)], proposed], in_diff)
    listed = alice.ok("diff", "g", *span).split("new claims")[1]
    assert re.search(r"c1\s.*\n.*by bob, proposed", listed), listed
    assert "sohr: 7 (22 Jan 2022, r2, proposed)" in words(alice.ok("state", "g", *at))
    timeline = alice.ok("timeline", "g", *at)
    assert "recorded by bob, proposed" in timeline
    assert "1 claim(s) excluded as retracted or corrected (1 by a proposal not yet reviewed)" in (
        timeline
    )
    ends = alice.json("timeline", "g", *at)["excluded_inactive"]
    assert [(end["claim"], end["by"], end.get("end_review")) for end in ends] == [
        ("c0", "x0", "proposed")
    ]
    assert "sohr: 7 (r2, by bob, proposed)" in words(alice.ok("history", "g", "killed"))
    before = alice.json("queue")[-1]["recorded_at"]
    eve.ok("review", "c1", "--approve")
    eve.ok("review", "x0", "--approve")
    approved = [("c0", None), ("c1", None), ("x0", None), ("c1", None)]
    assert marks() == (
        [("c1", None)],
        [("c1", None)],
        [[("c0", None)], [("c1", None)]],
        approved,
    )
    assert "proposed" not in alice.ok("state", "g", *at)
    assert "proposal" not in alice.ok("timeline", "g", *at)
    as_before = alice.json("state", "g", *at, "--as-recorded", before)["facts"]["killed"]
    assert [p.get("review") for p in as_before["positions"]] == ["proposed"]


def test_a_total_a_proposal_put_lower_is_marked_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob's proposed 20 after eve's 30 read "sohr lowered its total" as if it stood."""
    monkeypatch.setenv("COLUMNS", "200")
    alice, bob, eve = review_desk(tmp_path)
    fact = {"type": "fact", "incident": "g", "key": "killed", "kind": "count", "cumulative": True}
    assert alice.append([*SETUP, fact]).returncode == 0
    assert eve.append([claim("c0", 30, "r1")]).returncode == 0
    assert bob.append([claim("c1", 20, "r2")]).returncode == 0
    (entry,) = alice.json("state", "g")["facts"]["killed"]["lowered"]
    assert (entry["claim"], entry["review"]) == ("c1", "proposed")
    assert (
        "lowered its total from 30 as of 20 Jan 2022 to 20 as of 20 Jan 2022; a total "
        "cannot fall — a proposal awaiting review" in words(alice.ok("state", "g"))
    )
    assert "lowered" not in alice.json("state", "g", "--reviewed-only")["facts"]["killed"]


def test_a_fall_is_marked_proposed_exactly_when_the_reviewed_view_lacks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob's proposed 30 before eve's approved 20 made a fall shown unmarked; bob's
    proposal beside eve's standing fall marked it "awaiting review" though it stands."""
    monkeypatch.setenv("COLUMNS", "200")
    alice, bob, eve = review_desk(tmp_path)
    fact = {"type": "fact", "incident": "g", "key": "killed", "kind": "count", "cumulative": True}
    more = {"type": "report", "id": "r3", "source": "sohr", "published_at": "2022-01-23"}
    assert alice.append([*SETUP, more, fact]).returncode == 0
    assert bob.append([claim("c0", 30, "r1")]).returncode == 0
    assert eve.append([claim("c1", 20, "r2")]).returncode == 0
    (entry,) = alice.json("state", "g")["facts"]["killed"]["lowered"]
    assert entry.get("review") == "proposed"  # only bob's unreviewed 30 makes it a fall
    assert eve.append([claim("e0", 40, "r1"), claim("c2", 25, "r3")]).returncode == 0
    assert bob.append([{**claim("c3", 20, "r3"), "qualifier": "at_least"}]).returncode == 0
    (entry,) = alice.json("state", "g")["facts"]["killed"]["lowered"]
    assert "review" not in entry  # eve's 40 then 25 fell, whatever bob proposes
