"""What a history step shows only because of proposals, marked as ``state`` marks it.

``state`` at T marks a fact's status that only proposals not yet approved give, and
lists the positions a proposed retraction or correction took away
(``proposal_ends``). A step of ``history`` is the fact's understanding at its instant,
so it carries the same marks, made by the same rules: the reviewed view is walked
beside the default one (a second ``Sweep``, advanced to the same instants) and each
step is compared with it as ``state`` compares the two views. Nothing is walked for a
fact with nothing proposed in it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, cast

from incident_ledger.projections.citations import recorded_bound
from incident_ledger.projections.desk_rules import any_proposed, proposed_records
from incident_ledger.projections.positions import END_OF_TIME
from incident_ledger.projections.proposal_ends import (
    list_ended_by_proposals,
    mark_proposed_statuses,
    proposed_ends_of,
)
from incident_ledger.projections.results import FactState, StateResult
from incident_ledger.projections.sweep import Sweep

MARKS = ("ended_by_proposals", "status_review", "status_proposed_by", "reviewed_status")
"""The keys a step takes from its marks (and ``why``, whose summary then says so)."""

_CLAIMS = """
SELECT id FROM claims WHERE incident = :incident AND fact = :fact AND recorded_at <= :recorded
"""


class StepMarks:
    """The marks of one fact's steps, as recorded by R: :meth:`of` a step's fact."""

    def __init__(
        self,
        db: sqlite3.Connection,
        incident: str,
        fact: str,
        zone: str | None,
        recorded_at: datetime | None,
        ends: dict[str, dict[str, str]],
    ) -> None:
        self._db, self._incident, self._fact = db, incident, fact
        self._recorded = recorded_bound(recorded_at)
        self._ends = ends
        self._reviewed = Sweep(
            db, incident, zone, fact=fact, recorded_at=recorded_at, reviewed_only=True
        )

    @classmethod
    def open(
        cls,
        db: sqlite3.Connection,
        incident: str,
        fact: str,
        zone: str | None,
        recorded_at: datetime | None,
    ) -> StepMarks | None:
        """The marks of ``fact``'s steps; None when no claim of it, and no end of one, is
        a proposal not approved by R (``recorded_at``): its steps then have none."""
        if not any_proposed(db):
            return None
        recorded = recorded_bound(recorded_at)
        ends = proposed_ends_of(db, incident, END_OF_TIME, recorded, fact)
        if not ends:
            params = {"incident": incident, "fact": fact, "recorded": recorded}
            claims = (row[0] for row in db.execute(_CLAIMS, params))
            if not proposed_records(db, claims, recorded):
                return None
        return cls(db, incident, fact, zone, recorded_at, ends)

    def of(self, instant: str, current: FactState) -> dict[str, Any]:
        """The marks of the fact as understood at ``instant`` (a storage key, not earlier
        than the last one asked): ``state``'s keys of ``MARKS`` it has, and its ``why``
        when a mark changed its summary."""
        self._reviewed.advance(instant)
        shown = dict(current)
        reviewed = self._reviewed.fact(self._fact)
        result = cast(StateResult, {"incident": self._incident, "facts": {self._fact: shown}})
        other = cast(StateResult, {"facts": {self._fact: reviewed} if reviewed else {}})
        ended = {claim: end for claim, end in self._ends.items() if end["at"] <= instant}
        list_ended_by_proposals(result, other, ended)
        mark_proposed_statuses(self._db, result, other, self._recorded)
        marks = {key: shown[key] for key in MARKS if key in shown}
        if shown["why"] is not current["why"]:
            marks["why"] = shown["why"]
        return marks
