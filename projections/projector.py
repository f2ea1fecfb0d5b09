"""Keeps the read model current by pulling the ledger's notification log.

The eventsourcing library's ProjectionRunner cannot follow a SQLite
application, so this is the pull loop: read a page of notifications after the
tracked position, apply each event, and write the rows and the new position in
one transaction. A crash loses at most the page in flight, which is then
re-read: projection resumes exactly.

Over 400 lines: the hot loop and the handler of each event type are kept together,
tuned as one (a call or an attribute look-up less per event counts at a million).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

import orjson
from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import resolve_topic

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.domain import (
    Assessment,
    Claim,
    Fact,
    Incident,
    Report,
    Retraction,
    Source,
    fact_id,
)
from incident_ledger.ledger.errors import BadInputError, StoreError
from incident_ledger.ledger.facts import (
    NUMERIC_KINDS,
    FactKind,
    FactRules,
    bounds_in_zone,
    edtf_in_zone,
    read_claim,
)
from incident_ledger.ledger.forking import Helper, two_cores
from incident_ledger.ledger.gcpause import gc_paused
from incident_ledger.ledger.mapper import LeafMapper, check_envelope, upcast
from incident_ledger.ledger.scratch import Scratch
from incident_ledger.ledger.stores.recorder import EventRow
from incident_ledger.ledger.stores.written import Written
from incident_ledger.ledger.times import (
    day_end_key,
    day_end_offsets,
    instant_key,
    is_date_only,
    parse_instant,
    to_key,
)
from incident_ledger.ledger.values import ValueKind
from incident_ledger.projections.arabic import normalize
from incident_ledger.projections.binding import log_at
from incident_ledger.projections.claim_status import SET_STATUS, StatusRefresh, desk_in
from incident_ledger.projections.desk_handlers import DESK_HANDLERS, ERRATUM_LINK
from incident_ledger.projections.positions import rules_from_row
from incident_ledger.projections.views import SET_ASIDE, Views

PAGE_SIZE = 5_000
BULK_PAGES = 4
"""A bulk load's page is this many pages: each commit writes its changed pages to the
journal, and fewer, larger commits cost a rebuild about 5% less CPU."""
BULK_BACKLOG = 20_000
PARALLEL_BACKLOG = 40_000
"""A bulk backlog at least this long is split with a forked helper (SQLite stores only)."""
FIRST_SHARE = 0.515
"""This process's share of a split backlog. The helper's half costs more than its
events (a fork, a fresh store connection, one read of the reports, facts and incidents
cited across the split): per event, 1.03 times this process's on the standard 1M
ledger and 1.09 times on the hot one (``time.process_time`` of each half, once the
helper stopped looking those up in its shard: ``Projector.fresh``)."""

_IN_ORDER = "-- claims, in the order queued"
"""The queue of claim rows, each with its statement (``Projector.write_claim``). A claim
names only the columns it fills (``_claim_insert``), so claims take several statements;
queued per statement, a page's claims went in statement by statement, their seqs (the
table's rowid) out of order, each insert a seek and a split of a page half filled, where
in order each one appends."""
_STATEMENT = itemgetter(0)
_ROW = itemgetter(1)


def _by_statement(pending: dict[str, list[Any]]) -> dict[str, list[tuple[Any, ...]]]:
    """Queued rows by statement, the claims' (``_IN_ORDER``) among them."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for statement, rows in pending.items():
        if statement is _IN_ORDER:
            for each, row in rows:
                out.setdefault(each, []).append(row)
        else:
            out.setdefault(statement, []).extend(rows)
    return out


PageRow = EventRow | tuple[int, bytes]
"""A stored event as a page gives it: in full (``event_rows``), or its position and leaf
alone (``event_leaves``), all that a handler reads of most events."""
_LEAN = 2
"""How many columns a page row read as position and leaf holds."""
Handler = Callable[["Projector", dict[str, Any], int], None]
"""Writes the rows of one event, given as its leaf line (``leaf_line``) and its position."""
_UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, IndexError)
"""What a handler meets in a leaf that lacks a field or holds one of the wrong type."""


