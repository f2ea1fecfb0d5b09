"""Whether one publication time is surely before another: the bounds of each are parsed
once (an import checks every end of a claim against the few reports it cites), and the
answer is the rule's, here written out plainly as the model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_ledger.ledger import times
from incident_ledger.ledger.times import is_date_only, parse_instant, surely_before


def model(text: str, other: str) -> bool:
    """The rule: a date is some time of that day in any zone (UTC+14 to UTC-12)."""
    if is_date_only(text) and is_date_only(other):
        return text.strip() < other.strip()
    latest = parse_instant(text) + (
        timedelta(days=1, hours=12) if is_date_only(text) else timedelta()
    )
    earliest = parse_instant(other) - (timedelta(hours=14) if is_date_only(other) else timedelta())
    return latest <= earliest if is_date_only(text) else latest < earliest


instants = st.datetimes(
    min_value=datetime(2021, 12, 25), max_value=datetime(2022, 1, 5), timezones=st.just(UTC)
)
publications = st.one_of(
    instants.map(lambda moment: moment.date().isoformat()),
    instants.map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")),
    instants.map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S+03:00")),
)


@given(publications, publications)
def test_surely_before_keeps_the_rule(text: str, other: str) -> None:
    assert surely_before(text, other) == model(text, other)


def test_each_publication_time_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = lru_cache(16)(times._publication_bounds.__wrapped__)  # nothing remembered yet
    monkeypatch.setattr(times, "_publication_bounds", fresh)
    parsed: list[str] = []

    def counting(text: str, **options: object) -> datetime:
        parsed.append(text)
        return parse_instant(text)

    monkeypatch.setattr(times, "parse_instant", counting)
    for _ in range(50):
        assert surely_before("2022-01-21", "2022-01-23T10:00:00Z")
        assert not surely_before("2022-01-23T10:00:00Z", "2022-01-21")
    assert sorted(parsed) == ["2022-01-21", "2022-01-23T10:00:00Z"]
