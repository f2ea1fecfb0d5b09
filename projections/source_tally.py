"""Each source's track record kept as counts, so that ``sources`` reads a row per source
instead of grouping every claim of the ledger (seconds at a million claims).

- ``source_tally``: per claimant or relay, its claims (``claims_made``), the claims of
  others it passed on (``relayed``) and the (incident, fact) pairs it has a claim on
  (``positions``): sums, which new claims only add to.
- ``first_claimants``: per (incident, fact), the claimants whose earliest claim is the
  earliest of all (a tie keeps each); a pair with new claims is worked out again.
- ``ended_claims``: each (source answering for it, how, claim) of a retraction or
  correction, by the rule of ``projections.sources``; new ends add rows.

``counts`` brings them up to the model's position, from the claims and ends recorded
since (``source_tally_built``), or builds them whole when there are none yet. Like
``fact_status``, the rows derive from other tables; where something is voided (the desk's
rules then decide what counts, as the model stands now), a claim, correction or
retraction waits for review (it counts only once approved) or the model cannot be written,
``counts`` gives None and ``sources`` groups the claims as before. A test holds the two
ways equal.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field

import orjson

from incident_ledger.projections.desk_rules import any_voided
from incident_ledger.projections.kept_up import brought_up, model_position, unmapped
from incident_ledger.projections.review_queue import waiting
from incident_ledger.projections.understanding import Status

CONTESTED = Status.CONTESTED.value

TABLES = ("source_tally", "first_claimants", "ended_claims", "source_tally_built")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS source_tally (source TEXT PRIMARY KEY, claims_made INTEGER, "
    "relayed INTEGER, positions INTEGER)",
    "CREATE TABLE IF NOT EXISTS first_claimants (incident TEXT, fact TEXT, claimant TEXT, "
    "PRIMARY KEY (incident, fact, claimant)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS ended_claims (answerable TEXT, how TEXT, claim TEXT, "
    "PRIMARY KEY (answerable, how, claim)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS source_tally_built (position INTEGER)",
)


def passed(claims: str) -> str:
    """SQL: each (relay, claim id) of the claims of table ``claims``: the outlet of a claim
    made by another, and each source in its via but its claimant."""
    return f"""
    SELECT source AS relay, id FROM {claims} WHERE source <> claimant
    UNION
    SELECT j.value AS relay, c.id FROM {claims} c, json_each(c.via) j
    WHERE c.via IS NOT NULL AND j.value <> c.claimant
"""


ANSWERABLE = """CASE
        WHEN r.source <> c.claimant AND (
            r.source = c.source
            OR (c.via IS NOT NULL
                AND EXISTS (SELECT 1 FROM json_each(c.via) j WHERE j.value = r.source))
        ) THEN r.source
        ELSE c.claimant
    END"""
"""SQL: who answers for an end ``e`` of claim ``c`` in report ``r``: the outlet of the ending
report when it relayed the claim (published it for its claimant, or is named in its via),
else the claimant."""

# The whole tally: one pass over the (incident, fact, claimant, …) index for the claims
# and pairs, one over the claims for the relays.
_WHOLE = """
INSERT INTO source_tally (source, claims_made, relayed, positions)
WITH held AS (
    SELECT claimant, COUNT(*) AS claims FROM claims GROUP BY incident, fact, claimant
), passed AS ({passed})
SELECT who, SUM(made), SUM(relayed), SUM(positions) FROM (
    SELECT claimant AS who, SUM(claims) AS made, 0 AS relayed, COUNT(*) AS positions
    FROM held GROUP BY claimant
    UNION ALL
    SELECT relay, 0, COUNT(*), 0 FROM passed GROUP BY relay
) GROUP BY who
""".replace("{passed}", passed("claims"))

_WHOLE_FIRSTS = """
INSERT INTO first_claimants (incident, fact, claimant)
SELECT incident, fact, claimant FROM (
    SELECT incident, fact, claimant, MIN(published_at) AS first,
        MIN(MIN(published_at)) OVER (PARTITION BY incident, fact) AS everyone
    FROM claims GROUP BY incident, fact, claimant
) WHERE first = everyone
"""

_PAIR_FIRSTS = """
INSERT INTO first_claimants (incident, fact, claimant)
SELECT incident, fact, claimant FROM claims WHERE incident = :incident AND fact = :fact
GROUP BY claimant
HAVING MIN(published_at) = (
    SELECT MIN(published_at) FROM claims WHERE incident = :incident AND fact = :fact
)
"""

_ENDED = f"""
INSERT OR IGNORE INTO ended_claims (answerable, how, claim)
SELECT {ANSWERABLE}, e.how, c.id
FROM claim_ends e JOIN claims c ON c.id = e.claim JOIN reports r ON r.id = e.report
WHERE e.seq > :since
"""

_ADD = """
INSERT INTO source_tally (source, claims_made, relayed, positions) VALUES (?, ?, ?, ?)
ON CONFLICT (source) DO UPDATE SET claims_made = claims_made + excluded.claims_made,
    relayed = relayed + excluded.relayed, positions = positions + excluded.positions
