"""Point-in-time understanding of an incident (docs/understanding.md: the three times,
positions, status and why).

Answered by indexed queries on the read model, never by replaying the log: the
claims recorded by R and published by T, minus those ended by a retraction or
correction recorded by R and published by T. Per fact, each claimant's claims at
its latest known instant are its position — one position however many claims, read
together (``projections.agreement``) — and the fact's status, range and reason
follow from the positions and the fact's rules as declared by R (its kind, whether
it is cumulative, the tolerance of "about"). Nothing here depends on the order in
which records were imported: positions are ordered by known time and claimant, and
a tie is broken by ids, never by ledger position.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

import orjson

from incident_ledger.ledger.facts import FactKind, FactRules
from incident_ledger.ledger.times import to_key
from incident_ledger.projections import agreement, in_force
from incident_ledger.projections.agreement import Interval
from incident_ledger.projections.desk_rules import desk_clauses
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.lowered import lowered_totals
from incident_ledger.projections.policies import Policy
from incident_ledger.projections.positions import (
    END_OF_TIME,
    Position,
    fact_rules,
    grade_in_force,
    iso,
    positions_at,
    shown,
)
from incident_ledger.projections.results import FactState, PositionResult, StateResult, Why
from incident_ledger.projections.why import reason


class Status(StrEnum):
    """Where the sources stand on a fact."""

    SINGLE = "single"
    CORROBORATED = "corroborated"
    CONTESTED = "contested"
    WITHDRAWN = "withdrawn"


_RELIABILITY_RANK = {grade: rank for rank, grade in enumerate("ABCDEF")}


_FACTS = "SELECT DISTINCT fact FROM claims WHERE incident = :incident"
"""An incident's facts, read from the (incident, fact, …) index alone."""

_SEEN = """
SELECT 1 FROM claims c
WHERE incident = :incident AND fact = :fact
  AND published_at <= :known AND recorded_at <= :recorded{desk_claim}
LIMIT 1
"""


def _withdrawn_facts(
    db: sqlite3.Connection, params: dict[str, str], held: set[str], desk_claim: str = ""
) -> set[str]:
    """Facts with claims known by T (as recorded by R) of which none is in force: only the
    facts without positions are looked at, each with one indexed probe, where one query
    over every claim of the incident cost a hot incident a sixth of its answer.
    ``desk_claim``: the desk's rule a claim must pass (``desk_rules``; a claim entered in
    error was never seen)."""
    seen = _SEEN.replace("{desk_claim}", desk_claim)
    return {
        fact
        for (fact,) in db.execute(_FACTS, params).fetchall()
        if fact not in held and db.execute(seen, params | {"fact": fact}).fetchone()
    }


def state(
    db: sqlite3.Connection,
    incident: str,
    known_at: datetime,
    recorded_at: datetime | None = None,
    policy: Policy = Policy.RANGE,
    *,
    reviewed_only: bool = False,
    from_claims: bool = False,
) -> StateResult:
    """The understanding of an incident at known time T as the ledger stood at R
    (``reviewed_only``: counting a reporter's proposals only once approved). ``from_claims``:
    worked out from the claims' rows, never from the stored positions in force, a table
    derived from them that the check of the model against the log does not compare: what
    an export shows (it is checked first) must come from rows that check compared."""
    zone = require_incident(db, incident)
    params = {
        "incident": incident,
        "known": to_key(known_at),
        "recorded": to_key(recorded_at) if recorded_at else END_OF_TIME,
    }
    # The stored positions in force hold the desk's voids but not its reviews.
    stored = not reviewed_only and not from_claims and in_force.ready(db, incident)
    with _snapshot(db):
        # Every read below sees the model as one instant: if it moved on since the stored
        # positions were brought up to date, they are not read.
        query = in_force.QUERY if stored and in_force.current(db, incident) else None
        rules = fact_rules(db, params)
        desk = desk_clauses(db, reviewed_only)
        by_fact = positions_at(db, params, rules, zone, desk, query)
        seen = _withdrawn_facts(db, params, set(by_fact), desk[0])
        falls = lowered_totals(db, params, by_fact, rules, zone, desk)
    facts = {
        fact: understand(
            by_fact.get(fact, []),
            policy,
            rules.get(fact, (None, False))[0],
            zone,
            lowered=falls.get(fact),
        )
        for fact in sorted(seen | by_fact.keys())
    }
    return {
        "incident": incident,
        "known_at": iso(params["known"]),
        "recorded_at": iso(to_key(recorded_at)) if recorded_at else None,
        "policy": policy.value,
        "facts": facts,
    }