class Projector:
    """Applies ledger events to a read model."""

    def __init__(self, ledger: Ledger, views: Views) -> None:
        self.ledger = ledger
        self.views = views
        self.db: sqlite3.Connection = views.connection
        self._report_cache: dict[str, ReportTime] = {}
        self._stored_kinds: dict[str, dict[str, tuple[str, bytes]]] = {}
        """Kind → the first stored event of every aggregate of that kind (facts, incidents),
        by aggregate id, once a bulk load has asked for one (``_stored_creation``)."""
        self._pending: dict[str, list[tuple[Any, ...]]] = {}
        self.kept_updates: list[tuple[str, tuple[Any, ...]]] | None = None
        """Every update written, in order, when kept (a rebuild's helper keeps them: the
        row an update concerns may be in the part another process projects)."""
        self._collecting = False
        self._zones: dict[str, str | None] = {}
        """Incident → its time zone (None: UTC), as projected or looked up."""
        self._rules: dict[tuple[str, str], FactRules | None] = {}
        """(incident, fact) → its rules now (None: no fact event yet, a claim of old)."""
        self._same_rules: dict[str, FactRules] = {}
        """Each distinct fact rules met (by ``repr``: exact), the one object that stands for
        them in ``_readings``' keys (kept here, so that its ``id`` is never reused)."""
        self._readings: dict[tuple[Any, ...], tuple[ValueKind, int, str, tuple[Any, ...]]] = {}
        """(value, qualifier, id of its rules, zone) → what ``_read`` makes of a claim value."""
        self._claim_zones: dict[str, str] = {}
        self._zones_written: set[str] = set()
        """Time zones whose day ends this run has written or found in the read model."""
        self._zones_queued: set[str] = set()
        """Those of ``_zones_written`` whose rows are queued, not written yet."""
        self._contexts: dict[tuple[str, str], tuple[str | None, FactRules | None, bool]] = {}
        """(incident, fact) → (zone, rules, whether an exact whole number is read as
        itself): what each claim needs, in one look-up."""
        """Claims of incidents with a time zone projected in this run → that zone."""
        self.statuses = StatusRefresh()
        """What this page touched that can change claims' statuses (``refresh_statuses``)."""
        self._written: Written | None = None
        """The write the running catch-up follows (``catch_up``), if any."""
        self._search_row: int | None = None
        """The row number of the last searchable text queued (``next_search_row``), or None
        until this transaction's first is queued."""
        self.desk_active = False
        """Whether the desk has voided a record or proposed a batch: then every claim and
        end projected may take another status than its end's (``claim_status``)."""
        self.fresh = False
        """Whether the model holds only what this run projected, every report, fact,
        incident and zone of it still remembered here: what these caches miss, the model
        lacks too, and is looked up in the store at once (a rebuild from nothing, a
        rebuild's shard: a shard's claims cite a hundred thousand reports and facts of
        the first half at a million claims, each looked up in vain in the shard). Should
        another process project pages of the same catch-up meanwhile (each page re-reads
        the position under the lock), what this one has not met it finds in the store,
        which gives what the model would."""

    def catch_up(
        self,
        until: datetime | None = None,
        progress: Callable[[int, int], None] | None = None,
        up_to: int | None = None,
        written: Written | None = None,
    ) -> int:
        """Apply every event after the tracked position; returns how many were applied.

        With ``until``, events recorded after that instant are passed over (for a
        read model of the ledger as it stood then). ``progress(done, total)`` is
        called after each page. ``up_to`` stops at that ledger position.

        ``written``: a write this process just committed, from where the model stands
        (``binding.follows``). The model then catches up to that write's end from the
        events it holds, without asking the store (one round trip less for the log's
        end, one transaction less for the page); a later event is left to the next
        catch-up, as one committed after this call would be.
        """
        self._written = written
        try:
            with gc_paused():
                return self._catch_up(until, progress, up_to)
        except sqlite3.Error as error:
            # A full disk or a read-only file: the page in flight was rolled back,
            # so the read model still holds exactly the position it records.
            raise StoreError(f"cannot update the read model {self.views.path}: {error}") from None
        except PersistenceError as error:
            raise StoreError(f"cannot read the event store: {error}") from None
        finally:
            self._written = None

    def _discard_pending(self) -> None:
        self.fresh = False  # (the reports remembered go)
        self._pending.clear()
        self._search_row = None  # the rows numbered went with the queue
        self.statuses.clear()
        self._report_cache.clear()
        self._zones_written -= self._zones_queued  # their day ends went with the rows
        self._zones_queued.clear()

    def _catch_up(
        self,
        until: datetime | None,
        progress: Callable[[int, int], None] | None,
        up_to: int | None,
    ) -> int:
        self.views.ensure_schema()
        self.desk_active = desk_in(self.db)
        binding = self.views.binding()
        position = binding.position
        self.fresh = position == 0
        if position == 0:  # an empty model: it becomes this store's (projections.binding)
            self._zones_written.clear()  # and holds no zone's day ends
            store_id = self.ledger.audit.store_id()
            if binding.store_id != store_id:
                self.views.bind(store_id)
        try:
            written = self._written
            last = (
                written.after.position
                if written
                else self.ledger.recorder.max_notification_id() or 0
            )
            if up_to is not None:
                last = min(last, up_to)
        except PersistenceError as error:
            raise StoreError(f"cannot read the event store: {error}") from None
        bulk = last - position >= BULK_BACKLOG and last - position > position
        if bulk:
            # A backlog larger than the model itself (a first import, a rebuild):
            # cheaper to build the indexes once afterwards than row by row.
            self.views.begin_bulk(updated_keys(BULK_UPDATES))
        if bulk and self._can_split(last - position):
            applied = self._apply_in_two(position, last, until, progress)
        else:
            applied = self._apply_pages(position, last, until, progress)
        if bulk:  # (the claims' statuses are written here: ``claim_status.settle``)
            try:
                self.views.finish_bulk()
            except sqlite3.IntegrityError:
                self._set_aside_duplicates()  # (a correction set aside ends nothing)
                self.views.finish_bulk()
        return applied

    def _set_aside_duplicates(self) -> None:
        """Set aside each event that wrote a claim under an id an earlier event wrote (a
        bulk load lets it in; the unique index built after it does not). Failure path only."""
        with self.views.transaction():
            duplicates = self.views.duplicate_claims()
            self.views.drop_event_rows([seq for seq, *_ in duplicates])
            for seq, claim_id, incident, first in duplicates:
                event, topic = self._event_name(seq)
                error = f"claim '{claim_id}' is already projected from event {first}"
                self.views.set_aside(seq, event, topic, incident, error)

    def _event_name(self, seq: int) -> tuple[str, str]:
        """(aggregate id, topic) of the stored event at a position."""
        with self.ledger.audit.reading() as view:
            rows = view.event_rows(seq - 1, 1)
        return (rows[0][1], rows[0][3]) if rows and rows[0][0] == seq else ("?", "?")

    def _apply_pages(
        self,
        position: int,
        last: int,
        until: datetime | None,
        progress: Callable[[int, int], None] | None,
    ) -> int:
        applied = 0
        start = position
        until_key = None if until is None else to_key(until)
        while position < last:
            with self.views.transaction():
                # Re-read the position under the write lock: another process may have
                # projected these events since, and each must be applied exactly once.
                position = self.views.position()
                if position >= last:
                    break
                self._search_row = None  # (another process may have written texts since)
                page, size, root = self._page(position, last)
                self.db.execute("SAVEPOINT page")
                try:
                    applied += self._apply_page(page, until_key)
                except Exception as error:
                    self._discard_pending()  # the queued rows go with the page's
                    if _store_failure(error) or not self.views.journaled:
                        raise  # (a model without a journal cannot roll back one event)
                    # An event of this page cannot be projected: apply the page again one
                    # event at a time, setting aside each that cannot (``_apply_each``).
                    self.db.execute("ROLLBACK TO page")
                    applied += self._apply_each(self._full_rows(page), until_key)
                except BaseException:
                    self._discard_pending()
                    raise
                self.db.execute("RELEASE page")
                position = page[-1][0] if page else last
                self.views.set_position(position, size, root)
            if progress is not None:
                progress(position - start, last - start)
        return applied

    def _apply_page(self, page: list[PageRow], until_key: str | None) -> int:
        """Apply a page of events and write their rows; raise at the first event that
        cannot be projected (its rows, and those of the page, then stay queued)."""
        applied = self._queue_page(page, until_key)
        self.flush()
        return applied

    def _queue_page(
        self, page: Sequence[PageRow], until_key: str | None, leaves: list[bytes] | None = None
    ) -> int:
        """Queue the rows of a page of stored events (``write``); raise at the first event
        that cannot be projected. ``leaves``, when given, are their leaves already read
        (``collect``)."""
        applied = 0
        mapper = self.ledger.leaf_mapper
        # A leaf is stored as it is unless a cipher or compressor is configured.
        plain = mapper.plain if mapper.cipher or mapper.compressor else None
        handlers = _HANDLERS
        for index, row in enumerate(page):
            seq = row[0]
            # leaf_line, inlined for the common case
            if leaves is not None:
                line = _decode(leaves[index])
            else:
                line = _decode(row[-1] if plain is None else plain(row[-1]))
            topic = line["topic"]
            upcasting = _UPCASTS.get(topic)
            if upcasting is not None and line.get("class_version", 1) != upcasting[1]:
                line = leaf_line(mapper, self._full_rows([row])[0])
            # A leaf without a recorded time or an id is unreadable, whether or not
            # the read model has a use for its topic.
            recorded, _ = line["recorded_at"], line["id"]
            if until_key is None or recorded <= until_key:
                handler = handlers.get(topic)  # self.apply, inlined
                if handler is not None:
                    handler(self, line, seq)
                applied += 1
        return applied

    def _apply_each(self, page: list[EventRow], until_key: str | None) -> int:
        """Apply a page one event at a time, each in a savepoint: an event that cannot be
        projected leaves no row and is recorded instead (``Views.set_aside``), naming its
        position, aggregate, topic, incident (when its leaf says) and the error. Reads
        that need it refuse to answer (``Views.require_projected``); nothing else stops."""
        applied = 0
        for row in page:
            self.db.execute("SAVEPOINT event")
            seen: list[dict[str, Any]] = []
            try:
                applied += self._queue_event(row, until_key, seen)
                self.flush()
            except Exception as error:
                self._discard_pending()
                if _store_failure(error):
                    raise
                self.db.execute("ROLLBACK TO event")
                self.views.set_aside(*_aside_row(row, seen, error))
            self.db.execute("RELEASE event")
        return applied

    def _queue_event(self, row: EventRow, until_key: str | None, seen: list[dict[str, Any]]) -> int:
        """Queue the rows of one stored event, its leaf read through ``leaf_line`` (and
        put in ``seen``, to name it should it fail); 1 if it was applied, else 0."""
        line = leaf_line(self.ledger.leaf_mapper, row)
        seen.append(line)
        recorded, _ = line["recorded_at"], line["id"]
        if until_key is None or recorded <= until_key:
            self.apply(line, row[0])
            return 1
        return 0

    def collect(
        self, page: list[EventRow], leaves: list[bytes]
    ) -> dict[str, list[tuple[Any, ...]]]:
        """The rows a page of events produces, by statement, without writing them.

        The events are given as stored rows and their leaves (read and checked by the
        caller); each goes through the very handlers that project it, and the rows
        they queue are handed back instead of written: an event that cannot be
        projected gives the row that sets it aside instead (``_apply_each``). Reports
        cited are looked up among the events seen so far, then in the store, never in
        the read model: the read-model check (``projections.model_check``) compares
        these rows with the model's, so they must not depend on it.
        """
        self._collecting = True
        try:
            try:
                self._queue_page(page, None, leaves)
            except Exception as error:
                self._discard_pending()
                if _store_failure(error):
                    raise
                self._collect_each(page)
            collected, self._pending = _by_statement(self._pending), {}
            self._zones_queued.clear()
            self.statuses.clear()  # the check derives statuses from the rows (claim_status)
            return collected
        except BaseException:
            self._discard_pending()
            raise
        finally:
            self._collecting = False

    def _collect_each(self, page: list[EventRow]) -> None:
        """``_apply_each`` without writing: each event's rows, or the row setting it aside."""
        for row in page:
            kept = {statement: len(rows) for statement, rows in self._pending.items()}
            zones = set(self._zones_queued)
            seen: list[dict[str, Any]] = []
            try:
                self._queue_event(row, None, seen)
            except Exception as error:
                if _store_failure(error):
                    raise
                self._pending = {
                    s: rows[: kept[s]] for s, rows in self._pending.items() if s in kept
                }
                self._zones_written -= self._zones_queued - zones
                self._zones_queued = zones
                self.write(SET_ASIDE, _aside_row(row, seen, error))

    def _can_split(self, backlog: int) -> bool:
        return (
            backlog >= PARALLEL_BACKLOG
            and self.ledger.in_sqlite_file
            and ":memory:" not in str(self.views.path)
            and two_cores()
        )

    def _apply_in_two(
        self,
        position: int,
        last: int,
        until: datetime | None,
        progress: Callable[[int, int], None] | None,
    ) -> int:
        """Apply a long backlog on two cores.

        A forked helper projects the second part into a shard file while this
        process applies the first (``FIRST_SHARE``) here; the shard is then absorbed in one
        transaction (``Views.absorb``). Should the helper fail, this process
        applies the rest itself, so an unreadable event is reported the usual way.
        """
        middle = position + int((last - position) * FIRST_SHARE)
        total = last - position

        def halved(done: int, _: int) -> None:
            if progress is not None:  # the helper keeps pace with this half
                progress(min(2 * done, total), total)

        with Scratch("rebuild") as scratch:  # removed by the next command if killed
            shard = scratch.path / "shard.db"
            env = dict(self.ledger.env)
            tables = self.views.table_statements()
            with Helper(_project_shard, env, shard, middle, last, until, tables) as helper:
                applied = self._apply_pages(position, middle, until, halved)
                done, projected = helper.result()
            if not done:
                return applied + self._apply_pages(middle, last, until, progress)
            shard_applied, updates = projected
            self.views.absorb(shard, last, *self.log_at(last), updates)
        if progress is not None:
            progress(total, total)
        return applied + int(shard_applied)

    def _page(self, position: int, last: int) -> tuple[list[PageRow], int, bytes]:
        """The next page of stored events after ``position`` (up to ``last``), each its
        position and leaf (``PageRow``), and the store's log size and root as of its end,
        which bind the model to the store: a write's own (``catch_up``'s ``written``) when
        the page is that write."""
        written = self._written
        if written and written.before.position == position and written.after.position == last:
            return list(written.rows), written.after.size, written.after.root
        try:
            with self.ledger.audit.reading() as view:
                count = PAGE_SIZE * BULK_PAGES if self.views.bulk else PAGE_SIZE
                rows: list[PageRow] = list(view.event_leaves(position, count, last))
                size, root = log_at(view, rows[-1][0] if rows else last)
                return rows, size, root
        except PersistenceError as error:
            raise StoreError(f"cannot read the event store: {error}") from None

    def _full_rows(self, page: Sequence[PageRow]) -> list[EventRow]:
        """The stored rows of a page in full (``event_rows``): what an event upcast or set
        aside is checked and named by, read again for a page read as positions and leaves."""
        if all(len(row) > _LEAN for row in page):
            return cast(list[EventRow], page)
        try:
            with self.ledger.audit.reading() as view:
                return view.event_rows(page[0][0] - 1, len(page), stop=page[-1][0])
        except PersistenceError as error:
            raise StoreError(f"cannot read the event store: {error}") from None

    def log_at(self, position: int) -> tuple[int, bytes]:
        """The store's log size and root as of notification id ``position``."""
        try:
            with self.ledger.audit.reading() as view:
                return log_at(view, position)
        except PersistenceError as error:
            raise StoreError(f"cannot read the event store: {error}") from None

    def apply(self, line: dict[str, Any], seq: int) -> None:
        """Write the rows one event produces, given as its leaf line (``leaf_line``)."""
        handler = _HANDLERS.get(line["topic"])
        if handler is not None:
            handler(self, line, seq)

    def write(self, statement: str, row: tuple[Any, ...]) -> None:
        """Queue a row; rows are written per statement with executemany at the page's end."""
        rows = self._pending.get(statement)
        if rows is None:
            rows = self._pending[statement] = []
        rows.append(row)

    def write_claim(self, statement: str, row: tuple[Any, ...]) -> None:
        """Queue a claim's row: claims are written in the order queued (``_IN_ORDER``)."""
        rows = self._pending.get(_IN_ORDER)
        if rows is None:
            rows = self._pending[_IN_ORDER] = []
        rows.append((statement, row))

    def flush(self) -> None:
        """Write the queued rows: the inserts, statements in the order first used, then the
        updates, which change rows an insert of the same page may add (``UPDATES``)."""
        pending = self._pending
        for statement, rows in pending.items():
            if statement is _IN_ORDER:
                for each, run in groupby(rows, _STATEMENT):
                    self.db.executemany(each, map(_ROW, run))
            elif not statement.startswith("UPDATE"):
                self.db.executemany(statement, rows)
        kept = self.kept_updates
        for statement, rows in pending.items():
            if statement.startswith("UPDATE"):
                self.db.executemany(statement, rows)
                if kept is not None:
                    kept += [(statement, row) for row in rows]
        pending.clear()
        self._zones_queued.clear()
        self.refresh_statuses()
        if len(self._report_cache) > 100_000:
            self._report_cache.clear()
            self.fresh = False

    def refresh_statuses(self) -> None:
        """Write the status of each claim the page's entries touched, now that its rows
        are in. A bulk load (no indexes yet) refreshes every claim once it ends."""
        if self.statuses and not self.views.bulk:
            self.db.executemany(END_CLAIM, self.statuses.changed(self.db))
        self.statuses.clear()

    def next_search_row(self) -> int:
        """The row number of the next searchable text: one after the model's last, or
        after the last this transaction queued (``views.SEARCH_SCOPES``)."""
        row = self._search_row
        self._search_row = row = (self.views.last_search_row() if row is None else row) + 1
        return row

    def touch_desk(self) -> None:
        """The desk has voided a record or proposed a batch (``desk_active``)."""
        self.desk_active = True

    def remember_report(self, report_id: str, published_at: str, source: str) -> None:
        """Make a report's time and outlet known to claims in the same page."""
        self._report_cache[report_id] = report_time(published_at, source)

    def report_known(self, report_id: str) -> ReportTime:
        """When a report is known (its instant, or its day when it gave only a date) and its
        outlet, from the current page, the read model or the store."""
        cached = self._report_cache.get(report_id)
        if cached is None:
            row = None
            if not (self._collecting or self.fresh):
                row = self.db.execute(
                    "SELECT published_at, published_precision, source FROM reports WHERE id = ?",
                    (report_id,),
                ).fetchone()
            if row is None:
                cached = self._report_in_store(report_id)
            elif row[1] == "day":
                cached = (None, row[0][:10], row[2])
            else:
                cached = (row[0], None, row[2])
            self._report_cache[report_id] = cached
        return cached

    def _report_in_store(self, report_id: str) -> ReportTime:
        """When a report this read model has not seen is known, and its outlet: a shard's
        claims cite reports of the first half. The first miss reads every report stored;
        each is read from its leaf when first cited (reading them all then was 0.3 s of a
        shard's CPU at a million claims). A report that is not there, or cannot be
        projected, raises ``LookupError``: the claim citing it cannot be projected either."""
        aggregate_id = Report.aggregate_id(report_id)
        stored = self._every_stored(Report.kind).get(aggregate_id)
        if stored is None:
            raise LookupError(f"the event store holds no report '{report_id}'")
        read = _report_time(self.ledger.leaf_mapper, (0, aggregate_id, 1, *stored))
        if read is None:
            raise LookupError(f"its report '{report_id}' cannot be projected")
        return read

    def remember_incident(self, incident: str, zone: str | None) -> None:
        """Make an incident's time zone (None: UTC) known to the claims that follow."""
        self._zones[incident] = zone
        if self._contexts:
            self._contexts = {k: v for k, v in self._contexts.items() if k[0] != incident}

    def first_of_zone(self, zone: str) -> bool:
        """Whether an incident is the first in its time zone, whose day ends it then
        writes: the first this run meets, unless the read model has them already (never
        asked when collecting: the rows must not depend on the model)."""
        if zone in self._zones_written:
            return False
        self._zones_written.add(zone)
        if not (self._collecting or self.fresh):
            query = "SELECT 1 FROM zone_day_ends WHERE zone = ? LIMIT 1"
            if self.db.execute(query, (zone,)).fetchone() is not None:
                return False
        self._zones_queued.add(zone)
        return True

    def remember_rules(self, incident: str, fact: str, rules: FactRules | None) -> None:
        """Make a fact's rules (None: a fact of old, read by shape) known to its claims."""
        self._rules[(incident, fact)] = rules
        self._contexts.pop((incident, fact), None)

    def zone_of(self, incident: str) -> str | None:
        """An incident's time zone (None: UTC), from the read model or else the store (a
        shard's claims may belong to incidents of the first half)."""
        if incident in self._zones:
            return self._zones[incident]
        row = None
        if not (self._collecting or self.fresh):
            query = "SELECT timezone FROM incidents WHERE id = ?"
            row = self.db.execute(query, (incident,)).fetchone()
        if row is None:
            data = self._stored_data(Incident.aggregate_id(incident), Incident.kind)
            zone = None if data is None else data.get("timezone")
        else:
            zone = row[0]
        self._zones[incident] = zone
        return zone

    def context_of(self, incident: str, fact: str) -> tuple[str | None, FactRules | None, bool]:
        """A claim's (zone, rules, whether an exact whole number is read as itself)."""
        rules = self.rules_of(incident, fact)
        if rules is not None:  # equal rules, one object: claims' readings are kept by it
            rules = self._same_rules.setdefault(repr(rules), rules)
        plain = rules is None or rules.kind in NUMERIC_KINDS
        context = self._contexts[(incident, fact)] = (self.zone_of(incident), rules, plain)
        return context

    def rules_of(self, incident: str, fact: str) -> FactRules | None:
        """The rules of a fact's first event, which read each of its claims (None: a fact
        of old, with no fact event), from the read model or else the store."""
        pair = (incident, fact)
        if pair in self._rules:
            return self._rules[pair]
        row = None
        if not (self._collecting or self.fresh):
            row = self.db.execute(
                "SELECT kind, declared, unit, cumulative, tolerance, choices FROM facts "
                "WHERE incident = ? AND key = ? AND version = 1",
                pair,
            ).fetchone()
        rules = rules_from_row(row) if row is not None else self._stored_rules(incident, fact)
        self._rules[pair] = rules
        return rules

    def _stored_rules(self, incident: str, fact: str) -> FactRules | None:
        """The rules of a fact's first event in the store (version 1: what a later
        declaration says is read by ``state``, not here)."""
        aggregate_id = fact_id(incident, fact)
        stored = self._stored_creation(aggregate_id, Fact.kind)
        if stored is None:
            return None
        line = leaf_line(self.ledger.leaf_mapper, (0, aggregate_id, 1, *stored))
        return FactRules.from_fields(line["data"], declared=line["topic"] != Fact.Inferred.TOPIC)

    def _stored_creation(self, aggregate_id: str, kind: str | None) -> tuple[str, bytes] | None:
        """(topic, state) of an aggregate's creation event in the store, or None.

        In a bulk load, the first asked of a ``kind`` reads every one of that kind: a
        shard meets every fact and incident of the first half, and a read for each fact
        was a tenth of a hot million-claim rebuild's CPU (those of the incidents, 4% of
        the shard's at 100,000 claims)."""
        if kind is not None and self.views.bulk:
            found = self._every_stored(kind)
        else:
            with self.ledger.audit.reading() as view:
                found = view.creation_states([aggregate_id])
        return found.get(aggregate_id)

    def _every_stored(self, kind: str) -> dict[str, tuple[str, bytes]]:
        """Aggregate id → (topic, state) of the creation event of every stored aggregate of
        a kind, read in one query at the first call."""
        found = self._stored_kinds.get(kind)
        if found is None:
            with self.ledger.audit.reading() as view:
                stored = view.creations_between(f"{kind}:", f"{kind};")
            found = self._stored_kinds[kind] = {name: (t, state) for name, t, state in stored}
        return found

    def zone_of_claim(self, claim: str) -> str | None:
        """The time zone of a claim's incident (a date-only report that withdraws a claim is
        known from the end of that day there). Claims of zoned incidents projected in this
        run are remembered; any other is looked up in the store, by its id."""
        zone = self._claim_zones.get(claim)
        if zone is not None:
            return zone
        data = self._stored_data(Claim.aggregate_id(claim))
        return None if data is None else self.zone_of(str(data["incident"]))

    def _stored_data(self, aggregate_id: str, kind: str | None = None) -> dict[str, Any] | None:
        """The data of an aggregate's creation event in the store, or None (``kind``: as
        ``_stored_creation``)."""
        stored = self._stored_creation(aggregate_id, kind)
        if stored is None:
            return None
        data: dict[str, Any] = leaf_line(self.ledger.leaf_mapper, (0, aggregate_id, 1, *stored))[
            "data"
        ]
        return data


