"""The kept state of a crowded incident (``state_summaries``) is the state worked out.

A property holds the kept answer to the one worked out afresh, before every operation of
the random ledgers of ``test_state_property`` (claims, ends, a fact declared anew, errata,
a desk's proposals and reviews, sources graded anew from a known time), at instants on
either side of the claims' own; examples show what sends an incident back to be worked
out and what leaves its kept state be.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.times import parse_instant, zone_or_none
from incident_ledger.projections import in_force, state_summaries
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.proposal_ends import mark_state_proposals
from incident_ledger.projections.results import StateResult
from incident_ledger.projections.state_summaries import summed_now, summed_state
from incident_ledger.projections.understanding import Policy, state
from incident_ledger.projections.views import Views
from incident_ledger.usecases import reading, workspace
from tests.test_cli import jsonl, ledger
from tests.test_state_property import (
    build,
    declarations,
    gap_hours,
    operation,
    published,
    rating,
    report_dates,
)

Work = Callable[[], StateResult]


def worker(db: Any, known: datetime, policy: Policy = Policy.RANGE) -> Work:
    """The state ``ledger state`` works out: as recorded now, with the desk's marks."""

    def work() -> StateResult:
        result = state(db, "i", known, None, policy)
        mark_state_proposals(db, result, known, None, policy)
        return result

    return work


def unworked() -> StateResult:
    raise AssertionError("the kept state was expected to hold")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from([None, "Asia/Damascus"]),
    declared=declarations,
    reports=report_dates,
    grades=st.lists(st.sampled_from([None, "A", "C"]), min_size=4, max_size=4),
    ops=st.lists(st.one_of(operation, rating), min_size=1, max_size=25),
    gaps=gap_hours,
    queries=st.lists(
        st.tuples(published, st.sampled_from(["range", "latest", "preferred"])),
        min_size=1,
        max_size=3,
    ),
)
def test_the_kept_state_is_the_state_worked_out(
    zone: str | None,
    declared: list[str],
    reports: list[str],
    grades: list[str | None],
    ops: list[Any],
    gaps: list[int],
    queries: list[tuple[str, str]],
) -> None:
    def instant(text: str) -> datetime:
        return parse_instant(text, end_of_day=True, zone=zone_or_none(zone))

    with tempfile.TemporaryDirectory() as workdir, mock.patch.object(in_force, "CROWDED", 0):
        views = Views(Path(workdir) / "v.db")
        views.ensure_schema()
        db = views.connection

        def asked(ledger: Ledger) -> None:
            """Before each operation: every question's answer, kept or worked out, is
            the one worked out afresh (a question keeps its answer for the next)."""
            Projector(ledger, views).catch_up()
            for at, policy in queries:
                known, chosen = instant(at), Policy(policy)
                expected = summed_state(worker(db, known, chosen)())
                assert summed_now(db, "i", chosen, known, worker(db, known, chosen)) == expected
                assert summed_now(db, "i", chosen, known, unworked) == expected

        built, _ = build(
            Path(workdir), zone, declared, reports, grades, ops, gaps, asked, every_step=True
        )
        try:
            asked(built)
        finally:
            views.close()
            built.close()


def sample(incident: str, claimants: int, published_at: str = "2022-01-21") -> list[dict[str, Any]]:
    """An incident whose killed.total is held by ``claimants`` sources, each in a report
    of its own."""
    records: list[dict[str, Any]] = [{"type": "incident", "id": incident, "title": incident}]
    for n in range(claimants):
        source, report = f"{incident}-s{n}", f"{incident}-r{n}"
        records += [
            {"type": "source", "id": source, "name": source.upper(), "kind": "outlet"},
            {"type": "report", "id": report, "source": source, "published_at": published_at},
            {"type": "claim", "id": f"{incident}-c{n}", "incident": incident}
            | {"fact": "killed.total", "value": 20 + n % 3, "report": report},
        ]
    return records


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(in_force, "CROWDED", 10)
    path = str(tmp_path / "ledger.db")
    assert ledger(path, "init")[0] == 0
    records = sample("i", 15) + sample("quiet", 3)
    code, out, err = ledger(path, "append", "--file", "-", stdin=jsonl(records))
    assert code == 0, out + err
    yield path


