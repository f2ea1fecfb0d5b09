"""The desk's rules of what counts, as SQL the understanding's queries take in.

- A record in ``voided`` (an erratum, or a rejected proposal) counts no more from
  the erratum's or rejection's recorded time, at every known time: a claim so
  voided is as if never entered, and a retraction or correction so voided ends
  nothing. As recorded before it, it still counts. An erratum of a report, a
  source or an incident voids every claim that report, source or incident holds,
  and (a report, a source) every retraction or correction it reports.
- An assessment counts only while its claim does, and an erratum or rejection of it
  voids it alike.
- With ``reviewed_only``, a claim, correction, retraction or assessment entered in a
  proposed batch (a reporter's, with review required) counts only once an
  editor's approval is recorded.

The clauses are added to the queries only where they can change an answer (a
ledger with something voided; a reviewed-only question), so the common query
stays as fast as it was.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from incident_ledger.projections.desk_projection import recorded_by_sql
from incident_ledger.projections.results import position_claims

_VOIDING_CLAIM = """('claim:' || c.id, 'report:' || c.report, 'source:' || c.source,
                             'incident:' || c.incident)"""
"""SQL: the records whose voiding voids a claim (``c``): itself, its report, source, incident."""

VOIDED_CLAIM = f"""
      AND NOT EXISTS (
          SELECT 1 FROM voided v
          WHERE v.record IN {_VOIDING_CLAIM}
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


VOIDED_ASSESSMENT = """
      AND NOT EXISTS (
          SELECT 1 FROM voided v WHERE v.record = 'assessment:' || a.id
            AND v.recorded_at <= :recorded
      )"""


def _unreviewed(seq: str, record: str, recorded: str = ":recorded") -> str:
    """SQL: the event at position ``seq`` was proposed and ``record`` is not approved by R
    (``recorded``: a parameter or an SQL key)."""
    return f"""(
          (SELECT b.proposed FROM batches b WHERE b.first <= {seq} AND b.last >= {seq}
           ORDER BY b.first DESC LIMIT 1) = 1
          AND NOT EXISTS (
              SELECT 1 FROM reviews w
              WHERE w.record = {record} AND w.verdict = 'approve' AND w.recorded_at <= {recorded}
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
    if any_voided(db):
        claim, end = VOIDED_CLAIM, VOIDED_END
    if reviewed_only:
        claim, end = claim + REVIEWED_CLAIM, end + REVIEWED_END
    return claim, end


def assessment_clause(db: sqlite3.Connection, reviewed_only: bool) -> str:
    """The clause an assessment (``a``) must pass, beside its claim's: not voided (an
    erratum of it, or its rejection), and with ``reviewed_only`` not a proposal waiting for
    an editor's approval; empty when nothing the desk did can change the answer."""
    clause = VOIDED_ASSESSMENT if any_voided(db) else ""
    if reviewed_only:
        clause += f"""
      AND NOT {_unreviewed("a.seq", "'assessment:' || a.id")}"""
    return clause


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


def proposer_sql(seq: str, record: str, recorded: str = ":recorded") -> str:
    """SQL: who proposed ``record`` (an SQL expression naming it, ``'claim:' || c.id``),
    entered at position ``seq``, when it is a proposal no editor had approved, and no
    rejection or erratum voided, by ``recorded`` (a parameter or an SQL key); else NULL."""
    return f"""(CASE WHEN {_unreviewed(seq, record, recorded)}
      AND NOT EXISTS (
          SELECT 1 FROM voided v WHERE v.record = {record} AND v.recorded_at <= {recorded}
      ) THEN {recorded_by_sql(seq)} END)"""


def end_proposer_sql(end: str = "e", recorded: str = ":recorded") -> str:
    """SQL: who proposed the end aliased ``end`` (a ``claim_ends`` row), as
    :func:`proposer_sql` says of the retraction or correction that makes it."""
    record = (
        f"(CASE {end}.how WHEN 'retracted' THEN 'retraction:' ELSE 'claim:' END) || {end}.ended_by"
    )
    return proposer_sql(f"{end}.seq", record, recorded)


_PROPOSED_OF = {
    kind: f"""SELECT id, member FROM (
    SELECT x.id, {proposer_sql("x.seq", f"'{kind}:' || x.id")} AS member FROM {table} x
    WHERE x.id IN (SELECT value FROM json_each(:ids))
) WHERE member IS NOT NULL"""
    for kind, table in (
        ("claim", "claims"),
        ("retraction", "retractions"),
        ("assessment", "assessments"),
    )
}


def proposed_records(
    db: sqlite3.Connection, ids: Iterable[str], recorded: str, kind: str = "claim"
) -> dict[str, str]:
    """Which of these claims (or retractions, or assessments) are proposals no editor had
    approved (nor rejected) by ``recorded`` (a storage key), each with the member who
    proposed it: none, without a read, where nothing was ever proposed."""
    wanted = sorted(set(ids))
    if not wanted or not any_proposed(db):
        return {}
    rows = db.execute(_PROPOSED_OF[kind], {"ids": json.dumps(wanted), "recorded": recorded})
    return {str(record): str(member) for record, member in rows}


_ANY_PROPOSED = "SELECT EXISTS (SELECT 1 FROM batches WHERE proposed = 1)"


def any_voided(db: sqlite3.Connection) -> bool:
    """Whether an erratum voided anything in this ledger (one probe)."""
    return bool(db.execute("SELECT EXISTS (SELECT 1 FROM voided)").fetchone()[0])


