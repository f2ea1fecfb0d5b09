"""What changed between two understandings of one fact, and how claims were ended.

The views over time (``projections.timeline``, ``projections.history``,
``projections.diff``) and the demo never re-derive statuses or ranges: every
understanding comes from :func:`projections.understanding.state`, and this module
only compares two of its answers (``fact_changes``, ``changed_parts``) and says a
change in words (``change_words``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from incident_ledger.projections.results import position_claims, relays_of
from incident_ledger.projections.words import interval_words, position_words

_ENDS = """
SELECT e.claim, e.how, e.ended_by, e.report, r.source, e.published_at FROM claim_ends e
JOIN reports r ON r.id = e.report
WHERE e.claim IN ({marks}) AND e.recorded_at <= ?
ORDER BY e.published_at, e.seq
"""


def ends_of(
    db: sqlite3.Connection, claims: Iterable[str], recorded: str
) -> dict[str, dict[str, Any]]:
    """How each of these claims was first ended, as recorded by R (``first_ends``)."""
    wanted = sorted(set(claims))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        sql = _ENDS.replace("{marks}", ", ".join("?" for _ in chunk))
        found.update(first_ends(db.execute(sql, [*chunk, recorded])))
    return found


def first_ends(ends: Iterable[Sequence[Any]]) -> dict[str, dict[str, Any]]:
    """How each claim was first ended, from its ends as (claim, how, by, report, outlet,
    published_at) in known-time order (``published_at``, then the log's): the first
    of each claim's, as ``how`` (retracted or corrected), ``by`` (the retraction or
    correcting claim), ``report``, ``outlet`` (the source of that report) and
    ``published_at`` (the key of when the end is known)."""
    first: dict[str, dict[str, Any]] = {}
    for claim, how, by, report, outlet, published in ends:
        if claim not in first:
            first[claim] = {
                "how": how,
                "by": by,
                "report": report,
                "outlet": outlet,
                "published_at": published,
            }
    return first


def positions_by_claimant(fact: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """A fact's positions keyed by claimant (empty when the fact is absent)."""
    return {p["claimant"]: p for p in fact["positions"]} if fact else {}


