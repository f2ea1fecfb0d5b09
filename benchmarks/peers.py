"""Peers of ``state``: the same "state at T" answer from the same rows with plain tools.

The rows are the read model's claims, copied once (with the earliest end of
each claim folded in) into one plain table with one index on
(incident, published_at), in a fresh SQLite file and, when the ``duckdb``
package is installed, in an in-memory DuckDB database. Each peer selects an
incident's claims published by T, keeps each (fact, claimant)'s latest active
claim and reads every fact's status from those positions, in Python for plain
SQLite, in SQL (``QUALIFY``) for DuckDB.

The status rule is written again here on purpose: a peer is the least work
that gives the same answer, and the harness checks that the answers agree
(positions and status of every fact). It reads the current rule for facts
declared neither cumulative nor with choices (the benchmark declares none):
a claimant's position is all its active claims at its latest known instant,
read as one — the intersection of their intervals, else their hull, and for
text the set of their values; one position is single; positions of different
kinds are contested; text agrees when one value is common to every position;
intervals agree when they share a point; no position left is withdrawn.
"""

from __future__ import annotations

import csv
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

COLUMNS = (
    "incident",
    "fact",
    "claimant",
    "published_at",
    "seq",
    "ended_at",
    "kind",
    "num_low",
    "num_high",
    "time_low",
    "time_high",
    "text_value",
)
_TYPES = (
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "BIGINT",
    "VARCHAR",
    "VARCHAR",
    "BIGINT",
    "BIGINT",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
)
_COPY = """
SELECT c.incident, c.fact, c.claimant, c.published_at, c.seq,
       (SELECT MIN(e.published_at) FROM claim_ends e WHERE e.claim = c.id),
       c.kind, c.num_low, c.num_high, c.time_low, c.time_high, c.text_value
FROM claims c ORDER BY c.incident, c.published_at
"""
_SELECT = (
    "SELECT fact, claimant, published_at, seq, ended_at, kind, num_low, num_high, "
    "time_low, time_high, text_value FROM plain WHERE incident = ? AND published_at <= ?"
)
_NULL = "\\N"

Summary = dict[str, tuple[str, int]]
"""What peers and ``state`` must agree on: each fact's status and number of positions."""


class Peer(Protocol):
    """An engine answering "state at T" for one incident."""

    name: str

    def summary(self, incident: str, known: str) -> Summary: ...


Position = tuple[str, Any, Any]
"""A claimant's claims read as one: (kind, low, high) for numbers and times, ("text",
texts, None) for text, ("mixed", None, None) when its claims are of several kinds."""


def _position(claims: list[tuple[Any, ...]]) -> Position:
    """Claims (kind, num_low, num_high, time_low, time_high, text) of one claimant at
    one instant, as one position."""
    kinds = {c[0] for c in claims}
    if len(kinds) > 1:
        return ("mixed", None, None)
    kind = kinds.pop()
    if kind == "text":
        return ("text", frozenset(c[5] for c in claims), None)
    bounds = [(c[1], c[2]) if kind == "number" else (c[3], c[4]) for c in claims]
    lows = [low for low, _ in bounds if low is not None]
    highs = [high for _, high in bounds if high is not None]
    low, high = (max(lows) if lows else None), (min(highs) if highs else None)
    if low is not None and high is not None and low > high:  # inconsistent: the hull
        low = None if len(lows) < len(bounds) else min(lows)
        high = None if len(highs) < len(bounds) else max(highs)
    return (kind, low, high)


def _status(positions: list[Position]) -> str:
    """A fact's status from its positions."""
    if not positions:
        return "withdrawn"
    if len(positions) == 1:
        return "single"
    kinds = {p[0] for p in positions}
    if len(kinds) > 1 or kinds == {"mixed"}:
        return "contested"
    if kinds == {"text"}:
        common = frozenset.intersection(*(p[1] for p in positions))
        return "corroborated" if common else "contested"
    lows = [p[1] for p in positions if p[1] is not None]
    highs = [p[2] for p in positions if p[2] is not None]
    if not lows or not highs or max(lows) <= min(highs):
        return "corroborated"
    return "contested"


def _summary(facts: set[str], latest: dict[tuple[str, str], list[tuple[Any, ...]]]) -> Summary:
    by_fact: dict[str, list[Position]] = {fact: [] for fact in facts}
    for (fact, _), claims in latest.items():
        by_fact[fact].append(_position(claims))
    return {fact: (_status(positions), len(positions)) for fact, positions in by_fact.items()}


