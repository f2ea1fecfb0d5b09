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
from collections.abc import Mapping, MutableMapping
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
    proposed_records,
)
from incident_ledger.projections.results import StateResult, Why, position_claims
from incident_ledger.projections.understanding import Policy, state

_ENDS = """
SELECT e.claim, e.how, e.ended_by, e.published_at FROM claim_ends e JOIN claims c ON c.id = e.claim
WHERE c.incident = :incident AND e.published_at <= :known AND e.recorded_at <= :recorded
{fact}{desk_end}
ORDER BY e.published_at, e.seq
"""


def mark_state_proposals(
    db: sqlite3.Connection,
    result: StateResult,
    known_at: datetime,
    recorded_at: datetime | None,
    policy: Policy,
) -> None:
    """Mark what a default view's ``state`` shows because of proposals not approved by R:
    its positions that are or hold one (``desk_rules.mark_proposals``), the positions a
    proposed end took away, listed under their fact (``list_ended_by_proposals``), and a
    fact's status that the reviewed view does not give (``mark_proposed_statuses``).
    Nothing is read beyond one probe when nothing was ever proposed; the reviewed view
    is asked only when something shown is a proposal."""
    if not any_proposed(db):
        return
    recorded = recorded_bound(recorded_at)
    positions = [p for fact in result["facts"].values() for p in fact["positions"]]
    mark_proposals(db, (cast(MutableMapping[str, Any], p) for p in positions), recorded)
    ended = proposed_ends_of(db, result["incident"], to_key(known_at), recorded)
    fell = any(fact.get("lowered") for fact in result["facts"].values())
    if not ended and not fell and not any("review" in p for p in positions):
        return
    reviewed = state(db, result["incident"], known_at, recorded_at, policy, reviewed_only=True)
    list_ended_by_proposals(result, reviewed, ended)
    mark_proposed_statuses(db, result, reviewed, recorded)
    _mark_proposed_falls(result, reviewed)


def _mark_proposed_falls(result: StateResult, reviewed: StateResult) -> None:
    """A fall (``lowered``) the reviewed view does not show — a proposal made the lower
    figure, or the earlier one — is marked ``review: "proposed"``."""
    for name, fact in result["facts"].items():
        seen = reviewed["facts"].get(name)
        falls = (seen.get("lowered") if seen is not None else None) or []
        standing = {entry["claimant"] for entry in falls}
        for entry in fact.get("lowered") or ():
            if entry["claimant"] not in standing:
                entry["review"] = PROPOSED


def proposed_ends_of(
    db: sqlite3.Connection, incident: str, known: str, recorded: str, fact: str | None = None
) -> dict[str, dict[str, str]]:
    """The incident's (or its ``fact``'s) claims ended by known time T (``known``, a
    storage key) by an end that is a proposal not approved by R: each with its end
    (``how``, ``by``), ``at`` (the key of when the end is known) and ``who`` proposed it."""
    params = {"incident": incident, "known": known, "recorded": recorded, "fact": fact}
    only = "AND c.fact = :fact " if fact is not None else ""
    sql = _ENDS.format(fact=only, desk_end=desk_clauses(db, False)[1])
    rows = [
        (claim, {"how": how, "by": by, "at": at}) for claim, how, by, at in db.execute(sql, params)
    ]
    proposed = proposed_ends(db, (end for _, end in rows), recorded)
    # A claim may have several ends (a proposed retraction, then an approved correction):
    # the first proposed one is what takes it from the default view, from its known time.
    found: dict[str, dict[str, str]] = {}
    for claim, end in rows:
        if (end["how"], end["by"]) in proposed:
            found.setdefault(claim, end | {"who": proposed[end["how"], end["by"]]})
    return found


def list_ended_by_proposals(
    result: StateResult, reviewed: StateResult, ended: Mapping[str, Mapping[str, str]]
) -> None:
    """Give each fact of ``result`` (the default view's ``state``) that a proposed end
    (``ended``: by claim) took a position from ``ended_by_proposals``: the reviewed
    view's positions no longer shown, each with ``end`` (``how``, ``by``), ``review:
    "proposed"`` and ``proposed_by`` (a list, as every JSON names who proposed)."""
    for name, fact in reviewed["facts"].items():
        shown = result["facts"].get(name)
        if shown is None or not ended:
            continue
        held = {claim for p in shown["positions"] for claim in position_claims(p)}
        listed: list[dict[str, Any]] = []
        for position in fact["positions"]:
            claims = position_claims(position)
            end = next((ended[claim] for claim in claims if claim in ended), None)
            if end is not None and not held.intersection(claims):
                listed.append(
                    {**position, "end": {"how": end["how"], "by": end["by"]}}
                    | {"review": PROPOSED, "proposed_by": [end["who"]]}
                )
        if listed:
            shown["ended_by_proposals"] = listed


