"""The use cases that read: state, timeline, history, diff and sources (search: ``searching``).

Each function opens the ledger, brings the read model up to date, asks one
projection and returns plain data for the CLI to render.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.times import parse_instant, utc_now
from incident_ledger.projections.citations import recorded_bound
from incident_ledger.projections.desk_rules import (
    mark_proposals,
    mark_proposed_changes,
)
from incident_ledger.projections.in_force import crowded
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.proposal_ends import mark_state_proposals, mark_status_change
from incident_ledger.projections.results import (
    DiffResult,
    HistoryResult,
    PositionResult,
    StateResult,
)
from incident_ledger.projections.state_summaries import summed_now, summed_state
from incident_ledger.projections.understanding import Policy, state
from incident_ledger.usecases.choices import parse_policy
from incident_ledger.usecases.outputs import output_file, write_bytes
from incident_ledger.usecases.workspace import (
    ledger_files,
    query_instant,
    read_model,
    unmapped,
)


def current_state(
    db: str | None,
    incident: str,
    *,
    at: str | None = None,
    as_recorded: str | None = None,
    policy: Policy | str = Policy.RANGE,
    reviewed_only: bool = False,
    summed: bool = False,
) -> StateResult:
    """The understanding of an incident at a known time, optionally as recorded by R
    (``reviewed_only``: a reporter's proposals count only once approved; ``summed``:
    each fact held by many claimants summed up, as a table shows it — kept for the
    next such question about now, as recorded now: ``state_summaries``).

    A date (``at``, ``as_recorded``) means the end of that day in the incident's time
    zone (UTC when it declares none).
    """
    for text in (at, as_recorded):
        if text:
            parse_instant(text)  # bad input is reported before the ledger is opened
    chosen = parse_policy(policy)
    with read_model(db, incident) as conn:
        zone = require_incident(conn, incident)
        if crowded(conn, incident):
            unmapped(conn)
        known_at = query_instant(at, zone) or utc_now()
        recorded = query_instant(as_recorded, zone)

        def work() -> StateResult:
            result = state(conn, incident, known_at, recorded, chosen, reviewed_only=reviewed_only)
            if not reviewed_only:
                mark_state_proposals(conn, result, known_at, recorded, chosen)
            return result

        if summed and not (at or as_recorded or reviewed_only):
            result = summed_now(conn, incident, chosen, known_at, work)
        elif summed:
            result = summed_state(work())
        else:
            result = work()
    answer: StateResult = {"incident": result["incident"], "timezone": zone, **result}
    return answer


def timeline(
    db: str | None, incident: str, *, at: str | None = None, reviewed_only: bool = False
) -> dict[str, Any]:
    """Dated, active claims in world-time order, as known at ``at`` (default: now)
    (``reviewed_only``: a reporter's proposals count only once approved)."""
    from incident_ledger.usecases.timeline_stream import timeline_stream

    with timeline_stream(db, incident, at=at, reviewed_only=reviewed_only) as read:
        entries = list(read.entries)
        return {**read.head, "entries": entries, **read.tail()}


def fact_history(
    db: str | None,
    incident: str,
    fact: str,
    *,
    as_recorded: str | None = None,
    chart: str | None = None,
    reviewed_only: bool = False,
) -> HistoryResult:
    """One fact's understanding over known time; with ``chart``, also draw it (SVG/PNG)."""
    from incident_ledger.projections.charts import chart_format, check_chartable
    from incident_ledger.projections.history import history

    if chart is not None:
        chart_format(chart)
        output_file(chart, ledger_files(locate(db)))
    if as_recorded:
        parse_instant(as_recorded)
    with read_model(db, incident) as conn:
        recorded_at = query_instant(as_recorded, require_incident(conn, incident))
        result = history(conn, incident, fact, recorded_at, reviewed_only=reviewed_only)
        if not reviewed_only:  # a position object stands in every step that holds it
            positions = {id(p): p for step in result["steps"] for p in step["positions"]}
            mark_proposals(conn, _items(positions.values()), recorded_bound(recorded_at))
            steps = ((step["changes"], step["positions"]) for step in result["steps"])
            mark_proposed_changes(conn, steps, recorded_bound(recorded_at))
    if chart is not None:
        check_chartable(result)
        result["chart"] = _draw(result, chart)
    return result


def _items(positions: Iterable[PositionResult]) -> Iterator[MutableMapping[str, Any]]:
    """Positions as the mappings ``mark_proposals`` marks."""
    return (cast(MutableMapping[str, Any], position) for position in positions)


def _draw(result: HistoryResult, chart: str) -> dict[str, str]:
    from incident_ledger.projections.charts import draw_history

    fmt, drawn = draw_history(result, chart)
    write_bytes(Path(chart), drawn, f"the chart {chart}")  # whole, or what was there stays
    return {"path": chart, "format": fmt}


def belief_diff(
    db: str | None,
    incident: str,
    *,
    from_at: str,
    to_at: str,
    as_recorded: str | None = None,
    reviewed_only: bool = False,
) -> DiffResult:
    """What changed in the understanding between two known times T1 < T2 (dates: the ends
    of those days in the incident's time zone)."""
    from incident_ledger.projections.diff import diff

    for text in (from_at, to_at, as_recorded):
        if text:
            parse_instant(text)
    with read_model(db, incident) as conn:
        if crowded(conn, incident):  # a month of a hot incident: most of the model, mapped
            unmapped(conn)
        zone = require_incident(conn, incident)
        start, end = query_instant(from_at, zone), query_instant(to_at, zone)
        if start is None or end is None or start >= end:
            raise BadInputError(
                f"{{from_at}} ({from_at}) must be earlier than {{to_at}} ({to_at})",
                arguments=("from_at", "to_at"),
            )
        recorded = query_instant(as_recorded, zone)
        result = diff(conn, incident, start, end, recorded, reviewed_only=reviewed_only)
        if not reviewed_only:
            positions = {
                id(p): p
                for fact in result["facts"]
                for side in (fact["before"], fact["after"])
                for p in (side["positions"] if side else ())
            }
            published = result["new_claims"] + result["corrections"]
            shown = [*_items(positions.values()), *published]
            mark_proposals(conn, shown, recorded_bound(recorded))
            mark_proposals(conn, result["retractions"], recorded_bound(recorded), "retraction")
            changed = (
                (fact["changes"], fact["after"]["positions"] if fact["after"] else [])
                for fact in result["facts"]
            )
            mark_proposed_changes(conn, changed, recorded_bound(recorded))
            _mark_diff_statuses(conn, result, (start, end), recorded)
        return result


def _mark_diff_statuses(
    conn: Any, result: DiffResult, moments: tuple[datetime, datetime], recorded: datetime | None
) -> None:
    """Mark the statuses ``before`` and ``after`` of each changed fact as ``state`` marks
    them at T1 and T2 (``mark_state_proposals``: ``status_review``, ``reviewed_status``,
    and the positions a proposed end took away), and a status change whose new status
    only proposals give like the change that made it (``review``, ``proposed_by``)."""
    sides = (
        {fact["fact"]: fact["before"] for fact in result["facts"] if fact["before"]},
        {fact["fact"]: fact["after"] for fact in result["facts"] if fact["after"]},
    )
    for facts, at in zip(sides, moments, strict=True):
        shown = cast(StateResult, {"incident": result["incident"], "facts": facts})
        mark_state_proposals(conn, shown, at, recorded, Policy.RANGE)
    for fact in result["facts"]:
        mark_status_change(fact["changes"], fact["after"])


def sources(db: str | None) -> list[dict[str, Any]]:
    """Every source with its grade, rating history and track record.

    See :mod:`projections.sources` for the exact definitions.
    """
    from incident_ledger.projections.sources import source_records  # only this command's

    with read_model(db) as conn:
        return source_records(conn)


def incidents(db: str | None) -> list[dict[str, Any]]:
    """Every incident the ledger follows (see :mod:`projections.catalogue`)."""
    from incident_ledger.projections.catalogue import incidents as listed

    with read_model(db) as conn:
        return listed(conn)


def facts(
    db: str | None, incident: str, *, at: str | None = None, reviewed_only: bool = False
) -> dict[str, Any]:
    """An incident's facts: kind, unit, cumulative, claims, and status at ``at`` (now)
    (``reviewed_only``: a reporter's proposals count only once approved)."""
    from incident_ledger.projections.catalogue import facts as listed

    if at:
        parse_instant(at)
    with read_model(db) as conn:
        known_at = query_instant(at, require_incident(conn, incident)) or utc_now()
        return listed(conn, incident, known_at, reviewed_only=reviewed_only)
