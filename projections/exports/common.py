"""What every export reads: the selection of records known at a point in time.

The rule, the same for every format: the claims of the incident(s) whose
report was published by ``at``; the retractions, corrections and assessments
published by ``at`` of those claims; and the reports, sources and incidents
they refer to. Statuses come from :func:`projections.understanding.state`, so
the exports never restate the understanding rules.

Over 400 lines: the selection is read as lists (``select``) or as it goes (``stream``),
by the same queries, kept together.
"""

from __future__ import annotations

import io
import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, partial
from typing import Any, TextIO, TypeVar

from incident_ledger.ledger.errors import VerificationError
from incident_ledger.ledger.times import local_time, to_key, utc_now, zone_or_none
from incident_ledger.projections.desk_projection import recorded_by_sql
from incident_ledger.projections.desk_rules import (
    PROPOSED,
    assessment_clause,
    counted_retraction,
    desk_clauses,
    mark_proposed_ends,
    proposed_records,
)
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.proposal_ends import mark_state_proposals, with_status_words
from incident_ledger.projections.results import StateResult
from incident_ledger.projections.understanding import (
    END_OF_TIME,
    Policy,
    grade_in_force,
    iso,
    state,
)
from incident_ledger.projections.words import value_words

Row = dict[str, Any]
T = TypeVar("T")

CLAIM_STATUSES = ("active", "retracted", "corrected", "superseded")

_INCIDENT_FILTER = "AND c.incident = :incident"

_CLAIMS = """
SELECT c.*, {recorded_by} AS recorded_by FROM claims c
WHERE c.published_at <= :known {incident_filter}
ORDER BY c.seq
"""

# The first end known by ``at`` decides a claim's status; later ones are history.
_ENDS = """
SELECT e.* FROM claim_ends e JOIN claims c ON c.id = e.claim
WHERE e.published_at <= :known AND c.published_at <= :known {incident_filter} {desk_end}
ORDER BY e.published_at, e.seq
"""

_RETRACTIONS = """
SELECT r.*, {recorded_by_r} AS recorded_by FROM retractions r JOIN claims c ON c.id = r.claim
WHERE r.published_at <= :known AND c.published_at <= :known {incident_filter} {desk_retraction}
ORDER BY r.seq
"""

_ASSESSMENTS = """
SELECT a.*, {recorded_by_a} AS recorded_by, c.incident AS incident
FROM assessments a JOIN claims c ON c.id = a.claim
WHERE a.published_at <= :known AND c.published_at <= :known {incident_filter}
{desk_assessment}
ORDER BY a.seq
"""

# The reports the selected claims and retractions cite, and the claimants and relays of
# the claims (their outlets are the reports' sources).
_REPORTS_CITED = """
SELECT c.report FROM claims c WHERE c.published_at <= :known {incident_filter}
UNION
SELECT r.report FROM retractions r JOIN claims c ON c.id = r.claim
WHERE r.published_at <= :known AND c.published_at <= :known {incident_filter}
"""

_SOURCES_CITED = """
SELECT c.claimant FROM claims c WHERE c.published_at <= :known {incident_filter}
UNION
SELECT j.value FROM claims c, json_each(c.via) j
WHERE c.via IS NOT NULL AND c.published_at <= :known {incident_filter}
"""

# What a report says of the claims without reading them: how many each claimant made in
# each incident, and each numeric fact's unit (the first given, in the log's order).
_CLAIMS_COUNTED = """
SELECT c.incident, c.claimant, count(*) FROM claims c
WHERE c.published_at <= :known {incident_filter}
GROUP BY c.incident, c.claimant
"""

_NUMERIC_UNITS = """
SELECT c.fact, c.unit FROM claims c
WHERE c.kind = 'number' AND c.published_at <= :known {incident_filter}
ORDER BY c.seq
"""

# Each source's grade in force at T, by the same rule as the understanding
_GRADES = f"""
SELECT s.id, {grade_in_force("s.id")}
FROM sources s WHERE s.id IN (SELECT value FROM json_each(:ids))
"""


