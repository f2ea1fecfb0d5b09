"""An incident's understanding walked forward through known time, in one pass.

``state`` answers one instant with one indexed query. A question about many
instants of one fact (its history) would ask it again at every instant, each time
reading every claim of the incident. The sweep reads the fact's claims once, in
known-time order, with the instants their ends become known, and keeps each
claimant's position as claims arrive and end: at each instant only the positions
that changed are read again (with :class:`Position`, as ``state`` reads them) and
only the facts they belong to are understood again (with :func:`understand`). A
property test holds every instant of the sweep to ``state``.

Memory follows the positions in force: a claimant's earlier claims are dropped once
a later claim of theirs that is never ended (as recorded by R) is known, since none
of them can be its position again.
"""

from __future__ import annotations

import sqlite3
from bisect import insort
from datetime import datetime
from typing import Any

from incident_ledger.ledger.times import to_key
from incident_ledger.projections.desk_rules import desk_clauses
from incident_ledger.projections.fact_walk import FactWalk
from incident_ledger.projections.lowered import EarlierTotals, lowered_entry
from incident_ledger.projections.positions import (
    _CLAIMANT,
    _FACT,
    _ID,
    _PUBLISHED_AT,
    END_OF_TIME,
    Position,
    claim_columns,
    fact_rules,
    grade_in_force,
)
from incident_ledger.projections.results import FactState, StateResult
from incident_ledger.projections.understanding import Policy, iso

# Every claim, each with whether the desk's rules let it count, in the place of the
# claimant's grade (read at each instant): a history lists the reports of the claims
# that do not count too, and reads them here rather than again.
_CLAIMS = """
SELECT {columns}, s.name AS claimant_name, (1 {desk_claim}) AS counted
FROM claims c LEFT JOIN sources s ON s.id = c.claimant
WHERE c.incident = :incident AND c.recorded_at <= :recorded {fact}
ORDER BY c.published_at, c.claimant, c.id
"""

# Every end of those claims in known-time order, as ``changes.ends_of`` reads them (the
# outlet NULL when the report is not found), with whether it counts.
_ENDS = """
SELECT e.claim, e.published_at, e.how, e.ended_by, e.report, r.id, r.source,
       (1 {desk_end}) AS counted
FROM claim_ends e JOIN claims c ON c.id = e.claim LEFT JOIN reports r ON r.id = e.report
WHERE c.incident = :incident AND e.recorded_at <= :recorded {fact}
ORDER BY e.published_at, e.seq
"""

_RATED = """
SELECT DISTINCT r.effective_from FROM source_ratings r
WHERE r.effective_from IS NOT NULL AND r.recorded_at <= :recorded
  AND r.source IN (SELECT DISTINCT claimant FROM claims c WHERE c.incident = :incident {fact})
ORDER BY r.effective_from
"""

_GRADES = """
SELECT s.id, {grade} FROM sources s
WHERE s.id IN (SELECT DISTINCT claimant FROM claims c WHERE c.incident = :incident {fact})
"""