@contextmanager
def _snapshot(db: sqlite3.Connection) -> Iterator[None]:
    """One read transaction, unless the caller's is already open."""
    if db.in_transaction:
        yield
        return
    db.execute("BEGIN")
    try:
        yield
    finally:
        if db.in_transaction:
            db.execute("COMMIT")


def understand(
    positions: list[Position],
    policy: Policy,
    rules: FactRules | None,
    zone: str | None = None,
    *,
    lowered: list[dict[str, Any]] | None = None,
) -> FactState:
    """Status, range, policy value and reason of one fact from its positions; ``lowered``:
    the claimants whose total stands below an earlier one of their own (``lowered``)."""
    if not positions:
        return {
            "status": Status.WITHDRAWN.value,
            "value": None,
            "range": None,
            "positions": [],
            "why": reason(Status.WITHDRAWN.value, [], None, False, zone),
        }
    kind, cumulative, conflict, status = _judged(positions, rules)
    span = _range(positions, kind, cumulative, status is Status.CONTESTED)
    value, basis = pick_value(positions, kind, span, policy)
    listed = [p.as_json(cumulative) for p in positions]
    pair = (
        None if conflict is None else (positions.index(conflict[0]), positions.index(conflict[1]))
    )
    common = None
    if status is Status.CORROBORATED and kind in ("number", "time") and not cumulative:
        common = agreement.intersection([p.interval for p in positions])
    why = reason(status.value, listed, pair, cumulative, zone, bounds(common), kind)
    fact = fact_state(status, kind, rules, cumulative, (value, basis), span, listed, why)
    if lowered:
        fact["lowered"] = lowered
    return fact


def _judged(
    positions: list[Position], rules: FactRules | None
) -> tuple[str, bool, tuple[Position, Position] | None, Status]:
    """A fact's kind, whether it is read as cumulative, its conflicting pair and its
    status, from its positions (at least one)."""
    kinds = {p.kind for p in positions}
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    cumulative = rules is not None and rules.cumulative and kind == "number"
    conflict = _conflict(positions, kind, cumulative)
    return kind, cumulative, conflict, fact_status(len(positions), conflict is not None, kind)


def status_of(positions: list[Position], rules: FactRules | None) -> Status:
    """A fact's status from its positions, as ``understand`` decides it."""
    return _judged(positions, rules)[3] if positions else Status.WITHDRAWN


def fact_status(count: int, conflicting: bool, kind: str) -> Status:
    """A fact's status from how many positions it has, whether two of them conflict, and
    their kind ("mixed" when they differ)."""
    if count == 1:
        return Status.SINGLE
    if conflicting or kind == "mixed":
        return Status.CONTESTED
    return Status.CORROBORATED


def bounds(interval: Interval | None) -> dict[str, Any] | None:
    """An interval as the JSON shows it (None stays None)."""
    return None if interval is None else {"min": shown(interval.low), "max": shown(interval.high)}


def fact_state(
    status: Status,
    kind: str,
    rules: FactRules | None,
    cumulative: bool,
    picked: tuple[Any, str | None],
    span: Interval | None,
    listed: list[PositionResult],
    why: Why,
) -> FactState:
    """One fact's answer as ``state`` gives it, from what was decided about it."""
    # Built key by key in the order the JSON shows them, then given its type.
    fact: dict[str, Any] = {"status": status.value, "kind": kind}
    if rules is not None:
        fact["fact_kind"] = rules.kind.value
        if rules.unit:
            fact["unit"] = rules.unit
    if cumulative:
        fact["cumulative"] = True
    fact |= {"value": picked[0], "range": bounds(span), "positions": listed}
    if picked[1] is not None:
        fact["basis"] = picked[1]
    fact["why"] = why
    return cast(FactState, fact)


