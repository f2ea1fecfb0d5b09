"""Keeps the read model current by pulling the ledger's notification log.

The eventsourcing library's ProjectionRunner cannot follow a SQLite
application, so this is the pull loop: read a page of notifications after the
tracked position, apply each event, and write the rows and the new position in
one transaction. A crash loses at most the page in flight, which is then
re-read: projection resumes exactly.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventsourcing.persistence import PersistenceError

from ledger.application import Ledger
from ledger.domain import Assessment, Claim, Incident, Report, Retraction, Source
from ledger.errors import StoreError
from ledger.times import is_date_only, parse_instant, to_key
from ledger.values import edtf_bounds, read_value
from projections.arabic import normalize
from projections.views import Views

PAGE_SIZE = 5_000
BULK_BACKLOG = 20_000

Handler = Callable[["Projector", Any, int], None]


class Projector:
    """Applies ledger events to a read model."""

    def __init__(self, ledger: Ledger, views: Views) -> None:
        self.ledger = ledger
        self.views = views
        self.db: sqlite3.Connection = views.connection
        self._report_cache: dict[str, tuple[str, str]] = {}
        self._pending: dict[str, list[tuple[Any, ...]]] = {}

    def catch_up(
        self,
        until: datetime | None = None,
        progress: Callable[[int, int], None] | None = None,
        up_to: int | None = None,
    ) -> int:
        """Apply every event after the tracked position; returns how many were applied.

        With ``until``, events recorded after that instant are passed over (for a
        read model of the ledger as it stood then). ``progress(done, total)`` is
        called after each page. ``up_to`` stops at that ledger position.
        """
        try:
            return self._catch_up(until, progress, up_to)
        except sqlite3.Error as error:
            # A full disk or a read-only file: the page in flight was rolled back,
            # so the read model still holds exactly the position it records.
            raise StoreError(f"cannot update the read model {self.views.path}: {error}") from None

    def _discard_pending(self) -> None:
        self._pending.clear()
        self._report_cache.clear()

    def _catch_up(
        self,
        until: datetime | None,
        progress: Callable[[int, int], None] | None,
        up_to: int | None,
    ) -> int:
        self.views.ensure_schema()
        position = self.views.position()
        try:
            last = self.ledger.recorder.max_notification_id() or 0
            if up_to is not None:
                last = min(last, up_to)
        except PersistenceError as error:
            raise StoreError(f"cannot read the event store: {error}") from None
        bulk = last - position >= BULK_BACKLOG and last - position > position
        if bulk:
            # A backlog larger than the model itself (a first import, a rebuild):
            # cheaper to build the indexes once afterwards than row by row.
            self.views.begin_bulk()
        applied = self._apply_pages(position, last, until, progress)
        if bulk:
            self.views.finish_bulk()
        return applied

    def _apply_pages(
        self,
        position: int,
        last: int,
        until: datetime | None,
        progress: Callable[[int, int], None] | None,
    ) -> int:
        applied = 0
        start = position
        while position < last:
            with self.views.transaction():
                # Re-read the position under the write lock: another process may have
                # projected these events since, and each must be applied exactly once.
                position = self.views.position()
                if position >= last:
                    break
                page = self._page(position, last)
                try:
                    for notification in page:
                        event: Any = self.ledger.mapper.to_domain_event(notification)
                        if until is None or event.timestamp <= until:
                            self.apply(event, notification.id)
                            applied += 1
                    self.flush()
                except BaseException:
                    self._discard_pending()  # the transaction rolls back: so do the queued rows
                    raise
                position = page[-1].id if page else last
                self.views.set_position(position)
            if progress is not None:
                progress(position - start, last - start)
        return applied

    def _page(self, position: int, last: int) -> list[Any]:
        try:
            return list(
                self.ledger.recorder.select_notifications(
                    start=position + 1, limit=PAGE_SIZE, stop=last
                )
            )
        except PersistenceError as error:
            raise StoreError(f"cannot read the event store: {error}") from None

    def apply(self, event: Any, seq: int) -> None:
        """Write the rows one event produces."""
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event, seq)

    def write(self, statement: str, row: tuple[Any, ...]) -> None:
        """Queue a row; rows are written per statement with executemany at the page's end."""
        self._pending.setdefault(statement, []).append(row)

    def flush(self) -> None:
        """Write the queued rows, statements in the order first used (inserts before updates)."""
        for statement, rows in self._pending.items():
            self.db.executemany(statement, rows)
        self._pending.clear()
        if len(self._report_cache) > 100_000:
            self._report_cache.clear()

    def remember_report(self, report_id: str, published: str, source: str) -> None:
        """Make a report's time and outlet known to claims in the same page."""
        self._report_cache[report_id] = (published, source)

    def published_at(self, report_id: str) -> tuple[str, str]:
        """(published_at key, source id) of a report in the read model or the current page."""
        cached = self._report_cache.get(report_id)
        if cached is None:
            row = self.db.execute(
                "SELECT published_at, source FROM reports WHERE id = ?", (report_id,)
            ).fetchone()
            cached = (row[0], row[1])
            self._report_cache[report_id] = cached
        return cached


def _record_id(event: Any) -> str:
    return str(event.originator_id).split(":", 1)[1]