def _report_time(mapper: LeafMapper, row: EventRow) -> ReportTime | None:
    """When a stored report is known, and its outlet; None if it cannot be projected."""
    try:
        data = leaf_line(mapper, row)["data"]
        return report_time(data["published_at"], str(data["source"]))
    except (UnreadableEvent, BadInputError, LookupError, TypeError, ValueError):
        return None


def _project_shard(
    env: dict[str, str],
    shard: Path,
    position: int,
    last: int,
    until: datetime | None,
    tables: list[str] | None,
) -> tuple[int, list[tuple[str, tuple[Any, ...]]]]:
    """A helper's work: project events (position, last] into a fresh shard read model,
    its tables created from ``tables`` (the model's own statements) when given; how many
    it applied, and every update it made (``Projector.kept_updates``), which the model
    absorbing the shard makes again (an update may concern a row of the first part).

    It opens the store afresh: a connection must not cross a fork.
    """
    ledger = Ledger(env)
    views = Views(shard)
    try:
        views.make_shard()
        views.begin_bulk(updated_keys(BULK_UPDATES))
        if tables is None:
            views.ensure_schema()
        else:
            views.create(tables, [])
        with views.transaction():
            views.set_position(position)
        projector = Projector(ledger, views)
        projector.fresh = True  # (an empty shard)
        projector.kept_updates = []
        applied = projector._apply_pages(position, last, until, None)
        return applied, projector.kept_updates
    finally:
        views.close()
        ledger.close()


