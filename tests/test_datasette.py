"""Datasette: the documented read model, its canned queries, and ``ledger serve``.

Over 400 lines: each documented table and canned query has its test here.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger import samples
from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import BadInputError, ConflictError
from incident_ledger.ledger.imports import importer
from incident_ledger.ledger.imports.importer import Entry
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.times import parse_instant, to_key, zone_or_none
from incident_ledger.projections.arabic import normalize
from incident_ledger.projections.datasette_metadata import build_metadata, canned_queries, fold_rows
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.proposal_ends import mark_state_proposals, with_status_words
from incident_ledger.projections.understanding import Policy, state
from incident_ledger.projections.views import Views
from incident_ledger.usecases import serving as web
from incident_ledger.usecases import workspace, writing
from incident_ledger.usecases.datasette_site import PLUGINS, TEMPLATES
from tests.model_desk import Desk, proposal_ops
from tests.strategies import claim_operations

runner = CliRunner()
QUERIES = canned_queries()
ROOT = Path(__file__).resolve().parent.parent

# Revisions on top of the sample: a withdrawal, a correction, a second figure for a quantity
# and a verdict.
REVISIONS: list[dict[str, Any]] = [
    {
        "type": "report",
        "id": "report-x1",
        "source": "outlet-002",
        "published_at": "2022-01-24T09:00:00+03:00",
    },
    {
        "type": "retraction",
        "id": "x-attackers",
        "claim": "c-001-sdf-attackers",
        "report": "report-003",
        "reason": "SDF figure withdrawn",
    },
    {
        "type": "correction",
        "id": "c-x1-killed-sf",
        "claim": "c-002-killed-sf",
        "incident": "ghwayran-2022",
        "fact": "killed.security_forces",
        "value": 9,
        "report": "report-x1",
    },
    {
        "type": "claim",
        "id": "c-x1-sohr-duration",
        "incident": "ghwayran-2022",
        "fact": "fighting.duration",
        "value": 9,  # days: against the SDF's 10
        "report": "report-x1",
        "claimant": "sohr",
    },
    {
        "type": "assessment",
        "id": "a-1",
        "claim": "c-002-killed-sf",
        "verdict": "false",
        "by": "desk",
        "published_at": "2022-02-01",
    },
]


def build_sample(directory: Path, extra: list[dict[str, Any]] | None = None) -> str:
    db = str(directory / "ledger.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    if extra:
        path = directory / "extra.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in extra), encoding="utf-8")
        writing.append_file(db, str(path))
    return db


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    db = build_sample(tmp_path_factory.mktemp("sample"))
    with workspace.open_workspace(db) as ws:
        ws.refresh()
        yield ws.views.connection


@pytest.fixture(scope="module")
def revised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    db = build_sample(tmp_path_factory.mktemp("revised"), REVISIONS)
    with workspace.open_workspace(db) as ws:
        ws.refresh()
        yield ws.views.connection


def run_query(db: sqlite3.Connection, name: str, **params: str) -> list[dict[str, Any]]:
    """The answer's rows; the one row saying why there is none is checked and left out."""
    rows = all_rows(db, name, **params)
    if len(rows) == 1 and all(v is None for v in list(rows[0].values())[1:]):
        assert isinstance(next(iter(rows[0].values())), str)
        return []
    return rows


def all_rows(db: sqlite3.Connection, name: str, **params: str) -> list[dict[str, Any]]:
    cursor = db.execute(QUERIES[name]["sql"], params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor]


def sql_state(db: sqlite3.Connection, incident: str, at: str) -> dict[str, Any]:
    """{fact: (status, {position claim ids})} from the state_at canned query."""
    facts: dict[str, Any] = {}
    for row in run_query(db, "state_at", incident=incident, at=at):
        status, claims = facts.setdefault(row["fact"], (row["status"], set()))
        assert row["status"] == status
        if row["claim"] is not None:
            claims.add(row["claim"])
    return facts


def python_state(db: sqlite3.Connection, incident: str, at: str) -> dict[str, Any]:
    """The same from ``state`` as ``ledger state`` shows it: a status only proposals give
    marked (``single (proposed by bob; reviewed: contested)``)."""
    zone = db.execute("SELECT timezone FROM incidents WHERE id = ?", (incident,)).fetchone()
    known = parse_instant(at, end_of_day=True, zone=zone_or_none(zone[0] if zone else None))
    result = state(db, incident, known)
    mark_state_proposals(db, result, known, None, Policy.RANGE)
    facts = result["facts"]
    return {
        fact: (
            with_status_words(value["status"], value),
            {c for p in value["positions"] for c in p.get("claims") or [p["claim"]]},
        )
        for fact, value in facts.items()
    }