class _Reading:
    """What every reading of an export answers, held as lists (``Selection``) or read as
    it goes (``Streamed``): statuses at ``at``, names, the records shown."""

    incidents: list[Row]
    claims: Iterable[Row]
    ends: dict[str, Row]
    retractions: Iterable[Row]
    assessments: Iterable[Row]
    reports: dict[str, Row]
    sources: dict[str, Row]
    states: dict[str, StateResult]
    _positions: set[str]

    def claim_status(self, claim: Row) -> str:
        """active, retracted, corrected or superseded at ``at``.

        Superseded: not ended, but a later claim of the same claimant on the
        same fact is the position (as :func:`state` decides positions).
        """
        end = self.ends.get(claim["id"])
        if end is not None:
            return str(end["how"])
        return "active" if claim["id"] in self._positions else "superseded"

    def end_review(self, claim: Row) -> str | None:
        """``proposed`` when what ended the claim at ``at`` is a proposal not yet approved
        (the claim is then ended only if that proposal is approved)."""
        end = self.ends.get(claim["id"])
        return end.get("end_review") if end is not None else None

    def fact_status(self, claim: Row) -> str:
        """The status at ``at`` of the fact the claim is about (from :func:`state`), a
        status only proposals give marked as ``state``'s table marks it
        (``single (proposed by bob; reviewed: contested)``)."""
        fact = self.states[claim["incident"]]["facts"].get(claim["fact"])
        return with_status_words(str(fact["status"]), fact) if fact else ""

    def records(self) -> Iterator[tuple[str, Row]]:
        """(kind, row) of every record shown, each row holding its event's ``seq``."""
        yield from (("incident", row) for row in self.incidents)
        yield from (("source", row) for row in self.sources.values())
        yield from (("report", row) for row in self.reports.values())
        yield from (("claim", row) for row in self.claims)
        yield from (("retraction", row) for row in self.retractions)
        yield from (("assessment", row) for row in self.assessments)

    def source_name(self, source_id: str | None) -> str:
        """A source's display name (its id when unknown)."""
        if source_id is None:
            return ""
        source = self.sources.get(source_id)
        return str(source["name"]) if source else source_id

    @cached_property
    def _zones(self) -> dict[str, str | None]:
        return {str(row["id"]): row["timezone"] for row in self.incidents}

    def zone_of(self, incident: str) -> str | None:
        """The time zone of one of the selection's incidents (None: UTC)."""
        return self._zones.get(incident)

    def assessment_published(self, row: Row) -> str:
        """An assessment's ``published_at`` as it gave it (``published_date``): its day when
        it gave only a date, read in its claim's incident's zone, else its instant."""
        zone = self.zone_of(row["incident"])
        return published_date(row["published_at"], row["published_precision"], zone)


def _positions_of(states: dict[str, StateResult]) -> set[str]:
    """The claims that are positions in force in the states."""
    return {
        position["claim"]
        for understanding in states.values()
        for fact in understanding["facts"].values()
        for position in fact["positions"]
    }


@dataclass
class Selection(_Reading):
    """The records an export shows, as plain rows keyed by column name.

    A source row's ``reliability`` is the grade in force at ``at``.
    """

    at: datetime
    known: str
    incidents: list[Row]
    claims: list[Row]
    ends: dict[str, Row]
    retractions: list[Row]
    assessments: list[Row]
    reports: dict[str, Row]
    sources: dict[str, Row]
    states: dict[str, StateResult]
    relations: list[Row] = field(default_factory=list)
    reviewed_only: bool = False
    """Selected by the reviewed view: a reporter's proposals only once approved."""
    claim_ids: set[str] = field(init=False, default_factory=set)
    _positions: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.claim_ids = {claim["id"] for claim in self.claims}
        self._positions = _positions_of(self.states)


