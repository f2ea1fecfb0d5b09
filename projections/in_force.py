"""Positions in force: which claims make each claimant's position, stored per known-time
and recorded-time span, so that ``state`` reads the positions of an instant directly.

A claim is in a claimant's position on a fact at known time T as recorded by R when
it is active then (published by T, recorded by R, not ended by T by an end recorded
by R, and neither it nor that end voided by R) and no active claim of the same
claimant on the fact was published later (by T). For one (incident, fact, claimant)
that holds over spans: ``positions_in_force`` keeps one row per claim and span,
``known_from <= T < known_to`` and ``recorded_from <= R < recorded_to`` (an open end
is ``~``, later than any instant). A query at (T, R) reads the rows whose spans hold
it: as many as there are positions, not claims.

The rows derive from the ``claims``, ``claim_ends`` and ``voided`` tables, not from
one event each, so the projector does not write them: a read brings an incident's
rows up to date (``ready``), recomputing only the (fact, claimant) pairs that events
after the rows' position touched, and ``positions_built`` records that position per
incident. A rebuild (``ledger replay``) therefore costs nothing more; the first read
of a crowded incident afterwards builds its rows (about 17 ms of CPU per thousand
claims). An incident of fewer than ``CROWDED`` claims, a model that cannot be written, a
question inside another transaction, and a reviewed-only question are answered by
``positions.positions_query`` instead; a property test holds both to a naive fold of
the events.
"""

from __future__ import annotations

import sqlite3
from bisect import insort
from collections import defaultdict
from collections.abc import Iterable, Iterator

from incident_ledger.projections.kept_up import brought_up, model_position
from incident_ledger.projections.positions import claim_columns, grade_in_force

OPEN = "~"
"""The end of a span that has not ended: later than every stored instant."""

TABLES = ("positions_in_force", "positions_built", "fact_status", "fact_status_built")
"""The tables derived at read time: this module's, and ``fact_status``'s."""
INDEXES = ("positions_in_force_by_time", "positions_in_force_by_pair")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS positions_in_force (incident TEXT, fact TEXT, claimant TEXT, "
    "claim TEXT, known_from TEXT, known_to TEXT, recorded_from TEXT, recorded_to TEXT)",
    "CREATE TABLE IF NOT EXISTS positions_built (incident TEXT PRIMARY KEY, position INTEGER)",
    "CREATE TABLE IF NOT EXISTS fact_status "
    "(incident TEXT, fact TEXT, status TEXT, PRIMARY KEY (incident, fact))",
    "CREATE TABLE IF NOT EXISTS fact_status_built (position INTEGER, known TEXT)",
    # The spans that hold T end after it: at the latest instant (the common question)
    # those are the positions in force; the claim id rides along for the join.
    "CREATE INDEX IF NOT EXISTS positions_in_force_by_time ON positions_in_force "
    "(incident, known_to, known_from, recorded_from, recorded_to, claim)",
    "CREATE INDEX IF NOT EXISTS positions_in_force_by_pair ON positions_in_force "
    "(incident, fact, claimant)",
)

_QUERY = """
SELECT {columns}, s.name AS claimant_name, {grade} AS claimant_reliability
FROM positions_in_force p
JOIN claims c ON c.id = p.claim
LEFT JOIN sources s ON s.id = c.claimant
WHERE p.incident = :incident AND p.known_to > :known AND p.known_from <= :known
  AND p.recorded_from <= :recorded AND p.recorded_to > :recorded
ORDER BY c.fact, c.published_at, c.claimant, c.id
"""

QUERY = _QUERY.replace("{columns}", claim_columns("c")).replace(
    "{grade}", grade_in_force("c.claimant")
)
"""The positions query (rows as ``positions.positions_query`` gives them) over the stored
spans; valid once ``ready`` said so for the incident."""

_TOUCHED = """
SELECT fact, claimant FROM claims WHERE incident = :incident AND seq > :since
UNION
SELECT c.fact, c.claimant FROM claim_ends e JOIN claims c ON c.id = e.claim
WHERE e.seq > :since AND c.incident = :incident
UNION
SELECT c.fact, c.claimant FROM voided v JOIN claims c ON v.record = 'claim:' || c.id
WHERE v.seq > :since AND c.incident = :incident
UNION
SELECT c.fact, c.claimant FROM voided v
JOIN claim_ends e
  ON v.record = (CASE e.how WHEN 'retracted' THEN 'retraction:' ELSE 'claim:' END) || e.ended_by
JOIN claims c ON c.id = e.claim
WHERE v.seq > :since AND c.incident = :incident
"""

