"""The shapes of the read side's answers, as they become JSON.

TypedDicts: they cost nothing at run time and keep the JSON as it is, while the
type checker knows each key (``NotRequired``: present only when it applies). No
``from __future__ import annotations`` here: TypedDict reads ``NotRequired`` from
evaluated annotations (``tests/test_results.py`` checks them against the JSON).
"""

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict


class Bounds(TypedDict):
    """A closed range; ``None`` at an open end."""

    min: Any
    max: Any


class PositionResult(TypedDict):
    """One claimant's position on a fact, as ``state --json`` lists it."""

    claim: str
    claimant: str
    value: Any
    qualifier: str | None
    report: str
    published_at: str | None
    recorded_at: str | None
    interval: NotRequired[Bounds]
    reported: NotRequired[Any]
    as_of: NotRequired[str | None]
    claims: NotRequired[list[str]]
    combined: NotRequired[list[dict[str, Any]]]
    inconsistent_within_report: NotRequired[bool]
    claimant_name: NotRequired[str]
    reliability: NotRequired[str]
    source: NotRequired[str]
    via: NotRequired[list[str]]
    unit: NotRequired[str]
    valid_time: NotRequired[str]
    approximate: NotRequired[bool]
    corrects: NotRequired[str]
    quote: NotRequired[str]
    translation: NotRequired[str]
    review: NotRequired[str]  # "proposed": a proposal no editor had approved by R


class Why(TypedDict):
    """Why a fact has its status: a sentence, its short form, each position in words."""

    summary: str
    short: str
    positions: list[dict[str, Any]]
    conflict: list[str] | None
    relays: NotRequired[dict[str, list[str]]]


class FactState(TypedDict):
    """The understanding of one fact: status, value, range, positions and why."""

    status: str
    value: Any
    range: Bounds | None
    positions: list[PositionResult]
    why: Why
    kind: NotRequired[str]
    fact_kind: NotRequired[str]
    unit: NotRequired[str]
    cumulative: NotRequired[bool]
    basis: NotRequired[Any]
    ended_by_proposals: NotRequired[list[dict[str, Any]]]
    status_review: NotRequired[str]  # "proposed": the reviewed view gives another status
    status_proposed_by: NotRequired[list[str]]
    reviewed_status: NotRequired[str | None]
    summed: NotRequired[str]  # a table's one line for many positions (then left out)
    lowered: NotRequired[list[dict[str, Any]]]  # totals put below a claimant's own earlier


class StateResult(TypedDict):
    """The understanding of an incident at known time T as the ledger stood at R."""

    incident: str
    timezone: NotRequired[str | None]  # the use case's answer says the incident's zone
    known_at: str | None
    recorded_at: str | None
    policy: str
    facts: dict[str, FactState]


class HistoryStep(TypedDict):
    """One known time at which a fact's understanding changed, and why."""

    at: str | None
    reports: list[dict[str, Any]]
    status: str
    kind: str | None
    value: Any
    range: Bounds | None
    positions: list[PositionResult]
    why: Why
    changed: list[str]
    changes: list[dict[str, Any]]
    ended_by_proposals: NotRequired[list[dict[str, Any]]]  # as ``FactState``'s
    status_review: NotRequired[str]
    status_proposed_by: NotRequired[list[str]]
    reviewed_status: NotRequired[str | None]


class HistoryResult(TypedDict):
    """How the understanding of one fact changed over known time."""

    incident: str
    fact: str
    kind: str
    unit: str | None
    fact_kind: NotRequired[str]
    cumulative: NotRequired[bool]
    timezone: str | None
    recorded_at: str | None
    steps: list[HistoryStep]
    desk: list[dict[str, Any]]  # what the desk said about the fact's claims
    recorded_by: dict[str, str]  # who recorded each claim the steps' positions hold
    chart: NotRequired[dict[str, str]]


class FactDiff(TypedDict):
    """One fact's change between two known times."""

    fact: str
    changed: list[str]
    changes: list[dict[str, Any]]
    reports: list[dict[str, Any]]
    before: FactState | None
    after: FactState | None


# Functional form: "from" is a keyword.
DiffResult = TypedDict(
    "DiffResult",
    {
        "incident": str,
        "timezone": str | None,
        "from": str | None,
        "to": str | None,
        "recorded_at": str | None,
        "facts": list[FactDiff],
        "new_claims": list[dict[str, Any]],
        "retractions": list[dict[str, Any]],
        "corrections": list[dict[str, Any]],
        "recorded_by": dict[str, str],
    },
)
"""What changed in an incident's understanding between known times T1 < T2."""


def position_claims(position: Mapping[str, Any]) -> list[str]:
    """The claims a position holds: its ``claims`` when several combine into it (one
    report, one claimant), else its one ``claim``."""
    claims: list[str] = position.get("claims") or [position["claim"]]
    return claims


def relays_of(position: Mapping[str, Any]) -> list[str]:
    """Who passed a claimant's words on: the relays in ``via``, and the outlet when it is
    someone other than the claimant — of each claim a position combines (one report
    each, all published at its instant), in order, each relay once."""
    relays: list[str] = []
    claimant = position["claimant"]
    for said in position.get("combined") or (position,):
        for relay in said.get("via") or ():
            if relay not in relays:
                relays.append(relay)
        outlet = said.get("source")
        if outlet is not None and outlet != claimant and outlet not in relays:
            relays.append(outlet)
    return relays


def first_hand(position: Mapping[str, Any]) -> bool:
    """Whether one of a position's claims is the claimant's own word: published by the
    claimant itself, through no relay."""
    return any(
        said.get("source") in (None, position["claimant"]) and not said.get("via")
        for said in position.get("combined") or (position,)
    )
