"""The read model: a plain SQLite database built with sqlite-utils.

It is disposable — always rebuildable from the events — and documented so
that Datasette and any SQLite client can open it as it is. Its ``tracking``
row holds the position of the last event applied, written in the same
transaction as the rows that event produced, and what binds the model to its
store: the store's id, and the size and root of the store's Merkle log at that
position (``projections.binding``). Every row carries the position (``seq``) of
the event that produced it.

Over 400 lines: every table, index and view of the read model is declared here.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from incident_ledger.ledger.errors import BadInputError, StoreError
from incident_ledger.ledger.stores.location import read_only_uri
from incident_ledger.projections import in_force, source_tally, state_summaries
from incident_ledger.projections.claim_status import settle
from incident_ledger.projections.desk_projection import DESK_TABLES
from incident_ledger.projections.timeline_order import INDEX_SQL, TIMELINE_INDEX

# 9: claims.claim_status and the stored positions in force and fact statuses.
# 10: claims.claim_status says what the desk made of a claim (voided, rejected, proposed).
# 11: the index of an incident's dated claims in timeline order (``timeline_order``).
# 12: a claim's row is found by its seq as the table's rowid, not by an index of seqs.
# 13: assessments.published_precision; a date-only assessment is known from the end of its
#     day in its incident's zone, as a report is.
# 14: search_incidents and search_reports, the index of an incident's texts.
# 15: a quantity's "more than n" and "less than n" reach n (claims.num_low, num_high).
SCHEMA_VERSION = 15
SORT_THREADS = min(os.cpu_count() or 1, 8)
"""Worker threads SQLite may use to sort while building the indexes (its own cap is 8)."""
PROJECTION = "understanding"
QUERY_MMAP_BYTES = 1 << 30
"""How much of the model a query connection maps into memory (``Views.map_for_queries``)."""

LOOKUP = "bulk_lookup_"
"""The name prefix of the plain indexes a bulk load keeps for its updates (``begin_bulk``)."""

_TABLES: dict[str, tuple[dict[str, type], str | tuple[str, ...] | None]] = {
    "incidents": (
        {
            "id": str,
            "title": str,
            "title_ar": str,
            "place": str,
            "timezone": str,
            "recorded_at": str,
            "seq": int,
        },
        "id",
    ),
    "facts": (
        {
            "incident": str,
            "key": str,
            "version": int,
            "kind": str,
            "declared": int,
            "unit": str,
            "cumulative": int,
            "tolerance": str,
            "choices": str,
            "label": str,
            "label_ar": str,
            "recorded_at": str,
            "seq": int,
        },
        ("incident", "key", "version"),
    ),
    "zone_day_ends": (
        {"zone": str, "since": str, "offset_minutes": int, "seq": int},
        ("zone", "since"),
    ),
    "incident_relations": (
        {"incident": str, "related": str, "relation": str, "seq": int},
        ("incident", "related", "relation"),
    ),
    "sources": (
        {
            "id": str,
            "name": str,
            "name_ar": str,
            "kind": str,
            "reliability": str,
            "recorded_at": str,
            "seq": int,
        },
        "id",
    ),
    "reports": (
        {
            "id": str,
            "source": str,
            "published_at": str,
            "published_precision": str,
            "url": str,
            "title": str,
            "language": str,
            "author": str,
            "sha256": str,
            "archive_url": str,
            "recorded_at": str,
            "seq": int,
        },
        "id",
    ),
    "claims": (
        {
            "id": str,
            "incident": str,
            "fact": str,
            "kind": str,
            "value": str,
            "qualifier": str,
            "unit": str,
            "num_low": int,
            "num_high": int,
            "time_low": str,
            "time_high": str,
            "text_value": str,
            "approximate": int,
            "valid_time": str,
            "valid_from": str,
            "valid_to": str,
            "report": str,
            "source": str,
            "claimant": str,
            "via": str,
            "quote": str,
            "translation": str,
            "credibility": int,
            "note": str,
            "corrects": str,
            "claim_status": str,
            "published_at": str,
            "recorded_at": str,
            "seq": int,
        },
        # The event that wrote a claim writes no other (``drop_event_rows``): its seq is
        # the row's rowid. Ids are unique by the index below, built once after a bulk load.
        "seq",
    ),
    "claim_ends": (
        {
            "claim": str,
            "ended_by": str,
            "how": str,
            "report": str,
            "published_at": str,
            "recorded_at": str,
            "seq": int,
        },
        ("claim", "ended_by"),
    ),
    "retractions": (
        {
            "id": str,
            "claim": str,
            "report": str,
            "reason": str,
            "published_at": str,
            "recorded_at": str,
            "seq": int,
        },
        "id",
    ),
    "assessments": (
        {
            "id": str,
            "claim": str,
            "verdict": str,
            "by": str,
            "published_at": str,
            "url": str,
            "note": str,
            "recorded_at": str,
            "seq": int,
            "summary": str,
            "published_precision": str,
        },
        "id",
    ),
    "source_ratings": (
        {
            "source": str,
            "reliability": str,
            "reason": str,
            "effective_from": str,
            "recorded_at": str,
            "seq": int,
        },
        ("source", "seq"),
    ),
    **DESK_TABLES,
    "unprojectable": (
        {"seq": int, "event": str, "topic": str, "incident": str, "error": str},
        "seq",
    ),
    "tracking": (
        {
            "projection": str,
            "position": int,
            "schema_version": int,
            "store_id": str,
            "size": int,
            "root": bytes,
        },
        "projection",
    ),
}

# Full-text search over quotes, translations, notes and titles, in normalized form
# (projections.arabic); the original text is kept beside it for display.
_SEARCH_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5("
    "body, original UNINDEXED, kind UNINDEXED, ref UNINDEXED, incident UNINDEXED, "
    "field UNINDEXED, seq UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')"
)

STORE_TABLES = frozenset({"stored_events", "merkle_nodes"})
"""Tables only an event store has: a file holding one is never a read model."""


def store_refused(path: Path, beside: Path | None = None) -> BadInputError:
    """The refusal of an event store's file (``beside``: of a file SQLite keeps beside that
    database) as a read model, wherever it is found."""
    what = "an event store" if beside is None else f"a file SQLite keeps beside {beside}"
    return BadInputError(
        f"{path} is {what}: a read model cannot be written there "
        "(set LEDGER_VIEWS to a file of its own)"
    )


SEARCH_COLUMNS = ("body", "original", "kind", "ref", "incident", "field", "seq")
_SEARCH_COLUMNS = ", ".join(SEARCH_COLUMNS)
_SHARD_SEARCH_TABLE = f"CREATE TABLE IF NOT EXISTS search_index ({_SEARCH_COLUMNS})"
"""A shard's searchable texts (``Views.make_shard``): a plain table, indexed once absorbed."""
SEARCH_SCOPES = {"search_incidents": "incident", "search_reports": "report"}
"""Which searchable texts belong to an incident, and which are a report's title, by the
``search_index`` row: a search within one incident takes its rows from an index of these
instead of reading the stored incident of every text that matches (a phrase common in a
hot incident matched 39,000 texts, and reading them was most of the search). Written by
the projector with each text (``Projector.next_search_row``), derived from
``search_index`` alone, and checked against it (``model_check``)."""
_SEARCH_SCOPE_TABLES = tuple(
    f"CREATE TABLE IF NOT EXISTS {table} (row INTEGER PRIMARY KEY, {column} TEXT NOT NULL)"
    for table, column in SEARCH_SCOPES.items()
)
_SEARCH_TABLES = ("search_index", *SEARCH_SCOPES)
SET_ASIDE = "INSERT OR REPLACE INTO unprojectable VALUES (?, ?, ?, ?, ?)"
"""Records an event that could not be projected (``Views.set_aside``)."""
_NEW_TRACKING = (
    "INSERT OR IGNORE INTO tracking (projection, position, schema_version) VALUES (?, 0, ?)"
)