class RowSource:
    """The rows of one query, read a page at a time each time they are iterated: what a
    streaming export reads instead of a list, so that its memory does not grow with
    the incident. Read within one read transaction of the model (``Views.snapshot``),
    every pass sees the same rows."""

    def __init__(
        self,
        db: sqlite3.Connection,
        sql: str,
        params: dict[str, Any],
        mark: Callable[[list[Row]], None] | None = None,
    ) -> None:
        self.db, self.sql, self.params, self.mark = db, sql, params, mark

    def __iter__(self) -> Iterator[Row]:
        cursor = self.db.execute(self.sql, self.params)
        columns = [d[0] for d in cursor.description]
        while page := cursor.fetchmany(ROW_PAGE):
            rows = [dict(zip(columns, values, strict=True)) for values in page]
            if self.mark is not None:
                self.mark(rows)
            yield from rows

    def count(self) -> int:
        """How many rows a pass reads."""
        return int(self.db.execute(f"SELECT count(*) FROM ({self.sql})", self.params).fetchone()[0])


ROW_PAGE = 2_000
"""Rows read, and records located in the log, at a time by a streaming export."""


@dataclass
class Streamed(_Reading):
    """``Selection`` with its claims, retractions and assessments read as they are used
    (``RowSource``); what the selection holds besides grows with the incident's reports,
    sources and positions, not its claims."""

    db: sqlite3.Connection
    at: datetime
    known: str
    incident: str | None
    incidents: list[Row]
    claims: RowSource
    ends: dict[str, Row]
    retractions: RowSource
    assessments: RowSource
    reports: dict[str, Row]
    sources: dict[str, Row]
    states: dict[str, StateResult]
    relations: list[Row]
    reviewed_only: bool = False
    desk_claim: str = ""
    """The desk's clause on claims (``desk_rules.desk_clauses``), as the claims are read."""
    _positions: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._positions = _positions_of(self.states)

    def claims_by_id(self, ids: Iterable[str]) -> dict[str, Row]:
        """The rows of these claims, by id (claims the selection shows: callers ask for
        those its other rows name)."""
        return _by_id(self.db, "claims", ids)

    def shown_claims(self, ids: Iterable[str]) -> dict[str, Row]:
        """``claims_by_id``, each row marked as the selection's claims are (a proposal
        not yet approved says so)."""
        rows = self.claims_by_id(ids)
        if self.claims.mark is not None:
            self.claims.mark(list(rows.values()))
        return rows

    def claims_of(self, incident: str) -> RowSource:
        """The claims of one of the selection's incidents, read as ``claims`` are."""
        if self.incident is not None:
            return self.claims
        claim_filter = _INCIDENT_FILTER + self.desk_claim
        sql = _CLAIMS.format(incident_filter=claim_filter, recorded_by=recorded_by_sql("c.seq"))
        return RowSource(self.db, sql, self._params(incident), self.claims.mark)

    def claims_counted(self) -> dict[tuple[str, str], int]:
        """How many claims the selection shows by (incident, claimant), in one query."""
        sql = _CLAIMS_COUNTED.format(incident_filter=self._claim_filter())
        return {(i, c): n for i, c, n in self.db.execute(sql, self._params(self.incident))}

    def numeric_units(self, incident: str) -> dict[str, str]:
        """The numeric facts of an incident's claims shown: fact → the first unit given
        (``""`` when none is)."""
        units: dict[str, str] = {}
        sql = _NUMERIC_UNITS.format(incident_filter=_INCIDENT_FILTER + self.desk_claim)
        for fact, unit in self.db.execute(sql, self._params(incident)):
            units[fact] = units.get(fact) or unit or ""
        return units

    def _claim_filter(self) -> str:
        return (_INCIDENT_FILTER if self.incident is not None else "") + self.desk_claim

    def _params(self, incident: str | None) -> dict[str, Any]:
        return {"known": self.known, "incident": incident, "recorded": END_OF_TIME}

    def has_claims(self, ids: Iterable[str]) -> set[str]:
        """Which of these claims are ones the selection shows, in one query."""
        sql = (
            "SELECT c.id FROM claims c WHERE c.id IN (SELECT value FROM json_each(:ids))"
            " AND c.published_at <= :known"
        )
        if self.incident is not None:
            sql += " " + _INCIDENT_FILTER
        params = {"ids": json.dumps(sorted(set(ids))), "known": self.known}
        return {str(row[0]) for row in self.db.execute(sql, params | {"incident": self.incident})}