_CLAIMS = """
SELECT fact, claimant, id, published_at, recorded_at FROM claims
WHERE incident = :incident{pair}
"""

_ENDS = """
SELECT e.claim, e.published_at, e.recorded_at,
       (CASE e.how WHEN 'retracted' THEN 'retraction:' ELSE 'claim:' END) || e.ended_by
FROM claim_ends e JOIN claims c ON c.id = e.claim
WHERE c.incident = :incident{pair}
"""

_PAIR = " AND c.fact = :fact AND c.claimant = :claimant"
_VOIDED = "SELECT record, MIN(recorded_at) FROM voided GROUP BY record"
_INSERT = "INSERT INTO positions_in_force VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_WHOLE = 200
"""Past this many changed pairs an incident's rows are all recomputed, in one read."""

Claim = tuple[str, str, str]  # id, published_at, recorded_at
End = tuple[str, str, str]  # published_at, recorded_at, the ending record ("claim:…")
Span = tuple[str, str, str]  # claim, known_from, known_to


_HOLDERS_VOIDED = """
SELECT 1 FROM voided
WHERE substr(record, 1, instr(record, ':')) IN ('report:', 'source:', 'incident:') LIMIT 1
"""
"""An erratum of a report, a source or an incident voids every claim and end it holds
(``desk_rules``); the stored spans know only a claim's or an end's own voiding, so a
ledger holding such an erratum answers from the claims instead."""


CROWDED = 2_000
"""Claims from which an incident's positions are stored. A smaller incident is answered
from its claims: a few milliseconds at any size of ledger, with nothing to write, where
building its rows on its first question would cost about as much again (17 ms of CPU per
thousand claims) and take the model's write lock — at a million claims most questions
are an incident's first."""

_CROWDED = "SELECT COUNT(*) FROM (SELECT 1 FROM claims WHERE incident = ? LIMIT ?)"


def crowded(db: sqlite3.Connection, incident: str) -> bool:
    """Whether ``incident`` holds ``CROWDED`` claims or more (read from the index of claims
    by incident, at most that many entries)."""
    return int(db.execute(_CROWDED, (incident, CROWDED)).fetchone()[0]) >= CROWDED


def ready(db: sqlite3.Connection, incident: str) -> bool:
    """Bring ``incident``'s stored positions up to the model's position; whether they may
    be read (False for an incident that is not ``crowded``, where they are behind and
    cannot be written here, or where an erratum voids what a report, source or incident
    holds)."""
    if not crowded(db, incident) or db.execute(_HOLDERS_VOIDED).fetchone() is not None:
        return False
    return brought_up(db, lambda: _behind(db, incident), lambda late: _update(db, incident, *late))


def current(db: sqlite3.Connection, incident: str) -> bool:
    """Whether ``incident``'s stored positions are at the model's position."""
    return _behind(db, incident) is None


def _behind(db: sqlite3.Connection, incident: str) -> tuple[int | None, int] | None:
    """(position the rows were built at, or None; the model's position), or None when the
    rows are current."""
    now = model_position(db)
    row = db.execute("SELECT position FROM positions_built WHERE incident = ?", (incident,))
    built = row.fetchone()
    if built is not None and int(built[0]) == now:
        return None
    return (None if built is None else int(built[0]), now)


def _update(db: sqlite3.Connection, incident: str, since: int | None, now: int) -> None:
    params = {"incident": incident, "since": since if since is not None else -1}
    pairs = None if since is None else db.execute(_TOUCHED, params).fetchall()
    voided = dict(db.execute(_VOIDED).fetchall())
    if pairs is None or len(pairs) > _WHOLE:
        db.execute("DELETE FROM positions_in_force WHERE incident = ?", (incident,))
        _insert(db, incident, _read(db, params, ""), voided)
    else:
        for fact, claimant in pairs:
            pair = params | {"fact": fact, "claimant": claimant}
            db.execute(
                "DELETE FROM positions_in_force WHERE incident = :incident AND fact = :fact "
                "AND claimant = :claimant",
                pair,
            )
            _insert(db, incident, _read(db, pair, _PAIR), voided)
    db.execute("INSERT OR REPLACE INTO positions_built VALUES (?, ?)", (incident, now))


