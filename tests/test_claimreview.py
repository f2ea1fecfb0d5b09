"""ClaimReview ready to publish: each item checked before it is written, and the output
validated with a schema.org model and JSON-LD expansion against schema.org's context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.projections.exports.claimreview_export import claim_review, problems
from incident_ledger.projections.exports.common import Selection
from tests.schema_checks import schema_model, unknown_terms

runner = CliRunner()

LONG_QUOTE = "SOHR said that at least twenty members of the security forces were killed there"

RECORDS: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "source", "id": "blog", "name": "A blogger", "kind": "social"},
    {
        "type": "report",
        "id": "r1",
        "source": "sohr",
        "published_at": "2022-01-21",
        "url": "https://news.example/r1",
        "title": "تقرير",
        "language": "ar",
    },
    {"type": "report", "id": "r2", "source": "blog", "published_at": "2022-01-22"},
    {"type": "claim", "id": "c1", "incident": "g", "fact": "killed", "value": 20,
     "qualifier": "at_least", "report": "r1"},
    {"type": "claim", "id": "c2", "incident": "g", "fact": "escaped", "value": 89,
     "report": "r2", "quote": LONG_QUOTE},
]  # fmt: skip


def assessment(ident: str, claim: str, verdict: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "assessment",
        "id": ident,
        "claim": claim,
        "verdict": verdict,
        "by": "Fact Desk",
        "published_at": "2022-01-25",
    } | extra


GOOD = [
    assessment(f"a-{verdict}", "c1", verdict, url=f"https://desk.example/{verdict}", note="Why.")
    for verdict in ("true", "mostly_true", "mixed", "misleading", "false", "unverifiable")
]


def ledger(db: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def loaded(tmp_path: Path, records: list[dict[str, Any]]) -> str:
    db = str(tmp_path / "ledger.db")
    assert ledger(db, "init")[0] == 0
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    code, out, err = ledger(db, "append", "--file", "-", stdin=lines)
    assert code == 0, out + err
    return db


@pytest.mark.slow
def test_every_verdict_is_a_valid_schema_org_claim_review(tmp_path: Path) -> None:
    db = loaded(tmp_path, RECORDS + GOOD)
    code, out, err = ledger(db, "export", "--format", "claimreview", "--incident", "g")
    assert (code, err) == (0, "")
    reviews = json.loads(out)
    assert len(reviews) == len(GOOD)
    for review in reviews:
        assert schema_model(review).to_jsonld() == review  # nothing dropped or renamed
        assert unknown_terms(review) == []
        grade = review["reviewRating"]
        if "ratingValue" in grade:
            assert grade["worstRating"] <= grade["ratingValue"] <= grade["bestRating"]
        assert grade["ratingExplanation"] == "Why."
        assert review["author"] == {
            "@type": "Organization",
            "name": "Fact Desk",
            "url": "https://desk.example/",
        }
        [appearance] = review["itemReviewed"]["appearance"]
        assert appearance["url"] == "https://news.example/r1"
    unverifiable = reviews[-1]["reviewRating"]
    assert unverifiable == {
        "@type": "Rating",
        "alternateName": "Unverifiable",
        "ratingExplanation": "Why.",
    }


@pytest.mark.slow
def test_the_checkers_catch_what_a_platform_would_reject(tmp_path: Path) -> None:
    db = loaded(tmp_path, RECORDS + GOOD[:1])
    review = json.loads(ledger(db, "export", "--format", "claimreview")[1])[0]
    typo = review | {"claimReviewd": "x"}
    assert unknown_terms(typo) == ["$[0]: unknown property http://schema.org/claimReviewd"]
    wrong_author = json.loads(json.dumps(review))
    wrong_author["itemReviewed"]["author"]["@type"] = "Place"
    with pytest.raises(ValidationError):
        schema_model(wrong_author)
    out_of_scale = review | {"reviewRating": review["reviewRating"] | {"ratingValue": -1}}
    assert problems(out_of_scale) == ["its rating -1 is outside 1–5"]


def test_unpublishable_items_are_left_out_one_line_each(tmp_path: Path) -> None:
    no_url = assessment("a-no-url", "c1", "false")
    too_long = assessment("a-long", "c2", "false", url="https://desk.example/long")
    db = loaded(tmp_path, [*RECORDS, GOOD[0], no_url, too_long])
    out_file = tmp_path / "reviews.json"
    code, _out, err = ledger(db, "export", "--format", "claimreview", "--out", str(out_file))
    assert code == 0
    assert err.splitlines() == [
        "note: left out assessment a-no-url: it has no url (the fact-check's address, "
        "which Google requires)",
        "note: left out assessment a-long: the claim reviewed is 79 characters, over the 75 "
        "this export allows: give the assessment a summary",
    ]
    assert [r["url"] for r in json.loads(out_file.read_text())] == ["https://desk.example/true"]


def test_strict_refuses_the_export_and_writes_nothing(tmp_path: Path) -> None:
    db = loaded(tmp_path, [*RECORDS, GOOD[0], assessment("a-no-url", "c1", "false")])
    out_file = tmp_path / "reviews.json"
    args = ("export", "--format", "claimreview", "--strict", "--out", str(out_file))
    code, _out, err = ledger(db, *args)
    assert code == 1
    assert err == (
        "error: 1 item(s) would be rejected, so nothing was written: assessment a-no-url: "
        "it has no url (the fact-check's address, which Google requires)\n"
    )
    assert not out_file.exists()


def test_an_export_without_assessments_says_so(tmp_path: Path) -> None:
    db = loaded(tmp_path, RECORDS)
    code, out, err = ledger(db, "export", "--format", "claimreview")
    assert (code, out) == (0, "[]\n")
    assert err == "note: no assessments were known then: the ClaimReview list is empty\n"


def _selection(summary: str | None, archive: str | None) -> tuple[Selection, dict[str, Any]]:
    """A one-claim selection whose rows carry v2 columns (a summary, an archived copy)."""
    report = {"id": "r", "source": "s", "url": "https://n.example/r", "archive_url": archive,
              "title": None, "language": None, "published_at": "2022-01-21T00:00:00.000000Z",
              "published_precision": "day"}  # fmt: skip
    claim = {"id": "c", "incident": "g", "fact": "f", "claimant": "s", "report": "r",
             "kind": "text", "num_low": None, "num_high": None, "time_low": None,
             "time_high": None, "text_value": "x", "translation": LONG_QUOTE, "quote": None,
             "published_at": "2022-01-21T00:00:00.000000Z", "seq": 1}  # fmt: skip
    source = {"id": "s", "name": "S", "kind": "monitor"}
    selection = Selection(None, "", [], [claim], {}, [], [], {"r": report}, {"s": source}, {})  # type: ignore[arg-type]
    row = {"id": "a", "url": "https://d.example/a", "verdict": "false", "by": "D", "note": None,
           "published_at": "2022-01-25T23:59:59.999999Z", "published_precision": "day",
           "incident": "g", "summary": summary}  # fmt: skip
    return selection, claim_review(selection, row, claim)


def test_a_summary_stands_for_a_long_claim_and_archives_are_shown() -> None:
    _, long = _selection(None, None)
    assert problems(long)[0].startswith("the claim reviewed is 79 characters")
    assert "archivedAt" not in long["itemReviewed"]["appearance"][0]
    _, summarised = _selection("SOHR: at least 20 security forces killed", "https://a.example/r")
    assert problems(summarised) == []
    assert summarised["claimReviewed"] == "SOHR: at least 20 security forces killed"
    assert summarised["itemReviewed"]["appearance"][0]["archivedAt"] == "https://a.example/r"
    assert unknown_terms(summarised) == []


def test_an_assessment_summary_is_recorded_and_published(tmp_path: Path) -> None:
    summarised = assessment(
        "a-sum", "c2", "false", url="https://desk.example/s", summary="Blogger: 89 escaped"
    )
    db = loaded(tmp_path, [*RECORDS, summarised])
    code, out, err = ledger(db, "export", "--format", "claimreview")
    assert (code, err) == (0, "")
    [review] = json.loads(out)
    assert review["claimReviewed"] == "Blogger: 89 escaped"
    assert unknown_terms(review) == []
    too_long = assessment("a-76", "c1", "false", summary="x" * 76)
    code, _, err = ledger(db, "append", "--file", "-", stdin=json.dumps(too_long) + "\n")
    assert code == 2
    assert "summary" in err and "75" in err