def leaf_line(mapper: LeafMapper, row: EventRow) -> dict[str, Any]:
    """A stored event (an ``event_rows`` row) as its leaf holds it: topic, id,
    recorded time and ``data``, the fields the read model needs.

    Read straight from the stored leaf (``ledger.mapper``): no event object is
    built. An event of an older class version has its fields upcast first, by its
    class's own methods, as the library's mapper would (after the same check that
    the leaf is the event its row names). Topic and id come from the leaf, not from
    the row's columns: the leaf is what the Merkle log hashes, so the read model
    shows what ``verify`` vouches for (a row whose columns were edited is
    ``verify``'s to report).
    """
    notification_id, originator_id, version, topic, state = row
    try:
        leaf = mapper.plain(state)
        line: dict[str, Any] = _decode(leaf)
        upcasting = _UPCASTS.get(line["topic"])
        if upcasting is None or line.get("class_version", 1) == upcasting[1]:
            return line
        check_envelope(leaf, originator_id, version, topic)
        data = dict(line["data"])
        upcast(upcasting[0], line.get("class_version", 1), data)
        fields = {key: value for key, value in data.items() if value is not None}
        return {**line, "data": fields, "class_version": upcasting[1]}
    except Exception as error:
        raise _unreadable(notification_id, error) from None