# Each index serves a query in projections/. claims(report, incident) also filters
# claims by report in Datasette; a search within one incident asks of each report
# title it matches whether that report carries a claim of the incident, in one look-up.
# EXPLAIN QUERY PLAN of every query chose
# none of the former claims(recorded_at) and claims(incident, valid_from), so they
# went: at a million claims each cost a rebuild about a third of a second. The
# former claims(incident, published_at) went in schema 4: the (incident, fact,
# claimant, published_at) index serves the same queries (an incident's claims,
# published_at read from the index entry) as fast where an incident has tens of
# claimants, and building it was 0.65-0.85 s of a rebuild at a million claims.
#
# A claim's id is a unique index rather than the primary key: a primary key is
# kept up to date row by row during a rebuild, and absorbing a helper's half of
# a million claims spent nearly half its time there. Its primary key is its seq, the
# rowid, which a rebuild writes in ascending order (appends): the claims read by seq
# (``seq > :since``, a batch's range) are read by rowid, with no index of seqs to build
# (0.5-0.7 s of CPU of a rebuild at a million claims).
_INDEXES: list[tuple[str, list[str], bool]] = [
    ("claims", ["id"], True),
    ("claims", ["incident", "fact", "claimant", "published_at"], False),
    ("claims", ["report", "incident"], False),
    ("source_ratings", ["source", "effective_from"], False),
    ("claim_ends", ["claim", "published_at"], False),
    ("reports", ["source"], False),
    ("retractions", ["claim"], False),
    ("assessments", ["claim"], False),
    ("batches", ["first"], False),
    # The review queue finds the proposed batches (one row per write, most not proposed)
    # and their records by position (review_queue).
    ("batches", ["proposed", "first"], False),
    ("retractions", ["seq"], False),
    ("assessments", ["seq"], False),
    # A kept state asks whether an end came after its position (``state_summaries``): a
    # scan of the ends was a third of taking a hot incident's kept state (4.4 of 14.6 ms).
    ("claim_ends", ["seq"], False),
    ("search_incidents", ["incident"], False),
]