def _incident(p: Projector, e: Incident.Registered, seq: int) -> None:
    incident = _record_id(e)
    p.write(
        "INSERT INTO incidents VALUES (?, ?, ?, ?, ?, ?)",
        (incident, e.title, e.title_ar, e.place, to_key(e.timestamp), seq),
    )
    _index(p, "incident", incident, incident, seq, title=e.title, title_ar=e.title_ar)
    for link in e.related or ():
        p.write(
            "INSERT OR IGNORE INTO incident_relations VALUES (?, ?, ?, ?)",
            (incident, link["incident"], link["relation"], seq),
        )


def _source(p: Projector, e: Source.Registered, seq: int) -> None:
    source = _record_id(e)
    recorded = to_key(e.timestamp)
    p.write(
        "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?)",
        (source, e.name, e.name_ar, e.kind, e.reliability, recorded, seq),
    )
    if e.reliability is not None:
        p.write(
            "INSERT INTO source_ratings VALUES (?, ?, ?, NULL, ?, ?)",
            (source, e.reliability, "initial grade", recorded, seq),
        )


def _source_rated(p: Projector, e: Source.Rated, seq: int) -> None:
    source = _record_id(e)
    effective = to_key(parse_instant(e.effective_from)) if e.effective_from else None
    p.write(
        "INSERT INTO source_ratings VALUES (?, ?, ?, ?, ?, ?)",
        (source, e.reliability, e.reason, effective, to_key(e.timestamp), seq),
    )
    p.write("UPDATE sources SET reliability = ? WHERE id = ?", (e.reliability, source))


def _index(p: Projector, kind: str, ref: str, incident: str | None, seq: int, **texts: Any) -> None:
    """Add a record's searchable texts to the full-text index (normalized; original kept)."""
    for field, text in texts.items():
        if text:
            p.write(
                "INSERT INTO search_index (rowid, body, original, kind, ref, incident, field) "
                "VALUES (NULL, ?, ?, ?, ?, ?, ?)",
                (normalize(text), text, kind, ref, incident, field),
            )


def _report(p: Projector, e: Report.Registered, seq: int) -> None:
    report_id = _record_id(e)
    _index(p, "report", report_id, None, seq, title=e.title)
    published = to_key(parse_instant(e.published_at))
    precision = "day" if is_date_only(e.published_at) else "instant"
    p.remember_report(report_id, published, e.source)
    p.write(
        "INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            report_id,
            e.source,
            published,
            precision,
            e.url,
            e.title,
            e.language,
            e.author,
            e.sha256,
            to_key(e.timestamp),
            seq,
        ),
    )


def _claim(p: Projector, e: Any, seq: int) -> None:
    claim_id = _record_id(e)
    published, outlet = p.published_at(e.report)
    reading = read_value(e.value, e.qualifier)
    is_number = reading.kind == "number"
    recorded = to_key(e.timestamp)
    corrects = getattr(e, "claim", None)
    valid_from, valid_to = edtf_bounds(e.valid_time) if e.valid_time else (None, None)
    _index(
        p, "claim", claim_id, e.incident, seq, quote=e.quote, translation=e.translation, note=e.note
    )
    p.write(
        "INSERT INTO claims VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            claim_id,
            e.incident,
            e.fact,
            reading.kind.value,
            json.dumps(e.value, ensure_ascii=False),
            e.qualifier,
            e.unit,
            reading.low if is_number else None,
            reading.high if is_number else None,
            None if is_number else reading.low,
            None if is_number else reading.high,
            reading.text,
            int(reading.approximate),
            e.valid_time,
            valid_from,
            valid_to,
            e.report,
            outlet,
            e.claimant or outlet,
            json.dumps(e.via, ensure_ascii=False) if e.via else None,
            e.quote,
            e.translation,
            e.credibility,
            e.note,
            corrects,
            published,
            recorded,
            seq,
        ),
    )
    if corrects is not None:
        p.write(
            "INSERT INTO claim_ends VALUES (?, ?, 'corrected', ?, ?, ?, ?)",
            (corrects, claim_id, e.report, published, recorded, seq),
        )


def _retraction(p: Projector, e: Retraction.Recorded, seq: int) -> None:
    retraction_id = _record_id(e)
    published, _ = p.published_at(e.report)
    recorded = to_key(e.timestamp)
    p.write(
        "INSERT INTO retractions VALUES (?, ?, ?, ?, ?, ?, ?)",
        (retraction_id, e.claim, e.report, e.reason, published, recorded, seq),
    )
    p.write(
        "INSERT INTO claim_ends VALUES (?, ?, 'retracted', ?, ?, ?, ?)",
        (e.claim, retraction_id, e.report, published, recorded, seq),
    )


def _assessment(p: Projector, e: Assessment.Recorded, seq: int) -> None:
    p.write(
        "INSERT INTO assessments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            _record_id(e),
            e.claim,
            e.verdict,
            e.by,
            to_key(parse_instant(e.published_at)),
            e.url,
            e.note,
            to_key(e.timestamp),
            seq,
        ),
    )


_HANDLERS: dict[type, Handler] = {
    Incident.Registered: _incident,
    Source.Registered: _source,
    Source.Rated: _source_rated,
    Report.Registered: _report,
    Claim.Recorded: _claim,
    Claim.RecordedAsCorrection: _claim,
    Retraction.Recorded: _retraction,
    Assessment.Recorded: _assessment,
    # Claim.Superseded carries nothing new for the read model: the correction's
    # own event already ends the replaced claim, at the correction's known time.
}
