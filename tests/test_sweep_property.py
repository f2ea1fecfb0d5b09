"""Property: walking an incident forward in known time (``projections.sweep``, behind
``history``) gives, at every instant something becomes known, exactly what ``state``
answers at that instant, and what the naive fold over the events answers."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.times import from_key
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.sweep import Sweep
from incident_ledger.projections.understanding import Policy, state
from incident_ledger.projections.views import Views
from tests.naive import events_of, naive_state
from tests.test_state_property import (
    build,
    comparable,
    declarations,
    gap_hours,
    one_total,
    operations,
    report_dates,
)

_INSTANTS = """
SELECT published_at FROM claims WHERE incident = 'i'
UNION SELECT e.published_at FROM claim_ends e
UNION SELECT '2022-01-05T12:00:00.000000Z'
ORDER BY 1
"""


def _check_walk(
    db: Any, zone: str | None, fact: str | None, recorded: datetime | None, policy: Policy
) -> list[tuple[str, dict[str, Any]]]:
    """Walk the incident (or one fact) and hold every instant to ``state``."""
    sweep = Sweep(db, "i", zone, fact=fact, recorded_at=recorded, policy=policy)
    seen = []
    for (instant,) in db.execute(_INSTANTS).fetchall():
        sweep.advance(instant)
        expected = state(db, "i", from_key(instant), recorded, policy)
        if fact is None:
            assert sweep.state() == expected
        else:
            assert sweep.fact(fact) == expected["facts"].get(fact)
        seen.append((instant, sweep.state()["facts"]))
    return seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from([None, "Asia/Damascus"]),
    declared=declarations,
    reports=report_dates,
    grades=st.lists(st.sampled_from([None, "A", "C", "F"]), min_size=4, max_size=4),
    ops=operations,
    gaps=gap_hours,
    r_index=st.integers(0, 30),
    policy=st.sampled_from(list(Policy)),
    ratings=st.lists(
        st.tuples(st.sampled_from(["s0", "s1"]), st.sampled_from("AF"), st.integers(1, 9)),
        max_size=2,
    ),
)
def test_every_step_of_the_sweep_equals_state(
    zone: str | None,
    declared: list[str],
    reports: list[str],
    grades: list[str | None],
    ops: list[Any],
    gaps: list[int],
    r_index: int,
    policy: Policy,
    ratings: list[tuple[str, str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        ledger, recorded = build(Path(workdir), zone, declared, reports, grades, ops, gaps)
        for source, grade, day in ratings:  # grades in force from a known time on
            ledger.rate_source(source, grade, "re-graded", f"2022-01-0{day}T06:00:00Z")
        views = Views(Path(workdir) / "v.db")
        try:
            Projector(ledger, views).catch_up()
            db = views.connection
            as_recorded = None if r_index >= len(recorded) else recorded[r_index]
            walked = _check_walk(db, zone, None, as_recorded, policy)
            for (fact,) in db.execute("SELECT DISTINCT fact FROM claims").fetchall():
                _check_walk(db, zone, fact, as_recorded, policy)
            if ratings:
                return  # the naive model knows a source's grade at registration only
            events = events_of(ledger)
            for instant, facts in walked:
                naive = naive_state(events, "i", from_key(instant), as_recorded, policy.value)
                assert {f: comparable(v) for f, v in facts.items()} == {
                    f: comparable(v) for f, v in naive.items()
                }
        finally:
            views.close()
            ledger.close()


def test_a_position_returns_to_an_earlier_claim_when_a_later_one_is_retracted(
    ledger: Any, views: Views, projector: Projector
) -> None:
    """s0 says 10, then 20; the 20 is retracted later: s0's position is 10 again."""
    from incident_ledger.ledger.imports import importer
    from incident_ledger.ledger.imports.importer import Entry
    from incident_ledger.ledger.imports.parsing import validate_record
    from incident_ledger.projections.history import history

    records: list[dict[str, Any]] = [
        {"type": "incident", "id": "i", "title": "I"},
        {"type": "source", "id": "s0", "name": "S0", "kind": "outlet"},
        {"type": "source", "id": "s1", "name": "S1", "kind": "outlet"},
    ]
    for n, day in enumerate(["2022-01-01", "2022-01-02", "2022-01-03", "2022-01-04"]):
        records.append({"type": "report", "id": f"r{n}", "source": "s0", "published_at": day})
    records += [
        {"type": "claim", "id": "a", "incident": "i", "fact": "killed", "report": "r0",
         "claimant": "s0", "value": 10},
        {"type": "claim", "id": "b", "incident": "i", "fact": "killed", "report": "r1",
         "claimant": "s1", "value": 10},
        {"type": "claim", "id": "c", "incident": "i", "fact": "killed", "report": "r2",
         "claimant": "s0", "value": 20},
        {"type": "retraction", "id": "x", "claim": "c", "report": "r3"},
    ]  # fmt: skip
    importer.record(ledger, [Entry("t", validate_record(r, "t")) for r in records])
    projector.catch_up()
    steps = history(views.connection, "i", "killed")["steps"]
    assert [(str(s["at"])[:10], s["status"], s["range"]) for s in steps] == [
        ("2022-01-01", "single", {"min": 10, "max": 10}),
        ("2022-01-02", "corroborated", {"min": 10, "max": 10}),
        ("2022-01-03", "contested", {"min": 10, "max": 20}),
        ("2022-01-04", "corroborated", {"min": 10, "max": 10}),
    ]


