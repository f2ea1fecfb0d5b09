"""Claimed values as intervals, EDTF bounds, and time conventions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import edtf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.domain import creation_leaf
from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.imports.spool import spool_row
from incident_ledger.ledger.times import parse_instant
from incident_ledger.ledger.values import ValueKind, ValueProblem, _bound, edtf_bounds, read_value
from incident_ledger.projections.projector import _HANDLERS, Projector, _decode
from incident_ledger.projections.views import Views


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
    assert read_value("from 18:00 to 06:00", None).kind == ValueKind.TEXT


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
    # The incident's days (January 2022 on); the UN's estimate is as of "last year", 2021.
    assert low[:7] in ("2022-01", "2022-02") or expression == "2021", claim
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


# --- what the write side accepts, the read side can show --------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0000", "'0000' is not a valid EDTF date or interval (years run from 0001 to 9999, "
                 "in UTC)"),
        ("2022-02-29", "'2022-02-29' is not a valid EDTF date or interval (day is out of range "
                       "for month)"),
        ("2022-01-21T24:00:00Z", "'2022-01-21T24:00:00Z' is not a valid EDTF date or interval "
                                 "(hour must be in 0..23)"),
        ("9999-12-31T23:59:59-05:00", "'9999-12-31T23:59:59-05:00' is not a valid EDTF date or "
                                      "interval (years run from 0001 to 9999, in UTC)"),
        ("2023-13-45", "'2023-13-45' is not a valid EDTF date or interval (month must be in "
                       "1..12)"),
        ("2020/2019", "'2020/2019' is not a valid EDTF date or interval (it ends before it "
                      "starts)"),
        ("18:00-06:00", "'18:00-06:00' is neither a number nor an EDTF date: text must not "
                        "start with a digit, '[', '{' or '..'"),
        ("٢٠", "'٢٠' is a number written as text: give it as a number (20)"),
        ("1,000", "'1,000' is not a number as written: write whole numbers without separators "
                  "(1000)"),
        ("٢٠٫٥", "'٢٠٫٥' is a number written as text: give it as a number (20.5)"),
        ({"min": 1, "max": 2.5}, "range bounds must be numbers"),  # a float: never exact
        ([1, 2], 'must be a number, {"min": a, "max": b}, an EDTF date, text, a boolean or a '
                 'place {"name": text, "lat": degrees, "lon": degrees}'),
    ],
)  # fmt: skip
def test_a_value_the_read_side_cannot_show_is_a_value_problem(value: object, message: str) -> None:
    with pytest.raises(ValueProblem) as raised:
        read_value(value, None)
    assert str(raised.value) == message


def test_the_year_one_sorts_before_later_years() -> None:
    assert edtf_bounds("0001") == ("0001-01-01T00:00:00.000000Z", "0001-12-31T23:59:59.999999Z")
    assert edtf_bounds("9999-12") == ("9999-12-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z")


_year = st.one_of(
    st.integers(0, 10_000).map(lambda y: f"{y:04d}"),
    st.sampled_from(["-0001", "XXXX", "20XX", "Y170000002", "٢٠٢٢"]),
)
_two = st.integers(0, 35).map(lambda n: f"{n:02d}") | st.just("XX")
_offset = st.sampled_from(["Z", "+00:00", "-05:00", "+14:00", "+23:59", "-24:00", "+01:00", ""])


@st.composite
def _dates(draw: st.DrawFn) -> str:
    text = draw(_year)
    if draw(st.booleans()):
        text += "-" + draw(_two)
        if draw(st.booleans()):
            text += "-" + draw(_two)
            if draw(st.booleans()):
                hms = [draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))]
                text += "T" + ":".join(f"{n:02d}" for n in hms) + draw(_offset)
    return text + draw(st.sampled_from(["", "", "?", "~", "%"]))


@st.composite
def edtf_ish(draw: st.DrawFn) -> str:
    """Strings shaped like EDTF, valid or not: dates, date-times with offsets, intervals,
    sets, open ends, qualifiers, out-of-range parts, and a little noise."""
    first, second = draw(_dates()), draw(_dates())
    shape = draw(st.sampled_from(["{a}", "{a}/{b}", "../{b}", "{a}/..", "[{a},{b}]",
                                  "{{{a},{b}}}", "[..{a}]", "{a} ", " {a}", "{a}x"]))  # fmt: skip
    return shape.format(a=first, b=second)


@settings(max_examples=300, deadline=None)
@given(value=edtf_ish(), where=st.sampled_from(["value", "valid_time"]))
def test_any_time_the_validator_accepts_projects(value: str, where: str) -> None:
    claim = {"type": "claim", "id": "c", "incident": "i", "fact": "f", "report": "r", "value": 1}
    claim[where] = value
    try:
        record = validate_record(claim, "line 1")
    except BadInputError:
        return  # refused before it is written: fine
    _project("claim", record)


_instants = st.one_of(
    _dates(),
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
        timezones=st.timezones(),
    ).map(lambda d: d.isoformat()),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_instants)
def test_any_instant_the_validator_accepts_projects(instant: str) -> None:
    report = {"type": "report", "id": "r", "source": "s", "published_at": instant}
    try:
        record = validate_record(report, "line 1")
    except BadInputError:
        return
    _project("report", record)


def _project(kind: str, record: Any) -> None:
    """Write a validated record's rows as a rebuild would: its creation leaf, decoded and
    handed to the projector's handler for its topic, into an empty read model."""
    views = Views(":memory:")
    views.ensure_schema()
    try:
        p = Projector(None, views)  # type: ignore[arg-type]  # no store: the report is known
        p.remember_report("r", "2022-01-21T00:00:00.000000Z", "s")
        p.remember_incident("i", None)
        p.remember_rules("i", "f", None)  # a fact of old: its values read by their shape
        row = spool_row("line 1", record)
        _, topic, leaf = creation_leaf(kind, row[3], row[5], "2022-02-01T00:00:00.000000Z")
        _HANDLERS[topic](p, _decode(leaf), 1)
        p.flush()
    finally:
        views.close()
