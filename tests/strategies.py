"""Hypothesis strategies the property tests share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from incident_ledger.ledger.times import surely_before


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


def keeping_end_rules(
    record: dict[str, Any],
    said_in: Mapping[str, tuple[str, str]],
    published: Mapping[str, str],
) -> dict[str, Any]:
    """A drawn retraction or correction made to keep the ledger's rules for ending a claim:
    it cites its claim's own report when the one drawn was surely published before it,
    and a correction to another fact says so (``change_fact``). ``said_in``: each claim's
    (report, fact); ``published``: each report's ``published_at``."""
    if record["type"] not in ("retraction", "correction"):
        return record
    own_report, own_fact = said_in[record["claim"]]
    fixed = dict(record)
    if surely_before(published[record["report"]], published[own_report]):
        fixed["report"] = own_report
    if record["type"] == "correction" and record["fact"] != own_fact:
        fixed["change_fact"] = True
    return fixed
