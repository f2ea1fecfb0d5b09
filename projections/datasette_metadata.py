"""Datasette metadata for the read model: descriptions, labels, hidden internals, canned queries.

``build_metadata(name)`` returns the document ``datasette --metadata`` reads
for the read model served under the database name ``name``. Every table and
every column of ``projections.views`` is described here (a test checks that
none is missing), and the canned queries answer the product's questions in
SQL alone: ``state_at`` computes positions and statuses exactly as
``projections.understanding.state`` does (a test checks that too).

Over 400 lines: the canned queries' SQL is long, and kept beside its metadata.
"""

from __future__ import annotations

from typing import Any

from incident_ledger.projections.arabic import normalize
from incident_ledger.projections.desk_projection import DESK_DESCRIPTIONS
from incident_ledger.projections.desk_rules import (
    REVIEWED_CLAIM,
    REVIEWED_END,
    VOIDED_ASSESSMENT,
    VOIDED_END,
    end_proposer_sql,
    proposer_sql,
)
from incident_ledger.projections.positions import END_OF_TIME
from incident_ledger.projections.proposal_ends import status_words_sql, with_status_words_sql

TITLE = "incident-ledger"
SOURCE = "incident-ledger event store"
LICENSE = (
    "Quoted article text remains the copyright of its publishers and is quoted for verification; "
    "the records are the ledger's editors'."
)
DESCRIPTION = (
    "The read model of an incident ledger: every reported fact about an incident as a claim with "
    "its source, its report and its three times. Known time is when a report was published, "
    "recorded time is when the ledger stored the event, valid time is when the fact held. All "
    "instants are fixed-width UTC ISO keys such as 2022-01-21T00:00:00.000000Z, so they sort and "
    "compare as text. The tables are a projection of the append-only event store and are rebuilt "
    "from it at will; nothing here is edited by hand. Start with the canned queries: state_at "
    "(what was understood about an incident at a date), contested_facts, fact_history, "
    "claims_by_source and search."
)

# Reused column descriptions.
_KEY = "fixed-width UTC ISO key (YYYY-MM-DDTHH:MM:SS.ffffffZ), sorts as text"
_RECORDED = f"Recorded time: when the ledger stored the event, assigned by the ledger; {_KEY}."
_SEQ = (
    "Ledger position (notification id) of the event that wrote this row: the order in which "
    "the ledger recorded it."
)
_PUBLISHED = (
    f"Known time: when the report was published; {_KEY}. A report published as a bare date "
    "is stored as the end of that UTC day (its claims are known from the end of that day in "
    "their incident's time zone)."
)

