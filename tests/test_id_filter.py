"""The filter of ids a large import may find in the store (``imports.id_filter``): it
never says "no" for an id it holds, and says "perhaps" for few it does not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_ledger.ledger.imports.id_filter import IdFilter

ids = st.text(min_size=1, max_size=12)


@given(held=st.lists(ids, max_size=60), later=st.lists(ids, max_size=60), asked=st.lists(ids))
def test_every_id_held_is_perhaps_held(held: list[str], later: list[str], asked: list[str]) -> None:
    found = IdFilter(held, bits=64)
    found.add_all(later)
    everything = held + later + asked
    perhaps = found.perhaps(everything)
    assert set(held + later) <= set(perhaps)
    assert perhaps == [key for key in everything if key in set(perhaps)]  # in order, kept


def test_few_ids_not_held_are_perhaps_held() -> None:
    found = IdFilter([f"claim:c{n}" for n in range(100_000)])
    strangers = [f"claim:d{n}" for n in range(100_000)]
    assert len(found.perhaps(strangers)) < 1_000  # about 0.15 % at this size


def test_the_size_is_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        IdFilter(bits=100)
    with pytest.raises(ValueError, match="power of two"):
        IdFilter(bits=4)
