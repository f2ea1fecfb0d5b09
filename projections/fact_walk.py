"""One fact's understanding kept up to date while its positions change one at a time.

:func:`understand` reads a fact from all of its positions: right for one instant, but a
walk through known time (``projections.sweep``) would then read every position again
at every instant, and a hot fact has hundreds of positions and thousands of instants.
A :class:`FactWalk` keeps a fact's positions in order, each with its JSON and its words
made once, beside the orders that decide an ordinary number or time fact — positions by
lower bound, by upper bound, by grade — so that a change costs a few insertions into
sorted lists and the answer is read at their ends: whether two positions conflict (the
highest lower bound above the lowest upper bound), the range (the lowest lower bound,
the highest upper bound), the value a policy picks. The rules are :func:`understand`'s,
applied to the same positions (the same tie-breaks: the first position in order among
equals); text, mixed kinds and cumulative totals, whose rules look at every position
together, are answered by :func:`understand` itself. The property test of the sweep
holds every instant of a walk to ``state``.

Sorted Python lists with ``bisect`` rather than a tree: a fact has at most some
thousands of positions, whose insertion moves memory in C.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from typing import Any

from incident_ledger.ledger.facts import FactRules
from incident_ledger.projections.agreement import Interval
from incident_ledger.projections.positions import Position
from incident_ledger.projections.results import FactState, PositionResult, relays_of
from incident_ledger.projections.understanding import (
    _RELIABILITY_RANK,
    Policy,
    Status,
    bounds,
    fact_state,
    fact_status,
    pick_value,
    understand,
)
from incident_ledger.projections.why import (
    RELAYS_NAMED,
    explain,
    many_relays,
    relay_claimants,
    relays_sentence,
    why_entry,
)
from incident_ledger.projections.words import position_words

_KIND_TAG = {"number": 0, "time": 1}  # bounds of different kinds are never compared


class _Held:
    """A claimant's position with its sort keys, JSON and words."""

    __slots__ = ("entry", "grade", "high", "json", "low", "order", "position", "relays", "says")

    def __init__(self, position: Position) -> None:
        self.position = position
        self.order = order = position.order
        tag = _KIND_TAG.get(position.kind, 2)
        low, high = position.interval
        self.low = (low is not None, tag, low, order)  # sorts the unbounded first
        self.high = (high is None, tag, high, order)  # sorts the unbounded last
        self.grade = (-_RELIABILITY_RANK.get(position.reliability or "", 6), order)
        self.json = position.as_json(False)
        known = position.kind if position.kind in ("number", "time") else None
        self.says = position_words(self.json, known)
        self.entry = why_entry(self.json, self.says, False)
        self.relays = relays_of(self.json)


class FactWalk:
    """The positions of one fact, changed by :meth:`put`, answered by :meth:`answer`."""

    def __init__(self, rules: FactRules | None, policy: Policy, zone: str | None) -> None:
        self._rules, self._policy, self._zone = rules, policy, zone
        self._held: dict[str, _Held] = {}
        self._lowered: dict[str, dict[str, Any]] = {}  # per claimant below its own earlier
        self._orders: list[tuple[str, str]] = []  # and in the same order:
        self._listed: list[PositionResult] = []
        self._says: list[str] = []
        self._entries: list[dict[str, Any]] = []
        self._lows: list[tuple[Any, ...]] = []
        self._highs: list[tuple[Any, ...]] = []
        self._grades: list[tuple[int, tuple[str, str]]] = []
        self._kinds: Counter[str] = Counter()
        self._relays = _Relays()

    def put(
        self, claimant: str, position: Position | None, lowered: dict[str, Any] | None = None
    ) -> None:
        """Set a claimant's position (None: it holds none any more), with its ``lowered``
        entry when it stands below an earlier total of its own."""
        old = self._held.pop(claimant, None)
        if old is not None:
            self._remove(old)
        self._lowered.pop(claimant, None)
        if position is None:
            return
        if lowered is not None:
            self._lowered[claimant] = lowered
        held = self._held[claimant] = _Held(position)
        at = bisect_left(self._orders, held.order)
        self._orders.insert(at, held.order)
        self._listed.insert(at, held.json)
        self._says.insert(at, held.says)
        self._entries.insert(at, held.entry)
        insort(self._lows, held.low)
        insort(self._highs, held.high)
        insort(self._grades, held.grade)
        if held.relays:
            self._relays.add(held.order, claimant, held.relays)
        self._kinds[position.kind] += 1

    def _remove(self, held: _Held) -> None:
        at = bisect_left(self._orders, held.order)
        for column in (self._orders, self._listed, self._says, self._entries):
            del column[at]
        for keys, key in ((self._lows, held.low), (self._highs, held.high)):
            del keys[bisect_left(keys, key)]
        del self._grades[bisect_left(self._grades, held.grade)]
        if held.relays:
            self._relays.remove(held.order, held.relays)
        self._kinds[held.position.kind] -= 1
        if not self._kinds[held.position.kind]:
            del self._kinds[held.position.kind]

    def placed(self, claimants: set[str]) -> list[tuple[tuple[str, str], int]]:
        """Of these claimants, those holding a position: its order and its index among
        the positions :meth:`answer` lists."""
        found = (self._held.get(claimant) for claimant in claimants)
        return [(h.order, bisect_left(self._orders, h.order)) for h in found if h is not None]

    def answer(self) -> FactState:
        """The fact as :func:`understand` reads it from the positions held now."""
        rules = self._rules
        kind = next(iter(self._kinds)) if len(self._kinds) == 1 else "mixed"
        if kind not in _KIND_TAG or (rules is not None and rules.cumulative and kind == "number"):
            ordered = [self._held[order[1]].position for order in self._orders]
            fell = self._lowered
            lowered = [fell[o[1]] for o in self._orders if o[1] in fell] if fell else None
            return understand(ordered, self._policy, rules, self._zone, lowered=lowered)
        lows, highs, count = self._lows, self._highs, len(self._orders)
        top = lows[-1][2] if lows[-1][0] else None  # the highest lower bound
        bottom = highs[0][2] if not highs[0][0] else None  # the lowest upper bound
        conflicting = count > 1 and top is not None and bottom is not None and top > bottom
        status = fact_status(count, conflicting, kind)
        span = Interval(lows[0][2] if lows[0][0] else None, None if highs[-1][0] else highs[-1][2])
        pair = None
        if conflicting:  # the first (in order) of the highest and of the lowest
            highest = lows[bisect_left(lows, lows[-1][:3])][3]
            lowest = highs[0][3]
            pair = (bisect_left(self._orders, highest), bisect_left(self._orders, lowest))
        common = Interval(top, bottom) if status is Status.CORROBORATED else None
        listed = self._listed[:]
        why = explain(
            status.value,
            listed,
            self._says[:],
            self._entries[:],
            pair,
            False,
            self._zone,
            bounds(common),
            self._relays.answer(),
            kind=kind,
        )
        return fact_state(status, kind, rules, False, self._pick(kind, span), span, listed, why)

    def _pick(self, kind: str, span: Interval) -> tuple[Any, str | None]:
        """The policy's value: from the range, else from the one position it chooses."""
        chosen: list[Position] = []
        if self._policy is Policy.LATEST:
            chosen = [self._held[self._orders[-1][1]].position]
        elif self._policy is Policy.PREFERRED:
            chosen = [self._held[self._grades[-1][1][1]].position]
        return pick_value(chosen, kind, span, self._policy)


