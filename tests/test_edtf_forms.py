"""The EDTF forms read without the ``edtf`` package agree with the package, and every
value is parsed once a process, refusals included."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_ledger.ledger import values
from incident_ledger.ledger.edtf_forms import fast_bounds
from incident_ledger.ledger.values import EDTFError, edtf_bounds, read_edtf

_YEARS = st.sampled_from(["0000", "0001", "0999", "1900", "2000", "2022", "2024", "2100", "9999"])
_MONTHS = st.sampled_from(["00", "01", "02", "04", "09", "12", "13", "21", "1X", "0X"])
_DAYS = st.sampled_from(["00", "01", "15", "28", "29", "30", "31", "32", "2X"])
_QUALIFIERS = st.sampled_from(["", "", "?", "~", "%", "?~"])
_SEASONS = st.sampled_from(["20", "21", "22", "23", "24", "25", "33", "41"])


@st.composite
def _plain(draw: st.DrawFn) -> str:
    year = draw(st.one_of(_YEARS, st.integers(1, 9999).map(lambda y: f"{y:04d}")))
    precision = draw(st.integers(0, 2))
    if precision == 0:
        return year
    if precision == 1:
        return f"{year}-{draw(_MONTHS)}"
    return f"{year}-{draw(_MONTHS)}-{draw(_DAYS)}"


@st.composite
def _date(draw: st.DrawFn) -> str:
    return draw(_plain()) + draw(_QUALIFIERS)


@st.composite
def _unspecified(draw: st.DrawFn) -> str:
    year = draw(_YEARS)
    return draw(
        st.sampled_from(
            [
                f"{year}-XX",
                f"{year}-XX-XX",
                f"{year}-{draw(_MONTHS)}-XX",
                f"{year[:3]}X",
                f"{year[:2]}XX",
                f"{year}-XX-{draw(_DAYS)}",
                f"{year}-XX~",
            ]
        )
    )


@st.composite
def _date_time(draw: st.DrawFn) -> str:
    hour = draw(st.sampled_from(["00", "09", "23", "24"]))
    minute = draw(st.sampled_from(["00", "30", "59", "60"]))
    second = draw(st.sampled_from(["00", "45", "59", "60"]))
    zone = draw(
        st.one_of(
            st.sampled_from(
                ["", "Z", "+00:00", "-00:00", "+03", "-11", "+00", "+14", "+0300", "+14:00"]
            ),
            st.builds(
                "{}{:02d}:{:02d}".format,
                st.sampled_from("+-"),
                st.integers(0, 23),
                st.integers(0, 59),
            ),
        )
    )
    day = draw(st.sampled_from(["2022-01-21", "0001-01-01", "9999-12-31", "2022-02-30"]))
    return f"{day}T{hour}:{minute}:{second}{zone}"


def _end() -> st.SearchStrategy[str]:
    return st.one_of(_date(), st.just(".."), st.just(""), _unspecified())


@st.composite
def _member(draw: st.DrawFn) -> str:
    shape = draw(st.integers(0, 4))
    if shape == 0:
        return draw(_plain())
    if shape == 1:
        return f"{draw(_plain())}..{draw(_plain())}"
    if shape == 2:
        return f"..{draw(_plain())}"
    if shape == 3:
        return f"{draw(_plain())}.."
    return draw(st.one_of(_date(), _unspecified()))


@st.composite
def _set(draw: st.DrawFn) -> str:
    members = draw(st.lists(_member(), min_size=1, max_size=4))
    comma = draw(st.sampled_from([",", ", ", " , "]))
    brackets = draw(st.sampled_from(["[]", "{}", "[}"]))
    return brackets[0] + comma.join(members) + brackets[1]


_EXPRESSIONS = st.one_of(
    _date(),
    st.builds(
        lambda plain, at, mark: plain[:at] + mark + plain[at:],
        _plain(),
        st.sampled_from([0, 4, 5, 7, 8]),
        st.sampled_from("?~%"),
    ),
    st.builds("{}-{}".format, _YEARS, _SEASONS),
    _unspecified(),
    _date_time(),
    st.builds("{}/{}".format, _end(), _end()),
    _set(),
)


def _by_package(expression: str) -> tuple[str | None, str | None] | str:
    """What the ledger read before it had a grammar of its own: the package's reading."""
    with mock.patch.object(values, "fast_bounds", lambda _: None):
        try:
            return read_edtf(expression)
        except EDTFError as error:
            return str(error)


@settings(max_examples=400)
@given(_EXPRESSIONS)
def test_fast_forms_agree_with_the_edtf_package(expression: str) -> None:
    fast = fast_bounds(expression)
    if fast is not None:
        assert fast == _by_package(expression)


@pytest.mark.slow
@pytest.mark.parametrize(
    "expression",
    [
        "[2022-01-21,2022-01-25]",
        "[2022-01-21,2022-01-22..2022-01-25]",
        "{2022-01-21, 2022-01-25}",
        "[..2022-01-25]",
        "2022-01-21/..",
        "../2022-01-25",
        "2022-01-21?/2022-01-25~",
        "2022-01-21T10:00:00+03:00",
        "2022-01-21%",
        "2022-01-XX",
        "202X",
        "2022-01-21/",
        "/2022-02",
        "?2022-01-21",
        "2022-?01-21",
        "2022-21",
    ],
)
def test_common_forms_do_not_need_the_edtf_package(expression: str) -> None:
    from incident_ledger.projections.timewords import _describe_parsed, describe

    def refuse(_: str) -> object:
        raise AssertionError("the edtf package was asked")

    with mock.patch("edtf.parse_edtf", refuse):
        low, high = edtf_bounds(expression)
        words = describe(expression)
    assert (low, high) == _by_package(expression)
    assert words == _describe_parsed(expression)


def test_a_refused_value_is_parsed_once() -> None:
    calls: list[str] = []
    package = values._parsed_bounds

    def counted(expression: str) -> tuple[str | None, str | None]:
        calls.append(expression)
        return package(expression)

    values._read_once.cache_clear()  # other tests may have read it already
    with mock.patch.object(values, "_parsed_bounds", counted):
        for _ in range(3):
            with pytest.raises(EDTFError, match="'18:00-06:00' is not a valid EDTF"):
                edtf_bounds("18:00-06:00")
    assert calls == ["18:00-06:00"]


def test_a_refusal_keeps_its_reason() -> None:
    for _ in range(2):
        with pytest.raises(EDTFError) as raised:
            edtf_bounds("2022-02-30")
        assert str(raised.value) == (
            "'2022-02-30' is not a valid EDTF date or interval (day is out of range for month)"
        )


@settings(max_examples=300)
@given(_EXPRESSIONS)
def test_fast_forms_are_worded_as_the_edtf_package_reads_them(expression: str) -> None:
    from incident_ledger.projections.timewords import _describe_parsed, _describe_plain

    fast = _describe_plain(expression)
    if fast is not None:
        assert fast == _describe_parsed(expression)
