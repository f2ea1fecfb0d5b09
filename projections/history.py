"""One fact's understanding over known time, as a step function.

The understanding can only change when something about the fact becomes
known: a claim of it is published, or a retraction or correction of one of
those claims is. The fact's claims are walked once in that order
(``projections.sweep``, whose every instant equals :func:`state`'s answer; the
rules live there, not here) and a step is emitted only when its positions,
status or range changed, with the reports published at that instant and what
changed.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, cast

from incident_ledger.ledger.errors import NotFoundError
from incident_ledger.ledger.times import to_key
from incident_ledger.projections.changes import changed_parts, fact_changes, first_ends
from incident_ledger.projections.citations import recorded_bound, report_refs
from incident_ledger.projections.desk_projection import (
    claims_recorded_by,
    desk_on_fact,
    recorded_by,
)
from incident_ledger.projections.incidents import did_you_mean, require_incident
from incident_ledger.projections.positions import (
    _CLAIMANT,
    _ID,
    _KIND,
    _PUBLISHED_AT,
    _REPORT,
    _UNIT,
)
from incident_ledger.projections.proposal_ends import mark_status_change
from incident_ledger.projections.results import (
    FactState,
    HistoryResult,
    HistoryStep,
    PositionResult,
    position_claims,
)
from incident_ledger.projections.step_marks import StepMarks
from incident_ledger.projections.sweep import Sweep
from incident_ledger.projections.understanding import iso

_RULES = """
SELECT kind, cumulative, unit FROM facts
WHERE incident = :incident AND key = :fact AND recorded_at <= :recorded
ORDER BY version DESC LIMIT 1
"""


def history(
    db: sqlite3.Connection,
    incident: str,
    fact: str,
    recorded_at: datetime | None = None,
    *,
    reviewed_only: bool = False,
) -> HistoryResult:
    """Every change in the understanding of ``fact``, in known-time order, as recorded by R
    (``reviewed_only``: counting a reporter's proposals only once approved by R)."""
    walk = HistoryWalk(db, incident, fact, recorded_at, reviewed_only=reviewed_only)
    steps = list(walk.steps)
    return cast(HistoryResult, walk.head | {"steps": steps} | walk.tail())


class HistoryWalk:
    """:func:`history` as it is made, for a reader that writes it as it goes: ``head``
    (the result's keys before ``steps``), then ``steps`` one at a time, then ``tail()``
    (the keys after them). A step's positions are read once, when they change: memory
    follows the positions in force, not the steps times the positions."""

    def __init__(
        self,
        db: sqlite3.Connection,
        incident: str,
        fact: str,
        recorded_at: datetime | None = None,
        *,
        reviewed_only: bool = False,
    ) -> None:
        zone = require_incident(db, incident)
        params = {"incident": incident, "fact": fact, "recorded": recorded_bound(recorded_at)}
        # The sweep reads the fact's claims and their ends once, for the steps' words too.
        sweep = Sweep(
            db, incident, zone, fact=fact, recorded_at=recorded_at, reviewed_only=reviewed_only
        )
        claims = sweep.claims
        if not claims:
            raise NotFoundError(_no_claims(db, incident, fact, recorded_at))
        self._db, self._params = db, params
        self.held: set[str] = set()  # every claim the steps' positions hold
        # The positions of the step last given that were read again for it: every
        # position it holds that the step before did not is among them.
        self.fresh: list[PositionResult] = []
        self.head = _head(db, params, claims, zone, recorded_at)
        marks = None if reviewed_only else StepMarks.open(db, incident, fact, zone, recorded_at)
        steps = self._steps(sweep, marks)
        first = next(steps, None)
        if first is None:  # an empty table would not say why
            held = {row[_ID] for row in claims}
            raise NotFoundError(_nothing_counts(db, params, held, reviewed_only))
        self.steps = itertools.chain((first,), steps)

    def _steps(self, sweep: Sweep, marks: StepMarks | None) -> Iterator[HistoryStep]:
        db, fact = self._db, self._params["fact"]
        reports_at: dict[str, set[str]] = {}
        for row in sweep.claims:
            reports_at.setdefault(row[_PUBLISHED_AT], set()).add(row[_REPORT])
        for _, published, _, _, report, *_ in sweep.ends:
            reports_at.setdefault(published, set()).add(report)
        ends_at: dict[str, dict[str, dict[str, Any]]] = {}
        found = (  # those whose report the model holds, as ``changes.ends_of`` reads them
            (claim, how, by, report, outlet, published)
            for claim, published, how, by, report, held, outlet, _ in sweep.ends
            if held is not None
        )
        for claim, end in first_ends(found).items():
            ends_at.setdefault(end["published_at"], {})[claim] = end
        refs = report_refs(db, {report for reports in reports_at.values() for report in reports})
        rank = {ref["id"]: n for n, ref in enumerate(refs)}  # read at once, in their order
        instants = sorted(reports_at)
        for instant, before, after, parts, marked in _walk(sweep, fact, instants, self.held, marks):
            changes = fact_changes(before, after, ends_at.get(instant, {}))
            reports = [refs[n] for n in sorted(rank[report] for report in reports_at[instant])]
            self.fresh = after["positions"]
            step = _step(instant, reports, sweep.fact(fact), parts, changes)
            step.update(cast(HistoryStep, marked))
            mark_status_change(changes, step)
            yield step

    def desk(self) -> list[dict[str, Any]]:
        """The desk's words on the fact's records (the ``desk`` key of ``tail()``)."""
        return desk_on_fact(self._db, self._params)

    def tail(self) -> dict[str, Any]:
        """The keys after ``steps``: the desk's words on the fact's records, and who
        recorded each claim the steps' positions held (once every step was read)."""
        return {"desk": self.desk(), "recorded_by": claims_recorded_by(self._db, self.held)}


def _head(
    db: sqlite3.Connection,
    params: dict[str, str],
    claims: list[Any],
    zone: str | None,
    recorded_at: datetime | None,
) -> dict[str, Any]:
    """The history's keys before its steps, in the order the JSON shows them."""
    kinds = {row[_KIND] for row in claims}
    # The commonest unit; of two as common, the first in claimant order, as the claims
    # were once read by their index.
    with_unit = sorted((row for row in claims if row[_UNIT]), key=itemgetter(_CLAIMANT))
    units = Counter(row[_UNIT] for row in with_unit)
    rules = db.execute(_RULES, params).fetchone()
    result: dict[str, Any] = {
        "incident": params["incident"],
        "fact": params["fact"],
        "kind": kinds.pop() if len(kinds) == 1 else "mixed",
        "unit": (rules[2] if rules and rules[2] else None)
        or (units.most_common(1)[0][0] if units else None),
    }
    if rules is not None:
        result["fact_kind"] = rules[0]
        if rules[1]:
            result["cumulative"] = True
    result |= {
        "timezone": zone,
        "recorded_at": iso(to_key(recorded_at)) if recorded_at else None,
    }
    return result


def _walk(
    sweep: Sweep, fact: str, instants: list[str], held: set[str], marks: StepMarks | None
) -> Iterator[tuple[str, dict[str, Any] | None, dict[str, Any], list[str], dict[str, Any]]]:
    """The instants at which the fact's understanding changed, each with the fact before
    (at the step before) and after, cut down to the claimants whose positions were read
    again since that step — the others hold the same claims, so neither
    ``changed_parts`` nor ``fact_changes`` says anything of them — and what changed.
    Adds the claims of every position the steps hold to ``held``. With ``marks``, each
    step also has what only proposals show at it (``StepMarks``), and an instant at which
    only those changed is a step too (``changed``: ``review``): a claim that a proposed
    end from its own report hides changes nothing else, yet ``state`` shows it."""
    shown: dict[str, tuple[tuple[str, str], PositionResult]] = {}  # at the step before
    pending: set[str] = set()
    before: dict[str, Any] | None = None
    marked: dict[str, Any] = {}
    for instant in instants:
        sweep.advance(instant)
        current = sweep.fact(fact)
        pending |= sweep.touched(fact)
        if current is None:
            continue
        now = sorted(sweep.placed(fact, pending))
        listed = current["positions"]
        after = {
            "status": current["status"],
            "kind": current.get("kind"),  # (what a range open at both ends is)
            "range": current["range"],
            "why": current["why"],
            "positions": [listed[index] for _, index in now],
            "lowered": current.get("lowered"),
        }
        was = None
        if before is not None:
            old = sorted(shown[claimant] for claimant in pending if claimant in shown)
            was = before | {"positions": [position for _, position in old]}
        parts = changed_parts(was, after)
        now_marked = marks.of(instant, current) if marks is not None else {}
        if now_marked != marked:
            parts = parts or ["review"]
        if not parts:
            continue
        marked = now_marked
        yield instant, was, after, parts, marked
        for claimant in pending:
            shown.pop(claimant, None)
        for order, index in now:
            shown[order[1]] = (order, listed[index])
            held.update(position_claims(listed[index]))
        pending = set()
        before = {key: current.get(key) for key in ("status", "kind", "range", "why")}


_VOIDS = """
SELECT c.id, v.record, v.how, v.recorded_at, v.seq,
       CASE v.how WHEN 'erratum' THEN (SELECT e.reason FROM errata e WHERE e.record = v.record)
       ELSE (SELECT w.note FROM reviews w WHERE w.record = v.record) END
FROM claims c JOIN voided v ON v.record IN (
    'claim:' || c.id, 'report:' || c.report, 'source:' || c.source, 'incident:' || c.incident)
WHERE c.incident = :incident AND c.fact = :fact AND c.recorded_at <= :recorded
  AND v.recorded_at <= :recorded
ORDER BY v.seq
"""


def _nothing_counts(
    db: sqlite3.Connection, params: dict[str, str], claims: set[str], reviewed_only: bool
) -> str:
    """Why none of a fact's claims counts (``desk_rules``): each was voided — by which
    erratum or rejection, recorded when, by whom, why — or, in the reviewed view, the
    others wait for review."""
    what = f"claim of '{params['fact']}' in incident '{params['incident']}'"
    voided: set[str] = set()
    why: dict[str, str] = {}
    for claim, record, how, recorded, seq, text in db.execute(_VOIDS, params):
        voided.add(claim)
        if record not in why:
            done = "entered in error" if how == "erratum" else "rejected"
            said = f": {text}" if text else ""
            by = recorded_by(db, seq)
            why[record] = f"{record} {done} (recorded {iso(recorded)} by {by}{said})"
    if voided >= claims:
        return f"every {what} was voided: " + "; ".join(list(why.values())[:3])
    if reviewed_only:
        waiting = len(claims - voided)
        return f"no {what} counts in the reviewed view: {waiting} proposal(s) wait for review"
    return f"no {what} counts"


def _no_claims(
    db: sqlite3.Connection, incident: str, fact: str, recorded_at: datetime | None
) -> str:
    message = f"no claims of '{fact}' in incident '{incident}'"
    exists = db.execute(
        "SELECT 1 FROM claims WHERE incident = ? AND fact = ? LIMIT 1", (incident, fact)
    ).fetchone()
    if recorded_at is not None and exists:
        return f"{message} recorded by {iso(to_key(recorded_at))}"
    return message + close_facts(db, incident, fact)


def close_facts(db: sqlite3.Connection, incident: str, fact: str) -> str:
    """``; did you mean 'killed.isis'?`` naming the incident's closest fact keys, or ``""``."""
    keys = [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT fact FROM claims WHERE incident = ? "
            "UNION SELECT key FROM facts WHERE incident = ?",
            (incident, incident),
        )
    ]
    return did_you_mean(fact, keys)


