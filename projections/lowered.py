"""A claimant's total put below its own earlier one, said by ``state``.

A claimant's position is its latest claim; on a cumulative fact (a total that can only
grow) a later claim wholly below an earlier one of the same claimant that still stands
— a revision down, or an outlet relaying an older figure — then replaced the higher
total without a word. ``history`` and ``diff`` say "lowered its total" at the step it
happens (``changes``); ``state`` says it of every position that stands below an earlier
active claim of its claimant known by T, as of an instant no later than the position's
(a lower figure as of an earlier day is the rising total's past, not a fall). The fact's
status, range and reason follow the contract's rules unchanged; the fact lists the
claimants under ``lowered``, each with a sentence, and tables add a line for each.

An earlier claim counts as ``positions`` counts a position's claims: active at T as
recorded by R, by the desk's rules, and read together with the claimant's other claims
published at its instant (one report, one position).
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

from incident_ledger.ledger.facts import FactKind, FactRules
from incident_ledger.ledger.times import local_words, zone_or_none
from incident_ledger.projections.positions import Position, claim_columns
from incident_ledger.projections.results import first_hand, relays_of
from incident_ledger.projections.why import joined, who_words
from incident_ledger.projections.words import interval_words, position_words

_EARLIER = """
SELECT {columns}, NULL, NULL FROM claims c
WHERE c.incident = :incident AND c.fact = :fact AND c.claimant = :claimant
  AND c.published_at < :before AND c.recorded_at <= :recorded{desk_claim}
  AND c.published_at IN (
      SELECT h.published_at FROM claims h
      WHERE h.incident = :incident AND h.fact = :fact AND h.claimant = :claimant
        AND h.published_at < :before{above}
  )
  AND NOT EXISTS (
      SELECT 1 FROM claim_ends e
      WHERE e.claim = c.id AND e.published_at <= :known AND e.recorded_at <= :recorded{desk_end}
  )
ORDER BY c.published_at, c.id
"""
# A count's bounds are stored as read by the fact's first rules, whole numbers: the claims
# of an instant can only stand above a figure when one of them does, so the index of a
# claimant's claims is read for those instants alone. A quantity, or a fact declared anew,
# is read again from its values (``positions.Claim``): every earlier instant is read.
_ABOVE = " AND h.num_low > :high"
_PUBLISHED = itemgetter(claim_columns("c").split(", ").index("c.published_at"))


def lowered_totals(
    db: sqlite3.Connection,
    params: dict[str, str],
    by_fact: dict[str, list[Position]],
    rules: dict[str, tuple[FactRules | None, bool]],
    zone: str | None,
    desk: tuple[str, str],
) -> dict[str, list[dict[str, Any]]]:
    """Per cumulative fact, each claimant whose position stands wholly below an earlier
    claim of its own still active at T: the claimant and that earlier position (the
    highest), as ``state --json`` lists a position."""
    found: dict[str, list[dict[str, Any]]] = {}
    for fact, positions in by_fact.items():
        fact_rules, reread = rules.get(fact, (None, False))
        if fact_rules is None or not fact_rules.cumulative:
            continue
        stored = not reread and fact_rules.kind is FactKind.COUNT
        query = (
            _EARLIER.replace("{columns}", claim_columns("c"))
            .replace("{desk_claim}", desk[0])
            .replace("{desk_end}", desk[1])
            .replace("{above}", _ABOVE if stored else "")
        )
        for position in positions:
            high = position.interval.high
            if position.kind != "number" or high is None:
                continue  # an open total cannot stand below another
            asked = params | {
                "fact": fact,
                "claimant": position.claimant,
                "before": position.published,
                "high": high,
            }
            rows = db.execute(query, asked)
            earlier = (
                Position(list(g), fact_rules, reread, zone) for _, g in groupby(rows, _PUBLISHED)
            )
            above = highest_above(earlier, position)
            if above is not None:
                found.setdefault(fact, []).append(lowered_entry(position, above, zone))
    return found


def lowered_entry(position: Position, above: Position, zone: str | None) -> dict[str, Any]:
    """A ``lowered`` entry: the claimant, its position's claim, the earlier position above
    it (as a position is listed, with its as-of instant) and the sentence saying so."""
    now, earlier = position.as_json(cumulative=True), above.as_json(cumulative=True)
    shown = {
        key: earlier[key]
        for key in ("claim", "value", "qualifier", "report", "published_at", "as_of", "interval")
    }
    relays = relays_of(earlier)
    if relays:
        shown["relays"] = relays
    tz = zone_or_none(zone)
    # One claim is said as reported ("at least 30"); claims read together, by what they
    # leave (25–40), where one claim's words ("at most 40 (also at least 25)") misled.
    combined = "combined" in earlier
    was = interval_words(earlier["interval"]) if combined else position_words(earlier, "number")
    was += f" as of {local_words(earlier['as_of'], tz)}"
    if relays and not first_hand(earlier):  # only a relay printed it
        was += f" (as {joined(relays)} reported it)"
    to = f"{position_words(now, 'number')} as of {local_words(now['as_of'], tz)}"
    words = f"{who_words(now)} lowered its total from {was} to {to}; a total cannot fall"
    return {"claimant": position.claimant, "claim": position.claim, "earlier": shown,
            "words": words}  # fmt: skip


LISTED = 6
"""Past this many claimants who lowered a fact's total, a table counts them."""