class Sweep:
    """One incident (or one fact of it) as recorded by R, walked forward in known time.

    :meth:`advance` moves to a later instant; :meth:`fact` and :meth:`state` then answer
    as ``state`` at that instant would.
    """

    def __init__(
        self,
        db: sqlite3.Connection,
        incident: str,
        zone: str | None,
        *,
        fact: str | None = None,
        recorded_at: datetime | None = None,
        policy: Policy = Policy.RANGE,
        reviewed_only: bool = False,
    ) -> None:
        self._db, self._zone, self._policy = db, zone, policy
        self._recorded_at = recorded_at
        recorded = to_key(recorded_at) if recorded_at else END_OF_TIME
        self._params = {"incident": incident, "recorded": recorded, "fact": fact or ""}
        only = "AND c.fact = :fact" if fact is not None else ""
        self._rules = fact_rules(db, self._params)
        # The desk's rules (``desk_rules``): an entry error or a rejected proposal neither
        # holds nor ends a claim; with ``reviewed_only``, neither does an unapproved proposal.
        desk_claim, desk_end = desk_clauses(db, reviewed_only)
        sql = (
            _CLAIMS.replace("{columns}", claim_columns("c"))
            .replace("{fact}", only)
            .replace("{desk_claim}", desk_claim)
        )
        self.claims: list[tuple[Any, ...]] = db.execute(sql, self._params).fetchall()
        """Every claim read, counted by the desk's rules or not (the last column says)."""
        self._claims = [row for row in self.claims if row[-1]]
        self._next = 0
        ends = _ENDS.replace("{fact}", only).replace("{desk_end}", desk_end)
        self.ends: list[tuple[Any, ...]] = db.execute(ends, self._params).fetchall()
        """Every end of those claims, in known-time order: (claim, published_at, how,
        ended_by, report, the report's id if found, its source, whether it counts)."""
        self._end_at: dict[str, str] = {}
        for claim, at, *_, counted in self.ends:
            if counted:
                self._end_at.setdefault(claim, at)  # the first end counted
        self._ends = sorted((at, claim) for claim, at in self._end_at.items())
        self._next_end = 0
        self._rated = [row[0] for row in db.execute(_RATED.replace("{fact}", only), self._params)]
        self._grades_sql = _GRADES.replace("{fact}", only).replace(
            "{grade}", grade_in_force("s.id")
        )
        self._grades: dict[str, str | None] | None = None
        self._known = ""
        self._active: dict[tuple[str, str], list[tuple[str, str, tuple[Any, ...]]]] = {}
        self._held_by: dict[str, tuple[str, str]] = {}  # an active claim's (fact, claimant)
        # per (fact, claimant) of a cumulative fact: its claims of each instant read as one
        # position, by figure (``_fall``)
        self._totals: dict[tuple[str, str], EarlierTotals] = {}
        self._walks: dict[str, FactWalk] = {}
        self._touched: dict[str, set[str]] = {}  # the claimants each fact's last step re-read
        self._facts: dict[str, FactState] = {}
        self._seen: set[str] = set()

    def advance(self, known: str) -> None:
        """Move to known time ``known`` (a storage key, not earlier than the last one)."""
        dirty: set[tuple[str, str]] = set()
        regraded = self._regrade(known)
        claims, end_at = self._claims, self._end_at
        while self._next < len(claims) and claims[self._next][_PUBLISHED_AT] <= known:
            row = claims[self._next]
            self._next += 1
            self._seen.add(row[_FACT])
            ended = end_at.get(row[_ID])
            if ended is not None and ended <= known:
                continue
            key = (row[_FACT], row[_CLAIMANT])
            held = self._active.setdefault(key, [])
            if ended is None and not self._cumulative(row[_FACT]):
                # In force for good: no earlier claim can be the position again. (A total's
                # earlier claims stay: one above the position is a fall, ``lowered``.)
                held[:] = [entry for entry in held if entry[0] >= row[_PUBLISHED_AT]]
            insort(held, (row[_PUBLISHED_AT], row[_ID], row))
            if self._cumulative(row[_FACT]):
                self._totals_of(key).changed(row[_PUBLISHED_AT])
            if ended is not None:
                self._held_by[row[_ID]] = key
            dirty.add(key)
        while self._next_end < len(self._ends) and self._ends[self._next_end][0] <= known:
            claim = self._ends[self._next_end][1]
            self._next_end += 1
            self._drop(claim, dirty)
        if regraded:
            dirty.update(key for key in self._active if key[1] in regraded)
        self._known = known
        for fact in self._place(dirty):
            self._understand(fact)

    def _drop(self, claim: str, dirty: set[tuple[str, str]]) -> None:
        key = self._held_by.pop(claim, None)
        held = self._active.get(key) if key is not None else None
        if key is None or held is None:
            return  # ended before it was known, or already dropped
        for n, entry in enumerate(held):
            if entry[1] == claim:
                del held[n]
                if key in self._totals:
                    self._totals[key].changed(entry[0])
                dirty.add(key)
                return

    def _regrade(self, known: str) -> set[str]:
        """Claimants whose grade in force changed on the way to ``known`` (all at first)."""
        crossed = any(self._known < at <= known for at in self._rated)
        if self._grades is not None and not crossed:
            return set()
        params = self._params | {"known": known}
        grades = {source: grade for source, grade in self._db.execute(self._grades_sql, params)}
        old, self._grades = self._grades or {}, grades
        return {source for source, grade in grades.items() if old.get(source) != grade}

    def _place(self, dirty: set[tuple[str, str]]) -> set[str]:
        """Read the changed claimants' positions again; the facts they belong to."""
        grades = self._grades or {}
        unknown: tuple[Any, bool] = (None, False)
        self._touched = {}
        for fact, claimant in dirty:
            held = self._active.get((fact, claimant))
            self._touched.setdefault(fact, set()).add(claimant)
            walk = self._walk(fact)
            if not held:
                walk.put(claimant, None)
                self._active.pop((fact, claimant), None)
                continue
            latest = held[-1][0]
            grade = grades.get(claimant)
            rows = [(*entry[2][:-1], grade) for entry in held if entry[0] == latest]
            rows.sort(key=lambda row: row[_ID])
            rules, reread = self._rules.get(fact, unknown)
            position = Position(rows, rules, reread, self._zone)
            walk.put(claimant, position, self._fall(fact, held, position))
        return {fact for fact, _ in dirty} | (self._seen - self._facts.keys())

    def _cumulative(self, fact: str) -> bool:
        rules = self._rules.get(fact, (None, False))[0]
        return rules is not None and rules.cumulative

    def _fall(
        self, fact: str, held: list[tuple[str, str, tuple[Any, ...]]], position: Position
    ) -> dict[str, Any] | None:
        """The ``lowered`` entry of a claimant's position on a cumulative fact, from its
        claims still active at earlier instants (``lowered``, as ``state`` reads them)."""
        if not self._cumulative(fact) or position.interval.high is None:
            return None
        above = self._totals_of((fact, position.claimant)).highest_above(held, position)
        return None if above is None else lowered_entry(position, above, self._zone)

    def _totals_of(self, key: tuple[str, str]) -> EarlierTotals:
        totals = self._totals.get(key)
        if totals is None:
            totals = self._totals[key] = EarlierTotals((*self._rules[key[0]], self._zone))
        return totals

    def _walk(self, fact: str) -> FactWalk:
        walk = self._walks.get(fact)
        if walk is None:
            rules = self._rules.get(fact, (None, False))[0]
            walk = self._walks[fact] = FactWalk(rules, self._policy, self._zone)
        return walk

    def _understand(self, fact: str) -> None:
        self._facts[fact] = self._walk(fact).answer()

    def placed(self, fact: str, claimants: set[str]) -> list[tuple[tuple[str, str], int]]:
        """Of these claimants, those holding a position on ``fact``: each position's order
        (known time, claimant) and its index in the fact's ``positions``."""
        walk = self._walks.get(fact)
        return [] if walk is None else walk.placed(claimants)

    def touched(self, fact: str) -> set[str]:
        """The claimants of ``fact`` whose positions the last :meth:`advance` read again
        (new, changed, ended or re-graded)."""
        return self._touched.get(fact, set())

    def fact(self, fact: str) -> FactState | None:
        """The fact as understood now (None before any claim of it is known)."""
        return self._facts.get(fact)

    def state(self) -> StateResult:
        """The whole answer ``state`` gives at the current instant."""
        recorded = self._recorded_at
        return {
            "incident": self._params["incident"],
            "known_at": iso(self._known),
            "recorded_at": iso(to_key(recorded)) if recorded else None,
            "policy": self._policy.value,
            "facts": {fact: self._facts[fact] for fact in sorted(self._facts)},
        }
