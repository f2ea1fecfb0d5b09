"""One fact's understanding over known time, as a step function.

The understanding can only change when something about the fact becomes
known: a claim of it is published, or a retraction or correction of one of
those claims is. The fact's claims are walked once in that order
(``projections.sweep``, whose every instant equals :func:`state`'s answer; the
rules live there, not here) and a step is emitted only when its positions,
status or range changed, with the reports published at that instant and what
changed.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from incident_ledger.ledger.errors import NotFoundError
from incident_ledger.ledger.times import to_key
from incident_ledger.projections.changes import changed_parts, ends_of, fact_changes
from incident_ledger.projections.citations import recorded_bound, report_refs
from incident_ledger.projections.desk_projection import claims_recorded_by, desk_on_fact
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.results import (
    FactState,
    HistoryResult,
    HistoryStep,
    PositionResult,
)
from incident_ledger.projections.sweep import Sweep
from incident_ledger.projections.understanding import iso

_CLAIMS = """
SELECT published_at, report, kind, unit, id FROM claims
WHERE incident = :incident AND fact = :fact AND recorded_at <= :recorded
"""

_RULES = """
SELECT kind, cumulative, unit FROM facts
WHERE incident = :incident AND key = :fact AND recorded_at <= :recorded
ORDER BY version DESC LIMIT 1
"""

_ENDS = """
SELECT e.published_at, e.report FROM claim_ends e JOIN claims c ON c.id = e.claim
WHERE c.incident = :incident AND c.fact = :fact AND e.recorded_at <= :recorded
"""


def history(
    db: sqlite3.Connection,
    incident: str,
    fact: str,
    recorded_at: datetime | None = None,
    *,
    reviewed_only: bool = False,
) -> HistoryResult:
    """Every change in the understanding of ``fact``, in known-time order, as recorded by R
    (``reviewed_only``: counting a reporter's proposals only once approved by R)."""
    zone = require_incident(db, incident)
    params = {"incident": incident, "fact": fact, "recorded": recorded_bound(recorded_at)}
    claims = db.execute(_CLAIMS, params).fetchall()
    if not claims:
        raise NotFoundError(_no_claims(db, incident, fact, recorded_at))
    reports_at: dict[str, set[str]] = {}
    for published, report, *_ in claims + db.execute(_ENDS, params).fetchall():
        reports_at.setdefault(published, set()).add(report)
    ends = ends_of(db, (row[4] for row in claims), params["recorded"])
    steps: list[HistoryStep] = []
    previous: FactState | None = None
    sweep = Sweep(
        db, incident, zone, fact=fact, recorded_at=recorded_at, reviewed_only=reviewed_only
    )
    for instant in sorted(reports_at):
        sweep.advance(instant)
        current = sweep.fact(fact)
        parts = changed_parts(previous, current)
        if not parts or current is None:
            continue
        now = {claim: end for claim, end in ends.items() if end["published_at"] == instant}
        steps.append(_step(db, instant, reports_at[instant], previous, current, parts, now))
        previous = current
    kinds = {row[2] for row in claims}
    units = Counter(row[3] for row in claims if row[3])
    rules = db.execute(_RULES, params).fetchone()
    # Built key by key in the order the JSON shows them, then given its type.
    result: dict[str, Any] = {
        "incident": incident,
        "fact": fact,
        "kind": kinds.pop() if len(kinds) == 1 else "mixed",
        "unit": (rules[2] if rules and rules[2] else None)
        or (units.most_common(1)[0][0] if units else None),
    }
    if rules is not None:
        result["fact_kind"] = rules[0]
        if rules[1]:
            result["cumulative"] = True
    result |= {
        "timezone": zone,
        "recorded_at": iso(to_key(recorded_at)) if recorded_at else None,
        "steps": steps,
        "desk": desk_on_fact(db, params),
        "recorded_by": claims_recorded_by(db, _position_claims(steps)),
    }
    return cast(HistoryResult, result)


def _position_claims(steps: Sequence[HistoryStep]) -> set[str]:
    """Every claim the steps' positions hold."""
    return {
        claim
        for step in steps
        for position in step["positions"]
        for claim in position.get("claims") or [position["claim"]]
    }


def _no_claims(
    db: sqlite3.Connection, incident: str, fact: str, recorded_at: datetime | None
) -> str:
    message = f"no claims of '{fact}' in incident '{incident}'"
    exists = db.execute(
        "SELECT 1 FROM claims WHERE incident = ? AND fact = ? LIMIT 1", (incident, fact)
    ).fetchone()
    if recorded_at is not None and exists:
        return f"{message} recorded by {iso(to_key(recorded_at))}"
    return message + close_facts(db, incident, fact)


def close_facts(db: sqlite3.Connection, incident: str, fact: str) -> str:
    """``; did you mean 'killed.isis'?`` naming the incident's closest fact keys, or ``""``."""
    from difflib import get_close_matches

    keys = [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT fact FROM claims WHERE incident = ? "
            "UNION SELECT key FROM facts WHERE incident = ?",
            (incident, incident),
        )
    ]
    close = get_close_matches(fact, keys, n=3, cutoff=0.6)
    if not close:
        return ""
    quoted = [f"'{key}'" for key in close]
    names = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"; did you mean {names}?"


def _step(
    db: sqlite3.Connection,
    instant: str,
    reports: set[str],
    previous: FactState | None,
    current: FactState,
    parts: list[str],
    ends: dict[str, dict[str, Any]],
) -> HistoryStep:
    return {
        "at": iso(instant),
        "reports": report_refs(db, reports),
        "status": current["status"],
        "kind": current.get("kind"),
        "value": current["value"],
        "range": current["range"],
        "positions": current["positions"],
        "why": current["why"],
        "changed": parts,
        "changes": fact_changes(previous, current, ends),
    }


def changed_positions(steps: Iterable[HistoryStep]) -> Iterator[dict[str, Any]]:
    """The steps as ``history --json`` lists them: in place of ``positions`` (every
    position in force, at every step), ``positions_count`` and what changed since the step
    before — ``positions_changed``, the positions that are new or differ, and
    ``positions_ended``, the claimants who no longer hold one — and ``why`` without its
    ``positions``. The positions in force at a step are those of the step before, less
    the ended, with the changed in place: one hot fact's history lists each position
    once, where every step listing all of them made hundreds of megabytes."""
    previous: dict[str, PositionResult] = {}
    for step in steps:
        current = {p["claimant"]: p for p in step["positions"]}
        out: dict[str, Any] = {}
        for key, value in step.items():
            if key == "positions":
                out["positions_count"] = len(current)
                out["positions_changed"] = [
                    p
                    for c, p in current.items()
                    if previous.get(c) is not p and previous.get(c) != p
                ]
                out["positions_ended"] = sorted(previous.keys() - current.keys())
            elif key == "why":
                out["why"] = {k: v for k, v in step["why"].items() if k != "positions"}
            else:
                out[key] = value
        previous = current
        yield out


def step_at(steps: Sequence[HistoryStep], known_at: datetime) -> HistoryStep | None:
    """The step in force at a known time: the last one at or before it (None before the first)."""
    chosen: HistoryStep | None = None
    for step in steps:
        if datetime.fromisoformat(str(step["at"]).replace("Z", "+00:00")) <= known_at:
            chosen = step
    return chosen
