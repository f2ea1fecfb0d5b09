"""Reads of a crowded incident: a fact held by more claimants than a table can list."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.cli import render
from incident_ledger.cli.json_parts import print_json_parts
from tests.test_cli import jsonl, ledger

CLAIMANTS = 15


def crowded() -> list[dict[str, Any]]:
    """Fifteen claimants on killed.total (ten say 20, four 30, one at least 5), one on
    injured."""
    records: list[dict[str, Any]] = [{"type": "incident", "id": "g", "title": "G"}]
    for n in range(CLAIMANTS):
        records += [
            {"type": "source", "id": f"s{n}", "name": f"S{n}", "kind": "outlet"},
            {"type": "report", "id": f"r{n}", "source": f"s{n}", "published_at": "2022-01-21"},
        ]
        value: dict[str, Any] = {"value": 20 if n < 10 else 30}
        if n == CLAIMANTS - 1:
            value = {"value": 5, "qualifier": "at_least"}
        records.append(
            {"type": "claim", "id": f"c{n}", "incident": "g", "fact": "killed.total"}
            | value
            | {"report": f"r{n}"}
        )
    records.append(
        {"type": "claim", "id": "i0", "incident": "g", "fact": "injured", "value": 3}
        | {"report": "r0"}
    )
    return records


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    assert ledger(path, "init")[0] == 0
    code, out, err = ledger(path, "append", "--file", "-", stdin=jsonl(crowded()))
    assert code == 0, out + err
    return path


def test_state_table_sums_up_a_crowded_fact_and_lists_it_on_request(db: str) -> None:
    code, out, _ = ledger(db, "state", "g", "--at", "2022-01-22")
    assert code == 0
    assert "15 positions; most held: 20" in out
    assert "(10), 30 (4), at least 5 (1)" in out  # wrapped in the cell
    assert "s3: 20" not in out
    assert "s0: 3" in out  # a fact of few positions is listed as before
    assert "facts with over 12 positions summed up" in out
    code, out, _ = ledger(db, "state", "g", "--at", "2022-01-22", "--all")
    assert code == 0
    assert "s3: 20" in out
    assert "s14: at least 5" in out
    assert "summed up" not in out


def test_positions_summary_names_the_most_held_values_and_counts_the_rest() -> None:
    says = [str(n) for n in (1, 1, 2, 3, 4, 5, 6, 7)]
    assert render.positions_summary(says) == (
        "8 positions; most held: 1 (2), 2 (1), 3 (1), 4 (1), 5 (1); 2 other values"
    )


class _Writes(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def write(self, text: str) -> int:
        self.calls += 1
        return super().write(text)


@pytest.mark.parametrize(
    "data",
    [
        {"a": 1, "facts": {"x": {"v": [1, 2], "w": {"y": None}}, "z": {}}},
        {"a": "\u202e", "facts": {}},
        {"facts": {"x": 1}},
        {"a": [2**70], "facts": {"x": {"d": 2**65}, "q": "ما"}},  # past orjson: json
    ],
)
def test_members_are_written_one_by_one_as_print_json_writes_the_whole(
    data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, streamed = _Writes(), _Writes()
    monkeypatch.setattr(sys, "stdout", whole)
    render.print_json(data)
    monkeypatch.setattr(sys, "stdout", streamed)
    print_json_parts(data)
    assert streamed.getvalue() == whole.getvalue()
    json.loads(streamed.getvalue())
    assert streamed.calls >= len(data["facts"]) + 1


def test_state_json_is_written_fact_by_fact(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[dict[str, Any]] = []
    monkeypatch.setattr(render, "print_json", written.append)
    code, out, _ = ledger(db, "state", "g", "--at", "2022-01-22", "--json")
    assert code == 0
    assert written == []  # not built as one text
    answer = json.loads(out)
    assert sorted(answer["facts"]) == ["injured", "killed.total"]
    assert len(answer["facts"]["killed.total"]["positions"]) == CLAIMANTS


def _statuses_asked_of_state(db: str) -> dict[tuple[str, str], str]:
    from incident_ledger.ledger.times import from_key
    from incident_ledger.projections.understanding import state
    from incident_ledger.usecases import workspace

    with workspace.read_model(db) as connection:
        latest = connection.execute("SELECT MAX(published_at) FROM reports").fetchone()[0]
        incidents = [row[0] for row in connection.execute("SELECT id FROM incidents")]
        return {
            (incident, fact): view["status"]
            for incident in incidents
            for fact, view in state(connection, incident, from_key(latest))["facts"].items()
        }


def _stored_statuses(db: str) -> dict[tuple[str, str], str]:
    from incident_ledger.projections.fact_status import current_statuses
    from incident_ledger.usecases import workspace

    with workspace.read_model(db) as connection:
        return current_statuses(connection)


@pytest.mark.slow
def test_stored_statuses_follow_every_change(db: str) -> None:
    steps: list[list[dict[str, Any]]] = [
        [  # another incident, contested, reported later than anything before
            {"type": "incident", "id": "h", "title": "H"},
            {"type": "report", "id": "h1", "source": "s1", "published_at": "2022-02-01"},
            {"type": "claim", "id": "h-a", "incident": "h", "fact": "killed", "value": 1}
            | {"report": "h1", "claimant": "s1"},
            {"type": "claim", "id": "h-b", "incident": "h", "fact": "killed", "value": 5}
            | {"report": "h1", "claimant": "s2"},
        ],
        [  # a retraction in h, in a report as late as the latest (the latest instant stays
            # the same): h's fact is single
            {"type": "report", "id": "x", "source": "s0", "published_at": "2022-02-01"},
            {"type": "retraction", "id": "x1", "claim": "h-b", "report": "x"},
        ],
        [  # a later report agrees: corroborated
            {"type": "report", "id": "h2", "source": "s3", "published_at": "2022-02-02"},
            {"type": "claim", "id": "h-c", "incident": "h", "fact": "killed", "value": 1}
            | {"report": "h2", "claimant": "s3"},
        ],
    ]
    first = _stored_statuses(db)
    assert first == _statuses_asked_of_state(db)
    assert first[("g", "killed.total")] == "contested"
    seen = []
    for records in steps:
        code, out, err = ledger(db, "append", "--file", "-", stdin=jsonl(records))
        assert code == 0, out + err
        stored = _stored_statuses(db)
        assert stored == _statuses_asked_of_state(db)
        seen.append(stored[("h", "killed")])
    assert seen == ["contested", "single", "corroborated"]


def test_state_reads_one_snapshot_when_the_model_moves_after_its_positions(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from incident_ledger.projections import in_force
    from incident_ledger.projections.understanding import state
    from incident_ledger.usecases import workspace

    brought_up = in_force.ready
    escaped = {"type": "claim", "id": "e0", "incident": "g", "fact": "escaped", "value": 4}

    def then_another_writer(connection: Any, incident: str) -> bool:
        ready = brought_up(connection, incident)
        # Another process appends a claim of a new fact, and projects it, just after the
        # stored positions were brought up to date for this question.
        code, out, err = ledger(
            db, "append", "--file", "-", stdin=jsonl([escaped | {"report": "r0"}])
        )
        assert code == 0, out + err
        return ready

    with workspace.read_model(db) as connection:
        monkeypatch.setattr(in_force, "ready", then_another_writer)
        facts = state(connection, "g", datetime(2022, 1, 22, tzinfo=UTC))["facts"]
    assert facts["escaped"]["status"] == "single"  # not "withdrawn": one snapshot
    assert [p["claim"] for p in facts["escaped"]["positions"]] == ["e0"]


def test_the_report_sums_up_a_crowded_fact_and_lists_its_conflict_first(
    db: str, tmp_path: Path
) -> None:
    """The report of a fact of 15 positions says it as the state table does, lists twelve
    positions (the two in conflict first) once, before the charts, and counts the rest;
    every claim is in the appendix."""
    page = tmp_path / "g.html"
    code, out, err = ledger(db, "export", "--format", "html", "--incident", "g",
                            "--at", "2022-01-22", "--out", str(page))  # fmt: skip
    assert code == 0, out + err
    html = page.read_text("utf-8")
    body, appendix = html.split("Appendix: every claim known")
    contested = body[body.index("<h3>Contested facts</h3>") : body.index("<h3>State at")]
    assert "15 positions; most held: 20 (10), 30 (4), at least 5 (1)" in contested
    assert contested.count("<li>") == render.LISTED_POSITIONS
    assert "and 3 more positions" in contested
    listed = re.findall(r"<li><strong><bdi>(S\d+)</bdi>", contested)
    assert listed[:3] == ["S0", "S10", "S1"]  # 20 against 30 first, then in order
    table = body[body.index("<h3>State at") : body.index("Numeric facts over known time")]
    assert "15 positions; most held" in table and "listed under Contested facts" in table
    assert "S13" not in table  # the positions are listed once, above
    assert all(f"<code>c{n}</code>" in appendix for n in range(CLAIMANTS))


def test_only_a_crowded_incident_keeps_stored_positions(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ordinary incident is answered from its claims and writes nothing; only one of
    ``in_force.CROWDED`` claims or more has its positions stored by its first question."""
    from datetime import UTC, datetime

    from incident_ledger.projections import in_force
    from incident_ledger.projections.understanding import state
    from incident_ledger.usecases import workspace

    def asked() -> list[tuple[str]]:
        with workspace.read_model(db) as connection:
            answer = state(connection, "g", datetime(2022, 1, 23, tzinfo=UTC))
            assert answer["facts"]
            return connection.execute("SELECT incident FROM positions_built").fetchall()

    assert asked() == []
    monkeypatch.setattr(in_force, "CROWDED", 10)
    assert asked() == [("g",)]


def test_a_crowded_incident_s_state_is_read_without_the_memory_map(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mapped, every page of the model a hot incident's state touched stayed resident
    (374 MB for an incident of 200,000 claims); an ordinary incident keeps the map."""
    from incident_ledger.projections import in_force
    from incident_ledger.projections.understanding import state as answer
    from incident_ledger.usecases import reading

    mapped: list[int] = []

    def state(connection: Any, *args: Any, **options: Any) -> Any:
        mapped.append(connection.execute("PRAGMA mmap_size").fetchone()[0])
        return answer(connection, *args, **options)

    monkeypatch.setattr(reading, "state", state)
    reading.current_state(db, "g", at="2022-01-23")
    monkeypatch.setattr(in_force, "CROWDED", 10)
    reading.current_state(db, "g", at="2022-01-23")
    assert mapped[0] > 0 and mapped[1] == 0, mapped
