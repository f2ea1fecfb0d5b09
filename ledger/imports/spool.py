"""The spool: validated records waiting to be recorded, kept on disk, not in memory.

Records that cannot be recorded yet wait here — those of an import that
reference a record further down the input (``recording.Stream``), and a batch
given whole (``Ledger.record``): a scratch SQLite database holding each
record's normalized fields as JSON, with its line, kind and id. It answers
what recording them needs — the records in dependency order, whether an id is in
this input, the first record under a repeated id — with indexed queries, so an
import of a million records holds a page of them in memory at a time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from incident_ledger.ledger.domain import (
    aggregate_id_for,
    creation_data,
    fact_id,
    reference_columns,
)
from incident_ledger.ledger.errors import BadInputError, StoreError
from incident_ledger.ledger.facts import signature
from incident_ledger.ledger.scratch import Scratch

if TYPE_CHECKING:
    from incident_ledger.ledger.records import AnyRecord

RANKS = {
    name: rank
    for rank, name in enumerate(
        ("incident", "source", "fact", "report", "claim", "correction", "retraction", "assessment")
    )
}
"""Dependency order: within one input every reference points to a lower rank
(corrections among themselves are ordered when read, ``Spool.corrections``), and a
fact's declaration comes before the claims it governs."""

_SCHEMA = (
    "CREATE TABLE spooled ("
    "seq INTEGER PRIMARY KEY, rank INTEGER NOT NULL, line TEXT NOT NULL, "
    "kind TEXT NOT NULL, record_id TEXT NOT NULL, aggregate_id TEXT NOT NULL, "
    "data TEXT NOT NULL, ref_ids TEXT NOT NULL, ref_fields TEXT NOT NULL, "
    "fact TEXT NOT NULL, sig TEXT NOT NULL)"
)
_COLUMNS = "seq, line, kind, record_id, aggregate_id, data, ref_ids, ref_fields, fact, sig"
_WRITTEN = "rank, line, kind, record_id, aggregate_id, data, ref_ids, ref_fields, fact, sig"
_INDEXES = (
    "CREATE INDEX spooled_order ON spooled (rank, seq)",
    "CREATE INDEX spooled_ids ON spooled (aggregate_id, seq)",
)
PAGE = 2_000
"""Records written, read, checked and appended at a time."""


class Spooled(NamedTuple):
    """One validated record: its place in the input, kind, id, fields and references.

    ``data`` is the canonical JSON its creation event's leaf carries
    (``domain.creation_data``); ``ref_ids`` the aggregate ids it references, each
    under the field in the same place of ``ref_fields`` (``;``-separated): recording
    checks a record's references with one set operation and reads the fields only
    to name a missing one. ``fact`` is the aggregate id of the fact a claim or a
    declaration concerns (empty for other records), ``sig`` a claim's value reduced
    to what its fact's kind is checked against (``facts.signature``).
    """

    seq: int
    where: str
    kind: str
    record_id: str
    aggregate_id: str
    data: str
    ref_ids: list[str]
    ref_fields: str
    fact: str = ""
    sig: str = ""

    @property
    def refs(self) -> list[tuple[str, str, str]]:
        """Its references as (kind, id, field)."""
        refs = []
        for aggregate_id, field in zip(self.ref_ids, self.ref_fields.split(";"), strict=False):
            kind, _, ref = aggregate_id.partition(":")
            refs.append((kind, ref, field))
        return refs

    @property
    def fields(self) -> dict[str, Any]:
        """The record's fields (those it leaves out are None)."""
        # ``data`` is canonical JSON of validated fields (whole numbers up to 2^53, decimals
        # as strings), which orjson reads as the standard module does, in a fifth of the
        # time: the ends of claims read a record's fields several times each.
        try:
            return dict(orjson.loads(self.data))
        except orjson.JSONDecodeError:
            return dict(json.loads(self.data))

    @property
    def ended_claim(self) -> str | None:
        """The claim a retraction or correction ends (None for other kinds)."""
        if self.kind not in ("correction", "retraction"):
            return None
        return next(ref for kind, ref, field in self.refs if field == "claim")

    @property
    def target(self) -> str | None:
        """The claim a correction replaces (None for other kinds)."""
        if self.kind != "correction":
            return None
        return next(ref for kind, ref, field in self.refs if field == "claim")