def _read(
    db: sqlite3.Connection, params: dict[str, object], pair: str
) -> Iterator[tuple[str, str, list[Claim], dict[str, list[End]]]]:
    """Each (fact, claimant) pair's claims (of one pair, with ``pair``), and their ends."""
    groups: dict[tuple[str, str], list[Claim]] = defaultdict(list)
    claims = _CLAIMS.replace("{pair}", pair.replace("c.", ""))
    for fact, claimant, claim, published, recorded in db.execute(claims, params):
        groups[(fact, claimant)].append((claim, published, recorded))
    ends: dict[str, list[End]] = defaultdict(list)
    for claim, published, recorded, record in db.execute(_ENDS.replace("{pair}", pair), params):
        ends[claim].append((published, recorded, record))
    for (fact, claimant), held in groups.items():
        yield fact, claimant, held, ends


def _insert(
    db: sqlite3.Connection,
    incident: str,
    groups: Iterable[tuple[str, str, list[Claim], dict[str, list[End]]]],
    voided: dict[str, str],
) -> None:
    rows = (
        (incident, fact, claimant, claim, known_from, known_to, recorded_from, recorded_to)
        for fact, claimant, held, ends in groups
        for (claim, known_from, known_to), recorded_from, recorded_to in spans(held, ends, voided)
    )
    db.executemany(_INSERT, rows)


def spans(
    claims: list[Claim], ends: dict[str, list[End]], voided: dict[str, str]
) -> list[tuple[Span, str, str]]:
    """One claimant's positions on one fact over both times: each (claim, known span) with
    the recorded span over which it holds. A claim or an end voided at V counts as
    recorded by R only while R < V (``desk_rules``)."""
    changes = set()
    for claim, _, recorded in claims:
        changes.add(recorded)
        if f"claim:{claim}" in voided:
            changes.add(voided[f"claim:{claim}"])
        for _, end_recorded, record in ends.get(claim, ()):
            changes.add(end_recorded)
            if record in voided:
                changes.add(voided[record])
    out: list[tuple[Span, str, str]] = []
    opened: dict[Span, str] = {}
    for at in sorted(changes):
        current = set(_known_spans(*_as_recorded(claims, ends, voided, at)))
        out.extend((span, opened.pop(span), at) for span in [s for s in opened if s not in current])
        for span in current - opened.keys():
            opened[span] = at
    out.extend((span, since, OPEN) for span, since in opened.items())
    return out


def _as_recorded(
    claims: list[Claim], ends: dict[str, list[End]], voided: dict[str, str], at: str
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The claims that count as recorded by ``at`` (id, published_at), and when each ends."""
    counted = [
        (claim, published)
        for claim, published, recorded in claims
        if recorded <= at and voided.get(f"claim:{claim}", OPEN) > at
    ]
    end_at: dict[str, str] = {}
    for claim, _ in counted:
        times = [
            published
            for published, recorded, record in ends.get(claim, ())
            if recorded <= at and voided.get(record, OPEN) > at
        ]
        if times:
            end_at[claim] = min(times)
    return counted, end_at


def _known_spans(claims: list[tuple[str, str]], end_at: dict[str, str]) -> list[Span]:
    """Over known time: the spans in which each claim is in the position — active, and
    published at the latest instant of the claimant's active claims."""
    starts: dict[str, list[tuple[str, str]]] = defaultdict(list)
    stops: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for claim, published in claims:
        ended = end_at.get(claim)
        if ended is not None and ended <= published:
            continue  # ended before it was known: never active
        starts[published].append((claim, published))
        if ended is not None:
            stops[ended].append((claim, published))
    active: dict[str, set[str]] = defaultdict(set)  # published_at -> active claims
    instants: list[str] = []  # the published_at of active claims, sorted
    opened: dict[str, str] = {}
    out: list[Span] = []
    for at in sorted(starts.keys() | stops.keys()):
        for claim, published in stops.get(at, ()):
            active[published].discard(claim)
            if not active[published]:
                del active[published]
                instants.remove(published)
        for claim, published in starts.get(at, ()):
            if published not in active:
                insort(instants, published)
            active[published].add(claim)
        held = active[instants[-1]] if instants else set()
        out.extend((claim, opened.pop(claim), at) for claim in [c for c in opened if c not in held])
        for claim in held - opened.keys():
            opened[claim] = at
    out.extend((claim, since, OPEN) for claim, since in opened.items())
    return out
