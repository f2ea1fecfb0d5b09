"""What the read model keeps for ``sources`` — each fact's status in its incident's
current state, each source's counts — equals what is worked out afresh: statuses asked
of ``state`` incident by incident, counts grouped from every claim. And once kept, a
``sources`` read does not grow with the claims of a crowded incident."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.times import from_key
from incident_ledger.projections import fact_status, review_queue, source_tally
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.sources import source_records
from incident_ledger.projections.understanding import state
from incident_ledger.projections.views import QUERY_MMAP_BYTES, Views
from incident_ledger.usecases import reading, workspace, writing
from tests.test_sources import write_jsonl
from tests.test_state_property import DECLARATIONS, build, operations, published

pytestmark = pytest.mark.slow


def _asked_of_state(db: sqlite3.Connection) -> dict[tuple[str, str], str]:
    latest = db.execute("SELECT MAX(published_at) FROM reports").fetchone()[0]
    if latest is None:
        return {}
    facts = state(db, "i", from_key(latest))["facts"]
    return {("i", fact): view["status"] for fact, view in facts.items()}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from([None, "Asia/Damascus"]),
    declared=st.fixed_dictionaries({key: st.booleans() for key in DECLARATIONS}).map(
        lambda chosen: [key for key, on in chosen.items() if on]
    ),
    reports=st.lists(published, min_size=6, max_size=6),
    ops=operations,
    gaps=st.lists(st.integers(1, 48), min_size=1, max_size=5),
)
def test_kept_statuses_and_counts_equal_those_worked_out_afresh(
    zone: str | None, declared: list[str], reports: list[str], ops: list[Any], gaps: list[int]
) -> None:
    if "fuel" in declared and "fuel.plain" in declared:
        declared.remove("fuel.plain")
    grades: list[str | None] = [None, "A", "C", None]
    # Every change reads all statuses in one pass, as after a rebuild.
    every = mock.patch.object(fact_status, "EVERY_INCIDENT_FROM", 0)
    with tempfile.TemporaryDirectory() as workdir, every:
        views = Views(Path(workdir) / "v.db")
        views.ensure_schema()

        def midway(ledger: Ledger) -> None:
            # Kept here, then brought up to date from the events of the second half.
            Projector(ledger, views).catch_up()
            source_records(views.connection)

        ledger, _ = build(Path(workdir), zone, declared, reports, grades, ops, gaps, midway)
        try:
            Projector(ledger, views).catch_up()
            db = views.connection
            kept = source_records(db)
            assert fact_status.current_statuses(db) == _asked_of_state(db)
            voided = db.execute("SELECT EXISTS (SELECT 1 FROM voided)").fetchone()[0]
            waiting = review_queue.waiting(db, kinds=("claim", "retraction"))
            assert (source_tally.counts(db) is None) == bool(voided or waiting)
            with mock.patch.object(source_tally, "counts", lambda _: None):
                assert kept == source_records(db)
            latest = db.execute("SELECT MAX(published_at) FROM reports").fetchone()[0]
            if latest is not None and not voided:
                every_fact = fact_status.every_status(db, latest).get("i", {})
                assert {("i", f): s for f, s in every_fact.items()} == _asked_of_state(db)
        finally:
            views.close()
            ledger.close()


def _crowded(claims_each: int) -> list[dict[str, Any]]:
    """One incident, two facts, twenty claimants each reporting five times, with
    ``claims_each`` claims on each fact in each report (a few of them disagreeing)."""
    records: list[dict[str, Any]] = [{"type": "incident", "id": "i", "title": "I"}]
    records += [
        {"type": "source", "id": f"s{s}", "name": f"S{s}", "kind": "outlet"} for s in range(20)
    ]
    for day in range(5):
        for s in range(20):
            report = f"r{day}-{s}"
            stamp = f"2022-01-{day + 1:02d}T00:00:00Z"
            records.append(
                {"type": "report", "id": report, "source": f"s{s}", "published_at": stamp}
            )
            records += [
                {"type": "claim", "id": f"{report}-{fact}{n}", "incident": "i", "fact": fact}
                | {"value": 10 + s % 3, "report": report}
                for fact in ("killed", "injured")
                for n in range(claims_each)
            ]
    return records


def _steps_of_second_sources(tmp_path: Path, claims_each: int) -> int:
    db = str(tmp_path / f"l{claims_each}.db")
    writing.init(db)
    writing.append_file(db, write_jsonl(tmp_path / f"{claims_each}.jsonl", _crowded(claims_each)))
    first = reading.sources(db)  # keeps what later reads use
    with workspace.read_model(db) as connection:
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        connection.set_progress_handler(count, 10)
        assert source_records(connection) == first
        connection.set_progress_handler(None, 10)
    return steps[0]


def test_a_sources_read_does_not_grow_with_a_crowded_incident(tmp_path: Path) -> None:
    """Four times the claims on the same pairs: the kept counts are read, not the claims."""
    few, many = (_steps_of_second_sources(tmp_path, n) for n in (2, 8))
    assert many < 1.5 * few, (few, many)


def test_statuses_after_a_rebuild_are_read_in_one_pass(tmp_path: Path) -> None:
    """Past ``EVERY_INCIDENT_FROM`` changed incidents (after a rebuild: all of them), no
    incident's state is asked for its statuses."""
    db = str(tmp_path / "l.db")
    writing.init(db)
    records = _crowded(1)
    for n in range(fact_status.EVERY_INCIDENT_FROM + 1):
        records.append({"type": "incident", "id": f"o{n}", "title": f"O{n}"})
        records.append(
            {"type": "claim", "id": f"o{n}-c", "incident": f"o{n}", "fact": "killed"}
            | {"value": n, "report": "r0-0"}
        )
    writing.append_file(db, write_jsonl(tmp_path / "l.jsonl", records))
    with mock.patch.object(fact_status, "state", side_effect=AssertionError("asked")):
        kept = reading.sources(db)
    asked = mock.patch.object(fact_status, "EVERY_INCIDENT_FROM", 10**9)
    with asked, workspace.read_model(db) as connection:
        connection.execute("DELETE FROM fact_status_built")
        connection.commit()
        assert source_records(connection) == kept