def any_proposed(db: sqlite3.Connection) -> bool:
    """Whether anything was ever proposed in this ledger (one indexed probe)."""
    return bool(db.execute(_ANY_PROPOSED).fetchone()[0])


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
    if not any_proposed(db):  # one probe, not a look at each item (a diff lists 100,000)
        return
    items = list(items)
    key = "id" if kind == "retraction" else "claim"
    held = {id(item): item.get("claims") or [item[key]] for item in items}
    ids = (record for records in held.values() for record in records)
    proposed = proposed_records(db, ids, recorded, kind)
    for item in items:
        if proposed.keys() & set(held[id(item)]):
            item["review"] = PROPOSED


END_KINDS = {"retracted": "retraction", "corrected": "claim"}
"""The kind of record that ends a claim, by how it ends it."""


def proposed_ends(
    db: sqlite3.Connection, ends: Iterable[Mapping[str, Any]], recorded: str
) -> dict[tuple[str, str], str]:
    """Which of these ends (``how``: retracted or corrected, ``by``: the retraction or the
    correcting claim) are proposals not approved by ``recorded``, each with who proposed it,
    keyed by (``how``, ``by``)."""
    ends = list(ends)
    found: dict[tuple[str, str], str] = {}
    for how, kind in END_KINDS.items():
        wanted = (end["by"] for end in ends if end["how"] == how)
        for by, member in proposed_records(db, wanted, recorded, kind).items():
            found[how, by] = member
    return found


def mark_proposed_changes(
    db: sqlite3.Connection,
    facts: Iterable[tuple[list[dict[str, Any]], Iterable[Mapping[str, Any]]]],
    recorded: str,
) -> None:
    """Mark the changes of each fact (its ``changes`` with the positions after them) that
    exist only because of a proposal not approved by ``recorded``, with ``review:
    "proposed"`` and ``proposed_by`` (who proposed it): a claimant's change whose new
    position holds a proposal, or that an end that is a proposal made (``end``); and the
    fact's status and range changes beside such a change. The others get neither key."""
    if not any_proposed(db):
        return
    listed: list[tuple[list[dict[str, Any]], dict[str, list[str]]]] = []
    for changes, positions in facts:  # the claims of each changed claimant's new position
        changed = {change["claimant"] for change in changes if "claim" in change}
        after = {
            p["claimant"]: position_claims(p)
            for p in (positions if changed else ())
            if p["claimant"] in changed
        }
        listed.append((changes, after))
    held = (claim for _, after in listed for claims in after.values() for claim in claims)
    claims = proposed_records(db, held, recorded)
    ends = proposed_ends(
        db, (c["end"] for changes, _ in listed for c in changes if "end" in c), recorded
    )
    for changes, after in listed:
        every: set[str] = set()
        for change in changes:
            new = after.get(change["claimant"], ()) if "claim" in change else ()
            who = {claims[claim] for claim in new if claim in claims}
            end = change.get("end")
            if end is not None and (end["how"], end["by"]) in ends:
                who.add(ends[end["how"], end["by"]])
            if who:
                change |= {"review": PROPOSED, "proposed_by": sorted(who)}
                every |= who
        for change in changes:
            if every and change["change"] in ("status", "range"):
                change |= {"review": PROPOSED, "proposed_by": sorted(every)}


def mark_proposed_ends(
    db: sqlite3.Connection, ends: Iterable[MutableMapping[str, Any]], recorded: str
) -> None:
    """Give each claim listed as ended (``how``: retracted or corrected, ``by``: the
    retraction or correction) whose end is a proposal not approved by ``recorded``
    ``end_review: "proposed"``: a claim a proposal hides is told from one a source ended."""
    ends = list(ends)
    proposed = proposed_ends(db, ends, recorded)
    for end in ends:
        if (end["how"], end["by"]) in proposed:
            end["end_review"] = PROPOSED


_STANDING = f"""
SELECT c.id,
    (SELECT v.how FROM voided v
     WHERE v.record IN {_VOIDING_CLAIM}
       AND v.recorded_at <= :recorded
     ORDER BY v.seq LIMIT 1),
    (SELECT json_array(e.how, e.ended_by) FROM claim_ends e
     WHERE e.claim = c.id AND e.recorded_at <= :recorded {{desk_end}}
     ORDER BY e.published_at, e.seq LIMIT 1)
FROM claims c WHERE c.id IN (SELECT value FROM json_each(:ids))
"""


def claim_standing(
    db: sqlite3.Connection, ids: Iterable[str], recorded: str
) -> dict[str, dict[str, Any]]:
    """How each of these claims stands by ``recorded``, for a list that shows claims
    whatever their standing (``search``): ``voided`` (``erratum``, or ``rejected``: a
    rejected proposal) when it counts nowhere; else ``ended`` (``how``, ``by``: its first
    end that counts, itself marked ``review: proposed`` while that end waits for an
    editor) when it was retracted or corrected, and ``review: proposed`` with
    ``proposed_by`` while it waits for an editor. A claim that stands gets none of them."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    params = {"ids": json.dumps(wanted), "recorded": recorded}
    sql = _STANDING.format(desk_end=desk_clauses(db, False)[1])
    standing: dict[str, dict[str, Any]] = {}
    for claim, voided, ended in db.execute(sql, params):
        if voided is not None:
            standing[claim] = {"voided": voided}
        elif ended is not None:
            how, by = json.loads(ended)
            standing[claim] = {"ended": {"how": how, "by": by}}
    for claim, member in proposed_records(db, wanted, recorded).items():
        if "voided" not in standing.get(claim, {}):
            standing.setdefault(claim, {}).update(review=PROPOSED, proposed_by=[member])
    # A reporter's retraction waiting for review is no retraction yet: it says so.
    ends = [held["ended"] for held in standing.values() if "ended" in held]
    proposed = proposed_ends(db, ends, recorded)
    for end in ends:
        if (proposer := proposed.get((end["how"], end["by"]))) is not None:
            end |= {"review": PROPOSED, "proposed_by": [proposer]}
    return standing
