"""Does the read model agree with the log?

The read model is a file anyone who can write it can edit: ``sqlite3 ledger.views.db
"update claims set value = …"`` changes what ``state`` shows. This check holds the model to
the log. Every event up to the model's position is read from the store and checked against
the Merkle log as ``verify`` checks it (``log_check.checked_pages``); the rows it produces
are recomputed by the projector's own handlers without being written (``Projector.collect``);
and the model's rows must be exactly those rows, table by table, while the leaves read fold to
the root the model is bound to (``projections.binding``). Claims' statuses are then derived
from the model's rows that agree (``projections.claim_status``).

It streams: the log a page at a time, each table of the model in storage order beside it. A
page's rows are written by statement, not in event order, so a model's rows are in event
order only from one page to the next: rows are matched as multisets, and a row left
unmatched waits for its match, which a sound model supplies within a page or two. Whatever
is left at the end differs; the first difference by event position is named.

Over 400 lines: the two sides of the check, the log's rows as the projector makes them
and the model's as its tables hold them (all of them, or an incident's scope), are
matched here together.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, cast

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import VerificationError
from incident_ledger.ledger.gcpause import collect_young, gc_paused
from incident_ledger.ledger.log_check import checked_pages
from incident_ledger.ledger.merkle import Frontier
from incident_ledger.ledger.stores.recorder import EventRow
from incident_ledger.projections.binding import binding_problem
from incident_ledger.projections.check_scope import incident_scope
from incident_ledger.projections.claim_status import derived
from incident_ledger.projections.projector import UPDATE_FORM, UPDATES, Projector
from incident_ledger.projections.views import SEARCH_SCOPES, Views, row_key, table_columns

BATCH = 4096
"""Model rows read at a time from each table."""
SCOPED_BATCH = 256
"""Model rows read at a time from each table by an incident's check: only the scope's, so
a batch reaches further ahead of the log than ``BATCH`` rows of every event would, and
its rows wait, unmatched, until the log gets there."""
SETTLE_AT = 8_192
"""Rows held on both sides of a table before the matched ones are cancelled: about two
pages' rows of the busiest table, so that what the check holds does not follow the log."""
MAX_UNMATCHED = 200_000
"""Unmatched rows of a table held before the check stops: a sound model leaves a page's."""

Row = tuple[Any, ...]
Collected = dict[str, list[Row]]
Keep = Callable[[object], bool]
"""Whether a model row of the event at this ``seq`` is compared."""


class ReadModelDiffers(VerificationError):
    """The read model is not what the log produces; ``where`` names the first row."""

    def __init__(self, where: str) -> None:
        super().__init__(f"the read model differs from the log: {where}")
        self.where = where


@dataclass(frozen=True)
class Agreement:
    """A read model that agrees with the log: its position, the log's size and root
    there (recomputed from the leaves), and how many of its rows were compared."""

    position: int
    size: int
    root: bytes
    rows: int


def check_read_model(ledger: Ledger, views: Views, incident: str | None = None) -> Agreement:
    """Compare every row of the read model with the rows the log produces up to its
    position; raise ReadModelDiffers naming the first that differs.

    With ``incident``, only the rows an export of that incident reads, and the
    events that produce them (``check_scope``); every leaf of the log is still
    checked and folded to the model's root.

    Call it within a read transaction of the model (``Views.snapshot``), so that what
    is checked is what is then read.
    """
    problem = binding_problem(ledger, views)
    if problem is not None:
        raise ReadModelDiffers(f"it {problem}")
    binding = views.binding()
    projector = Projector(ledger, views)
    frontier = Frontier()
    with gc_paused(), ledger.audit.reading() as view:
        size = view.size_at(binding.position)
        scope = None
        if incident is not None:
            scope = incident_scope(ledger, view, size, views.connection, incident)
        tables = _Tables(views.connection, None if scope is None else scope.positions)
        for rows, leaves in checked_pages(view, ledger.leaf_mapper, size, frontier):
            page = (rows, leaves) if scope is None else scope.chosen(rows, leaves)
            tables.expect(collected(projector, *page))
            tables.read_until(rows[-1][0])
    tables.finish(views.connection)
    _check_search_scopes(views.connection, incident)
    root = frontier.root()
    if binding.position and root != binding.root:
        raise ReadModelDiffers(
            f"the log's {size} events hash to another root than the one the model recorded"
        )
    return Agreement(binding.position, size, root, tables.rows_read)


CHUNK = 512
"""Events projected between two collections of the garbage they leave (``collect_young``)."""