LeafLocator = Callable[[Mapping[int, str]], Mapping[int, tuple[int, bytes]]]
"""Given the records shown as {read-model ``seq``: aggregate id}, where each one's creation
event is in the log: {seq: (leaf index, leaf hash)}. Raises if a row is not its record's."""


@dataclass(frozen=True)
class Provenance:
    """What lets a recipient check an export: the signed checkpoint it was made under, and
    where the event each record shown comes from is in that log.

    A record's leaf is its creation event's (a source's grade may come from a later
    rating, a claim's status from a retraction or correction: those are not its leaf).
    """

    note: str
    """The signed checkpoint (a C2SP note)."""
    origin: str
    size: int
    root: str
    """The log's root at ``size``, base64 as in the note."""
    locate: LeafLocator
    verifier: str = ""
    """The verifier key the checkpoint is signed for (a C2SP vkey), when known."""

    def leaves(self, selection: Selection) -> dict[int, Leaf]:
        """Every record of a selection: its ``seq`` → its event's leaf (index, hex hash)."""
        return self.leaves_of_records(selection.records())

    def leaves_of_records(self, records: Iterable[tuple[str, Row]]) -> dict[int, Leaf]:
        """Records given as (kind, row): each one's ``seq`` → its event's leaf."""
        wanted: dict[int, str] = {}
        for kind, row in records:
            aggregate = wanted.setdefault(row["seq"], f"{kind}:{row['id']}")
            if aggregate != f"{kind}:{row['id']}":
                raise VerificationError(
                    f"the read model has both {aggregate} and {kind}:{row['id']} at event "
                    f"{row['seq']} of the log: it does not match the store; rebuild it (replay)"
                )
        located = self.locate(wanted)
        return {seq: Leaf(index, digest.hex()) for seq, (index, digest) in located.items()}

    @property
    def head(self) -> str:
        """The checkpoint as one line: ``<origin> <size> <base64 root>``."""
        return f"{self.origin} {self.size} {self.root}"


@dataclass(frozen=True)
class Leaf:
    """Where a record's event is in the log: its leaf index and leaf hash (hex)."""

    index: int
    hash: str


def leaves_of(selection: Selection, provenance: Provenance | None) -> dict[int, Leaf]:
    """The leaves of a selection's records by ``seq`` (none without provenance)."""
    return {} if provenance is None else provenance.leaves(selection)


def with_leaves(
    kind: str, rows: Iterable[Row], provenance: Provenance | None
) -> Iterator[tuple[Row, Leaf | None]]:
    """Each row with its event's leaf (None without provenance), located ``ROW_PAGE``
    rows at a time: a streaming export holds one page of them."""
    for page in pages(rows):
        leaves = (
            {} if provenance is None else provenance.leaves_of_records((kind, row) for row in page)
        )
        for row in page:
            yield row, leaves.get(row["seq"])


def collected(write: Callable[[TextIO], None]) -> str:
    """What a streamed writer (``write_csv``, ``write_prov``, …) writes, as one string:
    the form a caller that wants the whole export in memory uses."""
    buffer = io.StringIO()
    write(buffer)
    return buffer.getvalue()


def pages(rows: Iterable[T]) -> Iterator[tuple[T, ...]]:
    """The rows ``ROW_PAGE`` at a time (``itertools.batched``, once Python 3.12 is the least)."""
    iterator = iter(rows)
    while page := tuple(itertools.islice(iterator, ROW_PAGE)):
        yield page


def select(
    db: sqlite3.Connection,
    incident: str | None,
    at: datetime | None,
    *,
    reviewed_only: bool = False,
) -> Selection:
    """Read everything known at ``at`` (now when None) about one incident or all of them,
    by the desk's rules (``desk_rules``: no entry error or rejected proposal; with
    ``reviewed_only``, a reporter's proposals only once approved).

    Raises NotFoundError for an unknown incident and ValueError for a naive ``at``.
    """
    streamed = stream(db, incident, at, reviewed_only=reviewed_only)
    return Selection(
        at=streamed.at,
        known=streamed.known,
        incidents=streamed.incidents,
        claims=list(streamed.claims),
        ends=streamed.ends,
        retractions=list(streamed.retractions),
        assessments=list(streamed.assessments),
        reports=streamed.reports,
        sources=streamed.sources,
        states=streamed.states,
        relations=streamed.relations,
        reviewed_only=streamed.reviewed_only,
    )


