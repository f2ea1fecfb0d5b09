"""Whether positions agree, and the range they leave (docs/understanding.md,
"Positions", "Numbers are intervals" and "Status").

Plain functions over intervals, so that the rules read as the contract states them:

* one claimant's claims on one fact at its latest known instant form one position:
  the intersection of their intervals when it is not empty, else their hull, marked
  inconsistent (:func:`combine`); texts likewise, as sets of values;
* positions of an ordinary fact agree when they share a common point
  (:func:`share_a_point`), and its range is their hull;
* positions of a cumulative fact (a total that can only grow) agree when a
  non-decreasing function of world time passes through every position's interval at
  its as-of instant (:func:`first_contradiction`); its range describes the latest
  total (:func:`cumulative_range`).

A bound of ``None`` is unbounded: below for a lower bound, above for an upper one.
Bounds are ints (counts), Decimals (quantities) or storage keys (times), compared
within one kind only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

Bound = Any
"""An int, a Decimal or a storage key; None is unbounded."""


class Interval(NamedTuple):
    """A closed interval; ``None`` bounds are unbounded."""

    low: Bound
    high: Bound

    def is_empty(self) -> bool:
        return self.low is not None and self.high is not None and self.low > self.high


def intersection(intervals: Sequence[Interval]) -> Interval:
    """The largest lower bound and the smallest upper bound (maybe empty)."""
    lows = [i.low for i in intervals if i.low is not None]
    highs = [i.high for i in intervals if i.high is not None]
    return Interval(max(lows) if lows else None, min(highs) if highs else None)


def hull(intervals: Sequence[Interval]) -> Interval:
    """The smallest interval holding them all."""
    lows = [i.low for i in intervals]
    highs = [i.high for i in intervals]
    low = None if any(b is None for b in lows) else min(lows)
    high = None if any(b is None for b in highs) else max(highs)
    return Interval(low, high)


def combine(intervals: Sequence[Interval]) -> tuple[Interval, bool]:
    """One claimant's intervals at one instant as one: (interval, inconsistent)."""
    common = intersection(intervals)
    if not common.is_empty():
        return common, False
    return hull(intervals), True


def share_a_point(intervals: Sequence[Interval]) -> bool:
    """Whether every interval holds one common point."""
    return not intersection(intervals).is_empty()


def first_contradiction(
    points: Sequence[tuple[str, Interval]],
) -> tuple[int, int] | None:
    """For a cumulative fact, given each position's (as-of instant, interval): a pair
    (i, j) with t_i ≤ t_j and low_i > high_j — a total at t_i above what it is said to
    be at t_j, later — or None when a non-decreasing function of time passes through
    every interval at its instant.

    Such a function exists exactly when no such pair does (then f(t) = the largest
    low_i with t_i ≤ t is one), so sorting by instant and comparing each low with the
    smallest high at that instant or later decides it in O(n log n).
    """
    order = sorted(range(len(points)), key=lambda k: points[k][0])
    smallest: tuple[Bound, int] | None = None  # (high, position) over instants ≥ current
    k = len(order)
    while k > 0:
        instant = points[order[k - 1]][0]
        group = []
        while k > 0 and points[order[k - 1]][0] == instant:
            k -= 1
            group.append(order[k])
        for j in group:
            high = points[j][1].high
            if high is not None and (smallest is None or high < smallest[0]):
                smallest = (high, j)
        for i in sorted(group):
            low = points[i][1].low
            if smallest is not None and low is not None and low > smallest[0]:
                return i, smallest[1]
    return None


def cumulative_range(points: Sequence[tuple[str, Interval]], contested: bool) -> Interval:
    """The range of a cumulative fact: what its positions imply for the latest total.

    Each position implies [its low, its high if its instant is the latest, else
    unbounded]. Agreeing positions leave the intersection of those; contested ones
    their hull.
    """
    latest = max(instant for instant, _ in points)
    implied = [
        Interval(interval.low, interval.high if instant == latest else None)
        for instant, interval in points
    ]
    return hull(implied) if contested else intersection(implied)


def texts_agree(sets: Sequence[frozenset[str]]) -> bool:
    """Whether one text is held by every position (an inconsistent one holds several)."""
    common = set(sets[0])
    for values in sets[1:]:
        common &= values
    return bool(common)