def collected(projector: Projector, rows: list[EventRow], leaves: list[bytes]) -> Collected:
    """The rows a checked page of events produces, by statement (``Projector.collect``).

    Projected ``CHUNK`` events at a time, freeing the reference cycles each chunk leaves
    before the next: what the check holds is then one chunk's garbage and one page's
    rows, however long the log. The chunks' rows are joined by statement, in the order
    each statement was first used, as one page's would be.
    """
    joined: Collected = {}
    for start in range(0, len(rows), CHUNK):
        end = start + CHUNK
        for statement, produced in projector.collect(rows[start:end], leaves[start:end]).items():
            joined.setdefault(statement, []).extend(produced)
        collect_young()
    return joined


# --- rows as the handlers queue them, as the model holds them ---------------------------------

_INSERT = re.compile(
    r"INSERT(?: OR (?:(?P<ignore>IGNORE)|REPLACE))? INTO (?P<table>\w+)"
    r"(?: \((?P<columns>[^)]*)\))? "
    r"VALUES \((?P<values>[^)]*)\)"
)


@dataclass(frozen=True)
class _Insert:
    """How a queued INSERT's parameters become a row as the table holds it."""

    table: str
    row_of: Callable[[Row], Row]
    """The table's row (its columns in order) from the statement's parameters."""
    ignore: bool
    """INSERT OR IGNORE: a repeat of a row in one page is not written again."""


def _check_search_scopes(connection: sqlite3.Connection, incident: str | None) -> None:
    """Raise ReadModelDiffers unless the index of searchable texts by incident, and the
    one of report titles (``views.SEARCH_SCOPES``), say what ``search_index`` does, which
    the rows are checked against: they name its rows by number, which the log does not
    fix, so they are checked by what they are derived from. With ``incident``, that
    incident's texts (and every report title)."""
    derived = {
        "search_incidents": "SELECT rowid, incident FROM search_index WHERE incident IS NOT NULL",
        "search_reports": "SELECT rowid, ref FROM search_index "
        "WHERE incident IS NULL AND kind = 'report'",
    }
    for table, column in SEARCH_SCOPES.items():
        held = f"SELECT row, {column} FROM {table}"
        wanted = derived[table]
        if incident is not None and column == "incident":
            held, wanted = held + " WHERE incident = :i", wanted + " AND incident = :i"
        for first, second, says in ((wanted, held, "lacks"), (held, wanted, "holds")):
            row = connection.execute(
                f"SELECT * FROM ({first} EXCEPT {second}) LIMIT 1", {"i": incident}
            ).fetchone()
            if row is not None:
                raise ReadModelDiffers(
                    f"{table} {says} the row ({row[0]}, '{row[1]}'), unlike search_index"
                )


def _table_of(statement: str) -> str | None:
    found = _INSERT.fullmatch(statement)
    return None if found is None else found["table"]


def _parse_insert(statement: str, columns: dict[str, tuple[str, ...]]) -> _Insert:
    """Read one of the handlers' INSERT statements: a table, optional column names, and
    values that are each ``?``, ``NULL`` or a quoted constant."""
    found = _INSERT.fullmatch(statement)
    if found is None or found["table"] not in columns:
        raise ValueError(f"the read-model check cannot read the statement {statement!r}")
    table = columns[found["table"]]
    values = [value.strip() for value in found["values"].split(",")]
    named = [c.strip() for c in found["columns"].split(",")] if found["columns"] else table
    if len(named) != len(values):
        raise ValueError(f"the read-model check cannot read the statement {statement!r}")
    parameters = values.count("?")
    constants: list[Any] = [None]  # index `parameters` of an extended row: an empty column
    slots: dict[str, int] = {}
    number = 0
    for name, value in zip(named, values, strict=True):
        if value == "?":  # the n-th ``?`` is parameter n
            slots[name] = number
            number += 1
        else:
            constants.append(None if value == "NULL" else value.strip("'"))
            slots[name] = parameters + len(constants) - 1
    getter = itemgetter(*[slots.get(column, parameters) for column in table])
    extra = tuple(constants)

    def row_of(row: Row) -> Row:
        result: Row = getter(row + extra)
        return result

    return _Insert(found["table"], row_of, bool(found["ignore"]))


@dataclass
class _Mask:
    """A column that later events update (``projector.UPDATES``): rows are compared
    without it, and its final value per row key separately."""

    column: int
    key: int
    seq: int
    expected: dict[Any, Any]
    found: dict[Any, tuple[Any, Any]]

    def hide(self, rows: list[Row], expected: bool) -> list[Row]:
        """The rows with the column emptied; its values kept as the side's finals."""
        column, key = self.column, self.key
        for row in rows:
            if expected:
                self.expected[row[key]] = row[column]
            else:
                self.found[row[key]] = (row[column], row[self.seq])
        return [(*row[:column], None, *row[column + 1 :]) for row in rows]