_DERIVED_TABLES = (*in_force.TABLES, *source_tally.TABLES, *state_summaries.TABLES)
"""Tables derived from the others, kept by reads (``in_force``, ``fact_status``,
``source_tally``, ``state_summaries``)."""
_DERIVED_SCHEMA = (*in_force.SCHEMA, *source_tally.SCHEMA, *state_summaries.SCHEMA)

_INDEX_NAMES = [
    *(f"idx_{table}_{'_'.join(columns)}" for table, columns, _ in _INDEXES),
    TIMELINE_INDEX,  # on expressions, which sqlite-utils does not write: made by INDEX_SQL
]


RETIRED_NAMES = frozenset(
    {
        "idx_claims_recorded_at",
        "idx_claims_incident_valid_from",
        "idx_claims_incident_published_at",  # (schema 4)
        "idx_claims_seq",  # (the claims' seq became their rowid)
        "idx_claims_report",  # (schema 14: claims(report, incident) instead)
    }
)
"""Indexes an earlier schema version made and this one does not: a model of that version
still holds them, and is still a model (``model_files.model_kind``), rebuilt as any."""


def schema_names() -> set[str]:
    """The names in a read model's schema: its tables, full-text index and indexes."""
    return {*_TABLES, *_SEARCH_TABLES, *_INDEX_NAMES, *_DERIVED_TABLES, *in_force.INDEXES}


_IF_NOT_EXISTS = re.compile(r"^CREATE (?:UNIQUE )?INDEX (?!IF NOT EXISTS )")
"""The start of a stored CREATE INDEX statement, where ``IF NOT EXISTS`` goes."""


@cache
def _model_names() -> frozenset[str]:
    """``schema_names``, made once a process (``is_model_name`` asks of every name)."""
    return frozenset(schema_names())


def is_model_name(name: str) -> bool:
    """Whether a name in a SQLite file's schema is one a read model holds: its tables and
    indexes, those of earlier versions (``RETIRED_NAMES``), a bulk load's own indexes, the
    full-text index's tables, and SQLite's."""
    return (
        name in _model_names()
        or name in RETIRED_NAMES
        or name.startswith(("search_index_", "sqlite_", LOOKUP))
    )


def tracked(connection: sqlite3.Connection, names: Iterable[str]) -> bool:
    """Whether a SQLite file whose schema holds ``names`` has a read model's ``tracking``
    table (its row or not: a model whose first build was killed), or no table at all:
    names alone do not tell a model from someone's own ``incidents`` or ``sources``. The
    one rule by which a file with tables is a read model, wherever one is opened.

    A read model's ``tracking`` has had ``schema_version`` beside ``projection`` and
    ``position`` in every version; a tracking table of someone's own (an event
    processor's ``projection`` and ``position``, say) lacks it."""
    if all(name.startswith("sqlite_") for name in names):
        return True
    try:
        connection.execute(
            "SELECT position, schema_version FROM tracking WHERE projection = ?", (PROJECTION,)
        )
    except sqlite3.Error:  # no tracking table, or someone else's
        return False
    return True


def foreign_refused(path: Path) -> BadInputError:
    """The refusal of a SQLite file holding tables of something else as a read model."""
    return BadInputError(
        f"{path} is a SQLite database of something else: a read model cannot be written "
        "there (set LEDGER_VIEWS to a file of its own)"
    )


def table_columns() -> dict[str, tuple[str, ...]]:
    """The columns of every table that holds projected rows, in their order (not ``tracking``)."""
    columns = {name: tuple(spec) for name, (spec, _) in _TABLES.items() if name != "tracking"}
    return columns | {"search_index": SEARCH_COLUMNS}


def row_key(table: str) -> tuple[str, ...]:
    """The columns that name one row of a table (its key), for messages."""
    if table == "search_index":
        return ("kind", "ref", "field")
    if table == "claims":  # (named by its id, not by its primary key, the seq)
        return ("id",)
    key = _TABLES[table][1]
    return ("id",) if key is None else (key,) if isinstance(key, str) else key


