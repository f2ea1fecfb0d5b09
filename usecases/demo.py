"""The Ghwayran walkthrough behind ``ledger demo``.

Loads the bundled sample into a ledger in a temporary directory and asks it what was
understood at the end of each day a report came out (21, 22, 23 and 31 Jan 2022) and
on 1 Feb 2022 — each answer what ``state`` gives, read by walking the incident forward
once (``projections.sweep``), each date the end of that day in the incident's time
zone — and everything that changed from one to the next
(``projections.changes.fact_changes``: the same changes ``diff`` lists).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from incident_ledger.ledger import samples
from incident_ledger.ledger.scratch import Scratch
from incident_ledger.ledger.times import to_key
from incident_ledger.projections.changes import ends_of, fact_changes
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.results import StateResult
from incident_ledger.projections.sweep import Sweep
from incident_ledger.projections.understanding import END_OF_TIME
from incident_ledger.usecases import reading, workspace, writing
from incident_ledger.usecases.workspace import query_instant

INCIDENT = "ghwayran-2022"
RELATED = "diyala-2022"
DATES = ("2022-01-21", "2022-01-22", "2022-01-23", "2022-01-31", "2022-02-01")


_PLACES = ("LEDGER_VIEWS", "LEDGER_KEY")
"""What names a ledger's read model and key in the environment: the user's ledger's, not
the demo's. Set, the demo's read model went to the user's (refused as another ledger's, or
made there and left) and its first admin took the user's key."""


@contextmanager
def _own_files() -> Iterator[None]:
    """The demo's ledger keeps its model and key beside it, whatever the environment names;
    the environment is given back as it was."""
    kept = {name: os.environ.pop(name) for name in _PLACES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(kept)


def walkthrough(dates: tuple[str, ...] = DATES) -> dict[str, Any]:
    """Build the sample ledger in a temporary directory and narrate its evolution."""
    with _own_files(), Scratch("demo") as workdir:
        db = str(workdir.path / "ledger.db")
        writing.init(db)
        outcome = writing.append_file(db, str(samples.GHWAYRAN))
        with workspace.open_workspace(db) as ws:
            conn = ws.views.connection
            reports = _reports(conn)
            title = conn.execute(
                "SELECT title, title_ar, place, timezone FROM incidents WHERE id = ?", (INCIDENT,)
            ).fetchone()
            claims = [row[0] for row in conn.execute("SELECT id FROM claims")]
            ends = ends_of(conn, claims, END_OF_TIME)
            zone = require_incident(conn, INCIDENT)
            sweep = Sweep(conn, INCIDENT, zone)  # each day's state, the incident walked once
            steps: list[dict[str, Any]] = []
            previous: StateResult | None = None
            for day in dates:
                known = query_instant(day, zone)
                assert known is not None  # a date always names an instant
                sweep.advance(to_key(known))
                current: StateResult = {"incident": INCIDENT, "timezone": zone, **sweep.state()}
                steps.append(_step(day, current, previous, reports, ends))
                previous = current
        related = reading.current_state(db, RELATED, at=dates[-1])
    return {
        "incident": INCIDENT,
        "title": title[0],
        "title_ar": title[1],
        "place": title[2],
        "timezone": title[3],
        "records": outcome.added,
        "sample": str(samples.GHWAYRAN),
        "reports": list(reports.values()),
        "steps": steps,
        "related": related,
    }


def _reports(db: Any) -> dict[str, dict[str, Any]]:
    """The sample's reports with the instant each became known for the incident (the
    end of its day in the incident's zone, for a report that gave only a date)."""
    rows = db.execute(
        "SELECT r.id, r.published_at, r.published_precision, r.title, s.id, s.name, s.name_ar, "
        "(SELECT MIN(c.published_at) FROM claims c WHERE c.report = r.id AND c.incident = ?) "
        "FROM reports r JOIN sources s ON s.id = r.source ORDER BY r.published_at, r.id",
        (INCIDENT,),
    )
    return {
        row[0]: {
            "id": row[0],
            "published_at": row[1][:10] if row[2] == "day" else row[1],
            "known_at": row[7] or row[1],
            "title": row[3],
            "source": row[4],
            "source_name": row[5],
            "source_name_ar": row[6],
        }
        for row in rows
    }


def _step(
    day: str,
    current: StateResult,
    previous: StateResult | None,
    reports: dict[str, dict[str, Any]],
    ends: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    known = _key(str(current["known_at"]))
    since = None if previous is None else _key(str(previous["known_at"]))
    new_reports = [
        r
        for r in reports.values()
        if r["known_at"] <= known and (since is None or r["known_at"] > since)
    ]
    now_ends = {
        claim: end
        for claim, end in ends.items()
        if end["published_at"] <= known and (since is None or end["published_at"] > since)
    }
    before = previous["facts"] if previous else {}
    changes = [
        {"fact": fact} | change
        for fact in sorted(before.keys() | current["facts"].keys())
        for change in fact_changes(before.get(fact), current["facts"].get(fact), now_ends)
    ]
    return {
        "date": day,
        "known_at": current["known_at"],
        "new_reports": new_reports,
        "state": current,
        "changes": changes,
        "in_force": _taking_effect(current, since, known),
    }


def _taking_effect(
    current: Mapping[str, Any], since: str | None, known: str
) -> list[dict[str, Any]]:
    """Positions reported before their valid time begins that begin in this step's span:
    what takes effect in the world between the two dates, as announced earlier (the
    curfew's lifting, reported on 31 Jan, applies from 1 Feb)."""
    from incident_ledger.ledger.facts import edtf_in_zone

    found = []
    for fact, detail in current["facts"].items():
        for position in detail["positions"]:
            valid = position.get("valid_time")
            if valid is None:
                continue
            start, _ = edtf_in_zone(valid, current.get("timezone"))
            announced = _key(position["published_at"])
            if start is None or start <= announced:
                continue
            if start <= known and (since is None or start > since):
                found.append({"fact": fact, "claimant": position["claimant"], "position": position})
    return found


def _key(iso: str) -> str:
    """An ISO instant from ``state`` as a storage key (fixed width, comparable as text)."""
    if iso.endswith("Z") and "." not in iso:
        return iso[:-1] + ".000000Z"
    return iso
