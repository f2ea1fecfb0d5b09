"""A deliberately naive model of SPEC "Understanding at a point in time".

It folds over the raw events, filtering by (T, R), with its own reading of
qualifiers and intervals; the product's indexed read model must agree with it.
It lives in the tests only.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from incident_ledger.ledger.application import Ledger

INF = math.inf


def published_instant(text: str) -> datetime:
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def query_instant(text: str) -> datetime:
    if len(text) == 10:
        start = datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        return start + timedelta(days=1) - timedelta(microseconds=1)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def interval(value: Any, qualifier: str | None) -> tuple[float, float] | str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, dict):
        return (value["min"], value["max"])
    q = qualifier or "exact"
    return {
        "exact": (value, value),
        "approx": (value, value),
        "at_least": (value, INF),
        "more_than": (value + 1, INF),
        "at_most": (0, value),
        "less_than": (0, value - 1),
    }[q]


def _plain(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value


def events_of(ledger: Ledger) -> list[tuple[int, datetime, Any]]:
    """(ledger position, recorded time, record) for every record-carrying event."""
    out = []
    for n in ledger.recorder.select_notifications(start=1, limit=1_000_000):
        event = ledger.mapper.to_domain_event(n)
        if hasattr(event, "to_record"):
            out.append((n.id, event.timestamp, event.to_record()))
    return out


def naive_state(
    events: list[tuple[int, datetime, Any]],
    incident: str,
    known: datetime,
    recorded: datetime | None,
    policy: str,
) -> dict[str, Any]:
    reports: dict[str, tuple[datetime, str]] = {}
    reliability: dict[str, str | None] = {}
    claims: list[tuple[int, Any, datetime]] = []
    ends: list[tuple[str, datetime]] = []
    for seq, stamp, record in events:
        if record.type == "source":
            reliability[record.id] = record.reliability
        if record.type == "report":
            reports[record.id] = (published_instant(record.published_at), record.source)
        if recorded is not None and stamp > recorded:
            continue
        if record.type in ("claim", "correction"):
            claims.append((seq, record, reports[record.report][0]))
            if record.type == "correction":
                ends.append((record.claim, reports[record.report][0]))
        if record.type == "retraction":
            ends.append((record.claim, reports[record.report][0]))
    facts_seen: set[str] = set()
    latest: dict[tuple[str, str], tuple[datetime, int, Any]] = {}
    for seq, record, published in claims:
        if record.incident != incident or published > known:
            continue
        facts_seen.add(record.fact)
        if any(target == record.id and when <= known for target, when in ends):
            continue
        claimant = record.claimant or reports[record.report][1]
        key = (record.fact, claimant)
        if key not in latest or (published, seq) > latest[key][:2]:
            latest[key] = (published, seq, record)
    result: dict[str, Any] = {}
    for fact in facts_seen:
        positions = [
            (claimant, published, seq, record)
            for (f, claimant), (published, seq, record) in latest.items()
            if f == fact
        ]
        result[fact] = _understand(positions, policy, reliability)
    return result


def _understand(
    positions: list[tuple[str, datetime, int, Any]], policy: str, reliability: dict[str, Any]
) -> dict[str, Any]:
    if not positions:
        return {"status": "withdrawn", "range": None, "value": None, "claims": []}
    readings = [interval(_plain(r.value), r.qualifier) for _, _, _, r in positions]
    numeric = all(isinstance(x, tuple) for x in readings)
    textual = all(isinstance(x, str) for x in readings)
    if len(positions) == 1:
        status = "single"
    elif numeric:
        lows = [x[0] for x in readings]  # type: ignore[index]
        highs = [x[1] for x in readings]  # type: ignore[index]
        status = "corroborated" if max(lows) <= min(highs) else "contested"
    elif textual:
        status = "corroborated" if len(set(readings)) == 1 else "contested"
    else:
        status = "contested"
    span = None
    if numeric:
        low = min(x[0] for x in readings)  # type: ignore[index]
        high = max(x[1] for x in readings)  # type: ignore[index]
        span = {"min": low, "max": None if high == INF else high}

    def shown(reading: Any) -> Any:
        return {"min": reading[0], "max": None if reading[1] == INF else reading[1]}

    latest = max(range(len(positions)), key=lambda i: positions[i][1:3])
    grades = "ABCDEF"

    def preference(i: int) -> tuple[int, Any]:
        grade = reliability.get(positions[i][0])
        return (-(grades.index(grade) if grade else 6), positions[i][1:3])

    preferred = max(range(len(positions)), key=preference)
    if policy == "range":
        if numeric:
            value: Any = span
        else:
            distinct = sorted(
                {repr(_plain(r.value)): _plain(r.value) for _, _, _, r in positions}.items()
            )
            values = [v for _, v in distinct]
            value = values[0] if len(values) == 1 else sorted(values, key=repr)
    elif policy == "conservative" and numeric:
        value = span["min"] if span else None
    else:
        chosen = preferred if policy == "preferred" else latest
        record = positions[chosen][3]
        reading = readings[chosen]
        value = shown(reading) if isinstance(reading, tuple) else _plain(record.value)
    return {
        "status": status,
        "range": span,
        "value": value,
        "claims": sorted(r.id for _, _, _, r in positions),
    }
