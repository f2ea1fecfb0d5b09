"""Plain claims taken without their model give the row the model gives, and nothing else.

``imports.plain_claims.claim_row`` reads the common shape of a claim straight from its
decoded line; whatever it accepts, the model must accept, and the spool row must be the
one ``spool_row`` makes of the model's record; whatever the model refuses it must leave
to the model (None), so that the model names the problem.
"""

from __future__ import annotations

import copy
import unicodedata
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.imports.plain_claims import FIELDS, claim_row, read_rows
from incident_ledger.ledger.imports.spool import spool_row
from incident_ledger.ledger.records import ClaimRecord
from incident_ledger.ledger.values import MAX_SAFE_INTEGER


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


GOOD_IDS = st.from_regex(r"[A-Za-z0-9._:-]{1,6}", fullmatch=True)
ODD_IDS = st.sampled_from(["", "a b", "a\nb", "a\n", "\nb", "x" * 129, "é", "r1;r2", 7, None])
TEXTS = st.text(min_size=1, max_size=4).map(_nfc)
ODD_TEXTS = st.sampled_from(["", " ", "ق", 3, ["a"]])
WORDS = ["lifted", "2022-01-21", "[2022-01-01,2022-01-03]", "about 20", "  ", "", "20", "12.5"]
WORDS += ["18:00-06:00", "2022-13-45", "1,000", "٢٠", "true", "2022-01-21/..", "0", "0.0"]
GOOD_BOUNDS = st.integers(0, 10)
ODD_BOUNDS = st.sampled_from([-1, MAX_SAFE_INTEGER + 1, True, "5", 0, 10, None])
QUALIFIERS = ["exact", "approx", "at_least", "more_than", "at_most", "less_than"]
TIMES = ["2022-01-21", "2022-01", "[2022-01-01,2022-01-02]", "2022-01-21T05:00Z", "2022-XX"]
VALID = st.fixed_dictionaries(
    {
        "type": st.just("claim"),
        "id": GOOD_IDS,
        "incident": GOOD_IDS,
        "fact": st.sampled_from(["killed", "killed.total", "a.b_c"]),
        "value": st.one_of(
            st.integers(0, 40), st.booleans(), st.sampled_from(["lifted", "2022-01-21", "0"])
        ),
        "report": GOOD_IDS,
    },
    optional={
        "qualifier": st.sampled_from([None, *QUALIFIERS]),
        "unit": st.sampled_from([None, "km", "u" * 64]),
        "valid_time": st.sampled_from([None, *TIMES]),
        "claimant": st.one_of(st.none(), GOOD_IDS),
        "via": st.one_of(st.none(), st.lists(GOOD_IDS, max_size=3, unique=True)),
        "quote": st.one_of(st.none(), TEXTS),
        "translation": st.one_of(st.none(), TEXTS),
        "note": st.one_of(st.none(), TEXTS),
        "credibility": st.one_of(st.none(), st.integers(1, 6)),
    },
)
"""Claims the model accepts, most of them of the plain shape (a qualifier on a value
that is not a number is the model's to refuse)."""
ODD: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(["correction", "Claim", None]),
    "id": ODD_IDS,
    "incident": ODD_IDS,
    "report": ODD_IDS,
    "claimant": ODD_IDS,
    "fact": st.sampled_from(["Killed", "a..b", "k" * 129, "k" * 128, "", "1a", "a.", 4, None]),
    "value": st.one_of(
        st.integers(-3, 3),
        st.sampled_from([MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, None, [1, 2]]),
        st.sampled_from(WORDS),
        st.text(max_size=4).map(_nfc),
        st.fixed_dictionaries(
            {"min": st.one_of(GOOD_BOUNDS, ODD_BOUNDS), "max": st.one_of(GOOD_BOUNDS, ODD_BOUNDS)}
        ),
        st.sampled_from(
            [
                {"min": 1, "max": 2, "step": 1},
                {"min": 1},
                {"name": "Hasakah", "lat": 36, "lon": 40},
            ]
        ),
    ),
    "qualifier": st.sampled_from(["EXACT", "", 3, *QUALIFIERS]),
    "unit": st.sampled_from(["", "u" * 65, 5]),
    "valid_time": st.sampled_from(
        ["nonsense", "", "2022-01-21/..", "2022?", "21/01/2022", "2022-02-30", 2022, "2022-01-21\n"]
    ),
    "via": st.one_of(
        st.lists(st.one_of(GOOD_IDS, ODD_IDS), max_size=3), st.sampled_from(["s1", ["s", "s"], []])
    ),
    "quote": ODD_TEXTS,
    "translation": ODD_TEXTS,
    "note": ODD_TEXTS,
    "credibility": st.sampled_from([0, 7, -1, True, "3", 1, 6]),
    "extra": st.just(1),
    "claim": st.just("c1"),
}
"""For each field, values the model may refuse, or that need more than the plain path."""


