"""The desk's rules of what counts, as SQL the understanding's queries take in.

- A record in ``voided`` (an erratum, or a rejected proposal) counts no more from
  the erratum's or rejection's recorded time, at every known time: a claim so
  voided is as if never entered, and a retraction or correction so voided ends
  nothing. As recorded before it, it still counts. An erratum of a report, a
  source or an incident voids every claim that report, source or incident holds,
  and (a report, a source) every retraction or correction it reports.
- With ``reviewed_only``, a claim, correction or retraction entered in a
  proposed batch (a reporter's, with review required) counts only once an
  editor's approval is recorded.

The clauses are added to the queries only where they can change an answer (a
ledger with something voided; a reviewed-only question), so the common query
stays as fast as it was.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, MutableMapping
from typing import Any

VOIDED_CLAIM = """
      AND NOT EXISTS (
          SELECT 1 FROM voided v
          WHERE v.record IN ('claim:' || c.id, 'report:' || c.report, 'source:' || c.source,
                             'incident:' || c.incident)
            AND v.recorded_at <= :recorded
      )"""

VOIDED_END = """
            AND NOT EXISTS (
                SELECT 1 FROM voided v
                WHERE v.record IN (
                    (CASE e.how WHEN 'retracted' THEN 'retraction:' ELSE 'claim:' END)
                        || e.ended_by,
                    'report:' || e.report,
                    'source:' || (SELECT r.source FROM reports r WHERE r.id = e.report))
                  AND v.recorded_at <= :recorded
            )"""


def _unreviewed(seq: str, record: str) -> str:
    """SQL: the event at position ``seq`` was proposed and ``record`` is not approved by R."""
    return f"""(
          (SELECT b.proposed FROM batches b WHERE b.first <= {seq} AND b.last >= {seq}
           ORDER BY b.first DESC LIMIT 1) = 1
          AND NOT EXISTS (
              SELECT 1 FROM reviews w
              WHERE w.record = {record} AND w.verdict = 'approve' AND w.recorded_at <= :recorded
          )
      )"""


REVIEWED_CLAIM = f"""
      AND NOT {_unreviewed("c.seq", "'claim:' || c.id")}"""

REVIEWED_END = f"""
            AND NOT {
    _unreviewed(
        "e.seq",
        "(CASE e.how WHEN 'retracted' THEN 'retraction:' ELSE 'claim:' END) || e.ended_by",
    )
}"""


def desk_clauses(db: sqlite3.Connection, reviewed_only: bool) -> tuple[str, str]:
    """The clauses a claim (``c``) and an end of it (``e``) must pass, for this read model
    and question: empty when nothing the desk did can change the answer."""
    claim, end = "", ""
    if db.execute("SELECT EXISTS (SELECT 1 FROM voided)").fetchone()[0]:
        claim, end = VOIDED_CLAIM, VOIDED_END
    if reviewed_only:
        claim, end = claim + REVIEWED_CLAIM, end + REVIEWED_END
    return claim, end


def counted_retraction(desk_end: str, retraction: str = "r") -> str:
    """SQL: the retraction aliased ``retraction`` ends its claim by the desk's rules
    (``desk_end`` from :func:`desk_clauses`); empty when none apply."""
    if not desk_end:
        return ""
    return (
        "AND EXISTS (SELECT 1 FROM claim_ends e WHERE e.how = 'retracted' "
        f"AND e.ended_by = {retraction}.id {desk_end})"
    )


PROPOSED = "proposed"
"""``review`` of a position, entry or record shown that is a proposal not yet approved."""

_PROPOSED = """
SELECT x.id FROM {table} x
WHERE x.id IN (SELECT value FROM json_each(:ids)) AND {unreviewed}
"""
_PROPOSED_OF = {
    kind: _PROPOSED.format(table=table, unreviewed=_unreviewed("x.seq", f"'{kind}:' || x.id"))
    for kind, table in (("claim", "claims"), ("retraction", "retractions"))
}


def proposed_records(
    db: sqlite3.Connection, ids: Iterable[str], recorded: str, kind: str = "claim"
) -> set[str]:
    """Which of these claims (or retractions) are proposals no editor had approved by
    ``recorded`` (a storage key): none, without a read, where nothing was ever proposed."""
    wanted = sorted(set(ids))
    if not wanted or not db.execute(_ANY_PROPOSED).fetchone()[0]:
        return set()
    rows = db.execute(_PROPOSED_OF[kind], {"ids": json.dumps(wanted), "recorded": recorded})
    return {str(row[0]) for row in rows}


_ANY_PROPOSED = "SELECT EXISTS (SELECT 1 FROM batches WHERE proposed = 1)"


def mark_proposals(
    db: sqlite3.Connection,
    items: Iterable[MutableMapping[str, Any]],
    recorded: str,
    kind: str = "claim",
) -> None:
    """Give each position, timeline entry or listed claim (``claim``, and ``claims`` when
    it combines several) — or, with ``kind`` ``retraction``, each retraction (``id``) —
    that is or holds a proposal not approved by ``recorded`` ``review: "proposed"``; the
    others get no ``review`` key. A proposal shown is then never taken for an approved
    record."""
    items = list(items)
    key = "id" if kind == "retraction" else "claim"
    held = {id(item): item.get("claims") or [item[key]] for item in items}
    ids = (record for records in held.values() for record in records)
    proposed = proposed_records(db, ids, recorded, kind)
    for item in items:
        if proposed.intersection(held[id(item)]):
            item["review"] = PROPOSED


def mark_proposed_ends(
    db: sqlite3.Connection, ends: Iterable[MutableMapping[str, Any]], recorded: str
) -> None:
    """Give each claim listed as ended (``how``: retracted or corrected, ``by``: the
    retraction or correction) whose end is a proposal not approved by ``recorded``
    ``end_review: "proposed"``: a claim a proposal hides is told from one a source ended."""
    ends = list(ends)
    for how, kind in (("retracted", "retraction"), ("corrected", "claim")):
        ended = [end for end in ends if end["how"] == how]
        proposed = proposed_records(db, (end["by"] for end in ended), recorded, kind)
        for end in ended:
            if end["by"] in proposed:
                end["end_review"] = PROPOSED