class _Relays:
    """Each relay of the positions (``results.relays_of``) and the claimants it relayed,
    kept per relay: a change re-makes the claimants of the relays it names, not of every
    relay — a hot fact's walk changed a relayed position at most steps, and reading every
    relayed position again at each of them grew with the steps times the positions. An
    answer takes the relays in order and their claimants as they stand (C-level copies of
    as many references as relays), and names them in words only when there are few."""

    def __init__(self) -> None:
        # per relay: (order, place in its relays, claimant) of each position naming it, sorted
        self._named: dict[str, list[tuple[tuple[str, str], int, str]]] = {}
        self._claimants: dict[str, list[str]] = {}  # per relay, made anew when it changes
        # (order, place) of each relay's first naming, with the relay, sorted: the relays'
        # order, kept as a naming comes or goes rather than sorted again at every step
        self._first: list[tuple[tuple[str, str], int, str]] = []
        self._order: list[str] = []  # the relays of ``_first``, in its order
        self._answer: tuple[dict[str, list[str]], str] | None = None

    def add(self, order: tuple[str, str], claimant: str, via: list[str]) -> None:
        for place, relay in enumerate(dict.fromkeys(via)):
            named = self._named.setdefault(relay, [])
            was = named[0][:2] if named else None
            insort(named, (order, place, claimant))
            self._moved(relay, was, named[0][:2])
            self._claimants[relay] = [c for _, _, c in named]
        self._answer = None

    def remove(self, order: tuple[str, str], via: list[str]) -> None:
        for relay in dict.fromkeys(via):
            named = self._named[relay]
            was = named[0][:2]
            del named[bisect_left(named, (order,))]
            if not named:
                del self._named[relay], self._claimants[relay]
            else:
                self._claimants[relay] = [c for _, _, c in named]
            self._moved(relay, was, named[0][:2] if named else None)
        self._answer = None

    def _moved(self, relay: str, was: tuple[Any, ...] | None, now: tuple[Any, ...] | None) -> None:
        """Keep ``_first`` (and ``_order``) in order when a relay's first naming moved from
        ``was`` to ``now`` (None: not named)."""
        if was == now:
            return
        if was is not None:
            at = bisect_left(self._first, (*was, relay))
            del self._first[at], self._order[at]
        if now is not None:
            at = bisect_left(self._first, (*now, relay))
            self._first.insert(at, (*now, relay))
            self._order.insert(at, relay)

    def answer(self) -> tuple[dict[str, list[str]], str]:
        """As ``why`` reads them from the positions in order: each relay in the order it is
        first named (by the first position naming it, at its place in its relays), with
        its claimants in position order, and the summary's words for them. The same
        lists, never changed by their readers, until a position naming their relay
        changes."""
        if self._answer is not None:
            return self._answer
        order, claimants = self._order, self._claimants
        relays = dict(zip(order, map(claimants.__getitem__, order), strict=True))
        if len(order) > RELAYS_NAMED:
            words = many_relays(len(order))
        else:
            words = relays_sentence([(r, relay_claimants(claimants[r])) for r in order])
        self._answer = (relays, words)
        return self._answer