def _conflict(
    positions: list[Position], kind: str, cumulative: bool
) -> tuple[Position, Position] | None:
    """Two positions that cannot both hold, or None when they all agree."""
    if len(positions) < 2 or kind == "mixed":
        return None
    if kind == "text":
        if agreement.texts_agree([p.texts for p in positions]):
            return None
        return _text_pair(positions)
    if cumulative:
        pair = agreement.first_contradiction([(p.as_of, p.interval) for p in positions])
        return None if pair is None else (positions[pair[0]], positions[pair[1]])
    if agreement.share_a_point([p.interval for p in positions]):
        return None
    highest = max(positions, key=lambda p: (p.interval.low is not None, p.interval.low))
    lowest = min(positions, key=lambda p: (p.interval.high is None, p.interval.high))
    return highest, lowest


def _text_pair(positions: list[Position]) -> tuple[Position, Position]:
    first = positions[0]
    for other in positions[1:]:
        if not first.texts & other.texts:
            return first, other
    return first, positions[1]


def _range(
    positions: list[Position], kind: str, cumulative: bool, contested: bool
) -> Interval | None:
    if kind not in ("number", "time"):
        return None
    if cumulative:
        return agreement.cumulative_range([(p.as_of, p.interval) for p in positions], contested)
    return agreement.hull([p.interval for p in positions])


def _meets(interval: Interval, span: Interval) -> bool:
    """Whether a position's interval shares a value with the fact's range."""
    return not agreement.intersection([interval, span]).is_empty()


def _latest(positions: list[Position]) -> Position:
    return max(positions, key=lambda p: p.order)


def _preferred(positions: list[Position]) -> Position:
    def rank(p: Position) -> tuple[int, tuple[str, str]]:
        grade = p.reliability
        # Best grade first (A), ungraded last; then the latest.
        return (-_RELIABILITY_RANK.get(grade or "", len(_RELIABILITY_RANK)), p.order)

    return max(positions, key=rank)


def pick_value(
    positions: list[Position], kind: str, span: Interval | None, policy: Policy
) -> tuple[Any, str | None]:
    """The policy's value and, where one position decided it, its claim's id."""
    if policy is Policy.RANGE:
        if span is not None:
            return {"min": shown(span.low), "max": shown(span.high)}, None
        values = _distinct_values(v for p in positions for v in p.values)
        return (values[0] if len(values) == 1 else values), None
    if policy is Policy.CONSERVATIVE and span is not None:
        return shown(span.low), None
    # latest, preferred, and conservative for text (which has no lower bound).
    if policy is Policy.PREFERRED:
        # Of the figures the range still holds: on a cumulative fact an earlier, lower total
        # (a best-graded source's 30 when later reports put it at 63-77) is not the toll now.
        held = [p for p in positions if span is None or _meets(p.interval, span)]
        chosen = _preferred(held or positions)
    else:
        chosen = _latest(positions)
    if kind not in ("number", "time"):
        said = _distinct_values(chosen.values)
        if len(said) > 1:  # its claimant said two things at one time: no one value is its
            return said, None
    elif chosen.inconsistent:  # the hull of its claims at one time: no one claim's value
        return chosen.shown_value(), None
    return chosen.shown_value(), chosen.claim


def _distinct_values(values: Iterable[Any]) -> list[Any]:
    """Each differing value once, in a fixed order. Texts are compared without regard to
    case or surrounding space (as statuses compare them), so "Lifted" and "lifted" are one
    value, shown in the spelling that sorts first."""
    chosen: dict[Any, bytes] = {}
    for value in values:
        shown_as = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        key = value.strip().casefold() if isinstance(value, str) else shown_as
        if key not in chosen or shown_as < chosen[key]:
            chosen[key] = shown_as
    return [orjson.loads(shown_as) for shown_as in sorted(chosen.values())]


__all__ = [
    "END_OF_TIME",
    "FactKind",
    "Policy",
    "Position",
    "Status",
    "grade_in_force",
    "iso",
    "shown",
    "state",
    "understand",
]