@dataclass(frozen=True)
class Binding:
    """What ties a read model to its store: the position it has projected, and the store's
    id, log size and log root at that position (None where the model has none yet)."""

    position: int
    store_id: str | None
    size: int | None
    root: bytes | None


def schema_of(path: Path) -> tuple[list[str], list[str]] | None:
    """``Views.schema_statements`` of the read model at ``path``, read without writing;
    None when there is none to read."""
    try:
        views = Views(path, read_only=True)
    except StoreError:
        return None
    try:
        return views.schema_statements()
    except sqlite3.Error:
        return None
    finally:
        views.close()


def schema_kind(path: Path) -> str | None:
    """What the SQLite file at ``path`` holds that a read model must never be written
    beside: ``store`` (an event store's tables), ``foreign`` (tables, and no read model's
    ``tracking``: ``tracked``), or None (a model of any version, an empty or absent file,
    or not a SQLite database one can read). One look at the file's schema that changes
    nothing: read as an immutable file (nothing made beside it, no ``-shm``), or, when a
    ``-wal`` lies beside it (whose tables an immutable read would not see), through a
    read-only connection, which never merges that log into the file as a writer's close
    does."""
    try:
        if path.stat().st_size == 0:
            return None
        logged = path.with_name(path.name + "-wal").stat().st_size > 0
    except FileNotFoundError:
        logged = False
    except OSError:
        return None
    uri = "file:" + quote(str(path.resolve())) + ("?mode=ro" if logged else "?mode=ro&immutable=1")
    try:
        connection = sqlite3.connect(uri, uri=True)
        try:
            names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            if STORE_TABLES & names:
                return "store"
            return None if tracked(connection, names) else "foreign"
        finally:
            connection.close()
    except sqlite3.Error:
        return None  # not a SQLite database, or not one that can be read


def refuse_unless_model(path: Path) -> None:
    """Refuse a file holding an event store, or tables of something else
    (``schema_kind``), as a read model."""
    kind = schema_kind(path)
    if kind == "store":
        raise store_refused(path)
    if kind == "foreign":
        raise foreign_refused(path)


def _changed_by_opening(path: Path) -> bool:
    """Whether opening the file at ``path`` for writing could change it: unless it is
    already in WAL mode with no log beside (a model closed cleanly: every command's case),
    the open turns it to WAL mode, or its close merges the log left beside it into it.
    Told from the file's header, without a connection."""
    try:
        with path.open("rb") as handle:
            header = handle.read(20)
        logged = path.with_name(path.name + "-wal").exists()
    except OSError:
        return False  # none yet, or none to read: the open says which
    wal = header[:16] == b"SQLite format 3\x00" and header[18:20] == b"\x02\x02"
    return bool(header) and (logged or not wal)


