"""The positions a proposal ended: what ``state`` shows but for a reporter's retraction
or correction that waits for an editor's review.

In the default view a proposal counts, so the claim it ends is no position any more;
shown only that way, the claimant would seem to have withdrawn it. The reviewed view
(``reviewed_only``: the proposal ignored) still holds the position: each such position
is listed under its fact, with the end that hides it and who proposed that end. The
rule of what is a proposal is ``desk_rules``'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any, cast

from incident_ledger.ledger.times import to_key
from incident_ledger.projections.citations import recorded_bound
from incident_ledger.projections.desk_rules import (
    PROPOSED,
    any_proposed,
    desk_clauses,
    mark_proposals,
    proposed_ends,
)
from incident_ledger.projections.results import StateResult, position_claims
from incident_ledger.projections.understanding import Policy, state

_ENDS = """
SELECT e.claim, e.how, e.ended_by FROM claim_ends e JOIN claims c ON c.id = e.claim
WHERE c.incident = :incident AND e.published_at <= :known AND e.recorded_at <= :recorded
{desk_end}
"""


def mark_state_proposals(
    db: sqlite3.Connection,
    result: StateResult,
    known_at: datetime,
    recorded_at: datetime | None,
    policy: Policy,
) -> None:
    """Mark what a default view's ``state`` shows because of proposals not approved by R:
    its positions that are or hold one (``desk_rules.mark_proposals``), and the positions
    a proposed end took away, listed under their fact (``list_ended_by_proposals``)."""
    positions = (p for fact in result["facts"].values() for p in fact["positions"])
    mark_proposals(
        db, (cast(MutableMapping[str, Any], p) for p in positions), recorded_bound(recorded_at)
    )
    list_ended_by_proposals(db, result, known_at, recorded_at, policy)


def list_ended_by_proposals(
    db: sqlite3.Connection,
    result: StateResult,
    known_at: datetime,
    recorded_at: datetime | None,
    policy: Policy,
) -> None:
    """Give each fact of ``result`` (the default view's ``state``) that a proposed end
    took a position from ``ended_by_proposals``: the reviewed view's positions no longer
    shown, each with ``end`` (``how``, ``by``), ``review: "proposed"`` and
    ``proposed_by``. Nothing is read beyond one probe when nothing was ever proposed."""
    if not any_proposed(db):
        return
    recorded = recorded_bound(recorded_at)
    params = {"incident": result["incident"], "known": to_key(known_at), "recorded": recorded}
    sql = _ENDS.format(desk_end=desk_clauses(db, False)[1])
    ends = {claim: {"how": how, "by": by} for claim, how, by in db.execute(sql, params)}
    proposed = proposed_ends(db, ends.values(), recorded)
    ended = {claim: end for claim, end in ends.items() if (end["how"], end["by"]) in proposed}
    if not ended:
        return
    reviewed = state(db, result["incident"], known_at, recorded_at, policy, reviewed_only=True)
    for name, fact in reviewed["facts"].items():
        shown = result["facts"].get(name)
        if shown is None:
            continue
        held = {claim for p in shown["positions"] for claim in position_claims(p)}
        listed: list[dict[str, Any]] = []
        for position in fact["positions"]:
            claims = position_claims(position)
            end = next((ended[claim] for claim in claims if claim in ended), None)
            if end is not None and not held.intersection(claims):
                who = proposed[end["how"], end["by"]]
                listed.append({**position, "end": end, "review": PROPOSED, "proposed_by": who})
        if listed:
            shown["ended_by_proposals"] = listed


_HOW = {"retracted": "withdrawn", "corrected": "corrected"}


def ended_lines(fact: Any, summed: bool = False) -> list[str]:
    """The lines a table adds under a fact for the positions proposals ended:
    ``tala: 7 withdrawn — proposal x2 by bob awaiting review``; when the fact's positions
    are summed up, one line counting them."""
    from incident_ledger.projections.words import position_words

    listed = fact.get("ended_by_proposals") or []
    if summed and listed:
        return [f"{len(listed)} position(s) ended by proposals awaiting review"]
    return [
        f"{p['claimant']}: {position_words(p)} {_HOW[p['end']['how']]} — proposal "
        f"{p['end']['by']} by {p['proposed_by']} awaiting review"
        for p in listed
    ]
