"""The desk's filters hold on every view of one page or command: the HTML report's charts
count what its tables count, ``diff`` lists what its facts count, and the review command
refuses what can no longer be reviewed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.desk_cli import Member, new_key

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "G", "timezone": "UTC"},
    {"type": "source", "id": "s", "name": "Sama", "kind": "monitor"},
    {"type": "source", "id": "t", "name": "Tala", "kind": "agency"},
    {"type": "report", "id": "r1", "source": "s", "published_at": "2022-01-21"},
    {"type": "report", "id": "r2", "source": "t", "published_at": "2022-01-22"},
    {"type": "report", "id": "r3", "source": "s", "published_at": "2022-01-23"},
]


def claim(claim_id: str, fact: str, value: int, report: str) -> dict[str, Any]:
    return {"type": "claim", "id": claim_id, "incident": "g", "fact": fact, "value": value,
            "report": report}  # fmt: skip


@pytest.fixture
def desk(store_url: str, tmp_path: Path) -> tuple[Member, Member]:
    """ed (admin, counts at once) and rita (reporter, proposes), review required."""
    ed = Member(store_url)
    ed.ok("init", "--member", "ed", "--review", "required")
    key, public = new_key(tmp_path, "rita")
    ed.ok("member", "add", "rita", "--name", "Rita", "--role", "reporter", "--public-key", public)
    assert ed.append(SETUP).returncode == 0
    return ed, Member(store_url, key)


def propose(ed: Member, rita: Member) -> None:
    """ed's c1 and e2; between them, rita's proposed claim p1 and retraction x1 of c1."""
    assert ed.append([claim("c1", "killed", 20, "r1")]).returncode == 0
    proposed = [
        claim("p1", "killed", 7, "r2"),
        {"type": "retraction", "id": "x1", "claim": "c1", "report": "r3", "reason": "revised"},
    ]
    assert rita.append(proposed).returncode == 0
    assert ed.append([claim("e2", "esc", 90, "r2")]).returncode == 0


def chart_text(page: str, fact: str) -> str:
    """The words of the page's chart of ``fact``."""
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        words = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
        if f" {fact} " in f" {words} ":
            return words
    raise AssertionError(f"no chart of {fact}")


def test_the_reports_charts_count_what_its_tables_count(
    desk: tuple[Member, Member], tmp_path: Path
) -> None:
    ed, rita = desk
    propose(ed, rita)
    reviewed, everything = tmp_path / "reviewed.html", tmp_path / "all.html"
    ed.ok("export", "--incident", "g", "--format", "html", "--out", str(reviewed))
    ed.ok(
        "export",
        "--incident",
        "g",
        "--format",
        "html",
        "--with-proposals",
        "--out",
        str(everything),
    )
    killed = chart_text(reviewed.read_text(), "killed")
    assert "Sama" in killed  # the proposed retraction ends nothing
    assert "Tala" not in killed  # nor is the proposal drawn
    assert "Tala" in chart_text(everything.read_text(), "killed")
    assert "The reviewed view:" in reviewed.read_text()
    assert "proposals still waiting for review" in everything.read_text()
    chart = tmp_path / "killed.svg"
    ed.ok("history", "g", "killed", "--reviewed-only", "--chart", str(chart))
    assert "Tala" not in chart.read_text() and "Sama" in chart.read_text()


def test_diff_lists_only_what_its_facts_count(desk: tuple[Member, Member]) -> None:
    ed, rita = desk
    assert ed.append([claim("c1", "killed", 20, "r1"), claim("c4", "killed", 9, "r3")]
                     ).returncode == 0  # fmt: skip
    assert rita.append([claim("p1", "killed", 7, "r2")]).returncode == 0
    assert rita.append([claim("c2", "killed", 5, "r2")]).returncode == 0
    ed.ok("review", "c2", "--reject")
    ed.ok("erratum", "c4", "--reason", "typo")
    span = ("diff", "g", "--from", "2022-01-20", "--to", "2022-01-25")

    def listed(*extra: str) -> tuple[list[str], list[str]]:
        result = ed.json(*span, *extra)
        reports = [r["id"] for fact in result["facts"] for r in fact["reports"]]
        return [item["claim"] for item in result["new_claims"]], reports

    assert listed("--reviewed-only") == (["c1"], ["r1"])
    assert listed() == (["c1", "p1"], ["r1", "r2"])
    table = ed.ok(*span, "--reviewed-only")
    assert "c1" in table and not {"p1", "c2", "c4"} & set(re.findall(r"\b\w+\b", table))


def test_review_refuses_an_entry_error_and_a_choice_given_twice_or_not_at_all(
    desk: tuple[Member, Member],
) -> None:
    ed, rita = desk
    assert rita.append([claim("c4", "killed", 9, "r1")]).returncode == 0
    rita.ok("erratum", "c4", "--reason", "typo")
    voided = ed.run("review", "c4", "--approve")
    assert (voided.returncode, voided.stderr) == (
        2,
        "error: 'claim:c4' is voided by its erratum (an entry error): it is no longer reviewed\n",
    )
    for given in ((), ("--approve", "--reject")):
        usage = ed.run("review", "c4", *given)
        assert (usage.returncode, usage.stderr) == (
            2,
            "error: give one of --approve or --reject\n",
        )
    both = ed.run("export", "--format", "csv", "--reviewed-only", "--with-proposals")
    assert (both.returncode, both.stdout, both.stderr) == (
        2,
        "",
        "error: give one of --reviewed-only or --with-proposals\n",
    )
