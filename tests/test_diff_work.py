"""The ends a diff lists are read from the ends published in its span, each finding its
claim: SQLite's work for them follows the ends, not every claim of the incident (asked
of a hot incident's claims, each looking for its ends, it read 200,000 claims for 3,000
ends)."""

from __future__ import annotations

from typing import Any

from incident_ledger.projections import diff as diff_module
from tests.projected import projected

_PARAMS = {
    "incident": "i",
    "start": "2022-01-10T00:00:00.000000Z",
    "end": "2022-01-20T00:00:00.000000Z",
    "recorded": "~",
}


def _records(earlier: int) -> list[dict[str, Any]]:
    """Ten claims retracted in the span (10–20 Jan), after ``earlier`` claims before it."""
    records: list[dict[str, Any]] = [
        {"type": "incident", "id": "i", "title": "I"},
        {"type": "source", "id": "s", "name": "S", "kind": "outlet"},
        {"type": "report", "id": "old", "source": "s", "published_at": "2022-01-01"},
        {"type": "report", "id": "new", "source": "s", "published_at": "2022-01-15"},
    ]
    records += [
        {"type": "claim", "id": f"c{n}", "incident": "i", "fact": f"f{n % 20}",
         "report": "old", "claimant": "s", "value": n}
        for n in range(earlier)
    ]  # fmt: skip
    records += [
        {"type": "retraction", "id": f"x{n}", "claim": f"c{n}", "report": "new"} for n in range(10)
    ]
    return records


def _steps(earlier: int) -> int:
    """SQLite's steps (in thousands) reading the ends of the span: the reports that ended
    a claim, and the retractions."""
    with projected(_records(earlier)) as db:
        desk = diff_module._desk(db, False)
        steps = [0]

        def step() -> int:
            steps[0] += 1
            return 0

        db.set_progress_handler(step, 1000)
        ends = db.execute(diff_module._ENDING_REPORTS.format(**desk), _PARAMS).fetchall()
        listed = db.execute(diff_module._RETRACTIONS.format(**desk), _PARAMS).fetchall()
        db.set_progress_handler(None, 1000)
        assert len(ends) == len(listed) == 10
        return steps[0]


def test_the_ends_of_a_span_are_read_without_reading_every_claim() -> None:
    small, large = _steps(100), _steps(3_000)
    assert large <= small + 2, (small, large)