def changed_parts(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """Which of status, range and positions differ between two understandings of a fact."""
    parts: list[str] = []
    if _get(before, "status") != _get(after, "status"):
        parts.append("status")
    if _get(before, "range") != _get(after, "range"):
        parts.append("range")
    old = {c: position_claims(p) for c, p in positions_by_claimant(before).items()}
    new = {c: position_claims(p) for c, p in positions_by_claimant(after).items()}
    if old != new:
        parts.append("positions")
    return parts


def fact_changes(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    ends: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """What changed in one fact: claimants joined, revised, restated or withdrawn; a relay
    that corrected or withdrew its own report of a claimant; status (with its reason);
    range.

    ``restated`` is a new claim by the same claimant with the same value (or interval);
    ``lowered`` a claimant's total of a cumulative fact put wholly below one of its own
    that still stands, as of an instant no later (``after``'s ``lowered``, as ``state``
    says it), which a total cannot do: a revision down, or a relay of an older figure, and
    never to be read as an ordinary revision.
    ``corrected`` is a claimant's position changed or withdrawn because an outlet that
    relayed it (``relays_of``) retracted or corrected its report: the outlet answers for
    it (``by``), not the claimant. ``ends`` says how claims were ended (``ends_of``).
    """
    changes: list[dict[str, Any]] = []
    old, new = positions_by_claimant(before), positions_by_claimant(after)
    # A fall as ``state`` says it after the change (``lowered``): below a total of the
    # claimant's own that still stands, as of an instant no later.
    fell = {entry["claimant"] for entry in (after or {}).get("lowered") or ()}
    for claimant, position in new.items():
        previous = old.get(claimant)
        if previous is None:
            changes.append(_claimant_change("joined", claimant, None, position))
        elif position_claims(previous) != position_claims(position):
            relay = _relay_end(previous, ends)
            if relay is not None:
                kind = "corrected"
            elif _comparable_value(previous) == _comparable_value(position):
                kind = "restated"
            else:
                kind = "lowered" if claimant in fell else "revised"
            changes.append(_claimant_change(kind, claimant, previous, position, relay, ends))
    for claimant, previous in old.items():
        if claimant not in new:
            relay = _relay_end(previous, ends)
            kind = "withdrawn" if relay is None else "corrected"
            changes.append(_claimant_change(kind, claimant, previous, None, relay, ends))
    if _get(before, "status") != _get(after, "status"):
        change = {"change": "status", "from": _get(before, "status"), "to": _get(after, "status")}
        if after is not None and "why" in after:
            change["why"] = after["why"]["summary"]
            change["short"] = after["why"]["short"]
        changes.append(change)
    if _get(before, "range") != _get(after, "range"):
        change = {"change": "range", "from": _get(before, "range"), "to": _get(after, "range")}
        if _get(after, "kind") == "time" or _get(before, "kind") == "time":
            change["kind"] = "time"  # (a range open at both ends says nothing of its kind)
        changes.append(change)
    return changes


def _relay_end(previous: Mapping[str, Any], ends: dict[str, dict[str, Any]] | None) -> str | None:
    """The relay that ended a position's claim (retracted or corrected its report of the
    claimant), or None when it was not ended by one."""
    if not ends:
        return None
    relays = relays_of(previous)
    for claim in position_claims(previous):
        end = ends.get(claim)
        if end is not None and end["outlet"] != previous["claimant"] and end["outlet"] in relays:
            return str(end["outlet"])
    return None


def _claimant_change(
    change: str,
    claimant: str,
    previous: Mapping[str, Any] | None,
    position: Mapping[str, Any] | None,
    by: str | None = None,
    ends: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    shown = position or previous or {}
    out: dict[str, Any] = {
        "change": change,
        "claimant": claimant,
        "claimant_name": shown.get("claimant_name", claimant),
    }
    if by is not None:
        out["by"] = by
    if previous is not None:
        out["from_claim"] = previous["claim"]
        out["from"] = position_words(previous)
        ended = (
            next((ends[c] for c in position_claims(previous) if c in ends), None) if ends else None
        )
        if ended is not None:  # the previous position ended then: say by which record
            out["end"] = {"how": ended["how"], "by": ended["by"]}
    if position is not None:
        out["claim"] = position["claim"]
        out["to"] = position_words(position)
        out["report"] = position["report"]
    return out


def _comparable_value(position: Mapping[str, Any]) -> str:
    """What a position holds, to tell a restatement from a revision: its interval, or its
    values (every one of a position that combines several: "yes" and then "no and yes"
    is no restatement)."""
    if "interval" in position:
        return json.dumps(position["interval"], sort_keys=True)
    said = [c["value"] for c in position.get("combined") or ()] or [position["value"]]
    held = {json.dumps(v.casefold() if isinstance(v, str) else v) for v in said}
    return json.dumps(sorted(held))


def _get(fact: Mapping[str, Any] | None, key: str) -> Any:
    return None if fact is None else fact.get(key)


def change_words(change: dict[str, Any], zone: str | None = None, *, short: bool = True) -> str:
    """One change in words: ``sdf joined: more than 120``, ``status single → contested``
    (with the short reason unless ``short`` is false), ``asharq corrected its report of
    minister: 2700 → 2750``; ``…, proposed by bob`` when a proposal made it."""
    kind = change["change"]
    if kind == "status":
        why = f" ({change['short']})" if short and change.get("short") else ""
        if change["from"] is None:
            words = f"status {change['to']}{why}"
        else:
            words = f"status {change['from']} → {change['to']}{why}"
    elif kind == "range":
        of = change.get("kind")
        words = f"range {interval_words(change['to'], zone, of)}"
        if change["from"] is not None:
            words = f"range {interval_words(change['from'], zone, of)} → {words[6:]}"
    else:
        words = _claimant_words(change)
    return words + proposed_words(change)


def proposed_words(change: Mapping[str, Any]) -> str:
    """``, proposed by bob`` after a change that exists only because of a proposal not
    yet approved (``desk_rules.mark_proposed_changes``), else ``""``."""
    if "review" not in change:
        return ""
    return f", {change['review']} by {', '.join(change['proposed_by'])}"


def _claimant_words(change: dict[str, Any]) -> str:
    kind, who = change["change"], change["claimant"]
    if kind == "joined":
        return f"{who} joined: {change['to']}"
    if kind == "withdrawn":
        return f"{who} withdrawn (was {change['from']})"
    if kind == "restated":
        return f"{who} restated: {change['to']}"
    if kind == "lowered":
        return f"{who} lowered its total: {change['from']} → {change['to']} (a total cannot fall)"
    if kind == "corrected":
        done = (
            f"{change['from']} → {change['to']}" if "to" in change else f"withdrew {change['from']}"
        )
        return f"{change['by']} corrected its report of {who}: {done}"
    return f"{who} {kind}: {change['from']} → {change['to']}"
