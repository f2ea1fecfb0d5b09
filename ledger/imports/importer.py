"""Importing records into the ledger: one transaction per input, all or nothing.

Records arrive validated (``ledger.records``, parsed by ``imports.parsing`` and
paged by ``imports.streaming``); ``imports.recording`` checks what only the
ledger can check and turns them into events, which ``Ledger.writing`` saves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.imports.parsing import read_records
from incident_ledger.ledger.imports.recording import Batch, Outcome, Stream
from incident_ledger.ledger.imports.spool import Spool
from incident_ledger.ledger.imports.stamps import Stamps
from incident_ledger.ledger.imports.streaming import AHEAD_RECORDS, ValidatedPage
from incident_ledger.ledger.records import AnyRecord

__all__ = ["Entry", "Outcome", "record", "record_input", "record_spooled"]


@dataclass(frozen=True)
class Entry:
    """A record with where it came from (``line 12``), for error messages."""

    where: str
    record: AnyRecord


def record(ledger: Ledger, entries: Sequence[Entry]) -> Outcome:
    """Record a batch of validated records atomically: all of it, or nothing.

    A record identical to one already stored is skipped; a different record
    under a used id is bad input.
    """
    with Spool(in_memory=True) as spool:
        for entry in entries:
            spool.add(entry.where, entry.record)
        return record_spooled(ledger, spool)


def record_spooled(
    ledger: Ledger, spool: Spool, progress: Callable[[int, int], None] | None = None
) -> Outcome:
    """Record every record of a spool in dependency order, in one transaction.

    Records are checked and stored a page at a time inside that transaction,
    so memory holds one page whatever the input's size. ``progress(done,
    total)`` is called after each page.
    """
    with ledger.writing(
        "another writer recorded some of these records at the same time"
    ) as appender:
        return Batch(ledger, spool, appender, ledger.clock()).record(progress)


def record_input(
    ledger: Ledger,
    pages: Callable[[], Iterable[ValidatedPage]],
    *,
    locate: Callable[[str], str | None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    size: int = 0,
    ahead: int = AHEAD_RECORDS,
    stamps: Stamps | None = None,
) -> Outcome:
    """Record an input's records in one transaction, each page as it is validated.

    ``pages()`` validates the input a page at a time in file order. Its first
    ``ahead`` records (the whole of most inputs: ``streaming.records_ahead``) are
    validated before the store's write lock is taken, so that concurrent writers
    wait for each other only while they append; the rest is validated page by page
    under the lock, so memory holds a bounded number of pages whatever the input's
    size. Under the lock each
    page is checked against the store as it then stands (references another writer
    has just recorded count), stamped with the recorded time and appended.

    Records go into the log in file order; one whose references come later in the
    input waits, and all that wait go in at the end in dependency order. A bad line
    anywhere (raised by ``pages``) stops the import, and so does a record the ledger
    refuses — but only once every line is validated, since a bad line is reported
    first. Either way nothing is written. ``locate(aggregate_id)`` says where the
    input first holds an id (``line 12``), for messages. ``progress(phase, done,
    total)``: ``importing`` by bytes of ``size`` (if known), then ``recording`` the
    records that waited. ``stamps``: where the recorded time is posted for the helpers
    validating the input (``stamps.Stamps``).
    """
    done = [0]

    def advance(page: ValidatedPage) -> None:
        done[0] += page.size
        if progress is not None and size:
            progress("importing", min(done[0], size), size)

    began = ledger.log_size()  # what another writer records from now on, it races us
    source = iter(pages())
    ready = validate_ahead(source, advance, ahead)
    with ledger.writing(
        "another writer recorded some of these records at the same time", began
    ) as appender:
        stream = Stream(ledger, appender, locate)
        if stamps is not None:  # the helpers validating the rest may stamp it now
            stamps.post(stream.recorded)
        try:
            for page in ready:
                stream.add_page(page)
            ready.clear()
            for page in source:
                stream.add_page(page)
                advance(page)
            if progress is not None and size:
                progress("importing", size, size)  # every line is read: the bar is full
            recording = None if progress is None else lambda d, t: progress("recording", d, t)
            return stream.finish(recording)
        finally:
            stream.close()


def validate_ahead(
    source: Iterator[ValidatedPage], advance: Callable[[ValidatedPage], None], records: int
) -> list[ValidatedPage]:
    """The first pages of ``source``, up to ``records`` records, validated now;
    ``advance(page)`` after each."""
    ahead: list[ValidatedPage] = []
    held = 0
    while held < records:
        page = next(source, None)
        if page is None:
            break
        ahead.append(page)
        held += len(page)
        advance(page)
    return ahead


def read_entries(lines: Iterable[str], label: str = "line") -> list[Entry]:
    """Validate every line of a JSON Lines input into entries held in memory."""
    return [Entry(where, record) for where, record in read_records(lines, label)]