@pytest.mark.parametrize("policy", list(Policy))
@pytest.mark.parametrize(
    ("values", "conflict"),
    [
        # equal highest lower bounds: the first of them in order is named
        ([5, 5, 2, {"value": 9, "qualifier": "at_most"}], ["s0", "s2"]),
        # equal lowest upper bounds (and an unbounded one): likewise
        ([10, 2, 2, {"value": 3, "qualifier": "at_least"}], ["s0", "s1"]),
    ],
)
def test_the_walk_names_the_first_of_equal_positions_as_state_does(
    ledger: Any, views: Views, projector: Projector, policy: Policy, values: list[Any],
    conflict: list[str],
) -> None:  # fmt: skip
    """Positions with equal bounds, relayed ones and a re-graded source: the sweep's
    answer, updated one position at a time, is ``state``'s at every instant."""
    from incident_ledger.ledger.imports import importer
    from incident_ledger.ledger.imports.importer import Entry
    from incident_ledger.ledger.imports.parsing import validate_record

    records: list[dict[str, Any]] = [{"type": "incident", "id": "i", "title": "I"}]
    for n, grade in enumerate(["C", "B", "A", None, "B"]):
        records.append({"type": "source", "id": f"s{n}", "name": f"S{n}", "kind": "outlet"}
                       | ({"reliability": grade} if grade else {}))  # fmt: skip
    for n, value in enumerate(values):
        day = f"2022-01-0{n + 1}"
        records.append({"type": "report", "id": f"r{n}", "source": "s4", "published_at": day})
        claim = value if isinstance(value, dict) else {"value": value}
        via = ["s4"][: n % 2]
        records.append({"type": "claim", "id": f"c{n}", "incident": "i", "fact": "killed",
                        "report": f"r{n}", "claimant": f"s{n}", "via": via} | claim)  # fmt: skip
    importer.record(ledger, [Entry("t", validate_record(r, "t")) for r in records])
    ledger.rate_source("s0", "A", "re-graded", "2022-01-03T06:00:00Z")
    projector.catch_up()
    db = views.connection
    sweep = Sweep(db, "i", None, fact="killed", policy=policy)
    for n in range(len(values) + 1):
        instant = f"2022-01-0{n + 1}T00:00:00.000000Z"
        sweep.advance(instant)
        assert sweep.fact("killed") == state(db, "i", from_key(instant), None, policy)["facts"].get(
            "killed"
        )
    final = sweep.fact("killed")
    assert final is not None and final["why"]["conflict"] == conflict


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports=report_dates, ops=one_total, gaps=gap_hours)
def test_a_walk_says_a_fall_as_state_does(
    reports: list[str], ops: list[Any], gaps: list[int]
) -> None:
    """One claimant's totals of a cumulative count, retracted and corrected: the walk's
    ``lowered`` (kept per instant, by figure) is ``state``'s at every instant."""
    with tempfile.TemporaryDirectory() as workdir:
        views = Views(Path(workdir) / "v.db")
        views.ensure_schema()
        ledger, _ = build(Path(workdir), None, ["killed.a"], reports, [None] * 4, ops, gaps)
        try:
            Projector(ledger, views).catch_up()
            _check_walk(views.connection, None, "killed.a", None, Policy.RANGE)
        finally:
            views.close()
            ledger.close()
