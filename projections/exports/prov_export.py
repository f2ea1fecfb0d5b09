"""W3C PROV-JSON export, built with the ``prov`` package.

Namespaces: ``ledger`` (https://incident-ledger.example/ns#) for the ledger's
own terms and ``schema`` (https://schema.org/) for bibliographic ones.
Identifiers are ``ledger:<kind>-<ledger id>``.

How the ledger maps onto PROV:

- **Sources** are agents ``ledger:source-<id>`` with ``ledger:kind``, ``ledger:grade``
  (the Admiralty reliability letter, when graded), ``prov:label`` (name) and
  ``schema:alternateName`` (the Arabic name, language-tagged). Every kind but
  ``social`` and ``other`` is also a ``prov:Organization``.
- **Incidents** are entities ``ledger:incident-<id>`` (title, Arabic title, place).
- **Reports** are entities ``ledger:report-<id>`` with ``schema:datePublished``,
  ``schema:headline``, ``schema:url``, ``schema:inLanguage``, ``schema:author``
  and ``ledger:sha256``; each ``wasAttributedTo`` its outlet.
- **Claims** are entities ``ledger:claim-<id>`` carrying the claimed value, its
  interval (``ledger:low``/``ledger:high``), quote, translation, status at the
  export's known time and ``ledger:incident`` (a reference to the incident). A
  claim ``wasDerivedFrom`` its report and ``wasAttributedTo`` its claimant.
- **Relays** (``via``: AFP carrying SOHR's figure): the claim ``wasInfluencedBy``
  each relay agent with ``prov:role ledger:relay``, and ``ledger:via`` keeps their
  order as ``;``-joined ids. A relay is neither the author of the claim nor an
  agent acting for the claimant, so attribution and delegation were not used.
- **Corrections**: the new claim ``wasRevisionOf`` the old one. An activity
  ``ledger:correction-<new id>`` at the correction report's published time
  ``used`` that report, generated the new claim and invalidated the old one, so
  the time the old claim ended is in the graph too.
- **Retractions**: an activity ``ledger:retraction-<id>`` at its report's published
  time that ``used`` the retraction report, ``wasAssociatedWith`` its outlet, and
  by which the retracted claim ``wasInvalidatedBy``. PROV lets an entity be
  invalidated once, so when a claim was ended twice only the first end
  invalidates it; the later activity ``used`` the claim instead.
- **Assessments** are entities ``ledger:assessment-<id>`` (verdict, date, url,
  note) ``wasDerivedFrom`` the claim they rate and ``wasAttributedTo`` an agent
  ``ledger:assessor-<percent-encoded name>`` for the desk that published them.
- The export itself is an entity ``ledger:export`` with ``ledger:knownAt``, the
  selected ``ledger:incident`` and, when given, the signed ``ledger:checkpoint``
  note it was made under with its ``ledger:checkpointOrigin``,
  ``ledger:checkpointSize`` and ``ledger:checkpointRoot`` (base64, as in the note).
- With a checkpoint, every incident, source, report, claim, retraction and
  assessment carries ``ledger:leafIndex`` and ``ledger:leafHash`` (hex): where the
  event that created it is in that log, to check it against the JSONL bundle.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any
from urllib.parse import quote

from prov.constants import PROV_ROLE, PROV_TYPE, XSD_ANYURI
from prov.model import PROV, Literal, Namespace, ProvDocument

from incident_ledger.ledger.times import from_key
from incident_ledger.projections.exports.common import (
    Leaf,
    Provenance,
    Row,
    Selection,
    leaves_of,
    select,
    value_text,
    via_ids,
)

LEDGER = Namespace("ledger", "https://incident-ledger.example/ns#")
SCHEMA = Namespace("schema", "https://schema.org/")

_ORGANIZATION_KINDS = {"outlet", "monitor", "armed_group", "government", "agency"}


def export_prov(
    db: sqlite3.Connection,
    *,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance | None = None,
) -> str:
    """The provenance of the records known at ``at`` as a PROV-JSON document."""
    selection = select(db, incident, at)
    leaves = leaves_of(selection, provenance)

    def leaf(row: Row) -> dict[Any, Any]:
        found: Leaf | None = leaves.get(row["seq"])
        if found is None:
            return {}
        return {LEDGER["leafIndex"]: found.index, LEDGER["leafHash"]: found.hash}

    doc = ProvDocument()
    doc.add_namespace(LEDGER)
    doc.add_namespace(SCHEMA)
    _export_entity(doc, selection, incident, provenance)
    for row in selection.incidents:
        _incident(doc, row, leaf(row))
    for row in selection.sources.values():
        _source(doc, row, leaf(row))
    for row in selection.reports.values():
        _report(doc, row, leaf(row))
    for row in selection.claims:
        _claim(doc, selection, row, leaf(row))
    for row in selection.claims:
        if row["corrects"] is not None:
            _correction(doc, selection, row)
    for row in selection.retractions:
        _retraction(doc, selection, row, leaf(row))
    for desk in dict.fromkeys(row["by"] for row in selection.assessments):
        doc.agent(_assessor(desk), {PROV_TYPE: PROV["Organization"], PROV["label"]: desk})
    for row in selection.assessments:
        _assessment(doc, row, leaf(row))
    return str(doc.serialize(format="json"))


def _attributes(pairs: dict[Any, Any]) -> dict[Any, Any]:
    return {key: value for key, value in pairs.items() if value is not None}


def _text(value: str | None, language: str | None) -> Literal | str | None:
    if value is None:
        return None
    return Literal(value, langtag=language) if language else value


def _time(key: str | None) -> datetime | None:
    return from_key(key) if key else None


def _export_entity(
    doc: ProvDocument, selection: Selection, incident: str | None, provenance: Provenance | None
) -> None:
    signed: dict[Any, Any] = {}
    if provenance is not None:
        signed = {
            LEDGER["checkpoint"]: provenance.note,
            LEDGER["checkpointOrigin"]: provenance.origin,
            LEDGER["checkpointSize"]: provenance.size,
            LEDGER["checkpointRoot"]: provenance.root,
        }
    doc.entity(
        LEDGER["export"],
        _attributes(
            {
                PROV_TYPE: LEDGER["Export"],
                LEDGER["knownAt"]: from_key(selection.known),
                LEDGER["incident"]: LEDGER[f"incident-{incident}"] if incident else None,
                **signed,
            }
        ),
    )


def _incident(doc: ProvDocument, row: Row, leaf: dict[Any, Any]) -> None:
    doc.entity(
        LEDGER[f"incident-{row['id']}"],
        _attributes(
            {
                PROV_TYPE: LEDGER["Incident"],
                PROV["label"]: row["title"],
                SCHEMA["alternateName"]: _text(row["title_ar"], "ar"),
                SCHEMA["location"]: row["place"],
                **leaf,
            }
        ),
    )


def _source(doc: ProvDocument, row: Row, leaf: dict[Any, Any]) -> None:
    types = [LEDGER["Source"]]
    if row["kind"] in _ORGANIZATION_KINDS:
        types.append(PROV["Organization"])
    attributes: list[tuple[Any, Any]] = [(PROV_TYPE, kind) for kind in types]
    attributes += _attributes(
        {
            PROV["label"]: row["name"],
            SCHEMA["alternateName"]: _text(row["name_ar"], "ar"),
            LEDGER["kind"]: row["kind"],
            LEDGER["grade"]: row["reliability"],
            **leaf,
        }
    ).items()
    doc.agent(LEDGER[f"source-{row['id']}"], attributes)


def _report(doc: ProvDocument, row: Row, leaf: dict[Any, Any]) -> None:
    report = doc.entity(
        LEDGER[f"report-{row['id']}"],
        _attributes(
            {
                PROV_TYPE: LEDGER["Report"],
                SCHEMA["datePublished"]: _time(row["published_at"]),
                LEDGER["publishedPrecision"]: row["published_precision"],
                SCHEMA["headline"]: _text(row["title"], row["language"]),
                SCHEMA["url"]: Literal(row["url"], XSD_ANYURI) if row["url"] else None,
                SCHEMA["inLanguage"]: row["language"],
                SCHEMA["author"]: row["author"],
                LEDGER["sha256"]: row["sha256"],
                **leaf,
            }
        ),
    )
    doc.wasAttributedTo(report, LEDGER[f"source-{row['source']}"])


def _claim(doc: ProvDocument, selection: Selection, row: Row, leaf: dict[Any, Any]) -> None:
    report = selection.reports[row["report"]]
    kinds = [LEDGER["Claim"]] + ([LEDGER["Correction"]] if row["corrects"] else [])
    attributes: list[tuple[Any, Any]] = [(PROV_TYPE, kind) for kind in kinds]
    attributes += _attributes(
        {
            LEDGER["incident"]: LEDGER[f"incident-{row['incident']}"],
            LEDGER["fact"]: row["fact"],
            LEDGER["valueKind"]: row["kind"],
            LEDGER["value"]: value_text(row),
            LEDGER["qualifier"]: row["qualifier"],
            LEDGER["unit"]: row["unit"],
            LEDGER["validTime"]: row["valid_time"],
            **_bounds(row),
            LEDGER["via"]: ";".join(via_ids(row)) or None,
            LEDGER["quote"]: _text(row["quote"], report["language"]),
            LEDGER["translation"]: _text(row["translation"], "en"),
            LEDGER["note"]: row["note"],
            LEDGER["credibility"]: row["credibility"],
            LEDGER["status"]: selection.claim_status(row),
            SCHEMA["datePublished"]: _time(row["published_at"]),
            LEDGER["recordedAt"]: _time(row["recorded_at"]),
            **leaf,
        }
    ).items()
    claim = doc.entity(LEDGER[f"claim-{row['id']}"], attributes)
    doc.wasDerivedFrom(claim, LEDGER[f"report-{row['report']}"])
    doc.wasAttributedTo(claim, LEDGER[f"source-{row['claimant']}"])
    for relay in via_ids(row):
        doc.wasInfluencedBy(
            claim, LEDGER[f"source-{relay}"], other_attributes={PROV_ROLE: LEDGER["relay"]}
        )


def _bounds(row: Row) -> dict[Any, Any]:
    if row["kind"] == "number":
        return {LEDGER["low"]: row["num_low"], LEDGER["high"]: row["num_high"]}
    if row["kind"] == "time":
        return {LEDGER["low"]: _time(row["time_low"]), LEDGER["high"]: _time(row["time_high"])}
    return {}


def _correction(doc: ProvDocument, selection: Selection, row: Row) -> None:
    new, old = LEDGER[f"claim-{row['id']}"], LEDGER[f"claim-{row['corrects']}"]
    doc.wasRevisionOf(new, old)
    if row["corrects"] not in selection.claim_ids:
        return  # the corrected claim is outside the selection (another incident)
    when = _time(row["published_at"])
    activity = doc.activity(
        LEDGER[f"correction-{row['id']}"], when, when, {PROV_TYPE: LEDGER["Correction"]}
    )
    doc.used(activity, LEDGER[f"report-{row['report']}"])
    doc.wasGeneratedBy(new, activity, when)
    _end(doc, selection, row["corrects"], row["id"], activity.identifier, when)


def _retraction(doc: ProvDocument, selection: Selection, row: Row, leaf: dict[Any, Any]) -> None:
    when = _time(row["published_at"])
    activity = doc.activity(
        LEDGER[f"retraction-{row['id']}"],
        when,
        when,
        _attributes({PROV_TYPE: LEDGER["Retraction"], LEDGER["reason"]: row["reason"], **leaf}),
    )
    doc.used(activity, LEDGER[f"report-{row['report']}"])
    outlet = selection.reports[row["report"]]["source"]
    doc.wasAssociatedWith(activity, LEDGER[f"source-{outlet}"])
    _end(doc, selection, row["claim"], row["id"], activity.identifier, when)


def _end(
    doc: ProvDocument,
    selection: Selection,
    claim_id: str,
    ended_by: str,
    activity: Any,
    when: datetime | None,
) -> None:
    claim = LEDGER[f"claim-{claim_id}"]
    first = selection.ends.get(claim_id)
    if first is not None and first["ended_by"] == ended_by:
        doc.wasInvalidatedBy(claim, activity, when)
    else:
        doc.used(activity, claim, when)


def _assessor(desk: str) -> Any:
    return LEDGER[f"assessor-{quote(desk, safe='')}"]


def _assessment(doc: ProvDocument, row: Row, leaf: dict[Any, Any]) -> None:
    assessment = doc.entity(
        LEDGER[f"assessment-{row['id']}"],
        _attributes(
            {
                PROV_TYPE: LEDGER["Assessment"],
                LEDGER["verdict"]: row["verdict"],
                SCHEMA["datePublished"]: _time(row["published_at"]),
                SCHEMA["url"]: Literal(row["url"], XSD_ANYURI) if row["url"] else None,
                LEDGER["note"]: row["note"],
                **leaf,
            }
        ),
    )
    doc.wasDerivedFrom(assessment, LEDGER[f"claim-{row['claim']}"])
    doc.wasAttributedTo(assessment, _assessor(row["by"]))
