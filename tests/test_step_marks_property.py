"""Property: on a desk where reporters propose and an editor approves or rejects, every
known time of a fact's ``history`` is marked as ``state`` at that time marks the fact —
a status only proposals give (``status_review``, ``status_proposed_by``,
``reviewed_status``, the words in ``why.summary``) and the positions proposed ends took
(``ended_by_proposals``) — as recorded by any R: the step in force then carries the
same marks, so no step is missing where only the marks change."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.errors import NotFoundError
from incident_ledger.ledger.times import from_key
from incident_ledger.projections.history import history, step_at
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.proposal_ends import mark_state_proposals
from incident_ledger.projections.understanding import Policy, state
from incident_ledger.projections.views import Views
from tests.test_state_property import build, operations, published

MARKS = ("status_review", "status_proposed_by", "reviewed_status", "ended_by_proposals")

_INSTANTS = """
SELECT published_at FROM claims WHERE incident = 'i' AND fact = :fact
UNION SELECT e.published_at FROM claim_ends e JOIN claims c ON c.id = e.claim
WHERE c.fact = :fact ORDER BY 1
"""


def marks(fact: Any) -> dict[str, Any]:
    if fact is None:
        return {}
    found = {key: fact[key] for key in MARKS if key in fact}
    return found | {"summary": fact["why"]["summary"]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reports=st.lists(published, min_size=6, max_size=6),
    ops=st.tuples(st.booleans(), operations).map(
        lambda drawn: [("as", "bob"), *drawn[1]] if drawn[0] else drawn[1]
    ),  # half the time bob, a reporter, proposes from the first record on
    gaps=st.lists(st.integers(1, 48), min_size=1, max_size=5),
    r_index=st.integers(0, 30),
)
def test_every_known_time_of_a_history_is_marked_as_state_marks_it(
    reports: list[str], ops: list[Any], gaps: list[int], r_index: int
) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        ledger, recorded = build(
            Path(workdir), None, ["fuel.plain"], reports, [None] * 4, ops, gaps
        )
        views = Views(Path(workdir) / "v.db")
        try:
            Projector(ledger, views).catch_up()
            db = views.connection
            as_recorded = None if r_index >= len(recorded) else recorded[r_index]
            for (fact,) in db.execute("SELECT DISTINCT fact FROM claims").fetchall():
                _check_fact(db, fact, as_recorded)
        finally:
            views.close()
            ledger.close()


def _check_fact(db: Any, fact: str, as_recorded: datetime | None) -> None:
    try:
        steps = history(db, "i", fact, as_recorded)["steps"]
    except NotFoundError:  # nothing of it counts as recorded by R
        return
    for (instant,) in db.execute(_INSTANTS, {"fact": fact}).fetchall():
        at = from_key(instant)
        shown = state(db, "i", at, as_recorded)
        mark_state_proposals(db, shown, at, as_recorded, Policy.RANGE)
        step = step_at(steps, at)
        expected = marks(shown["facts"].get(fact))
        assert marks(cast(Any, step)) == expected, (fact, instant)