@st.composite
def claims(draw: st.DrawFn) -> dict[str, Any]:
    """A valid claim with up to two of its fields made odd (or left out)."""
    claim = draw(VALID)
    for name in draw(st.lists(st.sampled_from(sorted(ODD)), max_size=2, unique=True)):
        if draw(st.integers(0, 9)) == 0:
            claim.pop(name, None)
        else:
            claim[name] = draw(ODD[name])
    return claim


def _by_model(data: dict[str, Any]) -> tuple[Any, ...] | None:
    try:
        return spool_row("line 1", validate_record(copy.deepcopy(data), "line 1", normalized=True))
    except BadInputError:
        return None


PLAIN = {"type": "claim", "id": "c", "incident": "g", "fact": "killed", "value": 3, "report": "r"}


@settings(max_examples=2000, deadline=None)
@given(claims())
@example({**PLAIN, "via": ["s", "s"]})
@example({**PLAIN, "claimant": "a\nb"})
@example({**PLAIN, "value": {"min": 3, "max": 2}})
@example({**PLAIN, "value": {"min": "05", "max": 7}})
@example({**PLAIN, "value": 0, "qualifier": "less_than"})
@example({**PLAIN, "value": "lifted", "qualifier": "exact"})
@example({**PLAIN, "credibility": 7})
def test_what_is_taken_without_the_model_is_what_the_model_gives(claim: dict[str, Any]) -> None:
    row = claim_row("line 1", copy.deepcopy(claim))
    if row is not None:
        assert row == _by_model(claim)


@settings(max_examples=300, deadline=None)
@given(VALID)
def test_a_valid_claim_of_the_plain_shape_is_taken_without_the_model(
    claim: dict[str, Any],
) -> None:
    """The path is taken, not merely harmless: every valid claim whose value is text, a
    whole number or a boolean, with no field beyond the model's."""
    expected = _by_model(claim)
    if expected is not None:
        assert claim_row("line 1", copy.deepcopy(claim)) == expected


def test_the_plain_path_knows_the_model_s_fields_and_no_others() -> None:
    assert set(ClaimRecord.model_fields) == FIELDS


def test_rows_of_a_file_are_the_model_s_whichever_way_each_line_goes() -> None:
    lines = [
        '{"type":"incident","id":"g","title":"Ghwayran"}',
        '{"type":"claim","id":"c1","incident":"g","fact":"killed","value":7,"report":"r1"}',
        '{"type":"claim","id":"c2","incident":"g","fact":"killed","value":{"min":1,"max":3},'
        '"report":"r1","qualifier":null,"via":[]}',
        '{"type":"claim","id":"c3","incident":"g","fact":"held","value":"\\u0633\\u062c\\u0646",'
        '"report":"r1"}',
        '{"type":"claim","id":"c4","incident":"g","fact":"killed","value":12.5,"report":"r1"}',
    ]
    expected = []
    for number, line in enumerate(lines, start=1):
        where = f"line {number}"
        from incident_ledger.ledger.imports.parsing import parse_json

        expected.append(spool_row(where, validate_record(parse_json(line), where)))
    assert list(read_rows(lines)) == expected