def _unreadable(notification_id: int, error: Exception) -> StoreError:
    return UnreadableEvent(f"cannot read event {notification_id} of the event store: {error}")


class UnreadableEvent(StoreError):
    """A stored event whose leaf cannot be read: the store answered, the event is bad."""


def _store_failure(error: Exception) -> bool:
    """Whether an error is a failure of the stores themselves (a full disk, a locked or
    corrupt read model, a lost connection), which stops the projection; anything else
    an event raises (its leaf, a constraint its rows break) sets it aside."""
    if isinstance(error, StoreError):
        return not isinstance(error, UnreadableEvent)
    return (
        isinstance(error, sqlite3.OperationalError | sqlite3.InternalError | PersistenceError)
        or type(error) is sqlite3.DatabaseError  # "file is not a database", "malformed"
    )


def _said(error: Exception) -> str:
    """An error in words, for the row that records an event set aside."""
    if isinstance(error, KeyError):
        return f"its leaf lacks the field {error}"
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _aside_row(
    row: EventRow, seen: list[dict[str, Any]], error: Exception
) -> tuple[int, str, str, str | None, str]:
    """The row recording that a stored event could not be projected (``Views.set_aside``):
    its position, aggregate id, topic, incident (when its leaf says) and why."""
    return row[0], row[1], row[3], _incident_of(seen[0] if seen else None, row), _said(error)


def _incident_of(line: dict[str, Any] | None, row: EventRow) -> str | None:
    """The incident an event is about, when its leaf says: a claim's incident, or the
    incident itself; None when it does not (or cannot be read)."""
    data = line.get("data") if isinstance(line, dict) else None
    if not isinstance(data, dict):
        return None
    if line is not None and line.get("topic") == Incident.Registered.TOPIC:
        return str(row[1]).split(":", 1)[-1]
    incident = data.get("incident")
    return incident if isinstance(incident, str) else None