def test_a_pass_over_every_claim_reads_them_unmapped(tmp_path: Path) -> None:
    """The passes over every claim (``every_status``, the whole tally) read without the
    query connection's memory map, then map it again: mapped, the first ``sources`` after
    a rebuild of the hot ledger held 320 MB of the model's pages resident."""
    db = str(tmp_path / "l.db")
    writing.init(db)
    writing.append_file(db, write_jsonl(tmp_path / "l.jsonl", _crowded(1)))
    said: list[str] = []
    with workspace.read_model(db) as connection:
        connection.execute(f"PRAGMA mmap_size={QUERY_MMAP_BYTES}")
        connection.execute("DELETE FROM fact_status_built")
        connection.execute("DELETE FROM source_tally_built")
        connection.commit()
        connection.set_trace_callback(said.append)
        fact_status.every_status(connection, "9999-12-31T23:59:59.999999Z")
        source_tally.counts(connection)
        connection.set_trace_callback(None)
        assert connection.execute("PRAGMA mmap_size").fetchone()[0] == QUERY_MMAP_BYTES
    maps = [n for n, sql in enumerate(said) if sql.startswith("PRAGMA mmap_size=")]
    passes = [n for n, sql in enumerate(said) if "RANK() OVER" in sql or "SUM(made)" in sql]
    assert (
        len(passes) == 2
        and [said[n] for n in maps]
        == [
            "PRAGMA mmap_size=0",
            f"PRAGMA mmap_size={QUERY_MMAP_BYTES}",
        ]
        * 2
    )
    assert maps[0] < passes[0] < maps[1] < maps[2] < passes[1] < maps[3]


class _Racing(sqlite3.Connection):
    """A reader whose first write transaction starts just after another reader brought
    the kept statuses up: the moment between seeing them behind and taking the lock."""

    other: Any = None

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "BEGIN IMMEDIATE" and _Racing.other is not None:
            other, _Racing.other = _Racing.other, None
            fact_status.current_statuses(other)
        return super().execute(sql, *args)


def test_statuses_another_reader_brought_up_meanwhile_are_not_worked_out_again(
    tmp_path: Path,
) -> None:
    """The kept statuses are checked again once the write lock is held (``kept_up``): a
    reader that found them behind, but took the lock after another brought them up,
    uses those rather than asking every changed incident again."""
    db = str(tmp_path / "l.db")
    writing.init(db)
    writing.append_file(db, write_jsonl(tmp_path / "l.jsonl", _crowded(1)))
    with workspace.read_model(db) as connection:
        views = Path(connection.execute("PRAGMA database_list").fetchone()[2])
    asked: list[list[str]] = []
    original = fact_status._changed

    def changed(*args: Any) -> list[str]:
        found = original(*args)
        asked.append(found)
        return found

    with mock.patch.object(fact_status, "_changed", changed):
        _Racing.other = sqlite3.connect(views, isolation_level=None)
        racing = sqlite3.connect(views, isolation_level=None, factory=_Racing)
        statuses = fact_status.current_statuses(racing)
    assert statuses == _asked_of_state(racing)
    assert len(asked) == 1, asked  # the other reader's