# --- the metadata document -----------------------------------------------------------------


def test_every_table_and_column_of_the_read_model_is_described(sample: sqlite3.Connection) -> None:
    tables = build_metadata("ledger")["databases"]["ledger"]["tables"]
    names = [
        row[0]
        for row in sample.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    assert set(names) == set(tables)
    for name in names:
        columns = [row[1] for row in sample.execute(f"PRAGMA table_info([{name}])")]
        assert set(tables[name]["columns"]) == set(columns), name
        assert tables[name]["description"].strip()
        assert all(text.strip() for text in tables[name]["columns"].values())


def test_metadata_document_labels_sorts_and_hides_internals() -> None:
    metadata = build_metadata("ledger")
    assert metadata["title"] == "incident-ledger"
    assert metadata["source"] == "incident-ledger event store"
    assert "copyright of its publishers" in metadata["license"]
    database = metadata["databases"]["ledger"]
    tables = database["tables"]
    assert tables["incidents"]["label_column"] == "title"
    assert tables["sources"]["label_column"] == "name"
    assert tables["claims"]["sort"] == "published_at"
    hidden = sorted(name for name, table in tables.items() if table.get("hidden"))
    assert hidden == [
        "fact_status_built",
        "positions_built",
        "search_incidents",
        "search_index",
        "search_index_config",
        "search_index_content",
        "search_index_data",
        "search_index_docsize",
        "search_index_idx",
        "search_reports",
        "source_tally_built",
        "state_summaries",
        "tracking",
        "zone_day_ends",
    ]
    assert "fixed-width UTC ISO key" in tables["claims"]["columns"]["published_at"]
    assert "NULL = unbounded" in tables["claims"]["columns"]["num_high"]
    assert "NULL = always" in tables["source_ratings"]["columns"]["effective_from"]
    assert sorted(database["queries"]) == [
        "claims_by_source",
        "contested_facts",
        "fact_history",
        "search",
        "state_at",
    ]
    assert database["queries"]["state_at"]["title"] == "State of an incident at a date"
    assert database["queries"]["state_at"]["params"] == ["incident", "at"]
    assert "command line (ledger search) normalizes" in database["queries"]["search"]["description"]


# --- state_at against projections.understanding.state ---------------------------------------

DATES = [
    "2022-01-20",
    "2022-01-21",
    "2022-01-22",
    "2022-01-23",
    "2022-01-24T05:00:00Z",
    "2022-01-24",
    "2022-01-31",
    "2022-02-01T10:00:00+03:00",
]


@pytest.mark.parametrize("incident", ["ghwayran-2022", "diyala-2022"])
@pytest.mark.parametrize("at", DATES)
def test_state_at_agrees_with_understanding_on_the_sample(
    sample: sqlite3.Connection, incident: str, at: str
) -> None:
    assert sql_state(sample, incident, at) == python_state(sample, incident, at)


@pytest.mark.slow
@pytest.mark.parametrize("at", DATES)
def test_state_at_agrees_after_withdrawals_and_corrections(
    revised: sqlite3.Connection, at: str
) -> None:
    assert sql_state(revised, "ghwayran-2022", at) == python_state(revised, "ghwayran-2022", at)


def test_state_at_shows_withdrawn_corrected_and_mixed_facts(revised: sqlite3.Connection) -> None:
    assert sql_state(revised, "ghwayran-2022", "2022-01-22")["attackers"] == (
        "single",
        {"c-001-sdf-attackers"},
    )
    assert sql_state(revised, "ghwayran-2022", "2022-01-23")["attackers"] == ("withdrawn", set())
    before = sql_state(revised, "ghwayran-2022", "2022-01-24T05:59:59Z")
    after = sql_state(revised, "ghwayran-2022", "2022-01-24T06:00:00Z")
    assert "c-002-killed-sf" in before["killed.security_forces"][1]
    assert "c-x1-killed-sf" in after["killed.security_forces"][1]
    assert sql_state(revised, "ghwayran-2022", "2022-01-31")["fighting.duration"] == (
        "contested",
        {"c-004-sdf-fighting-duration", "c-x1-sohr-duration"},
    )


def test_state_at_rows_on_21_january(sample: sqlite3.Connection) -> None:
    rows = run_query(sample, "state_at", incident="ghwayran-2022", at="2022-01-21")
    killed = [row for row in rows if row["fact"] == "killed.security_forces"]
    keys = "status claimant value qualifier interval_min interval_max position_min position_max"
    keys += " report published_at as_of claim known_at"
    day_end = "2022-01-21T21:59:59.999999Z"  # the end of 21 Jan in Asia/Damascus (UTC+2)
    # SOHR's two claims in one report are one position: at least 20 and 20 make exactly 20.
    assert [tuple(row[key] for key in keys.split()) for row in killed] == [
        ("contested", "outlet-002", "7", "exact", 7, 7, 7, 7, "report-002", day_end, day_end,
         "c-002-killed-sf", day_end),
        ("contested", "sohr", "20", "at_least", 20, None, 20, 20, "report-000", day_end, day_end,
         "c-000-sohr-killed-sf", day_end),
        ("contested", "sohr", "20", "exact", 20, 20, 20, 20, "report-000", day_end, day_end,
         "c-000-sohr-killed-sf-20", day_end),
    ]  # fmt: skip
    started = [row for row in rows if row["fact"] == "attack.started"]
    assert {row["status"] for row in started} == {"corroborated"}
    assert {(r["claimant"], r["interval_min"], r["interval_max"]) for r in started} == {
        ("misryoum", "2022-01-19T22:00:00.000000Z", "2022-01-20T21:59:59.999999Z"),
        ("sohr", "2022-01-19T22:00:00.000000Z", "2022-01-20T21:59:59.999999Z"),
        ("outlet-002", "2022-01-19T22:00:00.000000Z", "2022-01-21T21:59:59.999999Z"),
    }


@pytest.mark.parametrize(
    ("at", "known"),
    [
        ("2022-01-22", "2022-01-22T21:59:59.999999Z"),  # a date: its end, in the incident's zone
        (" 2022-01-22 ", "2022-01-22T21:59:59.999999Z"),
        ("2022-01-22T10:00:00.000000Z", "2022-01-22T10:00:00.000000Z"),
        ("2022-01-22T10:00:00+03:00", "2022-01-22T07:00:00.000000Z"),
        ("2022-01-22T10:00:00.25Z", "2022-01-22T10:00:00.250000Z"),
    ],
)
def test_state_at_reads_dates_keys_and_offsets(
    sample: sqlite3.Connection, at: str, known: str
) -> None:
    rows = run_query(sample, "state_at", incident="ghwayran-2022", at=at)
    assert {row["known_at"] for row in rows} == {known}


def test_state_at_reads_a_date_in_the_incidents_time_zone(sample: sqlite3.Connection) -> None:
    """Diyala's zone is Asia/Baghdad (UTC+3): its 21 Jan ends an hour before Ghwayran's."""
    rows = run_query(sample, "state_at", incident="diyala-2022", at="2022-01-21")
    assert {row["known_at"] for row in rows} == {"2022-01-21T20:59:59.999999Z"}


@pytest.mark.parametrize("at", ["2022-02-30", "2022-01-21T10:00:00", "yesterday", "21/01/2022"])
def test_state_at_matches_nothing_for_an_unreadable_time(
    sample: sqlite3.Connection, at: str
) -> None:
    assert run_query(sample, "state_at", incident="ghwayran-2022", at=at) == []


def test_state_at_blank_means_now(sample: sqlite3.Connection) -> None:
    before = to_key(datetime.now(UTC))
    rows = run_query(sample, "state_at", incident="ghwayran-2022", at="")
    assert len({row["known_at"] for row in rows}) == 1
    assert rows[0]["known_at"][:16] >= before[:16]
    assert sql_state(sample, "ghwayran-2022", "") == python_state(
        sample, "ghwayran-2022", "2022-01-31"
    )


def test_state_at_unknown_incident_says_so(sample: sqlite3.Connection) -> None:
    [row] = all_rows(sample, "state_at", incident="nope", at="2022-01-31")
    assert row["fact"] == "Unknown incident: nope (the incidents table lists them)."
    assert {k: v for k, v in row.items() if v is not None} == {"fact": row["fact"]}


@pytest.mark.parametrize(
    ("query", "params", "message"),
    [
        ("state_at", {"incident": "ghwayran-2022", "at": "yesterday"},
         "Not a date: yesterday (give YYYY-MM-DD, a date-time with Z or an offset, or leave "
         "it blank for now)."),
        ("state_at", {"incident": "", "at": ""},
         "Choose an incident: its id, e.g. ghwayran-2022 (the incidents table lists them)."),
        ("state_at", {"incident": "ghwayran-2022", "at": "1999-01-01"},
         "Nothing was known about it then."),
        ("contested_facts", {"incident": "ghwayran-2022", "at": "2022-01-20"},
         "No fact was contested then."),
        ("claims_by_source", {"source": "nobody"},
         "Unknown source: nobody (the sources table lists them)."),
        ("fact_history", {"incident": "ghwayran-2022", "fact": "nope"},
         "No claim on nope in ghwayran-2022."),
    ],
)  # fmt: skip
def test_a_question_without_an_answer_gets_one_row_saying_why(
    sample: sqlite3.Connection, query: str, params: dict[str, str], message: str
) -> None:
    [row] = all_rows(sample, query, **params)
    assert next(iter(row.values())) == message


# A property: random ledgers of numbers, dates and texts, with withdrawals and corrections.

SOURCES = ["s0", "s1", "s2", "s3"]
FACTS = ["n.a", "n.b", "t.c", "x.d"]
numbers = st.integers(min_value=1, max_value=6)
value_strategy = st.one_of(
    st.tuples(
        numbers, st.sampled_from([None, "approx", "at_least", "more_than", "at_most", "less_than"])
    ).map(lambda t: {"value": t[0], "qualifier": t[1]}),
    st.tuples(numbers, numbers).map(lambda t: {"value": {"min": min(t), "max": max(t)}}),
    st.sampled_from(
        [
            "2022-01-03",
            "2022-01-04",
            "2022-01-03/2022-01-05",
            "[2022-01-02,2022-01-04]",
            "2022-01",
            "2022-01-04/..",
            "../2022-01-03",
            "2022-01-03T10:00:00Z",
        ]
    ).map(lambda v: {"value": v}),
    st.sampled_from(["sdf", "SDF", "isis", True, False]).map(lambda v: {"value": v}),
)
published = st.one_of(
    st.integers(1, 8).map(lambda d: f"2022-01-0{d}"),
    st.tuples(st.integers(1, 8), st.integers(0, 23)).map(
        lambda t: f"2022-01-0{t[0]}T{t[1]:02d}:30:00Z"
    ),
)
operation = st.one_of(*claim_operations(FACTS, value_strategy, SOURCES, 40), *proposal_ops(40))


def _records(
    reports: list[str], ops: list[Any], zone: str | None = None, cumulative: bool = False
) -> list[Any]:
    """The records of the operations; the desk's (who enters the next records, a review)
    are left in their place as drawn."""
    incident = {"type": "incident", "id": "i", "title": "I"} | ({"timezone": zone} if zone else {})
    records: list[Any] = [incident]
    if cumulative:  # n.a is a total that can only grow: compared through time
        records.append({"type": "fact", "incident": "i", "key": "n.a", "kind": "count"})
        records[-1]["cumulative"] = True
    records += [{"type": "source", "id": s, "name": s, "kind": "outlet"} for s in SOURCES]
    records += [
        {"type": "report", "id": f"r{n}", "source": SOURCES[n % 4], "published_at": p}
        for n, p in enumerate(reports)
    ]
    claims: list[str] = []
    for number, op in enumerate(ops):
        if op[0] in ("as", "review"):
            records.append(op)
            continue
        if op[0] == "claim":
            _, fact, value, report, claimant = op
            record = {"type": "claim", "id": f"c{number}", "incident": "i", "fact": fact}
            record |= {"report": f"r{report}", "claimant": claimant} | value
            claims.append(record["id"])
        elif not claims:
            continue
        elif op[0] == "retract":
            _, target, report = op
            record = {"type": "retraction", "id": f"x{number}"}
            record |= {"claim": claims[target % len(claims)], "report": f"r{report}"}
        else:
            _, target, value, report, claimant = op
            record = {"type": "correction", "id": f"c{number}", "incident": "i"}
            record |= {"fact": FACTS[target % 4], "claim": claims[target % len(claims)]}
            record |= {"report": f"r{report}", "claimant": claimant} | value
            claims.append(record["id"])
        records.append({k: v for k, v in record.items() if v is not None})
    return records


DESK_EXAMPLES = [  # a proposed claim alone; s1's claim withdrawn only by bob's proposal
    [("as", "bob"), ("claim", "n.a", {"value": 4}, 0, None)],
    [("claim", "n.a", {"value": 4}, 0, "s0"), ("claim", "n.a", {"value": 9}, 1, "s1"),
     ("as", "bob"), ("retract", 1, 2)],
]  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(
    ["2022-01-01"] * 2 + ["2022-01-02"] * 4, DESK_EXAMPLES[0], ["2022-01-03"], None, False, True
)
@example(
    ["2022-01-01"] * 2 + ["2022-01-02"] * 4, DESK_EXAMPLES[1], ["2022-01-03"], None, False, True
)
@given(
    reports=st.lists(published, min_size=6, max_size=6),
    ops=st.tuples(st.booleans(), st.lists(operation, min_size=1, max_size=20)).map(
        lambda drawn: [("as", "bob"), *drawn[1]] if drawn[0] else drawn[1]
    ),  # with a desk, half the time bob proposes from the first claim on
    queries=st.lists(published, min_size=1, max_size=4),
    zone=st.sampled_from([None, "Asia/Damascus", "America/New_York"]),
    cumulative=st.booleans(),
    desk=st.booleans(),
)
def test_state_at_equals_understanding_on_random_ledgers(
    reports: list[str],
    ops: list[Any],
    queries: list[str],
    zone: str | None,
    cumulative: bool,
    desk: bool,
) -> None:
    """Half the ledgers have a desk with review required, where bob (a reporter) proposes
    what he enters and eve (an editor) approves or rejects it: the canned answer then
    marks a status only proposals give as ``ledger state`` does."""
    with tempfile.TemporaryDirectory() as workdir:
        ledger = Ledger(
            locate(str(Path(workdir) / "l.db")).event_store_env(),
            clock=lambda: datetime(2022, 2, 1, tzinfo=UTC),
        )
        views = Views(Path(workdir) / "v.db")
        try:
            _enter(ledger, _records(reports, ops, zone, cumulative), Desk(ledger) if desk else None)
            Projector(ledger, views).catch_up()
            for at in queries:
                expected = python_state(views.connection, "i", at)
                assert sql_state(views.connection, "i", at) == expected
                contested = run_query(views.connection, "contested_facts", incident="i", at=at)
                assert {row["fact"]: row["status"] for row in contested} == {
                    fact: status
                    for fact, (status, _) in expected.items()
                    # contested, or contested in the reviewed view (proposals undo it)
                    if status.partition(" (")[0] == "contested"
                    or status.endswith("reviewed: contested)")
                }
        finally:
            views.close()
            ledger.close()


def _enter(ledger: Ledger, records: list[Any], desk: Desk | None) -> None:
    """Record each record as its member (``desk``: None, no desk: its operations are
    skipped); a record the ledger refuses is left out."""
    entered: list[str] = []  # claims and retractions, as a review names them
    for number, record in enumerate(records):
        if isinstance(record, tuple):
            if desk is not None and record[0] == "as":
                ledger.actor = desk.bob if record[1] == "bob" else desk.alice
            elif desk is not None and entered:
                desk.review(entered[record[1] % len(entered)], record[2])
            continue
        try:
            importer.record(ledger, [Entry(f"op {number}", validate_record(record, "op"))])
        except (ConflictError, BadInputError):
            # a second correction of one claim, a correction of a retraction, or a
            # value that does not fit the kind its fact's first claim gave it
            continue
        if record["type"] in ("claim", "correction", "retraction"):
            kind = "retraction" if record["type"] == "retraction" else "claim"
            entered.append(f"{kind}:{record['id']}")


# --- the other canned queries ----------------------------------------------------------------


def test_contested_facts_on_31_january(sample: sqlite3.Connection) -> None:
    rows = run_query(sample, "contested_facts", incident="ghwayran-2022", at="2022-01-31")
    # killed.isis, killed.total and escaped are cumulative: their rising figures are
    # updates, not contests; car_bombs (one or two), control and al-Hol are contested in
    # the articles' own words.
    assert [
        (r["fact"], r["claimants"], r["kind"], r["range_min"], r["range_max"]) for r in rows
    ] == [
        ("alhol.families", 2, "number", 2000, 99999),
        ("car_bombs", 4, "number", 1, 2),
        ("control", 2, "text", None, None),
        ("detainees.elsewhere", 3, "number", 11000, None),
        ("killed.security_forces", 3, "number", 7, None),
    ]
    killed = rows[-1]
    assert killed["positions"] == ("outlet-002: 7; sohr: at_least 20; sohr: 20; sdf: more_than 120")
    assert killed["claims"] == (
        "c-002-killed-sf c-000-sohr-killed-sf c-000-sohr-killed-sf-20 c-004-sdf-killed-sf"
    )
    assert killed["known_at"] == "2022-01-31T21:59:59.999999Z"


def test_contested_facts_are_the_contested_facts_of_state(revised: sqlite3.Connection) -> None:
    for at in DATES:
        contested = {
            fact
            for fact, (status, _) in python_state(revised, "ghwayran-2022", at).items()
            if status == "contested"
        }
        rows = run_query(revised, "contested_facts", incident="ghwayran-2022", at=at)
        assert {row["fact"] for row in rows} == contested


def test_claims_by_source_roles_and_status(revised: sqlite3.Connection) -> None:
    rows = run_query(revised, "claims_by_source", source="outlet-002")
    by_claim = {row["claim"]: row for row in rows}
    assert by_claim["c-002-killed-sf"]["role"] == "claimant"
    assert by_claim["c-002-killed-sf"]["status"] == "corrected"
    assert by_claim["c-002-killed-sf"]["ended_by"] == "c-x1-killed-sf"
    assert by_claim["c-002-killed-sf"]["ended_at"] == "2022-01-24T06:00:00.000000Z"
    assert by_claim["c-002-killed-sf"]["assessments"] == "false (desk)"
    assert by_claim["c-002-sdf-escaped"]["role"] == "outlet"
    assert by_claim["c-x1-killed-sf"]["status"] == "active"
    assert by_claim["c-x1-sohr-duration"]["role"] == "outlet"
    published = [row["published_at"] for row in rows]
    assert published == sorted(published)
    sdf = {row["claim"]: row for row in run_query(revised, "claims_by_source", source="sdf")}
    assert sdf["c-001-sdf-attackers"]["status"] == "retracted"
    assert sdf["c-001-sdf-attackers"]["ended_by"] == "x-attackers"
    assert sdf["c-001-sdf-attackers"]["ended_in"] == "report-003"


def test_claims_by_source_finds_relays(sample: sqlite3.Connection) -> None:
    rows = run_query(sample, "claims_by_source", source="afp")
    relayed = sample.execute("SELECT COUNT(*) FROM claims WHERE via LIKE '%\"afp\"%'").fetchone()
    assert len(rows) == relayed[0] > 0
    assert {row["role"] for row in rows} == {"relay"}
    assert {row["claimant"] for row in rows} == {"sohr"}
    assert run_query(sample, "claims_by_source", source="nobody") == []  # one row saying so


def test_fact_history_in_published_order_with_ends(revised: sqlite3.Connection) -> None:
    rows = run_query(
        revised, "fact_history", incident="ghwayran-2022", fact="killed.security_forces"
    )
    assert [
        (r["claim"], r["interval_min"], r["interval_max"], r["ended_how"], r["ended_by"])
        for r in rows
    ] == [
        ("c-000-sohr-killed-sf", 20, None, None, None),
        ("c-000-sohr-killed-sf-20", 20, 20, None, None),
        ("c-002-killed-sf", 7, 7, "corrected", "c-x1-killed-sf"),
        ("c-x1-killed-sf", 9, 9, None, None),
        ("c-004-sdf-killed-sf", 121, None, None, None),
    ]
    assert rows[3]["corrects"] == "c-002-killed-sf"
    assert rows[2]["ended_at"] == "2022-01-24T06:00:00.000000Z"


def test_search_folds_arabic_like_the_index(sample: sqlite3.Connection) -> None:
    plain = run_query(sample, "search", q="غويران")
    assert len(plain) > 0
    assert run_query(sample, "search", q="غُوَيـران") == plain  # diacritics and tatweel
    assert {row["kind"] for row in plain} >= {"incident", "claim"}
    assert all("[غويران]" in row["matched"] for row in plain)
    teh_marbuta = run_query(sample, "search", q="الحسكة")
    assert teh_marbuta == run_query(sample, "search", q="الحسكه") != []
    both = run_query(sample, "search", q="غويران  قوات")
    assert 0 < len(both) < len(plain)
    assert both[0]["fact"] is not None


@pytest.mark.parametrize("q", ["", "   ", 'outlet-002"', "AND OR (", "*"])
def test_search_never_fails_on_punctuation(sample: sqlite3.Connection, q: str) -> None:
    assert isinstance(run_query(sample, "search", q=q), list)


_FOLD_ONLY = f"""WITH RECURSIVE folds(step, character, replacement) AS (VALUES {fold_rows()}),
folded(step, t) AS (
    SELECT 0, :t UNION ALL
    SELECT folded.step + 1, replace(folded.t, folds.character, folds.replacement)
    FROM folded JOIN folds ON folds.step = folded.step + 1
)
SELECT t FROM folded ORDER BY step DESC LIMIT 1"""

arabic_text = st.text(
    alphabet=st.sampled_from([chr(c) for c in range(0x0600, 0x0700)] + list("ab 12")),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(text=arabic_text)
def test_search_fold_equals_normalize_on_nfc_text(text: str) -> None:
    text = unicodedata.normalize("NFC", text)
    db = sqlite3.connect(":memory:")
    assert db.execute(_FOLD_ONLY, {"t": text}).fetchone()[0] == normalize(text)


# --- ledger serve through the CLI (server stubbed) ---------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_sample(tmp_path_factory.mktemp("served"))


def test_serve_announces_urls_and_runs_datasette_on_the_read_model(
    sample_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(plan: web.ServePlan, *, open_browser: bool = False, **_: Any) -> int:
        seen["command"] = plan.command()
        seen["served"] = plan.served.resolve()
        seen["metadata"] = json.loads(plan.metadata.read_text(encoding="utf-8"))
        seen["open"] = open_browser
        return 0

    monkeypatch.setattr(web, "run", fake_run)
    monkeypatch.setattr(web, "ensure_port_free", lambda host, port: None)
    result = runner.invoke(app, ["--db", sample_db, "serve", "--open"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "serving ledger.views.db at http://127.0.0.1:8001/ledger (Ctrl-C to stop)\n"
        "state of ghwayran-2022 at 2022-01-31: "
        "http://127.0.0.1:8001/ledger/state_at?incident=ghwayran-2022&at=2022-01-31\n"
    )
    assert result.stderr == ""
    command = seen["command"]
    assert command[:4] == [sys.executable, "-m", "datasette", "serve"]
    assert command[5:] == [
        "--metadata", command[6], "--host", "127.0.0.1", "--port", "8001",
        "--plugins-dir", str(PLUGINS), "--template-dir", str(TEMPLATES),
    ]  # fmt: skip
    assert "--immutable" not in command and "-i" not in command
    assert seen["served"] == (Path(sample_db).parent / "ledger.views.db").resolve()
    assert set(seen["metadata"]["databases"]) == {"ledger"}
    assert seen["open"] is True


def test_serve_json_lists_the_query_urls(sample_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "run", lambda plan, open_browser=False, **_: 0)
    port = free_port()
    result = runner.invoke(app, ["--db", sample_db, "serve", "--port", str(port), "--json"])
    assert result.exit_code == 0, result.stderr
    base = f"http://127.0.0.1:{port}/ledger"
    assert json.loads(result.stdout) == {
        "url": base,
        "database": "ledger",
        "read_model": str((Path(sample_db).parent / "ledger.views.db").resolve()),
        "queries": {name: f"{base}/{name}" for name in QUERIES},
        "example": f"{base}/state_at?incident=ghwayran-2022&at=2022-01-31",
    }


def test_serve_without_datasette_says_how_to_install_it(
    sample_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web, "datasette_installed", lambda: False)
    result = runner.invoke(app, ["--db", sample_db, "serve"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: ledger serve needs Datasette: pip install 'incident-ledger[web]'\n"
    )


def test_serve_explicit_remote_host_warns(sample_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "run", lambda plan, open_browser=False, **_: 0)
    port = free_port()
    result = runner.invoke(
        app, ["--db", sample_db, "serve", "--host", "0.0.0.0", "--port", str(port)]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "warning: serving on 0.0.0.0: anyone who can reach this address can read the whole "
        "ledger (no access control)\n"
    )
    assert result.stdout.startswith(f"serving ledger.views.db at http://0.0.0.0:{port}/ledger ")


def test_serve_refuses_a_remote_host_not_chosen_explicitly(sample_db: str) -> None:
    with pytest.raises(BadInputError, match=r"^refusing to serve on 0\.0\.0\.0: "):
        web.serve(sample_db, host="0.0.0.0")
    assert web.is_loopback("127.0.0.2") and web.is_loopback("::1") and web.is_loopback("localhost")
    assert not web.is_loopback("192.168.1.10") and not web.is_loopback("example.org")


def test_serve_reports_a_busy_port(sample_db: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["--db", sample_db, "serve", "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot listen on 127.0.0.1 port {port}: Address already in use; "
        "choose another --port\n"
    )


def test_serve_passes_on_datasettes_failure(
    sample_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web, "run", lambda plan, open_browser=False, **_: 3)
    result = runner.invoke(app, ["--db", sample_db, "serve", "--port", str(free_port())])
    assert result.exit_code == 3


@pytest.mark.slow
@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_serve_rejects_a_bad_port(sample_db: str, port: str) -> None:
    result = runner.invoke(app, ["--db", sample_db, "serve", "--port", port])
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.stderr


def test_serve_needs_a_ledger(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", str(tmp_path / "none.db"), "serve"])
    assert result.exit_code == 1
    assert result.stderr == f"error: no ledger at {tmp_path / 'none.db'}: run 'ledger init' first\n"


def test_prepare_without_symlinks_serves_the_file_under_its_own_name(
    sample_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Path, target: Path) -> None:
        raise OSError("no symlinks here")

    monkeypatch.setattr(Path, "symlink_to", refuse)
    plan = web.prepare(sample_db, tmp_path, host="127.0.0.1", port=8001)
    assert (plan.database, plan.route) == ("ledger.views", "ledger~2Eviews")
    assert plan.served == (Path(sample_db).parent / "ledger.views.db").resolve()
    assert plan.query_url("state_at", incident="g", at="2022-01-21") == (
        "http://127.0.0.1:8001/ledger~2Eviews/state_at?incident=g&at=2022-01-21"
    )
    metadata = json.loads(plan.metadata.read_text(encoding="utf-8"))
    assert set(metadata["databases"]) == {"ledger.views"}


def test_database_names() -> None:
    assert web.database_name(Path("/x/ledger.views.db")) == "ledger"
    assert web.database_name(Path("/x/team.ledger.views.db")) == "team-ledger"
    assert web.database_name(Path("/x/_.views.db")) == "ledger"


# --- ledger serve for real: a Datasette process on a loopback port ----------------------------


def fetch(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read().decode("utf-8"))


@pytest.mark.slow
def test_serve_answers_canned_queries_over_http(tmp_path: Path) -> None:
    db = build_sample(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    script = "from incident_ledger.cli.main import app\napp()\n"
    process = subprocess.Popen(
        [sys.executable, "-c", script, "--db", db, "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: Ctrl-C reaches it and its child
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                fetch(f"{base}/-/versions.json")
                break
            except (urllib.error.URLError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start: {process.communicate()[1]!r}")
                time.sleep(0.1)

        url = f"{base}/ledger/state_at.json?incident=ghwayran-2022&at=2022-01-21&_shape=objects"
        rows = fetch(url)["rows"]
        killed = [row for row in rows if row["fact"] == "killed.security_forces"]
        assert [(r["status"], r["claimant"], r["claim"]) for r in killed] == [
            ("contested", "outlet-002", "c-002-killed-sf"),
            ("contested", "sohr", "c-000-sohr-killed-sf"),
            ("contested", "sohr", "c-000-sohr-killed-sf-20"),
        ]

        metadata = fetch(f"{base}/-/metadata.json")
        claims = metadata["databases"]["ledger"]["tables"]["claims"]
        assert "NULL = unbounded" in claims["columns"]["num_high"]
        with urllib.request.urlopen(f"{base}/ledger/claims?_size=1", timeout=10) as response:
            page = response.read().decode("utf-8")
        assert "Every reported fact: who claimed what" in page
        assert "<dt>num_high</dt>" in page

        # Plain (mutable) mode: what the ledger records meanwhile shows on the next request.
        writing.append_one(
            db,
            {
                "type": "claim",
                "id": "c-late",
                "incident": "ghwayran-2022",
                "fact": "killed.security_forces",
                "value": 7,
                "report": "report-002",
                "claimant": "sdf",
            },
        )
        rows = fetch(url)["rows"]
        assert "c-late" in {row["claim"] for row in rows}

        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C at the terminal
        assert process.wait(timeout=15) == 0
        out = process.stdout.read().decode("utf-8") if process.stdout else ""
        assert out.startswith(f"serving ledger.views.db at {base}/ledger (Ctrl-C to stop)\n")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
