"""Where an incident's events are, read from the model the cheaper way for its size: the
same positions either way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from incident_ledger.ledger.stores.location import locate
from incident_ledger.projections import incidents
from tests.chained import make


@pytest.fixture
def model(tmp_path: Path) -> sqlite3.Connection:
    db = make(str(tmp_path / "l.db"), tmp_path)  # projected as it was written
    return sqlite3.connect(locate(db).views_path)


def read(model: sqlite3.Connection, incident: str) -> tuple[set[int] | None, list[str]]:
    """The positions, and the statements that read the incident's claims."""
    statements: list[str] = []
    model.set_trace_callback(statements.append)
    try:
        found = incidents.events_of_incident(model, incident)
    finally:
        model.set_trace_callback(None)
    return found, [s for s in statements if s.startswith("SELECT seq FROM claims")]


def test_an_incident_with_most_claims_is_read_by_a_pass_and_others_by_the_index(
    model: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    claims = dict(model.execute("SELECT incident, count(*) FROM claims GROUP BY incident"))
    assert claims["ghwayran-2022"] * 10 > sum(claims.values()) > claims["diyala-2022"] * 10
    answers = {}
    for incident in ("ghwayran-2022", "diyala-2022"):
        answers[incident], statements = read(model, incident)
        # A pass over every claim for the large one, the index for the other.
        passed = incident == "ghwayran-2022"
        assert statements == [
            f"SELECT seq FROM claims{' NOT INDEXED' * passed} WHERE incident = '{incident}'"
        ]
    for ways in ({"claims": 0, "ends": 0}, {"claims": 10**9, "ends": 10**9}):
        monkeypatch.setattr(incidents, "PASSED_WHEN", ways)
        for incident, found in answers.items():
            assert read(model, incident)[0] == found, (ways, incident)
    assert answers["diyala-2022"] and len(answers["ghwayran-2022"] or ()) > 100


def steps(model: sqlite3.Connection, sql: str, incident: str) -> int:
    """How many SQLite virtual-machine steps a query of the incident takes (a count of
    the work, whatever the machine's speed)."""
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0

    model.set_progress_handler(count, 1)
    try:
        model.execute(sql, {"incident": incident}).fetchall()
    finally:
        model.set_progress_handler(None, 1)
    return counted[0]


def test_an_incident_without_captures_or_desk_entries_does_not_read_its_claims_for_them(
    model: sqlite3.Connection,
) -> None:
    # The captures and desk entries concerning an incident are found from their own rows:
    # with none of them, the query costs the same for an incident of many claims as for
    # one of few (it once listed every report of the incident's claims first).
    assert model.execute("SELECT count(*) FROM captures").fetchone() == (0,)
    claims = dict(model.execute("SELECT incident, count(*) FROM claims GROUP BY incident"))
    assert claims["ghwayran-2022"] > 10 * claims["diyala-2022"]
    large, small = (steps(model, incidents._ENTRIES, i) for i in ("ghwayran-2022", "diyala-2022"))
    assert large == small