KNOWN = datetime(2022, 1, 25, tzinfo=UTC)


def ask(db: str, work: Callable[[Any], Work] = lambda conn: worker(conn, KNOWN)) -> StateResult:
    with workspace.read_model(db, "i") as conn:
        return summed_now(conn, "i", Policy.RANGE, KNOWN, work(conn))


def test_a_crowded_fact_is_summed_up_and_kept(db: str) -> None:
    first = ask(db)
    assert first["facts"]["killed.total"]["summed"] == (
        "15 positions; most held: 20 (5), 21 (5), 22 (5)"
    )
    assert first["facts"]["killed.total"]["positions"] == []
    assert ask(db, lambda conn: unworked) == first


@pytest.mark.parametrize(
    ("records", "kept"),
    [
        # Another incident's claim, a report, a source no claim cites: the state holds.
        (
            [
                {"type": "claim", "id": "q9", "incident": "quiet", "fact": "killed.total"}
                | {"value": 4, "report": "quiet-r0"}
            ],
            True,
        ),
        ([{"type": "report", "id": "r-new", "source": "i-s0", "published_at": "2022-01-24"}], True),
        # The incident's own claim, a fact declared, a retraction of its claim, a source's
        # grade (a table no incident owns): it is worked out again.
        (
            [
                {"type": "claim", "id": "i9", "incident": "i", "fact": "injured", "value": 4}
                | {"report": "i-r0"}
            ],
            False,
        ),
        ([{"type": "fact", "incident": "i", "key": "injured", "kind": "count"}], False),
        (
            [
                {"type": "report", "id": "r-x", "source": "i-s1", "published_at": "2022-01-22"},
                {"type": "retraction", "id": "x1", "claim": "i-c1", "report": "r-x"},
            ],
            False,
        ),
        ([{"type": "source", "id": "z-new", "name": "Z", "kind": "outlet"}], False),
    ],
)
def test_what_sends_an_incident_back_to_be_worked_out(
    db: str, records: list[dict[str, Any]], kept: bool
) -> None:
    ask(db)
    code, out, err = ledger(db, "append", "--file", "-", stdin=jsonl(records))
    assert code == 0, out + err
    if kept:
        assert ask(db, lambda conn: unworked) == ask(db)
    else:
        with pytest.raises(AssertionError, match="expected to hold"):
            ask(db, lambda conn: unworked)
    with workspace.read_model(db, "i") as conn:
        assert ask(db) == summed_state(worker(conn, KNOWN)())


def test_a_source_graded_anew_sends_the_incident_back(db: str) -> None:
    ask(db)
    code, out, err = ledger(db, "rate", "i-s3", "A", "--reason", "checked")
    assert code == 0, out + err
    with pytest.raises(AssertionError, match="expected to hold"):
        ask(db, lambda conn: unworked)
    with workspace.read_model(db, "i") as conn:
        assert ask(db) == summed_state(worker(conn, KNOWN)())


def test_the_kept_state_holds_until_a_later_grade_takes_effect(db: str) -> None:
    code, out, err = ledger(db, "rate", "i-s3", "F", "--reason", "x", "--from", "2022-01-27")
    assert code == 0, out + err
    with workspace.read_model(db, "i") as conn:  # kept at 25 Jan: the grade F not yet in force
        summed_now(conn, "i", Policy.PREFERRED, KNOWN, worker(conn, KNOWN, Policy.PREFERRED))
    for day, kept in [(26, True), (28, False)]:
        at = datetime(2022, 1, day, 12, tzinfo=UTC)
        with workspace.read_model(db, "i") as conn:
            fresh = summed_state(worker(conn, at, Policy.PREFERRED)())
            work = unworked if kept else worker(conn, at, Policy.PREFERRED)
            assert summed_now(conn, "i", Policy.PREFERRED, at, work) == fresh