def lowered_lines(fact: Mapping[str, Any], summed: bool = False) -> list[str]:
    """The lines a table adds under a fact for the totals put lower: each entry's words,
    or past ``LISTED`` (or when the fact's positions are summed up) who, in one line."""
    listed = fact.get("lowered") or []
    if listed and (summed or len(listed) > LISTED):
        who = joined([entry["claimant"] for entry in listed])
        return [f"{len(listed)} claimants lowered their totals, which cannot fall: {who}"]
    return [
        entry["words"] + (" — a proposal awaiting review" if "review" in entry else "")
        for entry in listed
    ]


def highest_above(earlier: Iterable[Position], position: Position) -> Position | None:
    """Of a claimant's earlier positions (its claims of each earlier instant read as one),
    the one whose figure stands highest above ``position``'s, as of an instant no later
    than its; None when none does (or ``position`` is no bounded number)."""
    high = position.interval.high
    if position.kind != "number" or high is None:
        return None
    best: Position | None = None
    for candidate in earlier:
        low = candidate.interval.low
        if candidate.kind != "number" or low is None or not low > high:
            continue
        if candidate.as_of > position.as_of:
            continue  # a total as of a later instant than the position's: no fall
        if best is None or low > best.interval.low:
            best = candidate
    return best


class EarlierTotals:
    """One claimant's active claims on a cumulative fact, each instant's read as one
    position once and kept in order of its figure's lower bound, highest first: the
    position highest above a later one (``highest_above``) is found from the top down to
    that one's figure, not by reading every earlier instant at every step of a walk (a
    claimant's 1,500 figures took a history 1.9 times as long as before it said falls)."""

    def __init__(self, read: tuple[FactRules | None, bool, str | None]) -> None:
        self._read = read  # the fact's rules, whether they read claims anew, the zone
        self._at: dict[str, Position] = {}
        self._order: list[tuple[Any, str]] = []  # (−lower bound, instant) of those read
        self._stale: set[str] = set()

    def changed(self, at: str) -> None:
        """A claim published at ``at`` came or went: that instant is read again when asked."""
        old = self._at.pop(at, None)
        if old is not None and old.kind == "number" and old.interval.low is not None:
            del self._order[bisect_left(self._order, (-old.interval.low, at))]
        self._stale.add(at)

    def highest_above(
        self, held: Sequence[tuple[str, str, tuple[Any, ...]]], position: Position
    ) -> Position | None:
        """``highest_above`` of the instants before ``position``'s among ``held`` (each
        claim as (published, id, row), in that order, its last column not the grade)."""
        high = position.interval.high
        if position.kind != "number" or high is None:
            return None
        for at in [at for at in self._stale if at < position.published]:
            self._stale.discard(at)
            start = bisect_left(held, (at,))
            rows = [(*e[2][:-1], None) for e in held[start:] if e[0] == at]  # (a run)
            if not rows:
                continue
            found = self._at[at] = Position(rows, *self._read)
            if found.kind == "number" and found.interval.low is not None:
                insort(self._order, (-found.interval.low, at))
        for low, at in self._order:
            if not -low > high:
                return None
            candidate = self._at[at]
            if at < position.published and candidate.as_of <= position.as_of:
                return candidate
        return None