def summary_of_state(answer: Mapping[str, Any]) -> Summary:
    """The :data:`Summary` of a ``state`` answer."""
    return {fact: (f["status"], len(f["positions"])) for fact, f in answer["facts"].items()}


def copy_rows(read_model: Path, plain: Path) -> int:
    """Copy the claims of ``read_model`` into the plain table of a fresh SQLite file."""
    source = sqlite3.connect(f"file:{read_model}?mode=ro", uri=True)
    target = sqlite3.connect(plain)
    try:
        target.execute(f"CREATE TABLE plain ({', '.join(COLUMNS)})")
        with target:
            target.executemany(
                f"INSERT INTO plain VALUES ({', '.join('?' * len(COLUMNS))})",
                source.execute(_COPY),
            )
        target.execute("CREATE INDEX plain_incident_published ON plain (incident, published_at)")
        target.execute("ANALYZE")
        (count,) = target.execute("SELECT COUNT(*) FROM plain").fetchone()
    finally:
        source.close()
        target.close()
    return int(count)


class PlainSQLite:
    """The plain table in SQLite; positions and statuses computed in Python from its rows."""

    name = "plain SQLite"

    def __init__(self, plain: Path) -> None:
        self.connection = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)

    def summary(self, incident: str, known: str) -> Summary:
        when: dict[tuple[str, str], str] = {}
        latest: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        seen: set[str] = set()
        for fact, claimant, published, _, ended, *value in self.connection.execute(
            _SELECT, (incident, known)
        ):
            seen.add(fact)
            if ended is not None and ended <= known:
                continue
            key = (fact, claimant)
            best = when.get(key)
            if best is None or published > best:
                when[key] = published
                latest[key] = [tuple(value)]
            elif published == best:
                latest[key].append(tuple(value))
        return _summary(seen, latest)

    def close(self) -> None:
        self.connection.close()


class DuckDB:
    """The same table in an in-memory DuckDB database, positions picked in SQL."""

    name = "DuckDB"
    _POSITIONS = (
        "SELECT fact, claimant, kind, num_low, num_high, time_low, time_high, text_value "
        "FROM plain WHERE incident = $incident AND published_at <= $known "
        "AND (ended_at IS NULL OR ended_at > $known) QUALIFY rank() OVER "
        "(PARTITION BY fact, claimant ORDER BY published_at DESC) = 1"
    )
    _FACTS = "SELECT DISTINCT fact FROM plain WHERE incident = $incident AND published_at <= $known"

    def __init__(self, plain: Path) -> None:
        import duckdb

        self.connection = duckdb.connect()
        with tempfile.TemporaryDirectory(prefix="ledger-peers-") as scratch:
            rows = Path(scratch) / "plain.csv"
            source = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)
            try:
                with rows.open("w", encoding="utf-8", newline="") as out:
                    writer = csv.writer(out)
                    for row in source.execute("SELECT * FROM plain ORDER BY rowid"):
                        writer.writerow([_NULL if v is None else v for v in row])
            finally:
                source.close()
            types = ", ".join(f"'{c}': '{t}'" for c, t in zip(COLUMNS, _TYPES, strict=True))
            self.connection.execute(
                f"CREATE TABLE plain AS SELECT * FROM read_csv('{rows}', header = false, "
                f"nullstr = '{_NULL}', columns = {{{types}}})"
            )

    def summary(self, incident: str, known: str) -> Summary:
        params = {"incident": incident, "known": known}
        seen = {fact for (fact,) in self.connection.execute(self._FACTS, params).fetchall()}
        latest: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        for fact, claimant, *value in self.connection.execute(self._POSITIONS, params).fetchall():
            latest.setdefault((fact, claimant), []).append(tuple(value))
        return _summary(seen, latest)

    def close(self) -> None:
        self.connection.close()


def duckdb_installed() -> bool:
    """Whether the optional ``duckdb`` package can be imported."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def peers(read_model: Path, work: Path) -> Iterator[list[Peer]]:
    """Plain SQLite and (when installed) DuckDB over the read model's claims."""
    plain = work / "plain.db"
    copy_rows(read_model, plain)
    opened: list[PlainSQLite | DuckDB] = [PlainSQLite(plain)]
    try:
        if duckdb_installed():
            opened.append(DuckDB(plain))
        yield list(opened)
    finally:
        for peer in opened:
            peer.close()