def _step(
    instant: str,
    reports: list[dict[str, Any]],
    current: FactState | None,
    parts: list[str],
    changes: list[dict[str, Any]],
) -> HistoryStep:
    assert current is not None  # a step is only made once the fact is known
    return {
        "at": iso(instant),
        "reports": reports,
        "status": current["status"],
        "kind": current.get("kind"),
        "value": current["value"],
        "range": current["range"],
        "positions": current["positions"],
        "why": current["why"],
        "changed": parts,
        "changes": changes,
    }


def changed_positions(steps: Iterable[HistoryStep]) -> Iterator[dict[str, Any]]:
    """The steps as ``history --json`` lists them: in place of ``positions`` (every
    position in force, at every step), ``positions_count`` and what changed since the step
    before — ``positions_changed``, the positions that are new or differ, and
    ``positions_ended``, the claimants who no longer hold one — and ``why`` without its
    ``positions``. The positions in force at a step are those of the step before, less
    the ended, with the changed in place: one hot fact's history lists each position
    once, where every step listing all of them made hundreds of megabytes."""
    previous: list[PositionResult] = []
    relayed: dict[str, list[str]] = {}
    for step in steps:
        out: dict[str, Any] = {}
        for key, value in step.items():
            if key == "positions":
                out["positions_count"] = len(step["positions"])
                out["positions_changed"], out["positions_ended"] = _moved(
                    previous, step["positions"]
                )
            elif key == "why":
                out["why"] = _why_changed(step["why"], relayed)
                relayed = step["why"].get("relays") or {}
            else:
                out[key] = value
        previous = step["positions"]
        yield out