def _record_id(line: dict[str, Any]) -> str:
    """The record's own id: the aggregate id without its kind prefix."""
    return str(line["id"].split(":", 1)[1])


def _decode(leaf: bytes) -> Any:
    """A leaf's JSON. orjson reads a leaf in a third of the standard module's time,
    the largest single cost of a rebuild in Python. A leaf it refuses (a lone
    surrogate escape, say) goes to the standard module. orjson reads an integer
    beyond 64 bits as a float; a recorded leaf holds none (counts are at most
    2**53 - 1, and decimals are written as strings, exact), and a claim value that is
    a float cannot be projected (its event is set aside) rather than read as a number."""
    try:
        return orjson.loads(leaf)
    except orjson.JSONDecodeError:
        return json.loads(leaf.decode("utf-8"))


_KIND_NAMES = {kind: kind.value for kind in ValueKind}
_dumps = json.JSONEncoder(ensure_ascii=False).encode


_ZONE_DAY_END = "INSERT OR IGNORE INTO zone_day_ends VALUES (?, ?, ?, ?)"
"""A zone's day ends, written with the first incident in that zone (``seq``)."""


def _incident(p: Projector, line: dict[str, Any], seq: int) -> None:
    d = line["data"]
    incident = _record_id(line)
    zone = d.get("timezone")
    p.write(
        "INSERT INTO incidents VALUES (?, ?, ?, ?, ?, ?, ?)",
        (incident, d["title"], d.get("title_ar"), d.get("place"), zone, line["recorded_at"], seq),
    )
    p.remember_incident(incident, zone)
    if zone is not None and p.first_of_zone(zone):
        for since, minutes in day_end_offsets(zone):
            p.write(_ZONE_DAY_END, (zone, since, minutes, seq))
    texts = (("title", d["title"]), ("title_ar", d.get("title_ar")))
    _index(p, "incident", incident, incident, texts, seq)
    for link in d.get("related") or ():
        p.write(
            "INSERT OR IGNORE INTO incident_relations VALUES (?, ?, ?, ?)",
            (incident, link["incident"], link["relation"], seq),
        )


def _source(p: Projector, line: dict[str, Any], seq: int) -> None:
    d = line["data"]
    source, recorded = _record_id(line), line["recorded_at"]
    reliability = d.get("reliability")
    p.write(
        "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?)",
        (source, d["name"], d.get("name_ar"), d["kind"], reliability, recorded, seq),
    )
    if reliability is not None:
        p.write(
            "INSERT INTO source_ratings VALUES (?, ?, ?, NULL, ?, ?)",
            (source, reliability, "initial grade", recorded, seq),
        )


def _source_rated(p: Projector, line: dict[str, Any], seq: int) -> None:
    d = line["data"]
    source = _record_id(line)
    effective_from = d.get("effective_from")
    effective = instant_key(effective_from) if effective_from else None
    p.write(
        "INSERT INTO source_ratings VALUES (?, ?, ?, ?, ?, ?)",
        (source, d["reliability"], d["reason"], effective, line["recorded_at"], seq),
    )
    p.write(RATE_SOURCE, (d["reliability"], source))


RATE_SOURCE = "UPDATE sources SET reliability = ? WHERE id = ?"
END_CLAIM = SET_STATUS
"""A claim's ``claim_status`` (``projections.claim_status``): ``retracted`` or ``corrected``
once recorded as ended; where the desk has voided or proposed something, each page's
touched claims are then given their status (``Projector.refresh_statuses``). A bulk load
writes none: its end gives every claim its status at once (``claim_status.settle``)."""
UPDATES = (RATE_SOURCE, END_CLAIM, ERRATUM_LINK)
"""Every UPDATE a handler writes: each changes a row an earlier event produced, which the
read-model check (``projections.model_check``) must know of before it compares rows."""
BULK_UPDATES = (RATE_SOURCE, ERRATUM_LINK)
"""The UPDATEs a bulk load writes as it goes (not ``END_CLAIM``)."""
UPDATE_FORM = re.compile(r"UPDATE (?P<table>\w+) SET (?P<column>\w+) = \? WHERE (?P<key>\w+) = \?")
"""The one form every statement of ``UPDATES`` takes: one column set, one row found by one key."""


def updated_keys(statements: tuple[str, ...] = UPDATES) -> list[tuple[str, str]]:
    """(table, key column) of each of these statements (of ``UPDATES``): the rows later
    events update, which a bulk load keeps indexed (``Views.begin_bulk``)."""
    keys = []
    for statement in statements:
        found = UPDATE_FORM.fullmatch(statement)
        if found is None:
            raise ValueError(f"an UPDATE of the read model is not of one form: {statement!r}")
        keys.append((found["table"], found["key"]))
    return keys


_SEARCH_INSERT = (
    "INSERT INTO search_index (rowid, body, original, kind, ref, incident, field, seq) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SEARCH_INCIDENT = "INSERT INTO search_incidents VALUES (?, ?)"
_SEARCH_REPORT = "INSERT INTO search_reports VALUES (?, ?)"


def _index(
    p: Projector,
    kind: str,
    ref: str,
    incident: str | None,
    texts: tuple[tuple[str, str | None], ...],
    seq: int,
) -> None:
    """Add a record's searchable texts, (field, text) pairs, to the full-text index
    (normalized; original kept), as rows of the event at position ``seq``, each with
    its incident, or as a report's title (``views.SEARCH_SCOPES``)."""
    for field, text in texts:
        if text:
            row = p.next_search_row()
            p.write(_SEARCH_INSERT, (row, normalize(text), text, kind, ref, incident, field, seq))
            if incident is not None:
                p.write(_SEARCH_INCIDENT, (row, incident))
            elif kind == "report":
                p.write(_SEARCH_REPORT, (row, ref))


ReportTime = tuple[str | None, str | None, str]
"""When a report is known and by whom it was published: (its instant's key, None, outlet),
or for a report that gave only a date (None, that day, outlet): it is known from the end
of that day in the zone of the incident each of its claims belongs to."""


def published_time(published_at: str) -> tuple[str | None, str | None]:
    """A ``published_at`` as recorded (a report's or an assessment's): (its instant's key,
    None), or for one that gave only a date (None, that day)."""
    moment = parse_instant(published_at)  # BadInputError for a date not on the calendar
    if is_date_only(published_at):
        return None, published_at.strip()
    return to_key(moment), None


def report_time(published_at: str, source: str) -> ReportTime:
    """A report's ``published_at`` (as recorded) and outlet as a ``ReportTime``."""
    return (*published_time(published_at), source)


def known_from(instant: str | None, day: str | None, zone: str | None) -> str:
    """When what a report says is known (its ``ReportTime``'s instant and day): its instant,
    or for a report that gave only a date, the end of that day in ``zone``. A claim, and a
    retraction, correction or assessment of one, take its incident's zone; the report's
    own row, which may serve incidents in several zones, takes UTC (``zone`` None)."""
    return instant if instant is not None else day_end_key(str(day), zone)


def precision_of(day: str | None) -> str:
    """A row's ``published_precision``: ``day`` when its ``published_at`` gave only that
    day (``published_time``), else ``instant``."""
    return "day" if day is not None else "instant"


def _report(p: Projector, line: dict[str, Any], seq: int) -> None:
    d = line["data"]
    report_id = _record_id(line)
    _index(p, "report", report_id, None, (("title", d.get("title")),), seq)
    instant, day, _ = report_time(d["published_at"], d["source"])
    published = known_from(instant, day, None)
    precision = precision_of(day)
    p.remember_report(report_id, d["published_at"], d["source"])
    p.write(
        "INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            report_id,
            d["source"],
            published,
            precision,
            d.get("url"),
            d.get("title"),
            d.get("language"),
            d.get("author"),
            d.get("sha256"),
            d.get("archive_url"),
            line["recorded_at"],
            seq,
        ),
    )


