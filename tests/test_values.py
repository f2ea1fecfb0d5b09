"""Claimed values as intervals, EDTF bounds, and time conventions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import edtf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.times import parse_instant
from incident_ledger.ledger.values import ValueKind, _bound, edtf_bounds, read_value


@pytest.mark.parametrize(
    ("expression", "low", "high"),
    [
        ("2023-03-04", "2023-03-04T00:00:00.000000Z", "2023-03-04T23:59:59.999999Z"),
        ("2023-03-04/2023-03-05", "2023-03-04T00:00:00.000000Z", "2023-03-05T23:59:59.999999Z"),
        ("[2022-01-24,2022-01-31]", "2022-01-24T00:00:00.000000Z", "2022-01-31T23:59:59.999999Z"),
        ("2022-02-01/..", "2022-02-01T00:00:00.000000Z", None),
        ("2022-01", "2022-01-01T00:00:00.000000Z", "2022-01-31T23:59:59.999999Z"),
        ("2022-01-20T21:00:00+03:00", "2022-01-20T18:00:00.000000Z", "2022-01-20T18:00:00.000000Z"),
        ("2022-01-20?", "2022-01-20T00:00:00.000000Z", "2022-01-20T23:59:59.999999Z"),
    ],
)
def test_edtf_bounds(expression: str, low: str, high: str | None) -> None:
    assert edtf_bounds(expression) == (low, high)


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    st.integers(0, 40),
    st.sampled_from(["day", "month", "year"]),
)
def test_fast_path_agrees_with_the_edtf_package(start: date, span: int, precision: str) -> None:
    def text(d: date) -> str:
        return {"day": d.isoformat(), "month": d.isoformat()[:7], "year": d.isoformat()[:4]}[
            precision
        ]

    end = date.fromordinal(min(start.toordinal() + span * 31, date(2100, 12, 31).toordinal()))
    for expression in (text(start), f"{text(start)}/{text(end)}"):
        parsed = edtf.parse_edtf(expression)
        assert edtf_bounds(expression) == (
            _bound(parsed, lower=True),
            _bound(parsed, lower=False),
        ), expression


@pytest.mark.parametrize(
    ("value", "qualifier", "low", "high"),
    [
        (20, None, 20, 20),
        (20, "approx", 20, 20),
        (20, "at_least", 20, None),
        (120, "more_than", 121, None),
        (50, "at_most", 0, 50),
        (50, "less_than", 0, 49),
        ({"min": 11000, "max": 12000}, None, 11000, 12000),
    ],
)
def test_numbers_are_intervals(
    value: object, qualifier: str | None, low: int, high: int | None
) -> None:
    reading = read_value(value, qualifier)
    assert (reading.kind, reading.low, reading.high) == (ValueKind.NUMBER, low, high)
    assert reading.approximate is (qualifier == "approx")


def test_status_text_compares_case_folded_and_booleans_as_words() -> None:
    assert read_value("SDF", None).text == read_value("sdf", None).text
    assert read_value(True, None).text == "true"
    assert read_value("18:00-06:00", None).kind == ValueKind.TEXT


def test_instants_dates_start_the_day_for_reports_and_end_it_for_queries() -> None:
    assert parse_instant("2022-01-21") == datetime(2022, 1, 21, tzinfo=UTC)
    assert parse_instant("2022-01-21", end_of_day=True) == datetime(
        2022, 1, 21, 23, 59, 59, 999999, tzinfo=UTC
    )
    assert parse_instant("2022-01-21T02:00:00+03:00") == datetime(2022, 1, 20, 23, tzinfo=UTC)
    with pytest.raises(BadInputError):
        parse_instant("2022-01-21T02:00:00")
    with pytest.raises(BadInputError):
        parse_instant("2022-02-30")


def _sample_times() -> list[tuple[str, str]]:
    import json as _json

    from incident_ledger.ledger.samples import GHWAYRAN

    found = []
    for line in GHWAYRAN.read_text(encoding="utf-8").splitlines():
        record = _json.loads(line)
        if record["type"] != "claim":
            continue
        if "valid_time" in record:
            found.append((record["id"], record["valid_time"]))
        if record["fact"] == "attack.started":
            found.append((record["id"], record["value"]))
    return found


@pytest.mark.parametrize(("claim", "expression"), _sample_times())
def test_every_sample_time_has_ordered_bounds_and_words(claim: str, expression: str) -> None:
    from incident_ledger.projections.timewords import describe

    low, high = edtf_bounds(expression)
    assert low is not None, claim
    assert high is None or low <= high, claim
    assert low.startswith("2022-01") or low.startswith("2022-02"), claim
    assert describe(expression), claim


def test_sample_time_words_for_the_ambiguous_dates() -> None:
    from incident_ledger.projections.timewords import describe

    assert describe("[2022-01-20,2022-01-21]") == "20 or 21 Jan 2022"
    assert describe("[2022-01-24,2022-01-31]") == "24 or 31 Jan 2022"
    assert describe("2022-02-01/..") == "from 1 Feb 2022"
    assert edtf_bounds("[2022-01-24,2022-01-31]") == (
        "2022-01-24T00:00:00.000000Z",
        "2022-01-31T23:59:59.999999Z",
    )


plain_dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)).flatmap(
    lambda d: st.sampled_from([d.isoformat(), d.isoformat()[:7], d.isoformat()[:4]])
)


@given(
    st.lists(plain_dates, min_size=1, max_size=4),
    st.sampled_from(["one", "range", "open", "or", "and"]),
)
def test_plain_time_words_match_the_parsed_words(dates: list[str], form: str) -> None:
    from incident_ledger.projections.timewords import _describe_parsed, _describe_plain

    first, last = sorted(dates)[0], sorted(dates)[-1]
    expression = {
        "one": first,
        "range": f"{first}/{last}" if len(first) == len(last) else first,
        "open": f"{first}/..",
        "or": "[" + ",".join(sorted(set(dates))) + "]",
        "and": "{" + ",".join(sorted(set(dates))) + "}",
    }[form]
    fast = _describe_plain(expression)
    if fast is not None:
        assert fast == _describe_parsed(expression), expression
