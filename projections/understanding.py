"""Point-in-time understanding of an incident (SPEC "Understanding at a point in time").

Answered by indexed queries on the read model, never by replaying the log:
the claims recorded by R and published by T, minus those ended by a
retraction or correction recorded by R and published by T; then, per fact,
each claimant's most recently published active claim is its position.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from incident_ledger.ledger.errors import NotFoundError
from incident_ledger.ledger.times import to_key

END_OF_TIME = "9999-12-31T23:59:59.999999Z"


class Policy(StrEnum):
    """How one value is picked for a fact when sources disagree."""

    RANGE = "range"
    CONSERVATIVE = "conservative"
    LATEST = "latest"
    PREFERRED = "preferred"


class Status(StrEnum):
    """Where the sources stand on a fact."""

    SINGLE = "single"
    CORROBORATED = "corroborated"
    CONTESTED = "contested"
    WITHDRAWN = "withdrawn"


_RELIABILITY_RANK = {grade: rank for rank, grade in enumerate("ABCDEF")}


def grade_in_force(source: str) -> str:
    """SQL for a source's Admiralty grade in force at known time :known as recorded by :recorded.

    The latest rating effective by T and recorded by R; the grade given at
    registration is effective from the start. ``source`` is the SQL naming the
    source id. Shared by the understanding and the exports, so the rule is
    written once.
    """
    return f"""(
    SELECT r.reliability FROM source_ratings r
    WHERE r.source = {source}
      AND (r.effective_from IS NULL OR r.effective_from <= :known)
      AND r.recorded_at <= :recorded
    ORDER BY COALESCE(r.effective_from, '') DESC, r.seq DESC LIMIT 1
)"""


_POSITIONS = """
WITH active AS (
    SELECT c.* FROM claims c
    WHERE c.incident = :incident
      AND c.published_at <= :known AND c.recorded_at <= :recorded
      AND NOT EXISTS (
          SELECT 1 FROM claim_ends e
          WHERE e.claim = c.id AND e.published_at <= :known AND e.recorded_at <= :recorded
      )
), ranked AS (
    SELECT active.*, ROW_NUMBER() OVER (
        PARTITION BY fact, claimant ORDER BY published_at DESC, seq DESC
    ) AS rank
    FROM active
)
SELECT {columns}, s.name AS claimant_name, {grade} AS claimant_reliability
FROM ranked LEFT JOIN sources s ON s.id = ranked.claimant
WHERE rank = 1
ORDER BY ranked.fact, ranked.published_at, ranked.seq
"""

# The columns a position reads, in the order _POSITIONS selects them: each row is
# read as a plain tuple by these indexes (building a dict per row and looking
# fields up in it cost about a sixth of a query's CPU at a million claims).
_COLUMNS = [
    "id",
    "fact",
    "kind",
    "value",
    "qualifier",
    "unit",
    "num_low",
    "num_high",
    "time_low",
    "time_high",
    "text_value",
    "approximate",
    "valid_time",
    "report",
    "source",
    "claimant",
    "via",
    "quote",
    "translation",
    "corrects",
    "published_at",
    "recorded_at",
    "seq",
    "claimant_name",
    "claimant_reliability",
]
(
    _ID,
    _FACT,
    _KIND,
    _VALUE,
    _QUALIFIER,
    _UNIT,
    _NUM_LOW,
    _NUM_HIGH,
    _TIME_LOW,
    _TIME_HIGH,
    _TEXT_VALUE,
    _APPROXIMATE,
    _VALID_TIME,
    _REPORT,
    _SOURCE,
    _CLAIMANT,
    _VIA,
    _QUOTE,
    _TRANSLATION,
    _CORRECTS,
    _PUBLISHED_AT,
    _RECORDED_AT,
    _SEQ,
    _CLAIMANT_NAME,
    _CLAIMANT_RELIABILITY,
) = range(len(_COLUMNS))
_POSITIONS = _POSITIONS.replace(
    "{columns}", ", ".join(f"ranked.{name}" for name in _COLUMNS[:_CLAIMANT_NAME])
).replace("{grade}", grade_in_force("ranked.claimant"))

_FACTS_SEEN = """
SELECT DISTINCT fact FROM claims
WHERE incident = :incident AND published_at <= :known AND recorded_at <= :recorded
"""


class Position:
    """One claimant's current claim on one fact: a ``_POSITIONS`` row.

    Its kind and bounds are read once: an answer at a million claims weighs
    hundreds of positions, each consulted several times.
    """

    __slots__ = ("high", "kind", "low", "row")

    def __init__(self, row: tuple[Any, ...]) -> None:
        self.row = row
        self.kind: str = str(row[_KIND])
        if self.kind == "number":
            self.low: int | str | None = row[_NUM_LOW]
            self.high: int | str | None = row[_NUM_HIGH]
        else:
            self.low, self.high = row[_TIME_LOW], row[_TIME_HIGH]

    @property
    def order(self) -> tuple[str, int]:
        return (str(self.row[_PUBLISHED_AT]), int(self.row[_SEQ]))

    def interval(self) -> dict[str, Any]:
        return {"min": _shown(self.low), "max": _shown(self.high)}

    def as_json(self) -> dict[str, Any]:
        row = self.row
        kind = self.kind
        out: dict[str, Any] = {
            "claim": row[_ID],
            "claimant": row[_CLAIMANT],
            "value": orjson.loads(row[_VALUE]),
            "qualifier": row[_QUALIFIER] or ("exact" if kind == "number" else None),
            "report": row[_REPORT],
            "published_at": iso(row[_PUBLISHED_AT]),
            "recorded_at": iso(row[_RECORDED_AT]),
        }
        if kind != "text":
            out["interval"] = self.interval()
        # Optional fields, in this order, only when set.
        if row[_CLAIMANT_NAME] is not None:
            out["claimant_name"] = row[_CLAIMANT_NAME]
        if row[_CLAIMANT_RELIABILITY] is not None:
            out["reliability"] = row[_CLAIMANT_RELIABILITY]
        source = row[_SOURCE]
        if source is not None and source != row[_CLAIMANT]:
            out["source"] = source
        if row[_VIA]:
            out["via"] = orjson.loads(row[_VIA])
        if row[_UNIT] is not None:
            out["unit"] = row[_UNIT]
        if row[_VALID_TIME] is not None:
            out["valid_time"] = row[_VALID_TIME]
        if row[_APPROXIMATE]:
            out["approximate"] = True
        for key, column in _LAST_OPTIONAL:
            if row[column] is not None:
                out[key] = row[column]
        return out


_LAST_OPTIONAL = (("corrects", _CORRECTS), ("quote", _QUOTE), ("translation", _TRANSLATION))


def iso(key: str | None) -> str | None:
    """A stored instant as ISO 8601, without a zero fraction."""
    if key is None:
        return None
    return key.replace(".000000Z", "Z")


def _shown(bound: int | str | None) -> int | str | None:
    return iso(bound) if isinstance(bound, str) else bound


def state(
    db: sqlite3.Connection,
    incident: str,
    known_at: datetime,
    recorded_at: datetime | None = None,
    policy: Policy = Policy.RANGE,
) -> dict[str, Any]:
    """The understanding of an incident at known time T as the ledger stood at R."""
    if db.execute("SELECT 1 FROM incidents WHERE id = ?", (incident,)).fetchone() is None:
        raise NotFoundError(f"no incident '{incident}' in the ledger")
    params = {
        "incident": incident,
        "known": to_key(known_at),
        "recorded": to_key(recorded_at) if recorded_at else END_OF_TIME,
    }
    by_fact: dict[str, list[Position]] = {}
    for row in db.execute(_POSITIONS, params):
        by_fact.setdefault(row[_FACT], []).append(Position(row))
    seen = [row[0] for row in db.execute(_FACTS_SEEN, params)]
    facts = {
        fact: understand(by_fact.get(fact, []), policy)
        for fact in sorted(set(seen) | by_fact.keys())
    }
    return {
        "incident": incident,
        "known_at": iso(params["known"]),
        "recorded_at": iso(to_key(recorded_at)) if recorded_at else None,
        "policy": policy.value,
        "facts": facts,
    }


def understand(positions: list[Position], policy: Policy) -> dict[str, Any]:
    """Status, range and policy value of one fact from its positions."""
    if not positions:
        return {"status": Status.WITHDRAWN.value, "value": None, "range": None, "positions": []}
    kinds = {p.kind for p in positions}
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    if len(positions) == 1:
        status = Status.SINGLE
    elif _agree(positions, kind):
        status = Status.CORROBORATED
    else:
        status = Status.CONTESTED
    span = _range(positions) if kind in ("number", "time") else None
    value, basis = _pick(positions, kind, span, policy)
    fact: dict[str, Any] = {
        "status": status.value,
        "kind": kind,
        "value": value,
        "range": span,
        "positions": [p.as_json() for p in positions],
    }
    if basis is not None:
        fact["basis"] = basis
    return fact


def _agree(positions: list[Position], kind: str) -> bool:
    """Do all positions share a common point (or, for text, the same text)?"""
    if kind == "text":
        return len({p.row[_TEXT_VALUE] for p in positions}) == 1
    if kind == "mixed":
        return False
    lows = [p.low for p in positions if p.low is not None]
    highs = [p.high for p in positions if p.high is not None]
    if not lows or not highs:
        return True
    return max(lows) <= min(highs)  # type: ignore[operator]


def _range(positions: list[Position]) -> dict[str, Any]:
    lows = [p.low for p in positions]
    highs = [p.high for p in positions]
    low = None if any(v is None for v in lows) else min(lows)  # type: ignore[type-var]
    high = None if any(v is None for v in highs) else max(highs)  # type: ignore[type-var]
    return {"min": _shown(low), "max": _shown(high)}


def _latest(positions: list[Position]) -> Position:
    return max(positions, key=lambda p: p.order)


def _preferred(positions: list[Position]) -> Position:
    def rank(p: Position) -> tuple[int, tuple[str, int]]:
        grade = p.row[_CLAIMANT_RELIABILITY]
        # Best grade first (A), ungraded last; then the latest.
        return (-_RELIABILITY_RANK.get(grade, len(_RELIABILITY_RANK)), p.order)

    return max(positions, key=rank)


def _value_of(position: Position) -> Any:
    if position.kind == "text":
        return orjson.loads(position.row[_VALUE])
    return position.interval()


def _pick(
    positions: list[Position], kind: str, span: dict[str, Any] | None, policy: Policy
) -> tuple[Any, str | None]:
    """The policy's value and, where one claim decided it, that claim's id."""
    if policy is Policy.RANGE:
        if span is not None:
            return span, None
        texts = sorted({json.dumps(json.loads(p.row[_VALUE])) for p in positions})
        values = [json.loads(t) for t in texts]
        return (values[0] if len(values) == 1 else values), None
    if policy is Policy.CONSERVATIVE and span is not None:
        return span["min"], None
    # latest, preferred, and conservative for text (which has no lower bound).
    chosen = _preferred(positions) if policy is Policy.PREFERRED else _latest(positions)
    return _value_of(chosen), str(chosen.row[_ID])
