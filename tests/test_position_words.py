"""A position in words: one report's claims read together say each other value once; the
same value given twice (by two relays at one instant) read "50 (also 50)"."""

from __future__ import annotations

from typing import Any

from incident_ledger.projections.words import position_words


def position(*said: tuple[str, int, str | None]) -> dict[str, Any]:
    combined = [{"claim": c, "value": v, "qualifier": q} for c, v, q in said]
    return {**combined[0], "combined": combined}


def test_each_other_value_is_said_once_and_never_the_value_itself() -> None:
    assert position_words(position(("c1", 50, None), ("c2", 50, None)), "number") == "50"
    twice = position(("c1", 20, None), ("c2", 20, "at_least"), ("c3", 20, "at_least"))
    assert position_words(twice, "number") == "20 (also at least 20)"
