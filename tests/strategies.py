"""Hypothesis strategies the property tests share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st


def claim_operations(
    facts: Sequence[str],
    values: st.SearchStrategy[Any],
    sources: Sequence[str],
    claims: int,
) -> list[st.SearchStrategy[tuple[Any, ...]]]:
    """A claim (fact, value, report number, claimant or None), a retraction of the
    claim numbered up to ``claims`` (report number), and a correction of one (value,
    report number, claimant or None): the operations a random ledger is built from."""
    claimants = st.sampled_from([None, *sources])
    return [
        st.tuples(st.just("claim"), st.sampled_from(facts), values, st.integers(0, 5), claimants),
        st.tuples(st.just("retract"), st.integers(0, claims), st.integers(0, 5)),
        st.tuples(st.just("correct"), st.integers(0, claims), values, st.integers(0, 5), claimants),
    ]