class Views:
    """An open read-model database."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if self.path.exists() and not self.path.is_file() and not self.path.is_dir():
            # Opening a named pipe waits for a writer (for ever); a device is no model.
            raise BadInputError(
                f"the read model {self.path} is not a regular file (a pipe or a device): "
                "set LEDGER_VIEWS to a file of its own"
            )
        try:
            if read_only:  # answers only; never writes, not even beside the file
                connection = sqlite3.connect(
                    read_only_uri(self.path), uri=True, isolation_level=None, timeout=30
                )
                connection.execute("PRAGMA schema_version").fetchone()
            else:
                if _changed_by_opening(self.path):
                    # Looked at first; any other file is held to the same rule by
                    # ``ensure_schema``, which opening it leaves as it was.
                    refuse_unless_model(self.path)
                connection = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                # Some builds (Debian's among them) zero every freed page, which made
                # dropping a million-claim model for a rebuild write its whole size
                # again. The model is derived from the ledger and holds nothing to erase.
                connection.execute("PRAGMA secure_delete=OFF")
        except sqlite3.DatabaseError as error:
            if "not a database" in str(error):  # overwritten, or never a model
                raise StoreError(
                    f"the read model {self.path} is not a SQLite database: 'ledger replay' "
                    "makes it anew from the ledger"
                ) from None
            raise StoreError(f"cannot open the read model {self.path}: {error}") from None
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the read model {self.path}: {error}") from None
        self.connection = connection
        self._db: Any = None
        self._bulk = False
        self._bulk_indexes: list[str] | None = None
        self._lookups: tuple[tuple[str, str], ...] = ()
        self.journaled = True
        """Whether a transaction (and a savepoint in it) can be rolled back."""
        self._search_table = _SEARCH_TABLE
        self._private = False

    def map_for_queries(self) -> None:
        """Read pages in place from a memory map from now on (up to ``QUERY_MMAP_BYTES``).

        A point-in-time answer reads a few hundred claims scattered over the model;
        mapped, each page is read without a system call and a copy, 12% off ``state``
        at a million claims. Only for a connection that has finished writing: mapped
        pages count in the process's resident memory, and a rebuild's index build
        reads the whole model.
        """
        self.connection.execute(f"PRAGMA mmap_size={QUERY_MMAP_BYTES}")

    def make_scratch(self) -> None:
        """Keep no journal: for a model that is discarded if anything fails before it
        is complete (a rebuild's shard). It is then written once, not to a WAL and
        again to the file."""
        self.connection.execute("PRAGMA journal_mode=OFF")
        self.journaled = False

    def make_private(self) -> None:
        """Keep the journal in memory while rows are loaded: for a model no other process
        opens until it is complete (a rebuild's new model, renamed into place only then; a
        killed rebuild's is emptied by the next). Its rows and indexes are then written once,
        not to a WAL and again to the file (a rebuild of a million events: about 5 % less
        time), and a transaction or savepoint still rolls back. ``finish_bulk`` and
        ``make_shared`` return it to WAL mode."""
        self.connection.execute("PRAGMA journal_mode=MEMORY")
        self._private = True

    def make_shared(self) -> None:
        """WAL mode again (``make_private``): a model readers may open while it is written."""
        self.connection.execute("PRAGMA journal_mode=WAL")
        self._private = False

    def make_shard(self) -> None:
        """A rebuild's shard (``absorb``): a scratch model (``make_scratch``) whose
        searchable texts are kept in a plain table. ``absorb`` indexes them in the model;
        indexing them here as well was 7% of a shard's CPU on the hot scenario."""
        self.make_scratch()
        self._search_table = _SHARD_SEARCH_TABLE

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: every query in it sees the model as the first one did."""
        self.connection.execute("BEGIN")
        try:
            yield
        finally:
            if self.connection.in_transaction:
                self.connection.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: one projector at a time)."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            # SQLite may have rolled back already (a full disk): then the error that did it
            # is the one to report, not that no transaction is left to roll back.
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def _tables(self) -> set[str]:
        rows = self.connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        return {row[0] for row in rows}

    def schema_current(self, tables: set[str] | None = None) -> bool:
        """Whether the model has this version's every table and index (``ensure_schema``
        has nothing to do), read without writing; ``tables``: its tables, if known."""
        return (
            _TABLES.keys() | {*_SEARCH_TABLES, *_DERIVED_TABLES} <= (tables or self._tables())
            and self._schema_version() == SCHEMA_VERSION
            and self._index_statements() is not None
        )

    def ensure_schema(self) -> None:
        """Create any missing table and index; a no-op on a current database. Never in an
        event store's file (``STORE_TABLES``): a read model there mixes into the record."""
        tables = self._tables()
        if STORE_TABLES & tables:
            raise store_refused(self.path)
        if not tracked(self.connection, tables):
            raise foreign_refused(self.path)  # (a model of any version keeps ``tracking``)
        if self.schema_current(tables):
            return
        if self.read_only:
            raise StoreError(
                f"the read model {self.path} is read-only and not of this version's layout: "
                "it cannot be used; set LEDGER_VIEWS to a file that can be written"
            )
        with self.transaction():
            # Looked at again under the write lock: another process may have made the
            # model meanwhile (two first reads at once), and it is then not made twice.
            tables = self._tables()
            if self.schema_current(tables):
                return
            if "tracking" in tables and self._schema_version() != SCHEMA_VERSION:
                # An older layout: the read model is disposable, so rebuild it from the events.
                for name in (*_TABLES, *_SEARCH_TABLES, *_DERIVED_TABLES):
                    self.connection.execute(f"DROP TABLE IF EXISTS [{name}]")
                tables = set()
            for name, (columns, pk) in _TABLES.items():
                if name not in tables:
                    self.db.create_table(name, columns, pk=pk)
            for statement in (self._search_table, *_SEARCH_SCOPE_TABLES, *_DERIVED_SCHEMA):
                self.connection.execute(statement)
            if not self._bulk:
                self._create_indexes()
                if "claims" in tables:  # a bulk load that died before its end: finish it
                    settle(self.connection)
            self._create_lookups()
            self.connection.execute(_NEW_TRACKING, (PROJECTION, SCHEMA_VERSION))

    @property
    def db(self) -> Any:
        """The sqlite-utils view of the database, for creating tables and indexes.

        Imported on first use: sqlite-utils pulls in numpy when it is installed,
        a fifth of a second that a read-only command never needs.
        """
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.connection)
        return self._db

    def _create_indexes(self) -> None:
        self._drop_lookups()
        for (table, indexed, unique), name in zip(_INDEXES, _INDEX_NAMES[:-1], strict=True):
            self.db.table(table).create_index(
                indexed, index_name=name, unique=unique, if_not_exists=True
            )
        self.connection.execute(INDEX_SQL)

    def table_statements(self) -> list[str] | None:
        """The CREATE statements of this model's tables as sqlite-utils first wrote
        them, when it has every table at the current schema version (else None).

        A rebuild recreates the schema from them, and a helper its shard, without
        loading sqlite-utils again: that import was 70 ms of every ``ledger replay``.
        """
        tables = self._statements("table", list(_TABLES))
        return tables if tables is not None and self._schema_version() == SCHEMA_VERSION else None

    def schema_statements(self) -> tuple[list[str], list[str]] | None:
        """The CREATE statements of this model's tables and indexes, for a rebuild to make
        a fresh file from (``create``) without loading sqlite-utils, whose import (numpy
        with it) was a tenth of a ``ledger replay``: None unless the model is of this
        version and each of its tables has the columns and primary key declared here."""
        tables, indexes = self.table_statements(), self._index_statements()
        if tables is None or indexes is None:
            return None
        for name, (columns, pk) in _TABLES.items():
            info = self.connection.execute(f"PRAGMA table_info([{name}])").fetchall()
            keys = tuple(row[1] for row in sorted(info, key=lambda row: row[5]) if row[5])
            declared = () if pk is None else (pk,) if isinstance(pk, str) else pk
            if [row[1] for row in info] != list(columns) or keys != declared:
                return None
        return tables, indexes

    def _index_statements(self) -> list[str] | None:
        """The CREATE statements of the model's indexes, when it has every one (else None)."""
        return self._statements("index", _INDEX_NAMES)

    def _statements(self, kind: str, names: list[str]) -> list[str] | None:
        found = dict(
            self.connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = ? AND sql IS NOT NULL", (kind,)
            ).fetchall()
        )
        if not all(name in found for name in names):
            return None
        return [found[name] for name in names]

    def create(self, tables: list[str], indexes: list[str] | None = None) -> None:
        """Create an empty schema, position 0, from the statements of ``table_statements``
        (and its indexes' statements, unless indexes are to be built after a bulk load)."""
        with self.transaction():
            for statement in tables:
                self.connection.execute(statement)
            for statement in (self._search_table, *_SEARCH_SCOPE_TABLES, *_DERIVED_SCHEMA):
                self.connection.execute(statement)
            if indexes is None and not self._bulk:
                self._create_indexes()
            for statement in indexes or ():
                self.connection.execute(statement)
            self._create_lookups()
            self.connection.execute(_NEW_TRACKING, (PROJECTION, SCHEMA_VERSION))

    def _schema_version(self) -> int | None:
        row = self.connection.execute(
            "SELECT schema_version FROM tracking WHERE projection = ?", (PROJECTION,)
        ).fetchone()
        return None if row is None else int(row[0])

    def reset(self) -> None:
        """Drop every table and recreate the empty schema, position 0 (for a rebuild)."""
        tables, indexes = self.table_statements(), self._index_statements()
        with self.transaction():
            for name in (*_TABLES, *_SEARCH_TABLES, *_DERIVED_TABLES):
                self.connection.execute(f"DROP TABLE IF EXISTS [{name}]")
        if tables is None:
            self.ensure_schema()
        else:
            self.create(tables, indexes)

    @property
    def bulk(self) -> bool:
        """Whether a bulk rebuild is under way (its secondary indexes not built yet)."""
        return self._bulk

    def begin_bulk(self, lookups: Sequence[tuple[str, str]] = ()) -> None:
        """Drop the secondary indexes and skip fsync while a large backlog is applied.

        Rows then go in at append speed and each index is built once, sorted, in
        ``finish_bulk``. If the process dies first, the next ``ensure_schema``
        sees the indexes missing and builds them; the rows and the tracked
        position are consistent either way.

        ``lookups`` are the (table, column) pairs that later events update rows by
        (the projector's ``UPDATE … WHERE column = ?``): each keeps a plain index for
        the load, else every such update scans the table, and a rebuild's time grows
        with the square of its claims. They are dropped once the real indexes stand.
        """
        self._lookups = tuple(lookups)
        self._bulk_indexes = self._index_statements()
        with self.transaction():
            names = [
                row[0]
                for row in self.connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'"
                )
            ]
            for name in names:
                self.connection.execute(f"DROP INDEX IF EXISTS [{name}]")
            self._bulk = True
            self._create_lookups()
        self.connection.execute("PRAGMA synchronous=OFF")

    def _create_lookups(self) -> None:
        """The bulk load's plain indexes (``begin_bulk``), on the tables that exist yet."""
        tables = {
            row[0]
            for row in self.connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        for table, column in self._lookups if self._bulk else ():
            if table in tables:
                name = f"{LOOKUP}{table}_{column}"
                self.connection.execute(
                    f"CREATE INDEX IF NOT EXISTS [{name}] ON [{table}]([{column}])"
                )

    def _drop_lookups(self) -> None:
        """Drop the bulk load's plain indexes, also those a load that died left behind."""
        names = [
            row[0]
            for row in self.connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE ?",
                (f"{LOOKUP}%",),
            )
        ]
        for name in names:
            self.connection.execute(f"DROP INDEX IF EXISTS [{name}]")

    def finish_bulk(self) -> None:
        """End a bulk rebuild: build the secondary indexes, write the claims' statuses
        (``claim_status.settle``), restore durable commits."""
        # Sort each index with worker threads: by now the rows are in and the
        # other cores idle (a quarter off the index build at a million claims).
        self.connection.execute(f"PRAGMA threads={SORT_THREADS}")
        with self.transaction():
            if self._bulk_indexes is None:
                self._create_indexes()
            for statement in self._bulk_indexes or ():
                # Another process may have built them meanwhile: its first read, finding
                # them missing, takes this live load for one that died (``ensure_schema``).
                # The load still ends with every claim's status (``settle``).
                self.connection.execute(_IF_NOT_EXISTS.sub(r"\g<0>IF NOT EXISTS ", statement, 1))
            self._drop_lookups()
            if not self._private:
                settle(self.connection)
        if self._private:
            # The statuses change pages the model holds: an in-memory journal would keep
            # their old contents, growing with the model (60 MB at a million claims),
            # where the WAL keeps them on disk. (The indexes are new pages: none kept.)
            self.make_shared()
            with self.transaction():
                settle(self.connection)
        self._bulk_indexes = None
        self.connection.execute("PRAGMA threads=0")
        self._bulk = False
        self.connection.execute("PRAGMA synchronous=NORMAL")

    def position(self) -> int:
        """The notification id of the last event applied (0 when none)."""
        row = self.connection.execute(
            "SELECT position FROM tracking WHERE projection = ?", (PROJECTION,)
        ).fetchone()
        return int(row[0]) if row else 0

    def set_position(
        self, position: int, size: int | None = None, root: bytes | None = None
    ) -> None:
        """Record the position, and the store's log size and root there; call inside the
        transaction that applied the events."""
        self.connection.execute(
            "UPDATE tracking SET position = ?, size = ?, root = ? WHERE projection = ?",
            (position, size, root, PROJECTION),
        )

    def set_aside(self, seq: int, event: str, topic: str, incident: str | None, error: str) -> None:
        """Record that the event at ``seq`` could not be projected (it left no row), and
        why; call inside the transaction that applies its page."""
        self.connection.execute(SET_ASIDE, (seq, event, topic, incident, error))

    def duplicate_claims(self) -> list[tuple[int, str, str | None, int]]:
        """(seq, id, incident, seq of the first) of every claim row under an id an earlier
        row already has: only a forged event makes one, and only a bulk load, which builds
        the unique index of ids afterwards, lets it in (``finish_bulk`` then fails)."""
        return self.connection.execute(
            "SELECT c.seq, c.id, c.incident, f.first FROM claims c JOIN "
            "(SELECT id, MIN(seq) AS first FROM claims GROUP BY id HAVING COUNT(*) > 1) f "
            "ON c.id = f.id AND c.seq > f.first ORDER BY c.seq"
        ).fetchall()

    def drop_event_rows(self, seqs: Sequence[int]) -> None:
        """Delete the claim rows the events at ``seqs`` wrote, and their searchable texts
        (to set them aside after a bulk load; the texts in one read of the index, which
        only the full-text table's own rows name by event)."""
        chosen = [(seq,) for seq in seqs]
        for table in ("claims", "claim_ends"):
            self.connection.executemany(f"DELETE FROM [{table}] WHERE seq = ?", chosen)
        wanted = {seq for (seq,) in chosen}
        texts = self.connection.execute("SELECT rowid, seq FROM search_index") if wanted else ()
        rows = [(row,) for row, seq in texts if seq in wanted]
        for table, key in (("search_index", "rowid"), *((scope, "row") for scope in SEARCH_SCOPES)):
            self.connection.executemany(f"DELETE FROM {table} WHERE {key} = ?", rows)

    def set_aside_events(self) -> list[dict[str, Any]]:
        """Every event that could not be projected, in ledger order."""
        rows = self.connection.execute(
            "SELECT seq, event, topic, incident, error FROM unprojectable ORDER BY seq"
        ).fetchall()
        names = ("seq", "event", "topic", "incident", "error")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def require_projected(self, incident: str | None) -> None:
        """Refuse to answer (``StoreError``) when an event the answer needs could not be
        projected: one about ``incident``, or one whose incident is unknown; with
        ``incident`` None (an answer about every incident), any such event."""
        where = "" if incident is None else "WHERE incident IS NULL OR incident = ? "
        row = self.connection.execute(
            f"SELECT seq, event, incident, error FROM unprojectable {where}ORDER BY seq LIMIT 1",
            () if incident is None else (incident,),
        ).fetchone()
        if row is None:
            return
        seq, event, about, error = row
        scope = f", incident '{about}'" if about is not None else ""
        raise StoreError(
            f"event {seq} ({event}{scope}) could not be projected, so this answer would be "
            f"incomplete: {error}"
        )

    def binding(self) -> Binding:
        """The position this model has projected and what binds it to its store."""
        row = self.connection.execute(
            "SELECT position, store_id, size, root FROM tracking WHERE projection = ?",
            (PROJECTION,),
        ).fetchone()
        if row is None:
            return Binding(0, None, None, None)
        root = None if row[3] is None else bytes(row[3])
        return Binding(int(row[0]), row[1], row[2], root)

    def mark_snapshot(self, store_id: str) -> None:
        """Record that this model holds only the events recorded by some instant
        (``binding.snapshot_id``), in its own transaction: it then never follows its store."""
        with self.transaction():
            self.connection.execute(
                "UPDATE tracking SET store_id = ? WHERE projection = ?", (store_id, PROJECTION)
            )

    def bind(self, store_id: str) -> None:
        """Bind an empty model (position 0) to a store, in its own transaction."""
        with self.transaction():
            self.connection.execute(
                "UPDATE tracking SET store_id = ?, size = 0, root = NULL "
                "WHERE projection = ? AND position = 0",
                (store_id, PROJECTION),
            )

    def absorb(
        self,
        shard: Path,
        position: int,
        size: int,
        root: bytes,
        updates: Sequence[tuple[str, tuple[Any, ...]]] = (),
    ) -> None:
        """Append every row of a shard and take its position, in one transaction.

        A shard is a read model of the events that follow this one's position, up
        to ``position`` (a rebuild's second half, built by a helper process).
        The ``updates`` its events made are made again here, in order, as applying
        those events here would have made them: a source's grade, an erratum's link,
        whose row may be of this model's part; claims take their statuses when the bulk
        load ends (``finish_bulk``), as a bulk load's own claims do.
        """
        self.connection.execute("ATTACH DATABASE ? AS shard", (str(shard),))
        try:
            with self.transaction():
                for name in _TABLES:
                    if name == "tracking":
                        continue
                    # A zone's rows come from its first incident: the first half's, if any.
                    ignore = name in ("incident_relations", "zone_day_ends")
                    verb = "INSERT OR IGNORE" if ignore else "INSERT"
                    self.connection.execute(
                        f"{verb} INTO main.[{name}] SELECT * FROM shard.[{name}]"
                    )
                # The shard numbered its texts from 1: they follow this model's, as
                # they would had this process projected them (``last_search_row``).
                offset = {"offset": self.last_search_row()}
                self.connection.execute(
                    f"INSERT INTO main.search_index (rowid, {_SEARCH_COLUMNS}) "
                    f"SELECT rowid + :offset, {_SEARCH_COLUMNS} FROM shard.search_index "
                    "ORDER BY rowid",
                    offset,
                )
                for scope, column in SEARCH_SCOPES.items():
                    self.connection.execute(
                        f"INSERT INTO main.{scope} SELECT row + :offset, {column} "
                        f"FROM shard.{scope} ORDER BY row",
                        offset,
                    )
                for statement, row in updates:  # unqualified names are main's first
                    self.connection.execute(statement, row)
                self.set_position(position, size, root)
        finally:
            self.connection.execute("DETACH DATABASE shard")

    def dump(self) -> dict[str, list[tuple[object, ...]]]:
        """Every row of every projected table, sorted (for comparing two read models)."""
        return {
            name: sorted(tuple(row) for row in self.connection.execute(f"SELECT * FROM [{name}]"))
            for name in (*_TABLES, *_SEARCH_TABLES)
            if name != "tracking"
        }

    def last_search_row(self) -> int:
        """The row number of the last searchable text (0 when none): the projector numbers
        the next ones from it, in the transaction that writes them (``SEARCH_SCOPES``)."""
        row = self.connection.execute(
            "SELECT rowid FROM main.search_index ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
        return int(row[0]) if row else 0