def _why_changed(why: Mapping[str, Any], before: dict[str, list[str]]) -> dict[str, Any]:
    """A step's ``why`` as ``history --json`` gives it: without ``positions``, and in place
    of ``relays`` (every relay in force: the hundreds of outlets quoting a hot fact's
    claimants, at every step), ``relays_count``, ``relays_changed`` (each relay new at
    the step or naming other claimants, with those it names) and ``relays_ended``."""
    out = {k: v for k, v in why.items() if k not in ("positions", "relays")}
    now: dict[str, list[str]] = why.get("relays") or {}
    if now or before:
        out["relays_count"] = len(now)
        out["relays_changed"] = {
            relay: claimants
            for relay, claimants in now.items()
            if (was := before.get(relay)) is not claimants and was != claimants
        }
        out["relays_ended"] = [relay for relay in before if relay not in now]
    return out


def _moved(
    before: list[PositionResult], after: list[PositionResult]
) -> tuple[list[PositionResult], list[str]]:
    """The positions of ``after`` that are new or differ from the same claimant's in
    ``before``, in order, and the claimants of ``before`` without one in ``after``.

    Steps share the position objects that did not change, so the positions compared are
    found as the objects not in both lists (sets of ids, in C): a hot fact's steps each
    change a few of hundreds of positions."""
    kept = set(map(id, before)) & set(map(id, after))
    gone = (
        {p["claimant"]: p for p in before if id(p) not in kept} if len(kept) < len(before) else {}
    )
    index = {id(p): n for n, p in enumerate(after)} if len(kept) < len(after) else {}
    new = [after[index[key]] for key in sorted(set(index) - kept, key=index.__getitem__)]
    changed = [p for p in new if gone.get(p["claimant"]) != p]
    ended = sorted(gone.keys() - {p["claimant"] for p in new})
    return changed, ended


def step_at(steps: Sequence[HistoryStep], known_at: datetime) -> HistoryStep | None:
    """The step in force at a known time: the last one at or before it (None before the first)."""
    chosen: HistoryStep | None = None
    for step in steps:
        if datetime.fromisoformat(str(step["at"]).replace("Z", "+00:00")) <= known_at:
            chosen = step
    return chosen