"""

_HELD = "SELECT COUNT(*) FROM claims WHERE incident = ? AND fact = ? AND claimant = ?"

WHOLE_AFTER = 200_000
"""Past this many new claims the tally is built again whole, in a few grouped passes."""


@dataclass
class Counts:
    """Each source's counts, by source id (a source absent from one has none)."""

    made: dict[str, int] = field(default_factory=dict)
    relayed: dict[str, int] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    firsts: dict[str, int] = field(default_factory=dict)
    retracted: dict[str, int] = field(default_factory=dict)
    corrected: dict[str, int] = field(default_factory=dict)
    contested: dict[str, int] = field(default_factory=dict)
    """The pairs of ``positions`` whose fact is contested (``contested_on``)."""


def counts(db: sqlite3.Connection) -> Counts | None:
    """Every source's counts at the model's position, or None where they cannot be kept
    (something voided, a claim or an end waiting for review, or a model that cannot be
    written here)."""
    if any_voided(db) or waiting(db, kinds=("claim", "retraction")):
        return None
    if not brought_up(db, lambda: _behind(db), lambda late: _bring_up(db, *late)):
        return None
    return _read(db)


def _behind(db: sqlite3.Connection) -> tuple[int | None, int] | None:
    """(position the tally is at, or None; the model's position), or None when current."""
    now = model_position(db)
    built = db.execute("SELECT position FROM source_tally_built").fetchone()
    if built is not None and int(built[0]) == now:
        return None
    return (None if built is None else int(built[0]), now)


def _bring_up(db: sqlite3.Connection, since: int | None, now: int) -> None:
    new = 0
    if since is not None:
        new = int(db.execute("SELECT COUNT(*) FROM claims WHERE seq > ?", (since,)).fetchone()[0])
    if since is None or new > WHOLE_AFTER:
        for table in TABLES:
            db.execute(f"DELETE FROM {table}")
        with unmapped(db):  # (passes over every claim)
            db.execute(_WHOLE)
            db.execute(_WHOLE_FIRSTS)
            db.execute(_ENDED, {"since": -1})
    else:
        _add_claims(db, since)
        db.execute(_ENDED, {"since": since})
    db.execute("DELETE FROM source_tally_built")
    db.execute("INSERT INTO source_tally_built VALUES (?)", (now,))


def _add_claims(db: sqlite3.Connection, since: int) -> None:
    """Add the claims recorded after ``since`` to the sums, and work out again the first
    claimants of each pair they are on."""
    made: Counter[str] = Counter()
    relayed: Counter[str] = Counter()
    triples: Counter[tuple[str, str, str]] = Counter()
    rows = db.execute(
        "SELECT incident, fact, claimant, source, via FROM claims WHERE seq > ?", (since,)
    )
    for incident, fact, claimant, source, via in rows:
        made[claimant] += 1
        # As SQL's UNION counts them: each relay once per claim, never its claimant.
        relays = {source} if source is not None and source != claimant else set()
        if via:
            relays.update(v for v in orjson.loads(via) if v != claimant)
        relayed.update(relays)
        triples[(incident, fact, claimant)] += 1
    positions: Counter[str] = Counter()
    for triple, added in triples.items():
        if int(db.execute(_HELD, triple).fetchone()[0]) == added:
            positions[triple[2]] += 1  # its first claims on the pair
    db.executemany(
        _ADD,
        ((who, made[who], relayed[who], positions[who]) for who in made.keys() | relayed.keys()),
    )
    for incident, fact in {(incident, fact) for incident, fact, _ in triples}:
        pair = {"incident": incident, "fact": fact}
        db.execute("DELETE FROM first_claimants WHERE incident = :incident AND fact = :fact", pair)
        db.execute(_PAIR_FIRSTS, pair)


def _read(db: sqlite3.Connection) -> Counts:
    found = Counts()
    for source, made, relayed, positions in db.execute("SELECT * FROM source_tally"):
        found.made[source], found.relayed[source] = made, relayed
        found.positions[source] = positions
    found.firsts = dict(
        db.execute("SELECT claimant, COUNT(*) FROM first_claimants GROUP BY claimant").fetchall()
    )
    ended = db.execute(
        "SELECT answerable, SUM(how = 'retracted'), SUM(how = 'corrected') FROM ended_claims "
        "GROUP BY answerable"
    )
    for source, retracted, corrected in ended:
        found.retracted[source], found.corrected[source] = retracted, corrected
    return found


_CLAIMANTS = "SELECT DISTINCT claimant FROM claims WHERE incident = ? AND fact = ?"


def contested_on(
    db: sqlite3.Connection, statuses: dict[tuple[str, str], str], positions: dict[str, int]
) -> dict[str, int]:
    """Per source, the pairs it has a claim on whose fact is contested, given every pair's
    status (``fact_status``: each pair with a claim has one). Read from whichever is fewer,
    the contested pairs or the others (then taken from ``positions``): a claimant's pairs
    are each read from the index of claims."""
    contested = [pair for pair, status in statuses.items() if status == CONTESTED]
    others = [pair for pair, status in statuses.items() if status != CONTESTED]
    if len(contested) <= len(others):
        return dict(_claimants_on(db, contested))
    uncontested = _claimants_on(db, others)
    return {who: held - uncontested[who] for who, held in positions.items()}


def _claimants_on(db: sqlite3.Connection, pairs: list[tuple[str, str]]) -> Counter[str]:
    found: Counter[str] = Counter()
    for pair in pairs:
        found.update(row[0] for row in db.execute(_CLAIMANTS, pair))
    return found
