"""``ledger search``: Arabic-aware matching, safe queries, phrase-first ranking, the CLI.

Over 400 lines: matching, safety, ranking and the command share their corpus.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.text import Span
from typer.testing import CliRunner

from incident_ledger.cli.lookup_commands import highlighted
from incident_ledger.cli.main import app
from incident_ledger.ledger import samples
from incident_ledger.ledger.errors import BadInputError, NotFoundError
from incident_ledger.projections.arabic import normalize
from incident_ledger.projections.search import DEFAULT_LIMIT, parse_query, search
from incident_ledger.usecases import workspace, writing

runner = CliRunner()

TASHKEEL = "قُتِلَ ٢٠ عنصراً"  # with damma, kasra, fatha, tanwin and Arabic-Indic digits
PHRASE = "قال شاهد عيان إن الهجوم استهدف سجن غويران في ساعة متأخرة من الليل وسط اشتباكات عنيفة"
SCATTERED = "غويران غويران سجن سجن"  # the same two words, never as the phrase "سجن غويران"

FIXTURE = [
    {"type": "incident", "id": "fixture", "title": "Fixture incident"},
    {"type": "source", "id": "desk", "name": "Test desk", "kind": "outlet"},
    {
        "type": "report",
        "id": "rf",
        "source": "desk",
        "published_at": "2022-02-01",
        "title": "تقرير الاختبار",
    },
    {
        "type": "claim",
        "id": "f-tashkeel",
        "incident": "fixture",
        "fact": "killed",
        "value": 20,
        "report": "rf",
        "quote": TASHKEEL,
        "translation": "20 members were killed",
    },
    {
        "type": "claim",
        "id": "f-phrase",
        "incident": "fixture",
        "fact": "attack.target",
        "value": "prison",
        "report": "rf",
        "quote": PHRASE,
    },
    {
        "type": "claim",
        "id": "f-scattered",
        "incident": "fixture",
        "fact": "attack.place",
        "value": "prison",
        "report": "rf",
        "quote": SCATTERED,
    },
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("search")
    path = str(folder / "ledger.db")
    writing.init(path)
    writing.append_file(path, str(samples.GHWAYRAN))
    extra = folder / "fixture.jsonl"
    extra.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in FIXTURE), encoding="utf-8"
    )
    writing.append_file(path, str(extra))
    return path


@pytest.fixture(scope="module")
def conn(db: str) -> Iterator[sqlite3.Connection]:
    with workspace.open_workspace(db) as ws:
        ws.refresh()
        yield ws.views.connection


def refs(conn: sqlite3.Connection, query: str, **options: Any) -> list[str]:
    return [hit["ref"] for hit in search(conn, query, limit=200, **options)["hits"]]


def found(conn: sqlite3.Connection, query: str) -> set[str]:
    return set(refs(conn, query))


# --- the query parser -----------------------------------------------------------------


_REFERENCE_MARKS = re.compile(
    "[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u0640]"
)
_REFERENCE_FOLDS = str.maketrans(
    {
        **dict.fromkeys("\u0623\u0625\u0622\u0671", "\u0627"),
        "\u0649": "\u064a",
        "\u0629": "\u0647",
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
    }
)


def reference_normalize(text: str) -> str:
    """The search form as the module documents it, written the plain way: NFC, then
    tashkeel and tatweel removed, then alef, yeh, teh marbuta and digits folded."""
    nfc = unicodedata.normalize("NFC", text)
    return _REFERENCE_MARKS.sub("", nfc).translate(_REFERENCE_FOLDS)


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            [chr(c) for c in range(0x0600, 0x0700)]
            + [chr(c) for c in range(0x06F0, 0x06FA)]
            + list("aé 1\u0301")
        ),
        max_size=30,
    )
)
def test_normalize_equals_its_plain_definition(text: str) -> None:
    assert normalize(text) == reference_normalize(text)


def test_query_is_normalized_and_cut_into_words_and_phrases() -> None:
    query = parse_query('  «سجن غويران»  الحسكة، "al-Sina\'a prison" ٨٩ قُتِلَ ')
    assert query.terms == ("سجن غويران", "الحسكه،", "al-Sina'a prison", "89", "قتل")
    assert query.all_terms == (
        '"سجن غويران" AND "الحسكه،" AND "al-Sina\'a prison" AND "89" AND "قتل"'
    )
    assert query.phrase == '"سجن غويران الحسكه، al-Sina\'a prison 89 قتل"'


def test_an_unclosed_quote_runs_to_the_end_and_operators_are_plain_words() -> None:
    assert parse_query('NEAR(a b) OR -c "d e').terms == ("NEAR(a", "b)", "OR", "-c", "d e")
    with pytest.raises(BadInputError) as error:
        parse_query('* ( - : ، ؟ " ً ـ')
    assert str(error.value) == 'the search query has no words: give a word or a "quoted phrase"'


@pytest.mark.parametrize("query", ["", "   ", '""', "*", "(", "-", ":", "ً", "ـــ", "،؟"])
def test_queries_with_no_word_are_bad_input(conn: sqlite3.Connection, query: str) -> None:
    with pytest.raises(BadInputError):
        search(conn, query)


# --- Arabic-aware matching ------------------------------------------------------------


def test_words_of_the_sample_quotes_are_found(conn: sqlite3.Connection) -> None:
    assert "c-000-sdf-recaptured" in found(conn, "أعادت القبض")
    assert found(conn, "غويران") >= {"c-000-inmates", "c-003-sohr-inmates", "ghwayran-2022"}
    assert "report-001" in found(conn, "شبح داعش")  # a report title


def test_tokens_match_whole_words_only(conn: sqlite3.Connection) -> None:
    # "قتلى" and "القتلى" are different tokens: no stemming, no article stripping.
    assert "c-001-sohr-killed-total" in found(conn, "قتلى")
    assert "c-000-sohr-killed-sf-20" not in found(conn, "قتلى")
    assert "c-000-sohr-killed-sf-20" in found(conn, "القتلى")


def test_query_without_diacritics_finds_text_with_them(conn: sqlite3.Connection) -> None:
    assert "f-tashkeel" in found(conn, "قتل")
    assert "f-tashkeel" in found(conn, "عنصرا")
    # the sample itself writes tanwin: جنديًا (002 writes جنديا)
    assert {"c-000-diyala-killed-soldiers", "c-002-diyala-killed-soldiers"} <= found(conn, "جنديا")


def test_query_with_diacritics_finds_text_without_them(conn: sqlite3.Connection) -> None:
    # "قتل الجهاديون 11 جنديًا" has no diacritics on قتل
    assert {"c-000-diyala-killed-soldiers", "f-tashkeel"} <= found(conn, "قُتِلَ")
    assert found(conn, "قُتِلَ") == found(conn, "قتل")
    assert found(conn, "جنديًا") == found(conn, "جنديا")
    assert found(conn, "عنصراً") == found(conn, "عنصرا") >= {"c-003-ina-killed-soldiers"}


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        (("الإنسان", "الانسان", "الأنسان", "الآنسان"), "c-000-sohr-killed-sf"),  # alef forms
        (("أحبطت", "احبطت", "إحبطت"), "c-003-sdf-escape-foiled"),
        (("آلاف", "الاف", "ألاف"), "c-004-sdf-inmates"),
        (("الحسكة", "الحسكه"), "c-000-inmates"),  # ta marbuta / ha
        (("ديالى", "ديالي"), "c-002-diyala-killed-soldiers"),  # alef maqsura / ya
        (("قتلى", "قتلي"), "c-001-sohr-killed-total"),
        (("٨٩", "89", "۸۹"), "c-000-sdf-recaptured"),  # Arabic-Indic, Western, Persian digits
        (("٢٠", "20"), "f-tashkeel"),  # the fixture writes ٢٠
        (("٢٠", "20"), "c-000-sohr-killed-sf"),  # the sample writes 20
    ],
)
def test_letter_and_digit_variants_find_the_same_texts(
    conn: sqlite3.Connection, variants: tuple[str, ...], expected: str
) -> None:
    results = [found(conn, variant) for variant in variants]
    assert expected in results[0]
    assert all(result == results[0] for result in results)


def test_english_words_in_translations_are_found_case_insensitively(
    conn: sqlite3.Connection,
) -> None:
    hits = search(conn, "CURFEW Lifting", limit=50)["hits"]
    assert sorted((h["ref"], h["field"]) for h in hits) == [
        ("c-004-curfew-full", "note"),
        ("c-004-curfew-full", "translation"),
        ("c-004-curfew-partial", "translation"),
    ]
    assert "c-000-sohr-killed-sf" in found(conn, "observatory")


# --- hits, highlights, ranking, filters -----------------------------------------------


def test_a_claim_hit_carries_its_claim_snippet_and_highlights(conn: sqlite3.Connection) -> None:
    result = search(conn, "قتل ٢٠", incident="fixture")
    assert result["terms"] == ["قتل", "20"]
    assert result["hits"] == [
        {
            "rank": 1,
            "kind": "claim",
            "ref": "f-tashkeel",
            "incident": "fixture",
            "field": "quote",
            "exact_phrase": True,
            "snippet": "[قتل] [20] عنصرا",
            "original": TASHKEEL,
            "highlights": [[0, 6], [7, 9]],
            "fact": "killed",
            "claimant": "desk",
            "report": "rf",
        }
    ]
    # A span covers the letters and their diacritics in the original.
    assert [TASHKEEL[0:6], TASHKEEL[7:9]] == ["قُتِلَ", "٢٠"]


def test_highlights_map_each_match_back_to_the_original(conn: sqlite3.Connection) -> None:
    hit = search(conn, "عنصرا قتل", incident="fixture")["hits"][0]
    assert hit["exact_phrase"] is False
    assert hit["snippet"] == "[قتل] 20 [عنصرا]"
    assert [TASHKEEL[a:b] for a, b in hit["highlights"]] == ["قُتِلَ", "عنصراً"]
    sample = search(conn, "الإنسان")["hits"][0]
    assert all(sample["original"][a:b] == "الإنسان" for a, b in sample["highlights"])


def test_an_exact_phrase_ranks_before_the_same_words_scattered(conn: sqlite3.Connection) -> None:
    hits = search(conn, "سجن غويران", incident="fixture")["hits"]
    assert [(h["ref"], h["exact_phrase"]) for h in hits] == [
        ("f-phrase", True),
        ("f-scattered", False),
    ]
    # bm25 alone would put the short text repeating both words first: the tier decides.
    scores = dict(
        conn.execute(
            "SELECT ref, bm25(search_index) FROM search_index "
            "WHERE search_index MATCH '\"سجن\" AND \"غويران\"' AND incident = 'fixture'"
        ).fetchall()
    )
    assert scores["f-scattered"] < scores["f-phrase"]


def test_phrase_hits_come_first_across_the_whole_sample(conn: sqlite3.Connection) -> None:
    hits = search(conn, "سجن غويران", limit=200)["hits"]
    flags = [h["exact_phrase"] for h in hits]
    assert flags == sorted(flags, reverse=True)
    assert True in flags and False in flags


def test_a_quoted_phrase_must_occur_as_a_phrase(conn: sqlite3.Connection) -> None:
    assert refs(conn, '"غويران سجن"', incident="fixture") == ["f-scattered"]
    assert refs(conn, "«سجن غويران»", incident="fixture") == ["f-phrase"]


def test_incident_filter(conn: sqlite3.Connection) -> None:
    assert set(refs(conn, "20", incident="fixture")) == {"f-tashkeel"}
    diyala = search(conn, "داعش", incident="diyala-2022", limit=200)["hits"]
    assert diyala and {h["incident"] for h in diyala if h["kind"] != "report"} == {"diyala-2022"}
    # report titles have no incident; they are kept for an incident their report speaks of
    assert refs(conn, "الاختبار", incident="fixture") == ["rf"]
    assert refs(conn, "الاختبار", incident="diyala-2022") == []
    with pytest.raises(NotFoundError) as error:
        search(conn, "داعش", incident="nowhere")
    assert str(error.value) == "no incident 'nowhere' in the ledger"


def test_limit(conn: sqlite3.Connection) -> None:
    assert len(search(conn, "داعش", limit=3)["hits"]) == 3
    assert [h["rank"] for h in search(conn, "داعش", limit=3)["hits"]] == [1, 2, 3]
    with pytest.raises(BadInputError):
        search(conn, "داعش", limit=0)


def test_only_the_hits_shown_get_a_snippet(conn: sqlite3.Connection) -> None:
    """The hits are ranked first and kept; the full-text index is then read again for
    those alone, by rowid, for their snippets and highlights: not for every match."""
    from incident_ledger.projections.search import _SEARCHES

    params = dict.fromkeys(("all", "phrase", "incident", "limit", "open", "close"), "x")
    for sql in _SEARCHES.values():
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
        assert plan[0] == "MATERIALIZE top", plan
        assert any(step.endswith("VIRTUAL TABLE INDEX 0:=M7") for step in plan), plan
    assert len(search(conn, "داعش", limit=3)["hits"]) == 3


def test_one_incident_is_searched_through_the_index_of_its_texts(
    conn: sqlite3.Connection,
) -> None:
    """Within an incident, the texts that match are kept by the index of each incident's
    rows and the key of report titles, not by reading each match's stored incident; a
    query of one term is not matched a second time as a phrase."""
    from incident_ledger.projections.search import _SEARCHES

    params = dict.fromkeys(("all", "phrase", "incident", "limit", "open", "close"), "x")
    one, many = (
        [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + _SEARCHES[single], params)]
        for single in (True, False)
    )
    for plan in (one, many):
        assert (
            "SEARCH search_incidents USING COVERING INDEX idx_search_incidents_incident "
            "(incident=?)" in plan
        ), plan
        assert "USING ROWID SEARCH ON TABLE search_reports FOR IN-OPERATOR" in plan, plan
        # a report title's claims of the incident: one look-up, not a read of its claims
        assert (
            "SEARCH c USING COVERING INDEX idx_claims_report_incident (report=? AND incident=?)"
            in plan
        ), plan
    matches = [step for step in many if step.startswith("SCAN search_index VIRTUAL TABLE")]
    assert len(matches) == 1, many  # the phrase's own match: not for a single term
    assert not [step for step in one if step.startswith("SCAN search_index VIRTUAL TABLE")]
    # the same hits, in the same order, whether the query is one term or spelled as two
    assert refs(conn, '"سجن غويران"', incident="fixture") == ["f-phrase"]
    both = search(conn, "سجن غويران", incident="fixture")["hits"]
    assert [(h["ref"], h["exact_phrase"]) for h in both][:1] == [("f-phrase", True)]


@pytest.mark.parametrize(
    "query",
    [
        '"سجن',
        "سجن*",
        "*سجن",
        "(سجن",
        "سجن)",
        "-سجن",
        "سجن:غويران",
        "body:سجن",
        "{body original}: سجن",
        "^سجن",
        "NEAR",
        "NEAR(سجن غويران, 2)",
        "سجن NEAR/2 غويران",
        "سجن AND OR NOT غويران",
        "سجن + غويران",
        "'سجن'",
        "سجن\x00غويران",
        '"" "" سجن',
    ],
)
def test_fts_syntax_in_queries_never_raises(conn: sqlite3.Connection, query: str) -> None:
    search(conn, query)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=st.text(max_size=40))
def test_any_text_is_either_searched_or_bad_input(conn: sqlite3.Connection, query: str) -> None:
    try:
        result = search(conn, query)
    except BadInputError:
        return
    assert isinstance(result["hits"], list)


# --- the command line -----------------------------------------------------------------


def ledger(db: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_json_keeps_arabic_as_characters(db: str) -> None:
    code, out, err = ledger(db, "search", "قتل ٢٠", "--incident", "fixture", "--json")
    assert (code, err) == (0, "")
    assert "\\u" not in out and TASHKEEL in out
    result = json.loads(out)
    assert result["query"] == "قتل ٢٠"
    assert result["incident"] == "fixture"
    assert [h["ref"] for h in result["hits"]] == ["f-tashkeel"]
    assert result["hits"][0]["snippet"] == "[قتل] [20] عنصرا"


def test_cli_table(db: str) -> None:
    code, out, _ = ledger(db, "search", "سجن غويران", "--incident", "fixture")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "2 hit(s) for: سجن غويران"
    assert "claim f-phrase" in out and "claim f-scattered" in out
    assert out.index("claim f-phrase") < out.index("claim f-scattered")
    assert "exact phrase" in out
    assert "desk in rf" in out
    assert lines[-1] == "exact phrase first, then by relevance (bm25)"


def test_cli_table_bolds_the_matches() -> None:
    text = highlighted(TASHKEEL, [[0, 6], [10, 16]])
    assert text.plain == TASHKEEL
    assert text.spans == [Span(0, 6, "bold"), Span(10, 16, "bold")]


def test_cli_no_match(db: str) -> None:
    assert ledger(db, "search", "zzzqqq") == (0, "no matches for zzzqqq\n", "")
    # rich markup in a query is shown as typed
    assert ledger(db, "search", "[bold]zzzqqq[/]") == (0, "no matches for [bold]zzzqqq[/]\n", "")


@pytest.mark.parametrize("query", ["", "*", '"', "-", ":", "(", "،"])
def test_cli_empty_query_is_exit_2(db: str, query: str) -> None:
    assert ledger(db, "search", query) == (
        2,
        "",
        'error: the search query has no words: give a word or a "quoted phrase"\n',
    )


def test_cli_errors(db: str, tmp_path: Path) -> None:
    assert ledger(db, "search", "x", "--limit", "0") == (
        2,
        "",
        "error: --limit must be at least 1\n",
    )
    assert ledger(db, "search", "داعش", "--incident", "nowhere") == (
        1,
        "",
        "error: no incident 'nowhere' in the ledger\n",
    )
    missing = str(tmp_path / "none.db")
    assert ledger(missing, "search", "داعش") == (
        1,
        "",
        f"error: no ledger at {missing}: run 'ledger init' first\n",
    )
    code, _, err = ledger(db, "search", "x", "--limit", "many")
    assert code == 2 and "--limit" in err
    # a limit beyond any number of hits asks for every hit
    assert ledger(db, "search", "zzzqqq", "--limit", "9" * 20) == (
        0,
        "no matches for zzzqqq\n",
        "",
    )
    code, out, err = ledger(db, "search", "داعش", "--limit", "9" * 20, "--json")
    assert (code, err) == (0, "") and len(json.loads(out)["hits"]) > DEFAULT_LIMIT


@pytest.mark.parametrize("query", ["NEAR", "NEAR(سجن غويران)", "body:سجن", '"سجن', "a OR b"])
def test_cli_syntax_characters_exit_0(db: str, query: str) -> None:
    assert ledger(db, "search", query, "--json")[0] == 0


def test_cli_help_texts() -> None:
    result = runner.invoke(app, ["search", "--help"])
    assert result.exit_code == 0
    for option in ("--incident", "--limit", "--json", "search [OPTIONS] QUERY\n"):
        assert option in result.stdout
