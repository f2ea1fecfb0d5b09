"""schema.org ClaimReview export: one JSON-LD object per assessment known at ``at``,
each checked against Google's fact-check requirements before it is written.

An item is written only when a fact-check platform would take it as it is
(:func:`problems`): it has a ``url`` (the fact-check article, required by Google),
a ``claimReviewed`` of at most 75 characters (Google advises it for mobile
display; this export makes it a rule), and a ``reviewRating`` whose
``alternateName`` is set and whose ``ratingValue``, when there is one, lies inside
its declared scale. Every other item is left out with one reason each
(:attr:`ClaimReviews.refused`); the command line prints them, or fails with
``--strict``.

Rating scale (:data:`RATINGS`), worst 1 to best 5, higher is truer:

    true 5 · mostly_true 4 · mixed 3 · misleading 2 · false 1

``unverifiable`` is not a point on that scale, so its rating is textual only
(``alternateName`` "Unverifiable", no number): only ``alternateName`` is
required, and a number outside ``[worstRating, bestRating]`` would contradict the
declared scale. The assessment's ``note`` is the rating's ``ratingExplanation``.

``claimReviewed`` is the assessment's ``summary`` when it has one, else the
claim's English translation, else its quote, else a generated sentence
("Syrian Observatory for Human Rights: at least 20 killed.security_forces.").

``author`` is the organisation that published the assessment (``by``) with the
home page of its fact-check's site as ``url``. The desk member who recorded the
assessment is not named: they entered a published verdict, they did not write
it, and ClaimReview has no field for who filed a review in someone's records
(PROV, the spreadsheets and the HTML report say who recorded it). The claim's author is a
``Person`` for ``social`` sources and an ``Organization`` otherwise. Each
``appearance`` is the report's URL, with its archived copy as ``archivedAt``
when the report has one; ``firstAppearance`` is the report of the earliest
known claim by the same claimant on the same fact with the same value. Dates
given as a day are written as a day. ``<``, ``>`` and ``&`` are written as JSON
``\\u`` escapes, so the output can be pasted into an HTML
``<script type="application/ld+json">``.

With ``provenance``, each review and the claim it reviews carry an ``identifier``
list of schema.org ``PropertyValue``s: ``incident-ledger:leafIndex`` and
``incident-ledger:leafHash`` (hex), where the event that created the assessment
(the claim) is in the log, and on the review ``incident-ledger:checkpoint``, the
signed checkpoint note the export was made under. With a reporter's proposals shown, an
``incident-ledger:review`` identifier (``proposed``) marks the review whose assessment,
and the claim reviewed that, is a proposal not yet approved.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from incident_ledger.projections.exports.common import (
    Leaf,
    Provenance,
    Row,
    Selection,
    Streamed,
    describe_value,
    published_date,
    stream,
)

BEST_RATING: Final = 5
WORST_RATING: Final = 1
MAX_CLAIM_REVIEWED: Final = 75

RATINGS: Final[dict[str, tuple[int | None, str]]] = {
    "true": (5, "True"),
    "mostly_true": (4, "Mostly true"),
    "mixed": (3, "Mixed"),
    "misleading": (2, "Misleading"),
    "false": (1, "False"),
    "unverifiable": (None, "Unverifiable"),
}


@dataclass
class ClaimReviews:
    """The publishable reviews, and one line for each assessment left out."""

    items: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    assessments: int = 0

    @property
    def text(self) -> str:
        """The items as a JSON array, safe inside an HTML ``<script>``."""
        text = json.dumps(self.items, ensure_ascii=False, indent=2) + "\n"
        # <, > and & occur only inside JSON strings, so escaping them keeps the JSON
        # equal while making it safe to paste into a <script type="application/ld+json">.
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def export_claimreview(
    db: sqlite3.Connection,
    *,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance | None = None,
    reviewed_only: bool = False,
) -> str:
    """The publishable ClaimReview objects of the assessments known at ``at``, as JSON."""
    return claim_reviews(
        db, incident=incident, at=at, provenance=provenance, reviewed_only=reviewed_only
    ).text


def claim_reviews(
    db: sqlite3.Connection,
    *,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance | None = None,
    reviewed_only: bool = False,
) -> ClaimReviews:
    """Every assessment known at ``at`` as a ClaimReview, checked (see the module).

    Read as the claims stream by (``common.stream``): what is held is the assessments,
    the claims they assess and each one's first appearance, not the incident's claims."""
    selection = stream(db, incident, at, reviewed_only=reviewed_only)
    assessments = list(selection.assessments)
    # Marked as the claims are shown: a claim still a proposal says so (with proposals).
    claims = selection.shown_claims({assessment["claim"] for assessment in assessments})
    firsts = first_appearances(selection.claims, claims.values())
    leaves: dict[int, Leaf] = {}
    if provenance is not None:
        records = [("assessment", row) for row in assessments]
        leaves = provenance.leaves_of_records(records + [("claim", c) for c in claims.values()])
    result = ClaimReviews(assessments=len(assessments))
    for assessment in assessments:
        claim = claims[assessment["claim"]]
        review = claim_review(selection, assessment, claim, firsts[claim["id"]])
        found = problems(review)
        if found:
            result.refused.append(f"assessment {assessment['id']}: {'; '.join(found)}")
            continue
        # A proposal not yet approved, the assessment or the claim it assesses (with proposals)
        if assessment.get("review"):
            review["identifier"] = [_property("review", assessment["review"])]
        if claim.get("review"):
            review["itemReviewed"]["identifier"] = [_property("review", claim["review"])]
        if provenance is not None:
            signed = _property("checkpoint", provenance.note)
            review["identifier"] = [
                *review.get("identifier", ()),
                *_leaf_ids(leaves[assessment["seq"]]),
                signed,
            ]
            review["itemReviewed"]["identifier"] = [
                *review["itemReviewed"].get("identifier", ()),
                *_leaf_ids(leaves[claim["seq"]]),
            ]
        result.items.append(review)
    return result


def claim_review(
    selection: Selection | Streamed, assessment: Row, claim: Row, first: Row | None = None
) -> dict[str, Any]:
    """One ClaimReview JSON-LD object for an assessment of a claim (unchecked); ``first``
    is the claim's first appearance (``first_appearances``), looked for when not given."""
    if first is None:
        first = first_appearances(selection.claims, [claim])[claim["id"]]
    review: dict[str, Any] = {"@context": "https://schema.org", "@type": "ClaimReview"}
    if assessment["url"]:
        review["url"] = assessment["url"]
    return review | {
        "claimReviewed": assessment.get("summary") or claim_text(selection, claim),
        "reviewRating": rating(assessment["verdict"], assessment["note"]),
        "author": _assessor(assessment),
        "datePublished": selection.assessment_published(assessment),
        "itemReviewed": _item_reviewed(selection, claim, first),
    }


