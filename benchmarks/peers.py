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
(positions and status of every fact). It reads the current rule — one
position is single; text agrees when it is the same text; intervals agree
when they share a point; no position left is withdrawn.
"""

from __future__ import annotations

import csv
import sqlite3
import tempfile
from collections.abc import Iterator
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


def _status(positions: list[tuple[Any, ...]]) -> str:
    """A fact's status from its positions: (kind, num_low, num_high, time_low, time_high, text)."""
    if not positions:
        return "withdrawn"
    if len(positions) == 1:
        return "single"
    kinds = {p[0] for p in positions}
    if len(kinds) > 1:
        return "contested"
    if kinds == {"text"}:
        return "corroborated" if len({p[5] for p in positions}) == 1 else "contested"
    bounds = [(p[1], p[2]) if p[0] == "number" else (p[3], p[4]) for p in positions]
    lows = [low for low, _ in bounds if low is not None]
    highs = [high for _, high in bounds if high is not None]
    if not lows or not highs or max(lows) <= min(highs):
        return "corroborated"
    return "contested"


def summary_of_state(answer: dict[str, Any]) -> Summary:
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
        latest: dict[tuple[str, str], tuple[str, int, tuple[Any, ...]]] = {}
        seen: set[str] = set()
        for fact, claimant, published, seq, ended, *value in self.connection.execute(
            _SELECT, (incident, known)
        ):
            seen.add(fact)
            if ended is not None and ended <= known:
                continue
            best = latest.get((fact, claimant))
            if best is None or (published, seq) > best[:2]:
                latest[(fact, claimant)] = (published, seq, tuple(value))
        by_fact: dict[str, list[tuple[Any, ...]]] = {fact: [] for fact in seen}
        for (fact, _), (_, _, value) in latest.items():
            by_fact[fact].append(value)
        return {fact: (_status(values), len(values)) for fact, values in by_fact.items()}

    def close(self) -> None:
        self.connection.close()


class DuckDB:
    """The same table in an in-memory DuckDB database, positions picked in SQL."""

    name = "DuckDB"
    _POSITIONS = (
        "SELECT fact, kind, num_low, num_high, time_low, time_high, text_value FROM plain "
        "WHERE incident = $incident AND published_at <= $known "
        "AND (ended_at IS NULL OR ended_at > $known) QUALIFY row_number() OVER "
        "(PARTITION BY fact, claimant ORDER BY published_at DESC, seq DESC) = 1"
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
        by_fact: dict[str, list[tuple[Any, ...]]] = {
            fact: [] for (fact,) in self.connection.execute(self._FACTS, params).fetchall()
        }
        for fact, *value in self.connection.execute(self._POSITIONS, params).fetchall():
            by_fact[fact].append(tuple(value))
        return {fact: (_status(values), len(values)) for fact, values in by_fact.items()}

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