class _Table:
    """One table of the model: its rows read in storage order, and the rows of each side
    not matched yet.

    Every row a sound model holds is distinct (each holds the position of the event that
    produced it, and one event's rows differ from each other), so each side is a set, and
    matching is set arithmetic, in C. A row the model holds twice is a difference.
    """

    def __init__(
        self, name: str, columns: tuple[str, ...], cursor: sqlite3.Cursor, keep: Keep | None
    ) -> None:
        self.name = name
        self.keep = keep
        self.columns = columns
        self.seq = columns.index("seq")
        self.cursor = cursor
        self.exhausted = False
        self.read = 0
        self.expected: set[Row] = set()
        self.found: set[Row] = set()
        self.repeated: list[Row] = []
        self.mask: _Mask | None = None

    def expect(self, rows: list[Row]) -> None:
        if self.mask is not None:
            rows = self.mask.hide(rows, expected=True)
        self.expected.update(rows)

    def read_until(self, position: int) -> None:
        """Read the model's rows until one of an event after ``position``."""
        found = self.found
        while not self.exhausted:
            batch = self.cursor.fetchmany(BATCH if self.keep is None else SCOPED_BATCH)
            if not batch:
                self.exhausted = True
                return
            last = batch[-1][self.seq]
            if self.keep is not None:
                batch = [row for row in batch if self.keep(row[self.seq])]
            self.read += len(batch)
            if self.mask is not None:
                batch = self.mask.hide(batch, expected=False)
            rows = set(batch)
            if len(rows) != len(batch) or not found.isdisjoint(rows):
                self._note_repeats(batch)  # a row held twice (or more)
            found |= rows
            if type(last) is not int or last > position:
                return

    def _note_repeats(self, batch: list[Row]) -> None:
        seen = set(self.found)
        for row in batch:
            if row in seen:
                self.repeated.append(row)
            seen.add(row)

    def settle(self) -> int:
        """Cancel the rows matched on both sides; how many are left unmatched."""
        expected, found = self.expected, self.found
        if expected and found:
            if expected == found:
                expected.clear()
                found.clear()
            else:
                common = expected & found
                expected -= common
                found -= common
        return len(expected) + len(found)

    def differences(self) -> Iterator[tuple[int, str]]:
        """(event position, description) of each row left unmatched on either side, and
        of each updated column whose final value differs."""
        missing = {self._key(row): row for row in self.expected}
        for row in self.repeated:
            yield _position(row[self.seq]), f"{self._name(row)}: held twice in the read model"
        for row in self.found:
            key = self._key(row)
            other = missing.pop(key, None)
            if other is None:
                yield _position(row[self.seq]), f"{self._name(row)}: the ledger has no such row"
            else:
                yield _position(row[self.seq]), self._changed(row, other)
        for row in missing.values():
            yield _position(row[self.seq]), f"{self._name(row)}: missing from the read model"
        if self.mask is not None:
            yield from self._masked_differences(self.mask)

    def _masked_differences(self, mask: _Mask) -> Iterator[tuple[int, str]]:
        column = self.columns[mask.column]
        for key, (value, seq) in mask.found.items():
            if key in mask.expected and mask.expected[key] != value:
                where = f"{self.name} row {self.columns[mask.key]}={key!r} (event {seq})"
                yield _position(seq), _says(where, column, value, mask.expected[key])

    def _key(self, row: Row) -> Row:
        return tuple(row[self.columns.index(column)] for column in row_key(self.name))

    def _name(self, row: Row) -> str:
        pairs = zip(row_key(self.name), self._key(row), strict=True)
        key = ", ".join(f"{column}={value!r}" for column, value in pairs)
        return f"{self.name} row {key} (event {row[self.seq]})"

    def _changed(self, found: Row, expected: Row) -> str:
        for column, value, wanted in zip(self.columns, found, expected, strict=True):
            if value != wanted:
                return _says(self._name(found), column, value, wanted)
        return f"{self._name(found)}: differs from the ledger's"


def _says(where: str, column: str, value: Any, wanted: Any) -> str:
    return f"{where}: {column} is {value!r} in the read model, {wanted!r} in the ledger"


def _position(seq: Any) -> int:
    return seq if type(seq) is int else -1


_SCOPE = "model_check_scope"
"""The temporary table of the positions an incident's check compares: one set that every
table's read looks up by its key (a list bound to each query would be copied for each)."""