def test_the_kept_state_holds_until_a_later_claim_is_known(db: str) -> None:
    late: list[dict[str, Any]] = [
        {"type": "report", "id": "r-late", "source": "i-s2", "published_at": "2022-01-28"},
        {"type": "claim", "id": "i-late", "incident": "i", "fact": "killed.total"}
        | {"value": 90, "report": "r-late"},
    ]
    assert ledger(db, "append", "--file", "-", stdin=jsonl(late))[0] == 0
    ask(db)
    for day, kept in [(26, True), (28, True), (29, False)]:
        at = datetime(2022, 1, day, 12, tzinfo=UTC)
        with workspace.read_model(db, "i") as conn:
            fresh = summed_state(worker(conn, at)())
            work = unworked if kept else worker(conn, at)
            assert summed_now(conn, "i", Policy.RANGE, at, work) == fresh
    assert "90 (1)" not in ask(db)["facts"]["killed.total"]["summed"]


def test_ledger_state_shows_the_kept_state_and_the_json_every_position(db: str) -> None:
    code, table, _ = ledger(db, "state", "i")
    assert code == 0
    assert "15 positions; most held: 20" in table
    code, again, _ = ledger(db, "state", "i")
    assert again.splitlines()[1:] == table.splitlines()[1:]  # the first line: now
    facts = reading.current_state(db, "i")["facts"]
    assert len(facts["killed.total"]["positions"]) == 15
    assert "summed" not in facts["killed.total"]


def test_a_state_kept_by_another_program_is_not_read(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ask(db)
    monkeypatch.setattr(state_summaries, "kept_as", lambda: "another-build")
    with pytest.raises(AssertionError, match="expected to hold"):
        ask(db, lambda conn: unworked)
    ask(db)  # kept again by this program, in place of the other's
    with workspace.read_model(db, "i") as conn:
        kept = conn.execute("SELECT policy FROM state_summaries").fetchall()
    assert kept == [("range@another-build",)]


def test_a_kept_state_follows_a_model_that_moved_on_elsewhere(db: str) -> None:
    ask(db)
    other = {"type": "claim", "id": "q8", "incident": "quiet", "fact": "injured"}
    code, out, err = ledger(
        db, "append", "--file", "-", stdin=jsonl([other | {"value": 1, "report": "quiet-r0"}])
    )
    assert code == 0, out + err
    ask(db, lambda conn: unworked)  # still holds, and now stands where the model does
    with workspace.read_model(db, "i") as conn:
        kept = conn.execute("SELECT position FROM state_summaries").fetchone()[0]
        assert kept == conn.execute("SELECT position FROM tracking").fetchone()[0]


def test_a_read_never_waits_for_a_writer_to_keep_what_it_worked_out(db: str) -> None:
    """Keeping a state (and the stored positions it reads) is for the next question: while
    another process holds the model's write lock, a read answers without keeping them
    rather than waiting for the lock (up to the connection's 30 s)."""
    expected = ask(db)
    model = str(locate(db).views_path)
    with closing(sqlite3.connect(model, isolation_level=None)) as writer:
        writer.execute("DELETE FROM state_summaries")
        writer.execute("DELETE FROM positions_built")
        writer.execute("BEGIN IMMEDIATE")  # a writer mid-transaction (an import, say)
        started = time.monotonic()
        assert ask(db) == expected
        assert time.monotonic() - started < 10  # not the 30 s of the busy timeout
        writer.execute("ROLLBACK")
    with workspace.read_model(db, "i") as conn:
        assert conn.execute("SELECT COUNT(*) FROM state_summaries").fetchone()[0] == 0
    assert ask(db) == expected  # kept now, the lock free
    with workspace.read_model(db, "i") as conn:
        assert conn.execute("SELECT COUNT(*) FROM state_summaries").fetchone()[0] == 1