def problems(review: dict[str, Any]) -> list[str]:
    """Why a fact-check platform would reject this item; [] when it is publishable."""
    found = []
    if not str(review.get("url") or "").startswith(("https://", "http://")):
        found.append("it has no url (the fact-check's address, which Google requires)")
    text = str(review.get("claimReviewed") or "")
    if not text:
        found.append("it has nothing to say as the claim reviewed")
    elif len(text) > MAX_CLAIM_REVIEWED:
        found.append(
            f"the claim reviewed is {len(text)} characters, over the {MAX_CLAIM_REVIEWED} "
            "this export allows: give the assessment a summary"
        )
    grade = review.get("reviewRating") or {}
    if not grade.get("alternateName"):
        found.append("its rating has no name")
    if "ratingValue" in grade:
        low, high = grade.get("worstRating", 1), grade.get("bestRating", 5)
        if not low <= grade["ratingValue"] <= high:
            found.append(f"its rating {grade['ratingValue']} is outside {low}–{high}")
    return found


def _leaf_ids(leaf: Leaf) -> list[dict[str, Any]]:
    return [_property("leafIndex", leaf.index), _property("leafHash", leaf.hash)]


def _property(name: str, value: Any) -> dict[str, Any]:
    return {"@type": "PropertyValue", "propertyID": f"incident-ledger:{name}", "value": value}


def rating(verdict: str, explanation: str | None = None) -> dict[str, Any]:
    """The schema.org Rating for a verdict on the scale documented above."""
    value, name = RATINGS[verdict]
    result: dict[str, Any] = {"@type": "Rating", "alternateName": name}
    if value is not None:
        result |= {"ratingValue": value, "bestRating": BEST_RATING, "worstRating": WORST_RATING}
    if explanation:
        result["ratingExplanation"] = explanation
    return result


def _assessor(assessment: Row) -> dict[str, Any]:
    """The fact-checking organisation, with its site's home page when the fact-check
    has an address (Google wants the fact-check on the publisher's own domain)."""
    author: dict[str, Any] = {"@type": "Organization", "name": assessment["by"]}
    if assessment["url"]:
        parts = urlsplit(assessment["url"])
        author["url"] = f"{parts.scheme}://{parts.netloc}/"
    return author


def claim_text(selection: Selection | Streamed, claim: Row) -> str:
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


def _item_reviewed(selection: Selection | Streamed, claim: Row, first_claim: Row) -> dict[str, Any]:
    claimant = selection.sources.get(claim["claimant"])
    kind = "Person" if claimant and claimant["kind"] == "social" else "Organization"
    report = selection.reports[claim["report"]]
    first = selection.reports[first_claim["report"]]
    return {
        "@type": "Claim",
        "author": {"@type": kind, "name": selection.source_name(claim["claimant"])},
        "datePublished": published_date(report["published_at"], report["published_precision"]),
        "appearance": [_creative_work(selection, report)],
        "firstAppearance": _creative_work(selection, first),
    }


_SAME_VALUE: Final = (
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


def first_appearances(claims: Iterable[Row], wanted: Iterable[Row]) -> dict[str, Row]:
    """Each wanted claim's first appearance: the earliest known claim (by publication, then
    ledger order) by the same claimant on the same fact with the same value, found in
    one pass over ``claims``, holding one claim per wanted one."""
    earliest: dict[tuple[Any, ...], Row] = {}
    keys = {row["id"]: tuple(row[column] for column in _SAME_VALUE) for row in wanted}
    looked_for = set(keys.values())
    for other in claims:
        key = tuple(other[column] for column in _SAME_VALUE)
        if key not in looked_for:
            continue
        found = earliest.get(key)
        if found is None or (other["published_at"], other["seq"]) < (
            found["published_at"],
            found["seq"],
        ):
            earliest[key] = other
    return {claim_id: earliest[key] for claim_id, key in keys.items()}


def _creative_work(selection: Selection | Streamed, report: Row) -> dict[str, Any]:
    work: dict[str, Any] = {"@type": "CreativeWork"}
    if report["url"]:
        work["url"] = report["url"]
    # The archived copy, once reports carry one (a v2 field of the report record).
    if report.get("archive_url"):
        work["archivedAt"] = report["archive_url"]
    if report["title"]:
        work["headline"] = report["title"]
    if report["language"]:
        work["inLanguage"] = report["language"]
    work["datePublished"] = published_date(report["published_at"], report["published_precision"])
    work["publisher"] = {"@type": "Organization", "name": selection.source_name(report["source"])}
    return work
