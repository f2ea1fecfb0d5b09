"""The Ghwayran walkthrough behind ``ledger demo``.

Loads the bundled sample into a ledger in a temporary directory and asks it
what was understood at the end of 21 Jan, 23 Jan, 25 Jan and 1 Feb 2022 —
each answer an ordinary point-in-time query — and what changed between them.
"""

from __future__ import annotations

from typing import Any

from incident_ledger.ledger import samples
from incident_ledger.ledger.scratch import Scratch
from incident_ledger.usecases import reading, workspace, writing

INCIDENT = "ghwayran-2022"
RELATED = "diyala-2022"
DATES = ("2022-01-21", "2022-01-23", "2022-01-25", "2022-02-01")


def walkthrough(dates: tuple[str, ...] = DATES) -> dict[str, Any]:
    """Build the sample ledger in a temporary directory and narrate its evolution."""
    with Scratch("demo") as workdir:
        db = str(workdir.path / "ledger.db")
        writing.init(db)
        outcome = writing.append_file(db, str(samples.GHWAYRAN))
        with workspace.open_workspace(db) as ws:
            reports = _reports(ws.views.connection)
            title = ws.views.connection.execute(
                "SELECT title, title_ar, place FROM incidents WHERE id = ?", (INCIDENT,)
            ).fetchone()
        steps: list[dict[str, Any]] = []
        previous: dict[str, Any] | None = None
        previous_date: str | None = None
        for day in dates:
            current = reading.current_state(db, INCIDENT, at=day)
            steps.append(_step(day, previous_date, current, previous, reports))
            previous, previous_date = current, day
        related = reading.current_state(db, RELATED, at=dates[-1])
    return {
        "incident": INCIDENT,
        "title": title[0],
        "title_ar": title[1],
        "place": title[2],
        "records": outcome.added,
        "reports": list(reports.values()),
        "steps": steps,
        "related": related,
    }


def _reports(db: Any) -> dict[str, dict[str, Any]]:
    rows = db.execute(
        "SELECT r.id, r.published_at, r.title, s.id, s.name, s.name_ar FROM reports r "
        "JOIN sources s ON s.id = r.source ORDER BY r.published_at, r.seq"
    )
    return {
        row[0]: {
            "id": row[0],
            "published_at": row[1][:10],
            "title": row[2],
            "source": row[3],
            "source_name": row[4],
            "source_name_ar": row[5],
        }
        for row in rows
    }


def _step(
    day: str,
    previous_day: str | None,
    current: dict[str, Any],
    previous: dict[str, Any] | None,
    reports: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    new_reports = [
        r
        for r in reports.values()
        if r["published_at"] <= day and (previous_day is None or r["published_at"] > previous_day)
    ]
    before = previous["facts"] if previous else {}
    changes: list[dict[str, Any]] = []
    for fact, now in current["facts"].items():
        then = before.get(fact)
        now_claims = {p["claimant"]: p for p in now["positions"]}
        then_claims = {p["claimant"]: p for p in then["positions"]} if then else {}
        if then is None:
            changes.append({"fact": fact, "change": "new", "status": now["status"]})
            continue
        if then["status"] != now["status"]:
            changes.append(
                {"fact": fact, "change": "status", "from": then["status"], "to": now["status"]}
            )
        for claimant, position in now_claims.items():
            old = then_claims.get(claimant)
            if old is None:
                changes.append(
                    {"fact": fact, "change": "joined", "claimant": claimant, "position": position}
                )
            elif old["claim"] != position["claim"]:
                changes.append(
                    {
                        "fact": fact,
                        "change": "revised",
                        "claimant": claimant,
                        "from": old,
                        "to": position,
                    }
                )
        for claimant, old in then_claims.items():
            if claimant not in now_claims:
                changes.append(
                    {"fact": fact, "change": "withdrawn", "claimant": claimant, "position": old}
                )
    return {
        "date": day,
        "new_reports": new_reports,
        "state": current,
        "changes": changes,
    }