_TABLES: dict[str, dict[str, Any]] = {
    "incidents": {
        "description": "The incidents the ledger follows; every claim belongs to one.",
        "label_column": "title",
        "sort": "id",
        "columns": {
            "id": "The incident's id, chosen by the editor (e.g. ghwayran-2022).",
            "title": "Title in English (or the editor's working language).",
            "title_ar": "Title in Arabic; NULL when none was given.",
            "place": "Where it happened, as free text; NULL when not given.",
            "timezone": (
                "The incident's IANA time zone (e.g. Asia/Damascus): a date-only report is "
                "known from the end of that day there, and dates are read as its days. NULL: UTC."
            ),
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "facts": {
        "description": (
            "The kind of value each fact of an incident takes: one row per version of its "
            "declaration (a fact record) or, for a fact never declared, the kind its first "
            "claim gave it. The rules in force at recorded time R are the latest version "
            "recorded by R."
        ),
        "sort": "incident",
        "facets": ["incident", "kind", "declared"],
        "columns": {
            "incident": "The incident (incidents.id).",
            "key": "The fact key (claims.fact), e.g. killed.security_forces.",
            "version": "1 for the first event of the fact, then 2, 3 … for each declaration anew.",
            "kind": "count, quantity, time, text, choice, boolean or place.",
            "declared": "1 when a fact record declared it; 0 when its first claim gave its kind.",
            "unit": "Unit of a count or quantity (e.g. people); NULL when not declared.",
            "cumulative": (
                "1 for a total that can only grow (a toll): its claims are compared through "
                "time, each as of its valid time's end (else its known time)."
            ),
            "tolerance": (
                'How wide "about n" is, as JSON: {"fraction": f} or {"absolute": a}; NULL: the '
                "default, n ± max(1, ⌈10 % of n⌉) in the unit of n's last digit."
            ),
            "choices": "A choice fact's values with their aliases and labels, as JSON.",
            "label": "What the fact is, in English.",
            "label_ar": "What the fact is, in Arabic.",
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "zone_day_ends": {
        "description": (
            "Internal: the UTC offset at the end of each day in the time zones incidents use "
            "(a row where it changes, 1900–2100), so that SQL can find the end of a local day."
        ),
        "hidden": True,
        "columns": {
            "zone": "IANA time zone (incidents.timezone).",
            "since": "The first day (YYYY-MM-DD) this offset applies to the end of.",
            "offset_minutes": "Minutes east of UTC at the end of those days.",
            "seq": "Ledger position of the first incident in this zone, which wrote its rows.",
        },
    },
    "incident_relations": {
        "description": "Links between incidents, as declared on the incident (e.g. simultaneous).",
        "sort": "incident",
        "columns": {
            "incident": "The incident that declares the link (incidents.id).",
            "related": "The incident it points to (incidents.id).",
            "relation": "How they are related, as free text (e.g. simultaneous, part_of).",
            "seq": _SEQ,
        },
    },
    "sources": {
        "description": (
            "Who speaks: outlets that publish reports and the claimants they quote (monitors, "
            "armed groups, governments, agencies). One row per source, with its current grade."
        ),
        "label_column": "name",
        "sort": "id",
        "facets": ["kind", "reliability"],
        "columns": {
            "id": "The source's id, chosen by the editor (e.g. sohr, sdf, afp).",
            "name": "Name in English.",
            "name_ar": "Name in Arabic; NULL when none was given.",
            "kind": "outlet, monitor, armed_group, government, agency, social or other.",
            "reliability": (
                "Current Admiralty reliability grade: A completely reliable … E unreliable, F "
                "cannot be judged; NULL ungraded. The history, with effective dates, is in "
                "source_ratings."
            ),
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "source_ratings": {
        "description": (
            "Every grade a source was given, in order: the grade at registration and each "
            "re-grading. The grade in force at known time T is the latest one effective by T."
        ),
        "sort_desc": "seq",
        "facets": ["source"],
        "columns": {
            "source": "The source graded (sources.id).",
            "reliability": "Admiralty grade A–F.",
            "reason": "Why it was given ('initial grade' for the grade given at registration).",
            "effective_from": (
                f"Known time from which the grade applies; {_KEY}. NULL = always (the grade "
                "given at registration applies from the beginning)."
            ),
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "reports": {
        "description": "Published articles, statements and posts; every claim appears in one.",
        "sort": "published_at",
        "facets": ["source", "language"],
        "columns": {
            "id": "The report's id, chosen by the editor (e.g. report-001).",
            "source": "The outlet that published it (sources.id).",
            "published_at": _PUBLISHED,
            "published_precision": (
                "day when published_at was given as a bare date, instant when as a date-time "
                "with an offset."
            ),
            "url": "Where it was published; NULL when not given.",
            "title": "Headline as published; NULL when none.",
            "language": "Language code (e.g. ar, en); NULL when not given.",
            "author": "Byline; NULL when not given.",
            "sha256": "Hex SHA-256 of the article text as archived by the editor; NULL if none.",
            "archive_url": "An archived copy (e.g. a Wayback Machine snapshot); NULL if none.",
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "claims": {
        "description": (
            "Every reported fact: who claimed what, in which report, when. Values are stored as "
            "reported (value) and as intervals for comparison (num_low/num_high for numbers, "
            "time_low/time_high for dates; NULL = unbounded) or as text (text_value). A claim "
            "stops counting from the known time of a retraction or correction (claim_ends)."
        ),
        "sort": "published_at",
        "facets": ["incident", "fact", "claimant", "claim_status", "kind"],
        "columns": {
            "id": "The claim's id, chosen by the editor (e.g. c-000-sohr-killed-sf).",
            "incident": "The incident it is about (incidents.id).",
            "fact": "Dotted lowercase fact key, e.g. killed.security_forces, escaped, control.",
            "kind": (
                "How the value is compared: number (an interval of integers), time (an "
                "interval of instants, from EDTF) or text (a status, compared case-insensitively)."
            ),
            "value": (
                'The value as reported, as JSON: an integer, {"min": a, "max": b}, an EDTF string '
                "for time facts, or a string or boolean for status facts."
            ),
            "qualifier": (
                "How a number relates to the truth: exact, approx, at_least, more_than, at_most, "
                "less_than. NULL means exact for numbers and is always NULL for time and text."
            ),
            "unit": "Unit of a number (e.g. people); NULL when not given.",
            "num_low": (
                "Numbers: lower bound of the interval the claim admits (a count's more_than "
                "120 → 121, a quantity's more_than 2.5 → 2.5; at_most n → 0). NULL when the "
                "claim is not a number."
            ),
            "num_high": (
                "Numbers: upper bound of the interval (a count's less_than 10 → 9, a "
                "quantity's less_than 2.5 → 2.5). NULL = unbounded "
                "(at_least, more_than) or not a number."
            ),
            "time_low": (
                f"Time facts: earliest instant the EDTF value admits; {_KEY}. NULL = open start "
                "or not a time."
            ),
            "time_high": (
                f"Time facts: latest instant the EDTF value admits (a day runs to "
                f"23:59:59.999999); {_KEY}. NULL = open end or not a time."
            ),
            "text_value": (
                "Status facts: the comparison form of the text (NFC, trimmed, case-folded; "
                "booleans as true/false). NULL for numbers and times."
            ),
            "approximate": "1 when the number was qualified as approx (its interval is [n, n]).",
            "valid_time": "Valid time: when the fact held in the world, as EDTF; NULL if unstated.",
            "valid_from": f"Earliest instant of valid_time; {_KEY}. NULL = unbounded or unstated.",
            "valid_to": f"Latest instant of valid_time; {_KEY}. NULL = unbounded or unstated.",
            "report": "The report the claim appeared in (reports.id).",
            "source": "The outlet: the source of that report (sources.id).",
            "claimant": (
                "Who asserted it (sources.id); the outlet itself when the report speaks for "
                "itself. Positions and agreement are counted per claimant."
            ),
            "via": 'Relays named between claimant and outlet, as a JSON array (e.g. ["afp"]).',
            "quote": "The claim's words copied exactly from the report (often Arabic).",
            "translation": "English translation of the quote.",
            "credibility": "Admiralty credibility of the information, 1–6; NULL when not graded.",
            "note": "The editor's note (encoding decisions, ambiguities).",
            "corrects": (
                "For a correction: the id of the claim it replaces (ended in claim_ends from this "
                "claim's known time). NULL for an original claim."
            ),
            "claim_status": (
                "What the ledger and its desk made of it, as recorded now: active; proposed "
                "(a reporter's, awaiting an editor's review); rejected (by an editor); voided "
                "(an erratum of it, or of its report, source or incident); retracted or "
                "corrected (an end of it in force, whenever published: claim_ends says from "
                "when; an end voided or rejected ends nothing)."
            ),
            "published_at": (
                f"Known time: the published_at of its report, copied for indexing; {_KEY}."
            ),
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "claim_ends": {
        "description": (
            "When and why a claim stopped counting: one row per retraction or correction of a "
            "claim. From published_at on, the claim is no longer anyone's position."
        ),
        "sort": "published_at",
        "facets": ["how"],
        "columns": {
            "claim": "The claim ended (claims.id).",
            "ended_by": "The retraction (retractions.id) or the correcting claim (claims.id).",
            "how": "retracted or corrected.",
            "report": "The report that withdrew or corrected it (reports.id).",
            "published_at": f"Known time from which the claim no longer counts; {_KEY}.",
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "retractions": {
        "description": "Withdrawals of claims, each published in a report.",
        "sort": "published_at",
        "columns": {
            "id": "The retraction's id, chosen by the editor.",
            "claim": "The claim withdrawn (claims.id).",
            "report": "The report that withdraws it (reports.id).",
            "reason": "Why, as given; NULL when not given.",
            "published_at": _PUBLISHED,
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "assessments": {
        "description": "Fact-checkers' verdicts on claims.",
        "sort": "published_at",
        "facets": ["verdict"],
        "columns": {
            "id": "The assessment's id, chosen by the editor.",
            "claim": "The claim assessed (claims.id).",
            "verdict": "true, mostly_true, mixed, misleading, false or unverifiable.",
            "by": "Who assessed it (a fact-checker or desk, as free text).",
            "published_at": (
                f"Known time: when the assessment was published; {_KEY}. One published as a "
                "bare date is stored as the end of that day in its claim's incident's time zone."
            ),
            "url": "Where it was published; NULL when not given.",
            "note": "Free-text note; NULL when none.",
            "recorded_at": _RECORDED,
            "seq": _SEQ,
            "summary": "The claim reviewed in at most 75 characters; NULL when none.",
            "published_precision": (
                "day when published_at was given as a bare date, instant when as a date-time "
                "with an offset."
            ),
        },
    },
    **DESK_DESCRIPTIONS,
    "unprojectable": {
        "description": (
            "Events the read model could not show (a value it cannot read, written before the "
            "checks that now refuse it, or an event edited in the store): they left no row, so "
            "answers about their incident (about every incident when it is NULL) are refused."
        ),
        "sort": "seq",
        "columns": {
            "seq": "The event's ledger position.",
            "event": "Its aggregate id (kind:id), as the event store names it.",
            "topic": "Its event type.",
            "incident": "The incident it is about, when its leaf says; NULL otherwise.",
            "error": "Why it could not be projected.",
        },
    },
    "tracking": {
        "description": (
            "Internal: how far the read model has followed the event store. Written in the same "
            "transaction as the rows, so the projection resumes exactly after a crash."
        ),
        "hidden": True,
        "columns": {
            "projection": "Name of the projection (understanding).",
            "position": "Ledger position of the last event applied.",
            "schema_version": "Layout version; an older layout is rebuilt from the events.",
            "store_id": "Id of the event store this model was projected from (its ledger_info).",
            "size": "Entries of that store's Merkle log up to the position.",
            "root": "That log's root hash at that size: a model of another history is refused.",
        },
    },
    "positions_in_force": {
        "description": (
            "Which claims make each claimant's position on a fact, over known time and recorded "
            "time: a claim is in its claimant's position at known time T as recorded at R when "
            "known_from <= T < known_to and recorded_from <= R < recorded_to ('~' = not ended). "
            "Derived from claims, claim_ends and voided, and brought up to date for an incident "
            "when it is next read; positions_built says up to which position."
        ),
        "columns": {
            "incident": "The incident's id.",
            "fact": "The fact's key.",
            "claimant": "The claimant's source id.",
            "claim": "The claim's id (claims.id).",
            "known_from": f"Known time from which the claim is in the position; {_KEY}.",
            "known_to": f"Known time from which it no longer is; {_KEY}, or '~'.",
            "recorded_from": f"Recorded time from which this span holds; {_KEY}.",
            "recorded_to": f"Recorded time from which it no longer holds; {_KEY}, or '~'.",
        },
    },
    "fact_status": {
        "description": (
            "Each fact's status (single, corroborated, contested, withdrawn) in its incident's "
            "current state: known at the latest published_at of any report, as recorded now. "
            "Derived from the other tables when the sources are next read; "
            "fact_status_built says as of which position and instant."
        ),
        "columns": {
            "incident": "The incident's id.",
            "fact": "The fact's key.",
            "status": "single, corroborated, contested or withdrawn.",
        },
    },
    "fact_status_built": {
        "description": "Internal: the ledger position and latest known time fact_status is at.",
        "hidden": True,
        "columns": {
            "position": "Ledger position of the last event its rows take into account.",
            "known": f"The latest published_at of any report then; {_KEY}.",
        },
    },
    "source_tally": {
        "description": (
            "Per source (as claimant or relay): its claims, the claims of others it passed on, "
            "and the (incident, fact) pairs it has a claim on. Derived from claims when the "
            "sources are next read; source_tally_built says up to which position."
        ),
        "columns": {
            "source": "The source's id.",
            "claims_made": "Claims whose claimant it is.",
            "relayed": "Claims of others it published or is named in the via of.",
            "positions": "(incident, fact) pairs it has at least one claim on.",
        },
    },
    "first_claimants": {
        "description": (
            "Per (incident, fact), the claimants whose earliest claim is the earliest of all "
            "(each of a tie). Derived from claims when the sources are next read."
        ),
        "columns": {
            "incident": "The incident's id.",
            "fact": "The fact's key.",
            "claimant": "A claimant that reported the fact first.",
        },
    },
    "ended_claims": {
        "description": (
            "Each retracted or corrected claim with the source answering for its end (the "
            "outlet of the ending report when it had relayed the claim, else the claimant). "
            "Derived from claim_ends when the sources are next read."
        ),
        "columns": {
            "answerable": "The source answering for the end.",
            "how": "retracted or corrected.",
            "claim": "The claim's id (claims.id).",
        },
    },
    "source_tally_built": {
        "description": "Internal: the ledger position source_tally and its tables are at.",
        "hidden": True,
        "columns": {"position": "Ledger position of the last event their rows take into account."},
    },
    "positions_built": {
        "description": "Internal: the ledger position each incident's positions_in_force is at.",
        "hidden": True,
        "columns": {
            "incident": "The incident's id.",
            "position": "Ledger position of the last event its rows take into account.",
        },
    },
    "state_summaries": {
        "description": (
            "Internal: a crowded incident's state now, as ledger state shows it as a table "
            "(facts of many positions summed up), kept for the next such question; worked out "
            "again once the incident's records change or the clock passes 'until'."
        ),
        "hidden": True,
        "columns": {
            "incident": "The incident's id.",
            "policy": "The value policy it was worked out under, @ the program that kept it.",
            "position": "Ledger position of the last event it takes into account.",
            "known": "The known time it was worked out for (UTC).",
            "until": "The next instant one of the incident's claims or ends becomes known, "
            "or a source's new grade takes effect.",
            "facts": "The facts, as JSON.",
        },
    },
    "search_index": {
        "description": (
            "Full-text index (SQLite FTS5) of titles, quotes, translations and notes, in "
            "normalized form: NFC, Arabic diacritics (tashkeel) and tatweel removed, alef, yeh "
            "and teh marbuta forms and Arabic-Indic digits folded. Use the search query, which "
            "folds your words the same way."
        ),
        "hidden": True,
        "columns": {
            "body": "The normalized text that is indexed (projections.arabic.normalize).",
            "original": "The text as recorded, for display.",
            "kind": "What the text belongs to: incident, report or claim.",
            "ref": "The id of that incident, report or claim.",
            "incident": "The incident (for claims and incidents); NULL for reports.",
            "field": "Which field: title, title_ar, quote, translation or note.",
            "seq": _SEQ,
        },
    },
    "search_incidents": {
        "description": (
            "The search_index rows of each incident (its title, its claims' texts): what a "
            "search within one incident reads, indexed by incident."
        ),
        "hidden": True,
        "columns": {
            "row": "The search_index row (its rowid).",
            "incident": "The incident the text belongs to.",
        },
    },
    "search_reports": {
        "description": "The search_index rows that are a report's title, and that report.",
        "hidden": True,
        "columns": {"row": "The search_index row (its rowid).", "report": "The report's id."},
    },
}

# SQLite's own storage for the FTS5 table: hidden, described for completeness.
_FTS_SHADOWS: dict[str, dict[str, str]] = {
    "search_index_data": {"id": "FTS5 record id.", "block": "FTS5 index b-tree block."},
    "search_index_idx": {
        "segid": "FTS5 segment id.",
        "term": "FTS5 term prefix.",
        "pgno": "FTS5 page number.",
    },
    "search_index_content": {
        "id": "Row id of the search_index row.",
        **{f"c{n}": f"Stored copy of search_index column {n}." for n in range(7)},
    },
    "search_index_docsize": {"id": "Row id of the search_index row.", "sz": "Token counts."},
    "search_index_config": {"k": "FTS5 configuration key.", "v": "Its value."},
}


def table_metadata() -> dict[str, dict[str, Any]]:
    """Per-table metadata: description, columns, labels, sort order, facets, hidden flags."""
    tables = {name: dict(meta) for name, meta in _TABLES.items()}
    for name, columns in _FTS_SHADOWS.items():
        tables[name] = {
            "description": "Internal storage of the search_index full-text table (SQLite FTS5).",
            "hidden": True,
            "columns": columns,
        }
    return tables


# --- canned queries ---------------------------------------------------------------------------

_DATE = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
_FULL_KEY = _DATE + "T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z"

# :at → the stored key of the query instant. A date is the end of that day (inclusive) in
# the incident's time zone (UTC when it has none; SQLite knows no time zones, so the zone's
# offset at the end of that day comes from zone_day_ends), a full key is taken as it is, a
# date-time must carry Z or an offset (never a guessed zone), blank is now. Anything else
# gives NULL, which matches nothing.
_KNOWN = f"""known AS (
    SELECT CASE
        WHEN at = '' THEN strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'
        WHEN at GLOB '{_DATE}' THEN
            CASE WHEN date(at, '+0 days') = at THEN
                strftime('%Y-%m-%dT%H:%M:%S', at || ' 23:59:59', printf('%+d minutes', -COALESCE((
                    SELECT z.offset_minutes FROM zone_day_ends AS z
                    JOIN incidents AS i ON i.timezone = z.zone
                    WHERE i.id = :incident AND z.since <= at
                    ORDER BY z.since DESC LIMIT 1
                ), 0))) || '.999999Z'
            END
        WHEN at GLOB '{_FULL_KEY}' THEN at
        WHEN substr(at, 11) GLOB 'T*[Z+-]*' THEN strftime('%Y-%m-%dT%H:%M:%f', at) || '000Z'
    END AS at_key
    FROM (SELECT trim(COALESCE(:at, '')) AS at)
)"""

# The desk's rules as the ledger stands now (a canned query takes no recorded time): a
# claim voided (an erratum) or rejected counts nowhere, an end so voided ends nothing, and
# a proposal counts, marked ``proposed by`` its member in a ``review`` column.
_NOW = f"'{END_OF_TIME}'"
_COUNTED_END = VOIDED_END.replace(":recorded", _NOW)
_COUNTED_ASSESSMENT = VOIDED_ASSESSMENT.replace(":recorded", _NOW)


def _claim_review(claim: str) -> str:
    """SQL: ``proposed by bob`` when the claim aliased ``claim`` is a proposal waiting for
    review, else NULL (``desk_rules.proposer_sql``)."""
    return "'proposed by ' || " + proposer_sql(f"{claim}.seq", f"'claim:' || {claim}.id", _NOW)


_END_REVIEW = "'proposed by ' || " + end_proposer_sql("e", _NOW)

# Per fact: the ends in force at T that are proposals, as ``tala: c2 withdrawn by x2,
# proposed by bob``: what the answer shows only because of them.
_PROPOSED_ENDS = f"""proposed_ends AS (
    SELECT fact, group_concat(
        claimant || ': ' || claim || CASE how WHEN 'retracted' THEN ' withdrawn by '
        ELSE ' corrected by ' END || ended_by || ', ' || review, '; ') AS ends
    FROM (
        SELECT c.fact, c.claimant, c.id AS claim, e.how, e.ended_by, {_END_REVIEW} AS review
        FROM claims AS c JOIN claim_ends AS e ON e.claim = c.id, known
        WHERE c.incident = :incident AND e.published_at <= known.at_key
          AND c.claim_status NOT IN ('voided', 'rejected') {_COUNTED_END}
        ORDER BY c.fact, e.published_at, c.claimant, c.id
    )
    WHERE review IS NOT NULL GROUP BY fact
)"""

# Positions and statuses (docs/understanding.md, "Positions" and "Status"), as in
# projections.understanding: the claims published by T and not ended by T; per (fact,
# claimant) the claims at its latest known instant, read as one position (the intersection
# of their intervals, or their hull when they contradict each other, then marked
# inconsistent); per fact, single / corroborated / contested / withdrawn. An ordinary
# fact's positions agree when they share a point (one text, for text); a cumulative fact's
# when no position says more at an instant than another says at that instant or later
# (the pair test, which SQL expresses directly). The read model stores a fractional
# quantity's bounds as floats: for those this query compares approximately, where the
# command line compares exact decimals.
# Each (fact, claimant) position and each fact's status of one view: the claims of
# ``active{v}`` make ``current{v}`` (the claims of the positions), ``positions{v}`` and
# ``facts_judged{v}`` (the statuses); ``v`` names the view (empty: the default one).
_JUDGING = """ranked{v} AS (
    SELECT active{v}.*, RANK() OVER (
        PARTITION BY fact, claimant ORDER BY published_at DESC
    ) AS recency
    FROM active{v}
),
current{v} AS (SELECT * FROM ranked{v} WHERE recency = 1),
held{v} AS (
    SELECT fact, claimant, MIN(kind) AS kind, COUNT(DISTINCT kind) AS kinds,
        MAX(COALESCE(valid_to, published_at)) AS as_of,
        MAX(num_low) AS num_low_in, MIN(num_high) AS num_high_in,
        MIN(num_low) AS num_low_out,
        CASE WHEN COUNT(num_high) = COUNT(*) THEN MAX(num_high) END AS num_high_out,
        MAX(time_low) AS time_low_in, MIN(time_high) AS time_high_in,
        CASE WHEN COUNT(time_low) = COUNT(*) THEN MIN(time_low) END AS time_low_out,
        CASE WHEN COUNT(time_high) = COUNT(*) THEN MAX(time_high) END AS time_high_out,
        COUNT(DISTINCT text_value) AS texts
    FROM current{v} GROUP BY fact, claimant
),
position{v} AS (
    SELECT fact, claimant, kind, kinds, as_of, texts,
        CASE WHEN kind = 'number' AND num_high_in IS NOT NULL AND num_low_in > num_high_in
             THEN 1 WHEN kind = 'time' AND time_high_in IS NOT NULL AND time_low_in > time_high_in
             THEN 1 WHEN kind = 'text' AND texts > 1 THEN 1 ELSE 0 END AS inconsistent,
        CASE kind WHEN 'number' THEN num_low_in WHEN 'time' THEN time_low_in END AS low_in,
        CASE kind WHEN 'number' THEN num_high_in WHEN 'time' THEN time_high_in END AS high_in,
        CASE kind WHEN 'number' THEN num_low_out WHEN 'time' THEN time_low_out END AS low_out,
        CASE kind WHEN 'number' THEN num_high_out WHEN 'time' THEN time_high_out END AS high_out
    FROM held{v}
),
positions{v} AS (
    SELECT fact, claimant, kind, kinds, as_of, inconsistent,
        CASE WHEN inconsistent = 1 THEN low_out ELSE low_in END AS low,
        CASE WHEN inconsistent = 1 THEN high_out ELSE high_in END AS high,
        COUNT(*) OVER (PARTITION BY fact) AS claimants,
        MIN(kind) OVER (PARTITION BY fact) AS kind_min,
        MAX(kind) OVER (PARTITION BY fact) AS kind_max,
        MAX(kinds) OVER (PARTITION BY fact) AS kinds_max,
        (SELECT f.cumulative FROM facts AS f WHERE f.incident = :incident AND f.key = pos.fact
         ORDER BY f.version DESC LIMIT 1) AS cumulative
    FROM position{v} AS pos
),
facts_judged{v} AS (
    SELECT fact, MIN(claimants) AS claimants, MIN(kind_min) AS kind_min,
        CASE
            WHEN MIN(claimants) = 1 THEN 'single'
            WHEN MIN(kind_min) <> MAX(kind_max) OR MAX(kinds_max) > 1 THEN 'contested'
            WHEN MIN(kind_min) = 'text' THEN
                CASE WHEN EXISTS (
                    SELECT 1 FROM current{v} AS t WHERE t.fact = p.fact
                    GROUP BY t.text_value
                    HAVING COUNT(DISTINCT t.claimant)
                        = (SELECT COUNT(*) FROM position{v} AS q WHERE q.fact = p.fact)
                ) THEN 'corroborated' ELSE 'contested' END
            WHEN MIN(kind_min) = 'number' AND MAX(COALESCE(cumulative, 0)) = 1 THEN
                CASE WHEN EXISTS (
                    SELECT 1 FROM positions{v} AS a JOIN positions{v} AS b
                    ON a.fact = p.fact AND b.fact = p.fact
                    WHERE a.as_of <= b.as_of AND b.high IS NOT NULL AND a.low > b.high
                ) THEN 'contested' ELSE 'corroborated' END
            WHEN MAX(low) IS NULL OR MIN(high) IS NULL OR MAX(low) <= MIN(high)
                THEN 'corroborated'
            ELSE 'contested'
        END AS status
    FROM positions{v} AS p GROUP BY fact
)"""

_STATE_CTES = f"""WITH {_KNOWN},
active AS (
    SELECT c.* FROM claims AS c, known
    WHERE c.incident = :incident AND c.published_at <= known.at_key
      AND c.claim_status NOT IN ('voided', 'rejected')
      AND NOT EXISTS (
          SELECT 1 FROM claim_ends AS e
          WHERE e.claim = c.id AND e.published_at <= known.at_key {_COUNTED_END}
      )
),
{_JUDGING.format(v="")},
judged AS (
    SELECT c.*, f.status, p.inconsistent, COALESCE(p.cumulative, 0) AS cumulative,
        p.low AS position_low, p.high AS position_high, p.as_of
    FROM current AS c
    JOIN facts_judged AS f ON f.fact = c.fact
    JOIN positions AS p ON p.fact = c.fact AND p.claimant = c.claimant
)"""

# The facts seen by T: the claims known then that the desk did not void (a fact none of
# whose claims is in force then is withdrawn).
_SEEN = """seen AS (
    SELECT DISTINCT c.fact FROM claims AS c, known
    WHERE c.incident = :incident AND c.published_at <= known.at_key
      AND c.claim_status NOT IN ('voided', 'rejected')
)"""

# A fact's status that only proposals give, marked as ``ledger state`` marks it
# (projections.proposal_ends, ``mark_proposed_statuses``): the status differs from the
# reviewed view's (proposals left out, as ``--reviewed-only``), and someone proposed what
# the fact shows: a claim of its positions, or the end that took a position of the
# reviewed view all away (the first such end of that position's first claim). Only the
# facts where either is found (``pending``) are judged in the reviewed view too; a ledger
# where nothing was ever proposed has none.
_ANY_PROPOSED = "EXISTS (SELECT 1 FROM batches WHERE proposed = 1)"
_REVIEWED_CLAIM_NOW = REVIEWED_CLAIM.replace(":recorded", _NOW)
_REVIEWED_END_NOW = REVIEWED_END.replace(":recorded", _NOW)
_STATUS_MARKS = f"""proposed_claims AS (
    SELECT * FROM (
        SELECT c.fact, c.id, {proposer_sql("c.seq", "'claim:' || c.id", _NOW)} AS member
        FROM claims AS c, known
        WHERE {_ANY_PROPOSED} AND c.incident = :incident AND c.published_at <= known.at_key
    ) WHERE member IS NOT NULL
),
proposed_end_of AS (
    SELECT * FROM (
        SELECT c.fact, e.claim, e.published_at, e.seq, {end_proposer_sql("e", _NOW)} AS member
        FROM claims AS c JOIN claim_ends AS e ON e.claim = c.id, known
        WHERE {_ANY_PROPOSED} AND c.incident = :incident
          AND e.published_at <= known.at_key {_COUNTED_END}
    ) WHERE member IS NOT NULL
),
pending AS (SELECT fact FROM proposed_claims UNION SELECT fact FROM proposed_end_of),
active_reviewed AS (
    SELECT c.* FROM claims AS c, known
    WHERE c.fact IN (SELECT fact FROM pending) AND c.incident = :incident
      AND c.published_at <= known.at_key AND c.claim_status NOT IN ('voided', 'rejected')
      {_REVIEWED_CLAIM_NOW}
      AND NOT EXISTS (
          SELECT 1 FROM claim_ends AS e
          WHERE e.claim = c.id AND e.published_at <= known.at_key {_COUNTED_END}
          {_REVIEWED_END_NOW}
      )
),
{_JUDGING.format(v="_reviewed")},
reviewed_statuses AS (
    SELECT fact, status FROM facts_judged_reviewed
    UNION ALL
    SELECT DISTINCT c.fact, 'withdrawn' FROM claims AS c, known
    WHERE c.fact IN (SELECT fact FROM pending)
      AND c.fact NOT IN (SELECT fact FROM positions_reviewed) AND c.incident = :incident
      AND c.published_at <= known.at_key AND c.claim_status NOT IN ('voided', 'rejected')
      {_REVIEWED_CLAIM_NOW}
),
shown_statuses AS (
    SELECT fact, status FROM facts_judged WHERE fact IN (SELECT fact FROM pending)
    UNION ALL
    SELECT fact, 'withdrawn' FROM seen
    WHERE fact IN (SELECT fact FROM pending) AND fact NOT IN (SELECT fact FROM positions)
),
status_proposers AS (
    SELECT DISTINCT fact, member FROM (
        SELECT p.fact, p.member FROM proposed_claims AS p JOIN current AS d ON d.id = p.id
        UNION ALL
        SELECT r.fact, (
            SELECT x.member FROM current_reviewed AS y JOIN proposed_end_of AS x ON x.claim = y.id
            WHERE y.fact = r.fact AND y.claimant = r.claimant
            ORDER BY y.id, x.published_at, x.seq LIMIT 1
        )
        FROM current_reviewed AS r GROUP BY r.fact, r.claimant
        HAVING NOT EXISTS (
            SELECT 1 FROM current_reviewed AS y JOIN current AS d ON d.id = y.id
            WHERE y.fact = r.fact AND y.claimant = r.claimant
        )
    ) WHERE member IS NOT NULL
),
status_marks AS (
    SELECT s.fact, r.status AS reviewed, {
    status_words_sql(
        "(SELECT group_concat(member, ', ') FROM (SELECT w.member FROM status_proposers AS w "
        "WHERE w.fact = s.fact ORDER BY w.member))",
        "r.status",
    )
} AS words
    FROM shown_statuses AS s LEFT JOIN reviewed_statuses AS r ON r.fact = s.fact
    WHERE r.status IS NOT s.status AND s.fact IN (SELECT fact FROM status_proposers)
)"""


# A question that cannot be answered gets one row saying why (in its first column, the
# others empty), and an answer with nothing in it one row saying so: never zero rows, which
# a reader cannot tell from a broken page. ``row_kind`` puts those rows first and is not
# shown. Each query defines ``result`` (its answer) and ``problem`` (one row: NULL or why).
_ONE_ROW_WHEN_WRONG = """SELECT {columns} FROM (
    SELECT 1 AS row_kind, {columns} FROM result WHERE (SELECT message FROM problem) IS NULL
    UNION ALL
    SELECT 0, message, {nulls} FROM problem WHERE message IS NOT NULL
    UNION ALL
    SELECT 0, '{empty}', {nulls}
    WHERE (SELECT message FROM problem) IS NULL AND NOT EXISTS (SELECT 1 FROM result)
)
ORDER BY row_kind, {order}"""


NOTHING_KNOWN = "Nothing was known about it then."
_NO_CLAIM_OF_SOURCE = "This source made, published or relayed no claim."


def _one_row(columns: str, order: str, empty: str) -> str:
    """The final SELECT of a query (``_ONE_ROW_WHEN_WRONG``) over ``result``."""
    nulls = ", ".join(["NULL"] * columns.count(","))
    return _ONE_ROW_WHEN_WRONG.format(columns=columns, nulls=nulls, order=order, empty=empty)


_NO_INCIDENT = (
    "WHEN trim(COALESCE(:incident, '')) = '' THEN "
    "'Choose an incident: its id, e.g. ghwayran-2022 (the incidents table lists them).' "
    "WHEN NOT EXISTS (SELECT 1 FROM incidents WHERE id = :incident) "
    "THEN 'Unknown incident: ' || :incident || ' (the incidents table lists them).'"
)
_PROBLEM_AT = f"""problem AS (SELECT CASE {_NO_INCIDENT}
    WHEN (SELECT at_key FROM known) IS NULL THEN 'Not a date: ' || :at
        || ' (give YYYY-MM-DD, a date-time with Z or an offset, or leave it blank for now).'
    END AS message)"""

_STATE_COLUMNS = (
    "fact, status, claimant, claimant_name, value, qualifier, interval_min, interval_max, "
    "position_min, position_max, inconsistent, report, outlet, via, published_at, as_of, "
    "claim, review, proposed_ends, quote, translation, known_at"
)

_STATE_AT = f"""{_STATE_CTES},
{_SEEN},
{_STATUS_MARKS},
answer AS (
    SELECT j.fact, j.status, j.claimant, s.name AS claimant_name, j.value,
        COALESCE(j.qualifier, CASE j.kind WHEN 'number' THEN 'exact' END) AS qualifier,
        CASE j.kind WHEN 'number' THEN j.num_low WHEN 'time' THEN j.time_low END AS interval_min,
        CASE j.kind WHEN 'number' THEN j.num_high WHEN 'time' THEN j.time_high END AS interval_max,
        j.position_low AS position_min, j.position_high AS position_max, j.inconsistent,
        j.report, j.source AS outlet, j.via, j.published_at, j.as_of, j.id AS claim,
        {_claim_review("j")} AS review, j.quote, j.translation
    FROM judged AS j LEFT JOIN sources AS s ON s.id = j.claimant
    UNION ALL
    SELECT seen.fact, 'withdrawn', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM seen WHERE seen.fact NOT IN (SELECT fact FROM positions)
),
{_PROPOSED_ENDS},
result AS (
    SELECT a.fact, {with_status_words_sql("a.status", "m.words")} AS status, claimant,
        claimant_name, value, qualifier, interval_min, interval_max, position_min,
        position_max, inconsistent, report, outlet, via, published_at, as_of, claim, review,
        p.ends AS proposed_ends, quote, translation, (SELECT at_key FROM known) AS known_at
    FROM answer AS a LEFT JOIN proposed_ends AS p ON p.fact = a.fact
    LEFT JOIN status_marks AS m ON m.fact = a.fact
),
{_PROBLEM_AT}
{_one_row(_STATE_COLUMNS, "fact, published_at, claimant, claim", NOTHING_KNOWN)}"""

# A claim's value in words: "sohr: at_least 20", "sdf: sdf", "misryoum: 2022-01-20".
_POSITION_TEXT = (
    "j.claimant || ': ' || COALESCE(j.qualifier || ' ', '') || "
    "CASE WHEN json_valid(j.value) AND json_type(j.value) = 'text' "
    "THEN json_extract(j.value, '$') ELSE j.value END"
)

_CONTESTED_COLUMNS = (
    "fact, status, claimants, kind, range_min, range_max, positions, claims, proposals, "
    "proposed_ends, last_published_at, known_at"
)

_CONTESTED_FACTS = f"""{_STATE_CTES},
{_SEEN},
{_STATUS_MARKS},
{_PROPOSED_ENDS},
result AS (SELECT j.fact,
    {
    with_status_words_sql(
        "MIN(j.status)", "(SELECT m.words FROM status_marks AS m WHERE m.fact = j.fact)"
    )
} AS status,
    COUNT(DISTINCT j.claimant) AS claimants,
    CASE WHEN MIN(j.kind) = MAX(j.kind) THEN MIN(j.kind) ELSE 'mixed' END AS kind,
    CASE
        WHEN MIN(j.kind) <> MAX(j.kind) THEN NULL
        WHEN MIN(j.kind) IN ('number', 'time') AND COUNT(j.position_low) = COUNT(*)
            THEN MIN(j.position_low)
    END AS range_min,
    CASE
        WHEN MIN(j.kind) <> MAX(j.kind) THEN NULL
        -- a cumulative fact: a position older than the latest bounds the latest total only
        -- from below
        WHEN MAX(j.cumulative) = 1 AND MIN(j.as_of) < MAX(j.as_of) THEN NULL
        WHEN MIN(j.kind) IN ('number', 'time') AND COUNT(j.position_high) = COUNT(*)
            THEN MAX(j.position_high)
    END AS range_max,
    group_concat({_POSITION_TEXT}, '; ') AS positions,
    group_concat(j.id, ' ') AS claims,
    group_concat(j.id || ' ' || j.review, '; ') AS proposals,
    (SELECT p.ends FROM proposed_ends AS p WHERE p.fact = j.fact) AS proposed_ends,
    MAX(j.published_at) AS last_published_at,
    (SELECT at_key FROM known) AS known_at
FROM (SELECT *, {_claim_review("judged")} AS review FROM judged
      -- contested, or contested in the reviewed view and made otherwise only by proposals
      WHERE status = 'contested'
         OR fact IN (SELECT m.fact FROM status_marks AS m WHERE m.reviewed = 'contested')
      ORDER BY fact, published_at, claimant, id) AS j
GROUP BY j.fact),
{_PROBLEM_AT}
{_one_row(_CONTESTED_COLUMNS, "fact", "No fact was contested then.")}"""

# The first end of a claim (a claim is corrected at most once, but may also be retracted).
_FIRST_END = f"""LEFT JOIN claim_ends AS e ON e.rowid = (
    SELECT e.rowid FROM claim_ends AS e WHERE e.claim = c.id {_COUNTED_END}
    ORDER BY e.published_at, e.seq LIMIT 1
)"""

# What the desk made of a claim, and of its end: a proposal waiting for review (``proposed by
# bob``), a rejected proposal or a voided claim (an entry error).
_REVIEWS = f"""CASE WHEN c.claim_status IN ('voided', 'rejected') THEN c.claim_status
        ELSE {_claim_review("c")} END AS review,
    CASE WHEN e.claim IS NOT NULL THEN {_END_REVIEW} END AS end_review"""

_CLAIMS_BY_SOURCE_COLUMNS = (
    "claim, incident, fact, value, qualifier, role, claimant, outlet, via, report, "
    "published_at, status, review, ended_by, ended_in, ended_at, end_review, assessments, "
    "quote, translation"
)

_CLAIMS_BY_SOURCE = f"""WITH result AS (
SELECT c.id AS claim, c.incident, c.fact, c.value, c.qualifier,
    CASE
        WHEN c.claimant = :source THEN 'claimant'
        WHEN c.source = :source THEN 'outlet'
        ELSE 'relay'
    END AS role,
    c.claimant, c.source AS outlet, c.via, c.report, c.published_at,
    CASE WHEN c.claim_status IN ('voided', 'rejected') THEN c.claim_status
        ELSE COALESCE(e.how, 'active') END AS status, e.ended_by, e.report AS ended_in,
    e.published_at AS ended_at, {_REVIEWS},
    (SELECT group_concat(a.verdict || ' (' || a.by || COALESCE(', proposed by ' || {
    proposer_sql("a.seq", "'assessment:' || a.id", _NOW)
}, '') || ')', '; ')
     FROM assessments AS a WHERE a.claim = c.id {_COUNTED_ASSESSMENT}) AS assessments,
    c.quote, c.translation
FROM claims AS c
{_FIRST_END}
WHERE c.claimant = :source OR c.source = :source
   OR EXISTS (SELECT 1 FROM json_each(c.via) WHERE json_each.value = :source)
ORDER BY c.published_at, c.seq),
problem AS (SELECT CASE
    WHEN trim(COALESCE(:source, '')) = '' THEN
        'Choose a source: its id, e.g. sohr (the sources table lists them).'
    WHEN NOT EXISTS (SELECT 1 FROM sources WHERE id = :source)
        THEN 'Unknown source: ' || :source || ' (the sources table lists them).'
    END AS message)
{_one_row(_CLAIMS_BY_SOURCE_COLUMNS, "published_at", _NO_CLAIM_OF_SOURCE)}"""

_FACT_HISTORY_COLUMNS = (
    "published_at, claim, claimant, value, qualifier, interval_min, interval_max, report, "
    "outlet, via, corrects, review, ended_how, ended_by, ended_in, ended_at, end_review, "
    "recorded_at, quote, translation"
)

_FACT_HISTORY = f"""WITH result AS (
SELECT c.published_at, c.id AS claim, c.claimant, c.value, c.qualifier,
    CASE c.kind WHEN 'number' THEN c.num_low WHEN 'time' THEN c.time_low END AS interval_min,
    CASE c.kind WHEN 'number' THEN c.num_high WHEN 'time' THEN c.time_high END AS interval_max,
    c.report, c.source AS outlet, c.via, c.corrects,
    e.how AS ended_how, e.ended_by, e.report AS ended_in, e.published_at AS ended_at,
    {_REVIEWS}, c.recorded_at, c.quote, c.translation
FROM claims AS c
{_FIRST_END}
WHERE c.incident = :incident AND c.fact = :fact),
problem AS (SELECT CASE {_NO_INCIDENT}
    WHEN trim(COALESCE(:fact, '')) = '' THEN
        'Choose a fact, e.g. killed.security_forces (the facts table lists them).'
    WHEN NOT EXISTS (SELECT 1 FROM claims WHERE incident = :incident AND fact = :fact)
        THEN 'No claim on ' || :fact || ' in ' || :incident || '.'
    END AS message)
{_one_row(_FACT_HISTORY_COLUMNS, "published_at, recorded_at, claim", "")}"""


def _search_folds() -> list[tuple[str, str]]:
    """The single-character rewrites projections.arabic.normalize makes in the Arabic block."""
    folds = []
    for code in range(0x0600, 0x0700):
        character = chr(code)
        folded = normalize(character)
        if folded != character:
            folds.append((character, folded))
    return folds


def _sql_text(text: str) -> str:
    if text.isascii():
        return "'" + text.replace("'", "''") + "'"
    return " || ".join(f"char(0x{ord(c):04X})" for c in text)


def fold_rows() -> str:
    """SQL ``VALUES`` rows ``(step, character, replacement)``: the folds of the search form.

    Diacritics and tatweel are removed, alef, yeh and teh marbuta forms and
    Arabic-Indic digits folded, one character per row. The rewrites are derived
    from ``projections.arabic.normalize`` itself, so the two cannot drift apart
    (NFC composition, which SQL cannot do, is the only step left out).
    """
    return ",\n        ".join(
        f"({step}, char(0x{ord(character):04X}), {_sql_text(folded)})"
        for step, (character, folded) in enumerate(_search_folds(), start=1)
    )


# Each word becomes a quoted FTS5 term (all must match), as Datasette's own search does, so
# that punctuation in a query is never read as FTS5 syntax. Runs of spaces leave empty terms,
# which FTS5 ignores; a blank query matches nothing. The folds are applied one per step of a
# recursive CTE (nesting ~80 replace() calls would overflow SQLite's parser stack).
_SEARCH = f"""WITH RECURSIVE folds(step, character, replacement) AS (
    VALUES
        {fold_rows()}
),
folded(step, terms) AS (
    SELECT 0, '"' || replace(trim(replace(replace(replace(
        COALESCE(:q, ''), '"', ' '), char(9), ' '), char(10), ' ')), ' ', '" "') || '"'
    UNION ALL
    SELECT folded.step + 1, replace(folded.terms, folds.character, folds.replacement)
    FROM folded JOIN folds ON folds.step = folded.step + 1
)
SELECT search_index.kind, search_index.ref, search_index.incident, claims.fact,
    claims.claimant, search_index.field, search_index.original,
    snippet(search_index, 0, '[', ']', '…', 16) AS matched
FROM search_index
LEFT JOIN claims ON search_index.kind = 'claim' AND claims.id = search_index.ref
WHERE search_index MATCH (SELECT terms FROM folded ORDER BY step DESC LIMIT 1)
ORDER BY rank"""


_INCIDENT_AT_HELP = {
    "incident": "The incident's id, e.g. ghwayran-2022 (the incidents table lists them).",
    "at": (
        "A date, YYYY-MM-DD (the end of that day in the incident's time zone), or a "
        "date-time with Z or an offset; blank for now."
    ),
}


_PARAM_HELP: dict[str, dict[str, str]] = {
    "state_at": _INCIDENT_AT_HELP,
    "contested_facts": _INCIDENT_AT_HELP,
    "claims_by_source": {"source": "A source's id, e.g. sohr (the sources table lists them)."},
    "fact_history": {
        "incident": _INCIDENT_AT_HELP["incident"],
        "fact": "A fact's key, e.g. killed.security_forces (the facts table lists them).",
    },
    "search": {"q": "One or more words, Arabic or English; every word must match."},
}


_DESK_NOW = (
    " As the desk's work stands now: a record voided by an erratum or a rejected proposal "
    "counts nowhere, and a proposal waiting for an editor counts, marked in review "
    "('proposed by bob')."
)


_STATUS_ONLY_PROPOSALS = (
    " A status that only proposals give — the reviewed view, which leaves them out "
    "(`ledger state --reviewed-only`), gives the fact another, or counts none of its claims "
    "— says so, as `ledger state` does: single (proposed by bob; reviewed: contested)."
)


# Over 60 lines: a table of the canned queries, one entry each, with no logic.
def canned_queries() -> dict[str, dict[str, Any]]:
    """Datasette canned queries over the read model, keyed by their URL name.

    Each hides its SQL (``hide_sql``; ``?_show_sql=1`` shows it) and has a title, a
    description and ``param_help``, one line per parameter, which the query page of
    ``ledger serve`` shows beside each field (Datasette itself has no such key)."""
    queries: dict[str, dict[str, Any]] = {
        "state_at": {
            "title": "State of an incident at a date",
            "description": (
                "What was understood about an incident at known time T: one row per claim of a "
                "(fact, claimant) position — that claimant's most recently published report's "
                "claims among those published by T and not retracted or corrected by T — with the "
                "fact's status: "
                "single (one claimant), corroborated (all positions share a common point, or the "
                "same text), contested (no common point, or different texts) or withdrawn (claims "
                "existed, none is active; one row with no position). incident: an incident id "
                "(e.g. ghwayran-2022). at: a date YYYY-MM-DD meaning the end of that day in the "
                "incident's time zone (UTC when it has none) "
                "(inclusive), a date-time with Z or an offset, or a full key; blank = now. "
                "interval_min/interval_max are the interval the claim admits (NULL = unbounded; "
                "empty for text). Same answer as `ledger state INCIDENT --at T`."
                + _DESK_NOW
                + " proposed_ends lists the fact's ends in force that are proposals (tala: c2 "
                "withdrawn by x2, proposed by bob): a position they took away is not shown."
                + _STATUS_ONLY_PROPOSALS
            ),
            "sql": _STATE_AT,
            "params": ["incident", "at"],
        },
        "contested_facts": {
            "title": "Contested facts of an incident at a date",
            "description": (
                "The facts whose current positions have no common point (or differ in text) at "
                "known time T, one row per fact: how many claimants, the range of their "
                "intervals (NULL = unbounded), each position in words and the claim ids, "
                "with the proposals among them and the ends in force that are proposals. "
                "status: contested, or, when only proposals make it so, as state_at says it: "
                "contested (proposed by bob; reviewed: single); a contest only proposals undo "
                "is listed too: single (proposed by bob; reviewed: contested). "
                "Parameters as in state_at."
            ),
            "sql": _CONTESTED_FACTS,
            "params": ["incident", "at"],
        },
        "claims_by_source": {
            "title": "Claims by a source",
            "description": (
                "Every claim a source made, published or relayed (source: a source id such as "
                "sohr), in known-time order, with its report, its role (claimant, outlet or "
                "relay) and its status as the ledger stands now: active, retracted or corrected "
                "(with what ended it and when), or voided or rejected (it counts nowhere), "
                "plus any fact-checkers' verdicts. review: "
                "what the desk made of the claim (proposed by bob, rejected, voided); "
                "end_review: its end's (proposed by bob). An end voided or rejected ends nothing."
            ),
            "sql": _CLAIMS_BY_SOURCE,
            "params": ["source"],
        },
        "fact_history": {
            "title": "History of a fact",
            "description": (
                "Every claim on one fact of an incident (e.g. incident ghwayran-2022, fact "
                "killed.security_forces) in the order the world learnt them (published_at), "
                "with its interval (NULL = unbounded) and, if it was retracted or corrected, "
                "how, by what and from when. A toll that rises is history, not disagreement. "
                "review and end_review as in claims_by_source."
            ),
            "sql": _FACT_HISTORY,
            "params": ["incident", "fact"],
        },
        "search": {
            "title": "Search quotes, translations, notes and titles",
            "description": (
                "Full-text search, Arabic and English (q: one or more words; every word must "
                "match). The index holds normalized text; this query folds your words the same "
                "way (diacritics, tatweel, alef/yeh/teh marbuta forms, Arabic-Indic digits), "
                "and the command line (ledger search) normalizes for you completely. matched "
                "shows the normalized text with the hits in [brackets]; original is the text as "
                "recorded."
            ),
            "sql": _SEARCH,
            "params": ["q"],
        },
    }
    for name, query in queries.items():
        query |= {"hide_sql": True, "param_help": _PARAM_HELP[name]}
    return queries


def build_metadata(database: str) -> dict[str, Any]:
    """The Datasette metadata document for the read model served as ``database``."""
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "license": LICENSE,
        "source": SOURCE,
        "databases": {
            database: {
                "description": DESCRIPTION,
                "tables": table_metadata(),
                "queries": canned_queries(),
            }
        },
    }