def stream(
    db: sqlite3.Connection,
    incident: str | None,
    at: datetime | None,
    *,
    reviewed_only: bool = False,
) -> Streamed:
    """``select``, its claims, retractions and assessments read as they are used: the
    reports and sources they cite are found by SQL, not by reading every claim. The
    desk's clauses (``desk_rules``) go with the incident's filter into every query."""
    moment = at if at is not None else utc_now()
    known = to_key(moment)
    incidents = _incidents(db, incident)
    params = {"known": known, "incident": incident, "recorded": END_OF_TIME}
    desk_claim, desk_end = desk_clauses(db, reviewed_only)
    incident_filter = (_INCIDENT_FILTER if incident is not None else "") + desk_claim
    ends_sql = _ENDS.format(incident_filter=incident_filter, desk_end=desk_end)
    shown = {  # each query takes the keys it names
        "incident_filter": incident_filter,
        "desk_retraction": counted_retraction(desk_end),
        "desk_assessment": assessment_clause(db, reviewed_only),
        "recorded_by_r": recorded_by_sql("r.seq"),
        "recorded_by_a": recorded_by_sql("a.seq"),
    }
    ends: dict[str, Row] = {}
    for end in _rows(db, ends_sql, params):
        ends.setdefault(end["claim"], end)
    state_of = partial(state, reviewed_only=reviewed_only, from_claims=True)  # (rows checked)
    states = {row["id"]: state_of(db, row["id"], moment) for row in incidents}
    if not reviewed_only:  # what is shown though not yet approved says so
        _mark_ends(db, ends)
        _mark_states(db, states, moment)
    mark = (lambda kind: None) if reviewed_only else (lambda kind: _marker(db, kind))
    reports = _by_id(db, "reports", _column(db, _REPORTS_CITED, incident_filter, params))
    _add_captures(db, reports)
    source_ids = {r["source"] for r in reports.values()}
    source_ids.update(_column(db, _SOURCES_CITED, incident_filter, params))
    return Streamed(
        db=db,
        at=moment,
        known=known,
        incident=incident,
        incidents=incidents,
        claims=RowSource(
            db,
            _CLAIMS.format(incident_filter=incident_filter, recorded_by=recorded_by_sql("c.seq")),
            params,
            mark("claim"),
        ),
        ends=ends,
        retractions=RowSource(db, _RETRACTIONS.format(**shown), params, mark("retraction")),
        assessments=RowSource(db, _ASSESSMENTS.format(**shown), params, mark("assessment")),
        reports=reports,
        sources=_sources(db, source_ids, known),
        states=states,
        relations=_relations(db, [row["id"] for row in incidents]),
        reviewed_only=reviewed_only,
        desk_claim=desk_claim,
    )


def _marker(db: sqlite3.Connection, kind: str) -> Callable[[list[Row]], None]:
    """What gives each claim (or retraction, or assessment) of a page that is a proposal
    not yet approved ``review: "proposed"`` (``desk_rules.proposed_records``, a page at a time)."""

    def mark(rows: list[Row]) -> None:
        proposed = proposed_records(db, (row["id"] for row in rows), END_OF_TIME, kind)
        for row in rows:
            if row["id"] in proposed:
                row["review"] = PROPOSED

    return mark


def _mark_ends(db: sqlite3.Connection, ends: dict[str, Row]) -> None:
    """Give each end that is a proposal not yet approved ``end_review: "proposed"``."""
    items = [{"how": end["how"], "by": end["ended_by"], "end": end} for end in ends.values()]
    mark_proposed_ends(db, items, END_OF_TIME)
    for item in items:
        if "end_review" in item:
            item["end"]["end_review"] = item["end_review"]


def _mark_states(db: sqlite3.Connection, states: dict[str, StateResult], at: datetime) -> None:
    """Mark what each state shows only because of proposals not yet approved, as the
    ``state`` command marks it: its positions, and a status only they give."""
    for understanding in states.values():
        mark_state_proposals(db, understanding, at, None, Policy.RANGE)