_NUMBER = ValueKind.NUMBER
_COUNT = FactKind.COUNT


# Over 60 lines: a hand-inlined hot loop, run for every claim a rebuild projects. Inlined,
# with one look-up of the fact's zone and rules, a rebuild of the 100k synthetic ledger
# took 1.14-1.23x the CPU of the older projector instead of 1.2-1.3x (paired runs).
def _claim(p: Projector, line: dict[str, Any], seq: int) -> None:
    d = line["data"]
    get = d.get
    claim_id = _record_id(line)
    report, incident, fact = d["report"], d["incident"], d["fact"]
    instant, day, outlet = p._report_cache.get(report) or p.report_known(report)
    zone, rules, plain = p._contexts.get((incident, fact)) or p.context_of(incident, fact)
    published = known_from(instant, day, zone)
    value, qualifier, claimant = d["value"], get("qualifier"), get("claimant")
    reading: tuple[Any, ...]
    if plain and type(value) is int and (qualifier is None or qualifier == "exact"):
        # Most claims are an exact count: read_claim's answer, without the call.
        kind, stored, approximate, reading = _NUMBER, str(value), 0, (value, value)
    else:
        # Each distinct reading is made once a run: most claims share a few thousand
        # (value, qualifier) pairs, read under a few distinct rules (``context_of``).
        key = _reading_key(value, qualifier, id(rules), zone)
        found = None if key is None else p._readings.get(key)
        if found is None:
            found = _read(value, qualifier, rules, zone)
            if key is not None:
                if len(p._readings) >= _READINGS:
                    p._readings.clear()
                p._readings[key] = found
        kind, approximate, stored, reading = found
    row = (
        claim_id,
        incident,
        fact,
        _KIND_NAMES[kind],
        stored,
        qualifier,
        approximate,
        report,
        outlet,
        claimant or outlet,
        published,
        line["recorded_at"],
        seq,
        *reading,
    )
    if zone is not None:
        p._claim_zones[claim_id] = zone
    if p.desk_active:  # its report, source or incident may be voided (claim_status)
        p.statuses.claims.add(claim_id)
    if len(d) == _CLAIM_REQUIRED + (claimant is not None) + (qualifier is not None):
        # No optional field: the leaf leaves them out.
        p.write_claim(_PLAIN_CLAIM_INSERTS[kind], row)
        return
    valid_time, via, corrects = get("valid_time"), get("via"), get("claim")
    valid_from = valid_to = None
    if valid_time:
        read = get("valid_bounds")  # as read when the claim was recorded
        if read is None:  # one that could not be read then: refused here
            valid_from, valid_to = edtf_in_zone(valid_time, zone)
        else:
            valid_from, valid_to = bounds_in_zone(read[0], read[1], read[2] == "local", zone)
    quote, translation, note = get("quote"), get("translation"), get("note")
    if quote or translation or note:
        texts = (("quote", quote), ("translation", translation), ("note", note))
        _index(p, "claim", claim_id, incident, texts, seq)
    optional = (
        get("unit"),
        valid_time,
        valid_from,
        valid_to,
        _dumps(via) if via else None,
        quote,
        translation,
        get("credibility"),
        note,
        corrects,
    )
    if optional.count(None) == len(optional):
        p.write_claim(_PLAIN_CLAIM_INSERTS[kind], row)
    else:
        statement = _claim_insert(kind, tuple(map(type, optional)))
        p.write_claim(statement, row + tuple(_filled(optional)))
    if corrects is not None:
        p.write(
            "INSERT INTO claim_ends VALUES (?, ?, 'corrected', ?, ?, ?, ?)",
            (corrects, claim_id, report, published, line["recorded_at"], seq),
        )
        if not p.views.bulk:
            p.write(END_CLAIM, ("corrected", corrects))
        if p.desk_active:
            p.statuses.claims.add(corrects)


_KEYED = frozenset({int, str, bool})
"""The types of claim values whose readings are kept (``_read``), and of a range's bounds.
A float is equal to an int and hashes as one, so it is read each time."""
_READINGS = 100_000
"""At most this many readings are kept; then they are dropped and made again."""


def _reading_key(value: Any, qualifier: str | None, rules: int, zone: str | None) -> Any:
    """What a claim value's reading is kept under (``_read``), or None when it is read each
    time. The value's type is part of the key: a bool equals an int and hashes as one. A
    range ({min, max}: a tenth of the hot scenario's claims) is kept by its bounds."""
    kind = type(value)
    if kind in _KEYED:
        return (kind, value, qualifier, rules, zone)
    if kind is dict and len(value) == 2:
        low, high = value.get("min"), value.get("max")
        if type(low) in _KEYED and type(high) in _KEYED:
            return (dict, type(low), low, type(high), high, qualifier, rules, zone)
    return None


def _read(
    value: Any, qualifier: str | None, rules: FactRules | None, zone: str | None
) -> tuple[ValueKind, int, str, tuple[Any, ...]]:
    """A claim value's kind, approximation, stored text and reading columns."""
    if type(value) is dict and len(value) == 2 and (rules is None or rules.kind is _COUNT):
        low, high = value.get("min"), value.get("max")
        if type(low) is int and type(high) is int:
            # A count's range, a tenth of the claims, most of them distinct: read_claim's
            # answer (``read_value``'s) and its JSON text, without the calls.
            return _NUMBER, 0, f'{{"min": {low}, "max": {high}}}', (low, high)
    if type(value) is dict and "min" in value:  # leaves sort keys, people read low to high
        value = {"min": value["min"], "max": value["max"]}
    read = read_claim(value, qualifier, rules, zone)
    stored = str(value) if type(value) is int else _dumps(value)
    reading: tuple[Any, ...]
    if read.kind is ValueKind.TEXT:
        reading = (read.text,)
    elif type(read.low) is int and type(read.high) is int:  # a count's bounds, as they are
        reading = (read.low, read.high)
    else:
        reading = _reading_columns(read)[:2]
    return read.kind, int(read.approximate), stored, reading


