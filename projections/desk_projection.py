"""The desk in the read model: its members, and which member recorded each event.

Errata and rejections put their record in ``voided``: from its recorded time it
counts no more (``projections.desk_rules``). Reviews and notes have tables of
their own.

Each ``Batch.Signed`` event becomes one row of ``batches``: the positions
(``seq``) of the first and last event of the batch and the member who signed
it, so "who recorded this?" is a range lookup (``recorded_by``) rather than a
column written into every row. A batch's events are the ``last - first + 1``
positions right before its signature: one write transaction holds the store's
write lock throughout, so its events take consecutive positions. The rows are written
by ``desk_handlers``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from incident_ledger.projections.positions import END_OF_TIME

BEFORE_THE_DESK = "before the desk"
"""Who recorded an event written before the ledger had desk members."""

DESK_TABLES: dict[str, tuple[dict[str, type], str | tuple[str, ...] | None]] = {
    "members": (
        {
            "id": str,
            "name": str,
            "role": str,
            "public_key": str,
            "recorded_at": str,
            "seq": int,
        },
        "id",
    ),
    "member_removals": ({"member": str, "recorded_at": str, "seq": int}, "member"),
    "batches": (
        {
            "first": int,
            "last": int,
            "member": str,
            "proposed": int,
            "recorded_at": str,
            "seq": int,
        },
        "seq",
    ),
    "errata": (
        {"record": str, "reason": str, "replaced_by": str, "recorded_at": str, "seq": int},
        "record",
    ),
    "reviews": (
        {"record": str, "verdict": str, "note": str, "recorded_at": str, "seq": int},
        "record",
    ),
    "voided": ({"record": str, "how": str, "recorded_at": str, "seq": int}, ("record", "how")),
    "notes": ({"record": str, "text": str, "recorded_at": str, "seq": int}, "seq"),
    "captures": (
        {
            "report": str,
            "sha256": str,
            "media_type": str,
            "size": int,
            "name": str,
            "recorded_at": str,
            "seq": int,
        },
        ("report", "sha256"),
    ),
}


def recorded_by_sql(seq: str) -> str:
    """SQL: the member whose signed batch holds the event at position ``seq`` (an SQL
    expression, such as ``c.seq``), NULL for an event from before the desk: the batch
    that starts last at or before it, if it reaches it (an index range lookup)."""
    return (
        f"(SELECT CASE WHEN b.last >= {seq} THEN b.member END FROM batches b "
        f"WHERE b.first <= {seq} ORDER BY b.first DESC LIMIT 1)"
    )


_RECORDED_BY = f"SELECT {recorded_by_sql(':seq')}"
_CLAIMS_RECORDED_BY = (
    f"SELECT c.id, {recorded_by_sql('c.seq')} FROM claims c "
    "WHERE c.id IN (SELECT value FROM json_each(:ids))"
)


def recorded_by(db: sqlite3.Connection, seq: int) -> str:
    """The member who recorded the event at position ``seq`` (``BEFORE_THE_DESK`` for
    an event from before the ledger had members)."""
    row = db.execute(_RECORDED_BY, {"seq": seq}).fetchone()
    return BEFORE_THE_DESK if row is None or row[0] is None else str(row[0])


_EACH_RECORDED_BY = f"SELECT j.value, {recorded_by_sql('j.value')} FROM json_each(:seqs) j"


def recorded_by_each(db: sqlite3.Connection, seqs: Iterable[int]) -> dict[int, str]:
    """``recorded_by`` of each of these event positions, in one query."""
    rows = db.execute(_EACH_RECORDED_BY, {"seqs": json.dumps(sorted(set(seqs)))})
    return {int(seq): BEFORE_THE_DESK if by is None else str(by) for seq, by in rows}


def claims_recorded_by(db: sqlite3.Connection, claims: Iterable[str]) -> dict[str, str]:
    """Who recorded each of these claims (``recorded_by``), by claim id."""
    rows = db.execute(_CLAIMS_RECORDED_BY, {"ids": json.dumps(sorted(set(claims)))})
    return {str(claim): BEFORE_THE_DESK if by is None else str(by) for claim, by in rows}


_RECORDED = "When the ledger recorded it (UTC, ISO 8601)."
_SEQ = "Its ledger position (the event's notification id)."

DESK_DESCRIPTIONS: dict[str, dict[str, Any]] = {
    "members": {
        "description": "The desk's members, as registered: their role and the key that signs "
        "their work (removals are in member_removals).",
        "sort": "id",
        "columns": {
            "id": "The member's id.",
            "name": "The member's name.",
            "role": "reporter, editor (also reviews) or admin (also manages the desk).",
            "public_key": "Their Ed25519 verifier key (C2SP note form).",
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "member_removals": {
        "description": "Members removed from the desk: from then on their key writes nothing.",
        "columns": {"member": "The member's id.", "recorded_at": _RECORDED, "seq": _SEQ},
    },
    "batches": {
        "description": "Who recorded what: each write is a batch of consecutive events signed "
        "by one member. The member who recorded the event at position p is the one of the "
        "batch with first <= p <= last; an event before every batch came before the desk.",
        "sort": "seq",
        "columns": {
            "first": "Position of the batch's first event.",
            "last": "Position of its last event (its signature is the next).",
            "member": "The member who signed it (members.id).",
            "proposed": "1 when review is required and the member a reporter: its claims, "
            "corrections, retractions and assessments wait for an editor's review.",
            "recorded_at": _RECORDED,
            "seq": "Position of the signature event.",
        },
    },
    "errata": {
        "description": "Records the desk entered by mistake: from recorded_at on they count "
        "no more, at any known time, and never against their source.",
        "columns": {
            "record": "The record (kind:id).",
            "reason": "What was entered wrong.",
            "replaced_by": "The right record entered instead (kind:id); NULL when none.",
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "reviews": {
        "description": "Editors' reviews of proposed records (approve or reject).",
        "columns": {
            "record": "The record reviewed (kind:id).",
            "verdict": "approve or reject.",
            "note": "The editor's note; NULL when none.",
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "voided": {
        "description": "Records that count no more from recorded_at on: entry errors "
        "(errata) and rejected proposals.",
        "columns": {
            "record": "The record (kind:id).",
            "how": "erratum or rejected.",
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "notes": {
        "description": "Desk notes attached to records; never counted as claims.",
        "columns": {
            "record": "The record (kind:id).",
            "text": "The note.",
            "recorded_at": _RECORDED,
            "seq": _SEQ,
        },
    },
    "captures": {
        "description": "Captured copies of reports (the page as it was), kept in the "
        "event store by their SHA-256 and hashed again by verify.",
        "columns": {
            "report": "The report (reports.id).",
            "sha256": "Hex SHA-256 of the captured file; in a bundle, evidence/<sha256>.",
            "media_type": "text/html, application/pdf, image/png or application/warc.",
            "size": "Size in bytes.",
            "name": "The file's name when it was captured.",
            "recorded_at": "When it was captured (its recorded time).",
            "seq": _SEQ,
        },
    },
}
"""The desk's tables, described for Datasette (``datasette_metadata``)."""


