"""Property: the indexed point-in-time state equals a naive fold over the events."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import ConflictError
from incident_ledger.ledger.imports import importer
from incident_ledger.ledger.imports.importer import Entry
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.times import parse_instant
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.understanding import Policy, state
from incident_ledger.projections.views import Views
from tests.naive import events_of, naive_state, query_instant

SOURCES = ["s0", "s1", "s2", "s3"]
FACTS = ["killed.a", "killed.b", "control"]

qualifiers = st.sampled_from([None, "approx", "at_least", "more_than", "at_most", "less_than"])
numbers = st.integers(min_value=1, max_value=5)  # small, so bounds often touch
values = st.one_of(
    st.tuples(numbers, qualifiers).map(lambda t: {"value": t[0], "qualifier": t[1]}),
    st.tuples(numbers, numbers).map(lambda t: {"value": {"min": min(t), "max": max(t)}}),
    st.sampled_from(["sdf", "SDF", "isis", True]).map(lambda v: {"value": v}),
)
published = st.one_of(
    st.integers(1, 9).map(lambda d: f"2022-01-0{d}"),
    st.tuples(st.integers(1, 9), st.integers(0, 23)).map(
        lambda t: f"2022-01-0{t[0]}T{t[1]:02d}:30:00Z"
    ),
)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("claim"),
            st.sampled_from(FACTS),
            values,
            st.integers(0, 5),
            st.sampled_from([None, *SOURCES]),
        ),
        st.tuples(st.just("retract"), st.integers(0, 50), st.integers(0, 5)),
        st.tuples(
            st.just("correct"),
            st.integers(0, 50),
            values,
            st.integers(0, 5),
            st.sampled_from([None, *SOURCES]),
        ),
    ),
    min_size=1,
    max_size=25,
)


def build(
    workdir: Path, reports: list[str], grades: list[str | None], ops: list[Any], gaps: list[int]
) -> tuple[Ledger, list[datetime]]:
    now = [datetime(2022, 2, 1, tzinfo=UTC)]
    ledger = Ledger(locate(str(workdir / "l.db")).event_store_env(), clock=lambda: now[0])
    setup = [{"type": "incident", "id": "i", "title": "I"}]
    setup += [
        {"type": "source", "id": s, "name": s, "kind": "outlet"} | ({"reliability": g} if g else {})
        for s, g in zip(SOURCES, grades, strict=True)
    ]
    setup += [
        {"type": "report", "id": f"r{n}", "source": SOURCES[n % 4], "published_at": p}
        for n, p in enumerate(reports)
    ]
    importer.record(ledger, [Entry("setup", validate_record(r, "setup")) for r in setup])
    recorded = [now[0]]
    claims: list[str] = []
    for number, (op, gap) in enumerate(zip(ops, gaps * 30, strict=False)):
        now[0] = now[0] + timedelta(hours=gap)
        record: dict[str, Any]
        if op[0] == "claim":
            _, fact, value, report, claimant = op
            record = {
                "type": "claim",
                "id": f"c{number}",
                "incident": "i",
                "fact": fact,
                "report": f"r{report}",
                "claimant": claimant,
            } | value
        elif not claims:
            continue
        elif op[0] == "retract":
            _, target, report = op
            record = {
                "type": "retraction",
                "id": f"x{number}",
                "claim": claims[target % len(claims)],
                "report": f"r{report}",
            }
        else:
            _, target, value, report, claimant = op
            fact = FACTS[target % 2]
            record = {
                "type": "correction",
                "id": f"c{number}",
                "incident": "i",
                "fact": fact,
                "claim": claims[target % len(claims)],
                "report": f"r{report}",
                "claimant": claimant,
            } | value
        clean = {k: v for k, v in record.items() if v is not None}
        try:
            importer.record(ledger, [Entry(f"op {number}", validate_record(clean, "op"))])
        except ConflictError:
            continue
        recorded.append(now[0])
        if record["type"] in ("claim", "correction"):
            claims.append(record["id"])
    return ledger, recorded


def comparable(fact: dict[str, Any]) -> dict[str, Any]:
    value = fact["value"]
    if isinstance(value, list):
        value = sorted(json.dumps(v) for v in value)
    return {
        "status": fact["status"],
        "range": fact["range"],
        "value": value,
        "claims": sorted(p["claim"] for p in fact["positions"])
        if "positions" in fact
        else fact["claims"],
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reports=st.lists(published, min_size=6, max_size=6),
    grades=st.lists(st.sampled_from([None, "A", "B", "C", "F"]), min_size=4, max_size=4),
    ops=operations,
    gaps=st.lists(st.integers(1, 48), min_size=1, max_size=5),
    queries=st.lists(
        st.tuples(
            published,
            st.integers(0, 30),
            st.sampled_from(["range", "conservative", "latest", "preferred"]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_indexed_state_equals_naive_fold(
    reports: list[str],
    grades: list[str | None],
    ops: list[Any],
    gaps: list[int],
    queries: list[tuple[str, int, str]],
) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        ledger, recorded = build(Path(workdir), reports, grades, ops, gaps)
        views = Views(Path(workdir) / "v.db")
        try:
            Projector(ledger, views).catch_up()
            events = events_of(ledger)
            for at, r_index, policy in queries:
                known = parse_instant(at, end_of_day=True)
                assert known == query_instant(at)
                as_recorded = None if r_index >= len(recorded) else recorded[r_index]
                got = state(views.connection, "i", known, as_recorded, Policy(policy))["facts"]
                expected = naive_state(events, "i", known, as_recorded, policy)
                assert {f: comparable(v) for f, v in got.items()} == {
                    f: comparable(v) for f, v in expected.items()
                }
        finally:
            views.close()
            ledger.close()