def _require_columns(connection: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> None:
    """Raise ReadModelDiffers unless a table of the model has exactly the columns the
    projector writes: the check compares those, while an export reads every column of some
    tables (a column added and filled by hand, ``review`` say, was shown as the ledger's)."""
    try:
        held = tuple(row[1] for row in connection.execute(f"PRAGMA table_info([{table}])"))
    except sqlite3.Error as error:
        raise ReadModelDiffers(f"its table {table} cannot be read ({error})") from None
    if held == columns or not held:  # (a table that is not there: its read says so)
        return
    extra = [column for column in held if column not in columns]
    if extra:
        raise ReadModelDiffers(f"its table {table} has a column {extra[0]} the ledger never makes")
    missing = [column for column in columns if column not in held]
    if missing:
        raise ReadModelDiffers(f"its table {table} lacks its column {missing[0]}")
    raise ReadModelDiffers(f"its table {table} holds its columns in another order")


def _chosen_by(positions: frozenset[int]) -> Keep:
    """Whether a model row of the event at ``seq`` is compared in a scope of ``positions``:
    one of them, or a seq that is not a position (``_Tables``)."""

    def chosen(seq: object) -> bool:
        return type(seq) is not int or seq in positions

    return chosen


def _hold_scope(connection: sqlite3.Connection, positions: frozenset[int]) -> None:
    connection.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_SCOPE} (seq INTEGER PRIMARY KEY)")
    connection.execute(f"DELETE FROM temp.{_SCOPE}")
    connection.executemany(
        f"INSERT INTO temp.{_SCOPE} (seq) VALUES (?)", ((p,) for p in sorted(positions))
    )


class _Tables:
    """Every table of the model, matched against the rows the log produces."""

    def __init__(
        self, connection: sqlite3.Connection, positions: frozenset[int] | None = None
    ) -> None:
        """``positions``: compare only the rows of the events at these positions (a scope),
        chosen by SQLite as it reads each table: a row of another event is never made."""
        self.columns = table_columns()
        self.tables: dict[str, _Table] = {}
        chosen, keep = "", None
        if positions is not None:
            _hold_scope(connection, positions)
            # Unary + keeps SQLite from an index on seq, whose rows it would then sort by
            # rowid: every table is read in storage order, one row after another.
            # A row whose seq is no position at all is read too: no event made it, and
            # a scope of positions would never choose it (an export still reads it).
            chosen = f"WHERE +[seq] IN (SELECT seq FROM temp.{_SCOPE}) OR typeof(seq) <> 'integer'"
            keep = _chosen_by(positions)
        for name, columns in self.columns.items():
            _require_columns(connection, name, columns)
            listed = ", ".join(f"[{column}]" for column in columns)
            sql = f"SELECT {listed} FROM [{name}] {chosen} ORDER BY rowid"
            try:
                cursor = connection.execute(sql)
            except sqlite3.Error as error:
                raise ReadModelDiffers(f"its table {name} cannot be read ({error})") from None
            self.tables[name] = _Table(name, columns, cursor, keep)
        self.updates: dict[str, tuple[str, str, str]] = {}
        for statement in UPDATES:
            found = UPDATE_FORM.fullmatch(statement)
            if found is None:
                raise ValueError(f"the read-model check cannot read the statement {statement!r}")
            table = self.tables[found["table"]]
            columns = table.columns
            table.mask = _Mask(
                columns.index(found["column"]), columns.index(found["key"]), table.seq, {}, {}
            )
            self.updates[statement] = (found["table"], found["column"], found["key"])
        self.inserts: dict[str, _Insert] = {}

    @property
    def rows_read(self) -> int:
        return sum(table.read for table in self.tables.values())

    def expect(self, collected: dict[str, list[Row]]) -> None:
        """Take a page's rows as queued by statement: inserts first, then updates, as
        ``Projector.flush`` writes them."""
        for statement, rows in collected.items():
            if statement in self.updates:
                continue
            insert = self.inserts.get(statement)
            if insert is None:
                if _table_of(statement) in SEARCH_SCOPES:  # (``_check_search_scopes``)
                    continue
                insert = self.inserts[statement] = _parse_insert(statement, self.columns)
            produced = [insert.row_of(row) for row in rows]
            if insert.ignore:
                produced = list(dict.fromkeys(produced))
            self.tables[insert.table].expect(produced)
        for statement, rows in collected.items():
            if statement in self.updates:
                mask = self.tables[self.updates[statement][0]].mask
                assert mask is not None
                for value, key in rows:
                    mask.expected[key] = value

    def read_until(self, position: int) -> None:
        for table in self.tables.values():
            table.read_until(position)
            if (
                len(table.expected) + len(table.found) > SETTLE_AT
                and table.settle() > MAX_UNMATCHED
            ):
                self._raise_first()

    def finish(self, connection: sqlite3.Connection) -> None:
        """Read the model's remaining rows; raise for the first difference, if any."""
        for table in self.tables.values():
            table.read_until(1 << 62)
            table.settle()
        mask = cast(_Mask, self.tables["claims"].mask)  # claim_status: derived once rows agree
        mask.expected.clear()
        self._raise_first()
        mask.expected.update(derived(connection, mask.found))
        self._raise_first()

    def _raise_first(self) -> None:
        first: tuple[int, str] | None = None
        for table in self.tables.values():
            for found in table.differences():
                if first is None or found[0] < first[0]:
                    first = found
        if first is not None:
            raise ReadModelDiffers(first[1])