_DESK_ON = """
SELECT x.record, x.what, x.text, x.recorded_at, {recorded_by} FROM (
    SELECT record, 'erratum' AS what, reason AS text, recorded_at, seq FROM errata
    UNION ALL SELECT record, 'review:' || verdict, note, recorded_at, seq FROM reviews
    UNION ALL SELECT record, 'note', text, recorded_at, seq FROM notes
) x
WHERE x.recorded_at <= :recorded AND x.record IN (
    SELECT 'claim:' || id FROM claims
    WHERE incident = :incident {fact} AND published_at <= :known
    UNION ALL
    SELECT 'retraction:' || r.id FROM retractions r JOIN claims c ON c.id = r.claim
    WHERE c.incident = :incident {claim_fact} AND r.published_at <= :known{more}
)
ORDER BY x.seq
"""
_DESK_ON_FACT = _DESK_ON.format(
    recorded_by=recorded_by_sql("x.seq"),
    fact="AND fact = :fact",
    claim_fact="AND c.fact = :fact",
    more="",
)
_DESK_ON_INCIDENT = _DESK_ON.format(
    recorded_by=recorded_by_sql("x.seq"),
    fact="",
    claim_fact="",
    more="""
    UNION ALL SELECT 'incident:' || :incident
    UNION ALL
    SELECT 'report:' || report FROM claims WHERE incident = :incident AND published_at <= :known
    UNION ALL
    SELECT 'source:' || source FROM claims WHERE incident = :incident AND published_at <= :known""",
)


def desk_on_fact(db: sqlite3.Connection, params: dict[str, str]) -> list[dict[str, Any]]:
    """What the desk said about the claims of one fact (and their retractions) as recorded
    by R (``params``: incident, fact, recorded), oldest first, each with who said it."""
    return _desk_entries(db, _DESK_ON_FACT, {"known": END_OF_TIME} | params)


def desk_on_incident(db: sqlite3.Connection, incident: str, known: str) -> list[dict[str, Any]]:
    """What the desk said (errata, reviews, notes) about an incident, its claims and their
    retractions published by ``known`` (a storage key), and the reports and sources of
    those claims, oldest first, each with who said it."""
    params = {"incident": incident, "known": known, "recorded": END_OF_TIME}
    return _desk_entries(db, _DESK_ON_INCIDENT, params)


_DESK_SAID = (
    "SELECT EXISTS (SELECT 1 FROM errata) OR EXISTS (SELECT 1 FROM reviews) "
    "OR EXISTS (SELECT 1 FROM notes)"
)


def _desk_entries(db: sqlite3.Connection, sql: str, params: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if not db.execute(_DESK_SAID).fetchone()[0]:
        # The query lists the records first (a hot fact's 25,000 claims, once per desk
        # table: 0.3 s at a million claims, 5 s for a hot incident) even when the desk
        # said nothing at all, which costs this one look.
        return found
    for record, what, text, recorded, by in db.execute(sql, params):
        member = BEFORE_THE_DESK if by is None else str(by)  # as ``recorded_by`` says
        if what == "erratum":
            words = f"entry error fixed by {member}: {text}"
        elif what == "note":
            words = f"note by {member}: {text}"
        else:
            verdict = "approved" if what == "review:approve" else "rejected"
            words = f"{verdict} by {member}" + (f": {text}" if text else "")
        found.append(
            {
                "record": record,
                "what": what.split(":")[0],
                "by": member,
                "text": text,
                "recorded_at": recorded,
                "words": words,
            }
        )
    return found