def _column(
    db: sqlite3.Connection, sql: str, incident_filter: str, params: dict[str, Any]
) -> set[str]:
    return {row[0] for row in db.execute(sql.format(incident_filter=incident_filter), params)}


def _incidents(db: sqlite3.Connection, incident: str | None) -> list[Row]:
    if incident is None:
        return _rows(db, "SELECT * FROM incidents ORDER BY seq", {})
    require_incident(db, incident)
    return _rows(db, "SELECT * FROM incidents WHERE id = :id", {"id": incident})


def _relations(db: sqlite3.Connection, incidents: list[str]) -> list[Row]:
    return _rows(
        db,
        "SELECT * FROM incident_relations WHERE incident IN (SELECT value FROM json_each(:ids))"
        " ORDER BY seq",
        {"ids": json.dumps(incidents)},
    )


def _sources(db: sqlite3.Connection, ids: set[str], known: str) -> dict[str, Row]:
    sources = _by_id(db, "sources", ids)
    params = {"known": known, "recorded": END_OF_TIME, "ids": json.dumps(sorted(ids))}
    for source_id, grade in db.execute(_GRADES, params):
        sources[source_id]["reliability"] = grade
    return sources


def _rows(db: sqlite3.Connection, sql: str, params: dict[str, Any]) -> list[Row]:
    cursor = db.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, values, strict=True)) for values in cursor]


def _add_captures(db: sqlite3.Connection, reports: dict[str, Row]) -> None:
    """Give each report row its captured copies (``captures``: SHA-256 and media type)."""
    rows = _rows(
        db,
        "SELECT report, sha256, media_type FROM captures "
        "WHERE report IN (SELECT value FROM json_each(:ids)) ORDER BY seq",
        {"ids": json.dumps(sorted(reports))},
    )
    for row in rows:
        reports[row["report"]].setdefault("captures", []).append(row)


def _by_id(db: sqlite3.Connection, table: str, ids: Iterable[str]) -> dict[str, Row]:
    # json_each keeps the query to one parameter however many ids there are.
    rows = _rows(
        db,
        f"SELECT * FROM [{table}] WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY seq",
        {"ids": json.dumps(sorted(ids))},
    )
    return {row["id"]: row for row in rows}


def via_ids(claim: Row) -> list[str]:
    """The relays of a claim, in the order given."""
    return list(json.loads(claim["via"])) if claim["via"] else []


def claimed_value(claim: Row) -> Any:
    """The value as claimed (an int, a {"min", "max"} range, a bool or a string)."""
    return json.loads(claim["value"])


def value_text(claim: Row) -> str:
    """The claimed value as CSV text: numbers and strings plain, ranges and booleans JSON."""
    value = claimed_value(claim)
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def bounds(claim: Row) -> tuple[int | str | None, int | str | None]:
    """The claim's interval (numbers as ints, times as ISO text); (None, None) for text."""
    if claim["kind"] == "number":
        return claim["num_low"], claim["num_high"]
    if claim["kind"] == "time":
        return iso(claim["time_low"]), iso(claim["time_high"])
    return None, None


def describe_value(claim: Row, *, unit: bool = True) -> str:
    """A claimed value in words, as the command line says it: "at least 20 people",
    "20 or 21 Jan 2022", "yes" (``words.value_words``)."""
    text = value_words(claimed_value(claim), claim["qualifier"], claim["kind"])
    if unit and claim["unit"] and claim["kind"] == "number":
        text = f"{text} {claim['unit']}"
    return text


def published_date(key: str, precision: str, zone: str | None = None) -> str:
    """A stored ``published_at`` as ISO 8601, as it was given: for a date only (``precision``
    day) that date, the day whose end ``key`` is in ``zone`` (UTC when None, as a report's
    own row; an assessment's is its incident's), else the instant, in UTC."""
    if precision != "day":
        return iso(key) or ""
    if zone is None:
        return key[:10]
    return local_time(key, zone_or_none(zone)).date().isoformat()