def _reading_columns(read: Any) -> tuple[Any, Any, str | None]:
    """(low, high, text) of a reading as the read model stores them: a fractional
    quantity's bounds as floats, for SQL (``state`` reads quantities exactly from the
    value)."""
    if read.kind is ValueKind.NUMBER:
        return _sql_number(read.low), _sql_number(read.high), None
    if read.kind is ValueKind.TIME:
        return read.low, read.high, None
    return None, None, read.text


def _sql_number(bound: Any) -> int | float | None:
    if bound is None or type(bound) is int:
        return bound
    return int(bound) if bound == int(bound) else float(bound)


_CLAIM_REQUIRED = 4
"""The fields every claim's leaf holds: incident, report, fact and value."""

# A claim row names only the columns it fills: most claims leave half of the
# 28 empty, and binding the NULLs was nearly half the cost of their inserts.
_CLAIM_ALWAYS = (
    "id, incident, fact, kind, value, qualifier, approximate, report, source, claimant, "
    "published_at, recorded_at, seq"
)
_CLAIM_READING = {
    ValueKind.NUMBER: ("num_low", "num_high"),
    ValueKind.TIME: ("time_low", "time_high"),
    ValueKind.TEXT: ("text_value",),
}
_CLAIM_OPTIONAL = (
    "unit",
    "valid_time",
    "valid_from",
    "valid_to",
    "via",
    "quote",
    "translation",
    "credibility",
    "note",
    "corrects",
)


def _filled(fields: tuple[Any, ...]) -> list[Any]:
    return [field for field in fields if field is not None]


@cache
def _claim_insert(kind: ValueKind, types: tuple[type, ...]) -> str:
    """The INSERT for a claim of this kind whose optional fields have these types
    (``NoneType`` for a field it leaves empty)."""
    filled = [
        name
        for name, field_type in zip(_CLAIM_OPTIONAL, types, strict=True)
        if field_type is not type(None)
    ]
    columns = [*_CLAIM_ALWAYS.split(", "), *_CLAIM_READING[kind], *filled]
    values = ", ".join("?" * len(columns))
    # A claim is active until a retraction or correction ends it (``END_CLAIM``).
    return f"INSERT INTO claims ({', '.join(columns)}, claim_status) VALUES ({values}, 'active')"


_PLAIN_CLAIM_INSERTS = {
    kind: _claim_insert(kind, (type(None),) * len(_CLAIM_OPTIONAL)) for kind in ValueKind
}


def _retraction(p: Projector, line: dict[str, Any], seq: int) -> None:
    d = line["data"]
    retraction, recorded = _record_id(line), line["recorded_at"]
    instant, day, _ = p.report_known(d["report"])
    # A date-only report withdraws the claim from the end of that day in its incident's zone.
    zone = None if instant is not None else p.zone_of_claim(d["claim"])
    published = known_from(instant, day, zone)
    p.write(
        "INSERT INTO retractions VALUES (?, ?, ?, ?, ?, ?, ?)",
        (retraction, d["claim"], d["report"], d.get("reason"), published, recorded, seq),
    )
    p.write(
        "INSERT INTO claim_ends VALUES (?, ?, 'retracted', ?, ?, ?, ?)",
        (d["claim"], retraction, d["report"], published, recorded, seq),
    )
    if not p.views.bulk:
        p.write(END_CLAIM, ("retracted", d["claim"]))
    if p.desk_active:
        p.statuses.claims.add(d["claim"])


def _assessment(p: Projector, line: dict[str, Any], seq: int) -> None:
    d = line["data"]
    instant, day = published_time(d["published_at"])
    # Dated as a report is: a date-only assessment is known from the end of that day in
    # the zone of its claim's incident.
    zone = None if instant is not None else p.zone_of_claim(d["claim"])
    p.write(
        "INSERT INTO assessments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            _record_id(line),
            d["claim"],
            d["verdict"],
            d["by"],
            known_from(instant, day, zone),
            d.get("url"),
            d.get("note"),
            line["recorded_at"],
            seq,
            d.get("summary"),
            precision_of(day),
        ),
    )


def _fact(p: Projector, line: dict[str, Any], seq: int) -> None:
    """A fact declared, declared anew, or given its kind by its first claim."""
    d = line["data"]
    incident, key, version = d["incident"], d["key"], int(line["version"])
    declared = line["topic"] != Fact.Inferred.TOPIC
    rules = FactRules.from_fields(d, declared=declared)
    tolerance, choices = d.get("tolerance"), d.get("choices")
    p.write(
        "INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            incident,
            key,
            version,
            rules.kind.value,
            int(declared),
            d.get("unit"),
            int(rules.cumulative),
            None if tolerance is None else _dumps(tolerance),
            None if choices is None else _dumps(choices),
            d.get("label"),
            d.get("label_ar"),
            line["recorded_at"],
            seq,
        ),
    )
    # A fact's first event comes before its first claim, and its rules read every claim
    # of the fact: a claim's row never changes. A later declaration changes how ``state``
    # reads the claims (it reads a fact declared anew again, by the rules in force).
    if version == 1:
        p.remember_rules(incident, key, rules)


_HANDLERS: dict[str, Handler] = {
    Incident.Registered.TOPIC: _incident,
    Fact.Declared.TOPIC: _fact,
    Fact.Redeclared.TOPIC: _fact,
    Fact.Inferred.TOPIC: _fact,
    Source.Registered.TOPIC: _source,
    Source.Rated.TOPIC: _source_rated,
    Report.Registered.TOPIC: _report,
    Claim.Recorded.TOPIC: _claim,
    Claim.RecordedAsCorrection.TOPIC: _claim,
    Retraction.Recorded.TOPIC: _retraction,
    Assessment.Recorded.TOPIC: _assessment,
    # Claim.Superseded carries nothing new for the read model: the correction's
    # own event already ends the replaced claim, at the correction's known time.
    **DESK_HANDLERS,
}

_READ_AS_STORED = frozenset({Claim.Recorded.TOPIC, Claim.RecordedAsCorrection.TOPIC})
"""Topics whose handler reads a leaf of any class version as it is stored: a claim's
earlier versions lack only ``valid_bounds``, which ``_claim`` then reads from the text
(as the upcast would), and a correction's first its ``change_fact``, which the read model
does not hold. Upcasting every claim of a ledger recorded before cost a tenth of its
rebuild."""
_UPCASTS: dict[str, tuple[type, int]] = {
    topic: (cls, cls.class_version)
    for topic, cls in ((topic, resolve_topic(topic)) for topic in _HANDLERS)
    if getattr(cls, "class_version", 1) > 1 and topic not in _READ_AS_STORED
}
"""Topic → (event class, its class version) of the classes above version 1 whose leaf of an
earlier version is upcast before its handler reads it (``leaf_line``)."""