def mark_proposed_statuses(
    db: sqlite3.Connection, result: StateResult, reviewed: StateResult, recorded: str
) -> None:
    """Give each fact of ``result`` whose status exists only because of proposals — the
    reviewed view (``reviewed``) gives it another status, or has no position on it —
    ``status_review: "proposed"``, ``status_proposed_by`` (who proposed what the fact
    shows: its positions that are proposals, and the ends that took positions away),
    ``reviewed_status`` (the reviewed view's status; None when no claim of it counts
    there), and its ``why`` a ``summary`` that says so (``status_words``). A status a
    reporter's unreviewed retraction made is then never read as a source's withdrawal."""
    before = {name: fact["status"] for name, fact in reviewed["facts"].items()}
    changed = {
        name: fact for name, fact in result["facts"].items() if before.get(name) != fact["status"]
    }
    held = (
        claim
        for fact in changed.values()
        for p in fact["positions"]
        for claim in position_claims(p)
    )
    proposers = proposed_records(db, held, recorded)
    for name, fact in changed.items():
        claims = {claim for p in fact["positions"] for claim in position_claims(p)}
        who = {proposers[claim] for claim in claims if claim in proposers}
        who.update(*(p["proposed_by"] for p in fact.get("ended_by_proposals", ())))
        if who:
            fact["status_review"] = PROPOSED
            fact["status_proposed_by"] = sorted(who)
            fact["reviewed_status"] = before.get(name)
            if "why" in fact:  # a copy: the why may be shared (a walk's steps)
                summary = with_status_words(fact["why"]["summary"], fact)
                fact["why"] = cast(Why, {**fact["why"], "summary": summary})


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
        f"{p['end']['by']} by {', '.join(p['proposed_by'])} awaiting review"
        for p in listed
    ]


_NO_CLAIM_COUNTS = "no claim counts"
"""The reviewed status of a fact no claim of which counts in the reviewed view."""


def status_words(fact: Any) -> str:
    """What a table adds to a fact's status that exists only because of proposals:
    ``proposed by bob; reviewed: contested``; empty for any other status."""
    if "status_review" not in fact:
        return ""
    reviewed = fact.get("reviewed_status") or _NO_CLAIM_COUNTS
    who = ", ".join(fact["status_proposed_by"])
    return f"{fact['status_review']} by {who}; reviewed: {reviewed}"


def status_words_sql(who: str, reviewed: str) -> str:
    """SQL: ``status_words`` for a query that finds the marks itself: ``who`` an SQL
    expression listing who proposed the status (``bob, rita``, in order), ``reviewed`` one
    giving the reviewed view's status (NULL when no claim of the fact counts there)."""
    return (
        f"'{PROPOSED} by ' || {who} || '; reviewed: ' || COALESCE({reviewed}, '{_NO_CLAIM_COUNTS}')"
    )


def with_status_words_sql(text: str, words: str) -> str:
    """SQL: ``with_status_words``: ``text`` (an SQL expression, a fact's status) with
    ``words`` (one of ``status_words_sql``, NULL for any other status) after it."""
    return f"{text} || COALESCE(' (' || {words} || ')', '')"


def with_status_words(text: str, fact: Any) -> str:
    """``text`` (a fact's status, or its ``why.summary``) with ``status_words`` after it,
    as every output that says a status in one cell says it: ``single (proposed by bob;
    reviewed: contested)``; ``text`` itself for any other status."""
    words = status_words(fact)
    return f"{text} ({words})" if words else text


def listed_as_contested(fact: Any) -> bool:
    """Whether a list of contested facts lists ``fact``: contested, or contested in the
    reviewed view while only proposals give it another status (``mark_proposed_statuses``)
    — a fact a reporter's unreviewed retraction made single stays listed, its status
    marked, and never reads as a source's withdrawal."""
    return "contested" in (fact["status"], fact.get("reviewed_status"))


def unmarked_summary(fact: Any) -> str:
    """A fact's ``why.summary`` without the words ``with_status_words`` added to it: for a
    page that says them beside the status already. Empty when the fact has no why."""
    summary = str((fact.get("why") or {}).get("summary") or "")
    words = status_words(fact)
    return summary.removesuffix(f" ({words})") if words else summary


def mark_status_change(changes: list[dict[str, Any]], after: Any) -> None:
    """Give a status change to a status that only proposals give (``after``, marked by
    ``mark_proposed_statuses``) ``review`` and ``proposed_by`` like a change a proposal
    made, even when an approved claim made it: the new status still reads as reviewed
    otherwise."""
    if not after or "status_review" not in after:
        return
    for change in changes:
        if change["change"] == "status" and "review" not in change:
            change["review"] = after["status_review"]
            change["proposed_by"] = after["status_proposed_by"]
