"""schema.org ClaimReview export: one JSON-LD object per assessment known at ``at``.

Follows Google's fact-check structured data: required ``claimReviewed``,
``reviewRating`` and ``url`` (omitted only when the assessment has none);
recommended ``author``, ``datePublished`` and ``itemReviewed`` (a ``Claim`` with
its author, date, ``appearance`` and ``firstAppearance``).

Rating scale (:data:`RATINGS`), worst 1 to best 5:

    true 5 · mostly_true 4 · mixed 3 · misleading 2 · false 1

``unverifiable`` is not a point on that scale. It gets ``ratingValue`` -1 with
``alternateName`` "Unverifiable": -1 is the convention that grew out of Google's
fact-check markup for a verdict that is not rated on the numeric scale (PolitiFact
and Snopes mark such verdicts -1), and as it lies outside [worstRating,
bestRating] no consumer can average it into a truthfulness score; consumers show
the ``alternateName``.

``claimReviewed`` is the claim's English translation, else its quote, else a
generated sentence ("Syrian Observatory for Human Rights: at least 20
killed.security_forces."). The claim's author is a ``Person`` for ``social``
sources and an ``Organization`` otherwise. ``firstAppearance`` is the report of
the earliest known claim by the same claimant on the same fact with the same
value (the assessed claim's own report when it was the first). Dates given as a
day are written as a day. ``<``, ``>`` and ``&`` are written as JSON ``\\u`` escapes,
so the output can be pasted into an HTML ``<script type="application/ld+json">``.

With ``provenance``, each review and the claim it reviews carry an ``identifier``
list of schema.org ``PropertyValue``s: ``incident-ledger:leafIndex`` and
``incident-ledger:leafHash`` (hex), where the event that created the assessment
(the claim) is in the log, and on the review ``incident-ledger:checkpoint``, the
signed checkpoint note the export was made under. The array holds the reviews
themselves, so each carries the checkpoint.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, Final

from incident_ledger.projections.exports.common import (
    Leaf,
    Provenance,
    Row,
    Selection,
    describe_value,
    leaves_of,
    published_date,
    select,
)

BEST_RATING: Final = 5
WORST_RATING: Final = 1
UNRATED: Final = -1

RATINGS: Final[dict[str, tuple[int, str]]] = {
    "true": (5, "True"),
    "mostly_true": (4, "Mostly true"),
    "mixed": (3, "Mixed"),
    "misleading": (2, "Misleading"),
    "false": (1, "False"),
    "unverifiable": (UNRATED, "Unverifiable"),
}


def export_claimreview(
    db: sqlite3.Connection,
    *,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance | None = None,
) -> str:
    """The assessments known at ``at`` as a JSON array of schema.org ClaimReview objects."""
    selection = select(db, incident, at)
    claims = {claim["id"]: claim for claim in selection.claims}
    leaves = leaves_of(selection, provenance)
    reviews = []
    for assessment in selection.assessments:
        claim = claims[assessment["claim"]]
        review = claim_review(selection, assessment, claim)
        if provenance is not None:
            signed = _property("checkpoint", provenance.note)
            review["identifier"] = [*_leaf_ids(leaves[assessment["seq"]]), signed]
            review["itemReviewed"]["identifier"] = _leaf_ids(leaves[claim["seq"]])
        reviews.append(review)
    text = json.dumps(reviews, ensure_ascii=False, indent=2) + "\n"
    # <, > and & occur only inside JSON strings, so escaping them keeps the JSON
    # equal while making it safe to paste into a <script type="application/ld+json">.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def claim_review(selection: Selection, assessment: Row, claim: Row) -> dict[str, Any]:
    """One ClaimReview JSON-LD object for an assessment of a claim."""
    review: dict[str, Any] = {"@context": "https://schema.org", "@type": "ClaimReview"}
    if assessment["url"]:
        review["url"] = assessment["url"]
    return review | {
        "claimReviewed": claim_text(selection, claim),
        "reviewRating": rating(assessment["verdict"]),
        "author": {"@type": "Organization", "name": assessment["by"]},
        "datePublished": published_date(assessment["published_at"]),
        "itemReviewed": _item_reviewed(selection, claim),
    }


def _leaf_ids(leaf: Leaf) -> list[dict[str, Any]]:
    return [_property("leafIndex", leaf.index), _property("leafHash", leaf.hash)]


def _property(name: str, value: Any) -> dict[str, Any]:
    return {"@type": "PropertyValue", "propertyID": f"incident-ledger:{name}", "value": value}


def rating(verdict: str) -> dict[str, Any]:
    """The schema.org Rating for a verdict on the scale documented above."""
    value, name = RATINGS[verdict]
    return {
        "@type": "Rating",
        "ratingValue": value,
        "bestRating": BEST_RATING,
        "worstRating": WORST_RATING,
        "alternateName": name,
    }


def claim_text(selection: Selection, claim: Row) -> str:
    """The claim as reviewed: translation, else quote, else a generated sentence."""
    if claim["translation"]:
        return str(claim["translation"])
    if claim["quote"]:
        return str(claim["quote"])
    who = selection.source_name(claim["claimant"])
    value = describe_value(claim, unit=False)
    if claim["kind"] == "number":
        return f"{who}: {value} {claim['fact']}."
    return f"{who}: {claim['fact']} {value}."


def _item_reviewed(selection: Selection, claim: Row) -> dict[str, Any]:
    claimant = selection.sources.get(claim["claimant"])
    kind = "Person" if claimant and claimant["kind"] == "social" else "Organization"
    report = selection.reports[claim["report"]]
    first = selection.reports[_first_appearance(selection, claim)["report"]]
    return {
        "@type": "Claim",
        "author": {"@type": kind, "name": selection.source_name(claim["claimant"])},
        "datePublished": published_date(report["published_at"], report["published_precision"]),
        "appearance": _creative_work(selection, report),
        "firstAppearance": _creative_work(selection, first),
    }


def _first_appearance(selection: Selection, claim: Row) -> Row:
    def same(other: Row) -> bool:
        return all(
            other[column] == claim[column]
            for column in (
                "incident",
                "fact",
                "claimant",
                "kind",
                "num_low",
                "num_high",
                "time_low",
                "time_high",
                "text_value",
            )
        )

    matches = [other for other in selection.claims if same(other)]
    return min(matches, key=lambda other: (other["published_at"], other["seq"]))


def _creative_work(selection: Selection, report: Row) -> dict[str, Any]:
    work: dict[str, Any] = {"@type": "CreativeWork"}
    if report["url"]:
        work["url"] = report["url"]
    if report["title"]:
        work["headline"] = report["title"]
    if report["language"]:
        work["inLanguage"] = report["language"]
    work["datePublished"] = published_date(report["published_at"], report["published_precision"])
    work["publisher"] = {"@type": "Organization", "name": selection.source_name(report["source"])}
    return work
