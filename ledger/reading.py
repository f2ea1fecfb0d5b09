"""Reading the story: the use cases behind ``timeline``, ``history`` and ``diff``.

Each function opens the ledger, brings the read model up to date, asks one
projection and returns plain data for the CLI to render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.errors import BadInputError, StoreError
from ledger.services import query_instant, read_model
from ledger.times import parse_instant, utc_now


def timeline(db: str | None, incident: str, *, at: str | None = None) -> dict[str, Any]:
    """Dated, active claims in world-time order, as known at ``at`` (default: now)."""
    from projections.timeline import timeline as build

    known_at = query_instant(at) or utc_now()
    with read_model(db) as conn:
        return build(conn, incident, known_at)


def fact_history(
    db: str | None,
    incident: str,
    fact: str,
    *,
    as_recorded: str | None = None,
    chart: str | None = None,
) -> dict[str, Any]:
    """One fact's understanding over known time; with ``chart``, also draw it (SVG/PNG)."""
    from projections.charts import chart_format, check_chartable
    from projections.history import history

    if chart is not None:
        chart_format(chart)
        parent = Path(chart).parent
        if not parent.is_dir():
            raise BadInputError(f"directory {parent} does not exist")
    recorded_at = query_instant(as_recorded)
    with read_model(db) as conn:
        result = history(conn, incident, fact, recorded_at)
    if chart is not None:
        check_chartable(result)
        result["chart"] = _draw(result, chart)
    return result


def _draw(result: dict[str, Any], chart: str) -> dict[str, str]:
    from projections.charts import draw_history

    try:
        fmt = draw_history(result, chart)
    except OSError as error:
        raise StoreError(f"cannot write the chart {chart}: {error.strerror or error}") from None
    return {"path": chart, "format": fmt}


def belief_diff(
    db: str | None,
    incident: str,
    *,
    from_at: str,
    to_at: str,
    as_recorded: str | None = None,
) -> dict[str, Any]:
    """What changed in the understanding between two known times T1 < T2."""
    from projections.diff import diff

    start = parse_instant(from_at, end_of_day=True)
    end = parse_instant(to_at, end_of_day=True)
    if start >= end:
        raise BadInputError(f"--from ({from_at}) must be earlier than --to ({to_at})")
    recorded_at = query_instant(as_recorded)
    with read_model(db) as conn:
        return diff(conn, incident, start, end, recorded_at)