class Spool:
    """A scratch database of validated records; a temporary file unless ``in_memory``."""

    def __init__(
        self, in_memory: bool = False, path: Path | None = None, *, sealed: bool = False
    ) -> None:
        """A spool in memory, in a temporary file, or (``path``) in a file the caller owns;
        with ``sealed``, that file already sealed, opened again to be read (by a helper)."""
        self._directory: Scratch | None = None
        self.path: Path | None = None
        """The spool's file (None in memory)."""
        try:
            if in_memory:
                self.db = sqlite3.connect(":memory:", isolation_level=None)
            else:
                if path is None:
                    self._directory = Scratch("import")  # removed by the next command if killed
                    path = self._directory.path / "spool.db"
                self.path = path
                self.db = sqlite3.connect(str(path), isolation_level=None)
            if not sealed:
                self.db.execute("PRAGMA journal_mode=OFF")
                self.db.execute("PRAGMA synchronous=OFF")
                self.db.execute(_SCHEMA)
                self.db.execute("BEGIN")
        except sqlite3.Error as error:
            self.close()
            raise StoreError(f"cannot create the import's scratch file: {error}") from None
        self._pending: list[tuple[Any, ...]] = []
        self.count = 0
        self._sealed = sealed
        self.repeated: set[str] = set()
        """Aggregate ids that more than one record of this input uses (known once sealed)."""

    def add(self, where: str, record: AnyRecord) -> None:
        """Spool one validated record."""
        self.add_row(spool_row(where, record))

    def add_row(self, row: tuple[Any, ...]) -> None:
        """Spool one record given as its ``spool_row``."""
        self._pending.append(row)
        self.count += 1
        if len(self._pending) >= PAGE:
            self._flush()

    def _flush(self) -> None:
        try:
            self.db.executemany(
                f"INSERT INTO spooled ({_WRITTEN}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._pending,
            )
        except sqlite3.Error as error:
            raise StoreError(f"cannot write the import's scratch file: {error}") from None
        self._pending.clear()

    def seal(self) -> None:
        """Finish spooling: write what is pending and index it for the recording pass."""
        if self._sealed:
            return
        self._flush()
        try:
            for statement in _INDEXES:
                self.db.execute(statement)
            self.db.execute("COMMIT")
            self.repeated = {
                row[0]
                for row in self.db.execute(
                    "SELECT aggregate_id FROM spooled GROUP BY aggregate_id HAVING COUNT(*) > 1"
                )
            }
        except sqlite3.Error as error:
            raise StoreError(f"cannot write the import's scratch file: {error}") from None
        self._sealed = True

    def in_order(self) -> Iterator[Spooled]:
        """Every record in dependency order: by kind, corrections ordered among themselves."""
        self.seal()
        for rank in sorted(set(RANKS.values())):
            if rank == RANKS["correction"]:
                yield from self.corrections()
                continue
            last = -1
            while True:
                rows = self.db.execute(
                    f"SELECT {_COLUMNS} FROM spooled "
                    "WHERE rank = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (rank, last, PAGE),
                ).fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                for row in rows:
                    yield _spooled(row)

    def corrections(self) -> list[Spooled]:
        """The corrections, each after the in-input correction it replaces (Kahn's order)."""
        self.seal()
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM spooled WHERE rank = ? ORDER BY seq",
            (RANKS["correction"],),
        ).fetchall()
        corrections = [_spooled(row) for row in rows]
        ids = {entry.record_id for entry in corrections}
        followers: dict[str, list[Spooled]] = {}
        placed: list[Spooled] = []
        for entry in corrections:
            target = entry.target
            if target in ids:
                followers.setdefault(str(target), []).append(entry)
            else:
                placed.append(entry)
        for entry in placed:  # the list grows as corrections become ready
            placed.extend(followers.pop(entry.record_id, ()))
        if len(placed) < len(corrections):
            ready = {id(entry) for entry in placed}
            first = next(entry for entry in corrections if id(entry) not in ready)
            raise BadInputError(f"{first.where}: claim: corrections in this input form a cycle")
        return placed

    def holds(self, aggregate_id: str) -> bool:
        """Whether this input has a record under that aggregate id."""
        self.seal()
        row = self.db.execute(
            "SELECT 1 FROM spooled WHERE aggregate_id = ? LIMIT 1", (aggregate_id,)
        ).fetchone()
        return row is not None

    def get(self, seq: int) -> Spooled:
        """The record spooled as number ``seq``."""
        self.seal()
        row = self.db.execute(f"SELECT {_COLUMNS} FROM spooled WHERE seq = ?", (seq,)).fetchone()
        return _spooled(row)

    def first(self, aggregate_id: str) -> Spooled | None:
        """The first record of this input under an aggregate id, or None."""
        self.seal()
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM spooled WHERE aggregate_id = ? ORDER BY seq LIMIT 1",
            (aggregate_id,),
        ).fetchone()
        return None if row is None else _spooled(row)

    def close(self) -> None:
        """Drop the scratch database."""
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
        if self._directory is not None:
            self._directory.remove()
            self._directory = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def spool_row(where: str, record: AnyRecord) -> tuple[Any, ...]:
    """A validated record as the spool keeps it: (rank, where, kind, id, aggregate id,
    canonical data, ``;``-joined referenced aggregate ids, ``;``-joined their fields,
    the fact it concerns, its value's signature)."""
    # Fields that are None are left out here: the leaf leaves them out too. This is
    # model_dump(mode="json", …) without its Python wrapper: a quarter less per record.
    fields = record.__pydantic_serializer__.to_python(
        record, mode="json", exclude=_ENVELOPE, exclude_none=True
    )
    kind = record.type
    fact, sig = "", ""
    fields_of: Any = record  # a claim, a correction or a fact, as ``kind`` says
    if kind in {"claim", "correction"}:
        fact = fact_id(fields_of.incident, fields_of.fact)
        sig = signature(fields_of.value, fields_of.qualifier, fields_of.unit)
    elif kind == "fact":
        fact = fact_id(fields_of.incident, fields_of.key)
    return fields_row(where, kind, record.id, fields, fact, sig)


def fields_row(
    where: str, kind: str, record_id: str, fields: dict[str, Any], fact: str, sig: str
) -> tuple[Any, ...]:
    """``spool_row`` of a record given as its validated fields (as ``model_dump(mode=
    "json")`` gives them, those that are None left out), the fact it concerns and its
    value's signature."""
    ref_ids, ref_fields = reference_columns(kind, fields)
    return (
        RANKS[kind],
        where,
        kind,
        record_id,
        aggregate_id_for(kind, record_id),
        creation_data(fields, kind, none_left_out=True),
        ref_ids,
        ref_fields,
        fact,
        sig,
    )


def _spooled(row: tuple[Any, ...]) -> Spooled:
    # References are stored as "kind:id;…" and "field;…": ids never hold a semicolon.
    ref_ids = row[6].split(";") if row[6] else []
    return Spooled(row[0], row[1], row[2], row[3], row[4], row[5], ref_ids, row[7], row[8], row[9])


_ENVELOPE = {"type", "id"}
