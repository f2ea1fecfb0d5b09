"""An input's records validated a page at a time, in file order, on one core or two.

An import validates its first pages before it takes the store's write lock, so that
concurrent writers overlap all but their appends, and records each later page as
soon as it is validated (``importer.record_input``). Each page comes as flat columns
that cost little to pass through a pipe; its records' creation leaves are made
under the lock (``ValidatedPage.stamped``), since they carry the recorded time.

A large file is cut into chunks of about ``CHUNK_BYTES`` ending at line breaks,
one page each. Two forked helpers validate alternate chunks — the even ones and
the odd ones — while this process records; it takes the pages in chunk order,
so they arrive in file order. Each helper reads the whole file and counts the
lines of the chunks it skips, so line numbers are the file's, and the first bad
line of the file is the one reported: every chunk before it was good. Should a
helper stop, this process validates the rest of the file itself. Where fork is
unavailable, on one core, for small files and for standard input, the lines are
validated here, a page at a time.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

from incident_ledger.ledger.domain import creation_leaf
from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.forking import Producer, two_cores
from incident_ledger.ledger.imports.csv_input import csv_records
from incident_ledger.ledger.imports.kinds import first_places
from incident_ledger.ledger.imports.locating import first_line_of, first_row_of
from incident_ledger.ledger.imports.parsing import BOM, input_text
from incident_ledger.ledger.imports.plain_claims import read_rows
from incident_ledger.ledger.imports.preparing import PreparedPage
from incident_ledger.ledger.imports.spool import PAGE, Spooled, spool_row
from incident_ledger.ledger.imports.stamps import (
    SOME_STAMP,
    UNSTAMPED,
    UNSTAMPED_BYTES,
    Stamps,
)
from incident_ledger.ledger.incident_chains import Concerns, own_concerns
from incident_ledger.ledger.leaves import STAMP_LENGTH

SPLIT_MIN_BYTES = 4_000_000
"""Files smaller than this are validated in this process: helpers would not pay for themselves."""

CHUNK_BYTES = 262_144
"""About this many bytes of input make a page when helpers validate: some 1,600 records."""


@dataclass(frozen=True)
class ValidatedPage(PreparedPage):
    """A page of an input's validated records in file order: the columns of a prepared
    page (``seqs`` are the records' places in the page), with what the spool would keep.

    A page is validated before the import takes the store's write lock, when the time the
    import records at is not known yet: its leaves hold ``UNSTAMPED`` in its place, and
    ``digests`` is empty, until the lock is held (``stamped``)."""

    wheres: list[str]
    record_ids: list[str]
    datas: list[str]
    """Each record's canonical creation data (``domain.creation_data``)."""
    ref_fields: list[str]
    ranks: list[int]
    size: int
    """Bytes of input the page covers."""
    concerns: Concerns
    """The incidents each record's creation concerns, as far as the page tells
    (``incident_chains.own_concerns``: the recorded time changes none of them)."""
    claims_made: dict[str, str]
    """The claims the page creates: claim id → incident."""
    sig_places: dict[tuple[str, str], int]
    """Where each (fact, value signature) pair first comes in the page
    (``kinds.first_places``), for the checks of facts' kinds."""
    stamp: str = ""
    """The recorded time the leaves hold and ``digests`` hash, once stamped; empty before."""

    def stamped(self, recorded: str) -> ValidatedPage:
        """This page with its records' creation leaves recorded at ``recorded`` and their
        Merkle leaf hashes: the placeholder each leaf holds (``UNSTAMPED``) replaced."""
        if self.stamp == recorded:  # stamped already, by the helper that validated it
            return self
        if len(recorded) != STAMP_LENGTH or self.stamp:  # made afresh: no placeholder to fill
            columns = _Columns()
            for kind, record_id, data in zip(self.kinds, self.record_ids, self.datas, strict=True):
                columns.add_leaf(kind, record_id, data, recorded)
            leaves, ends = b"".join(columns.leaves), columns.ends
        else:
            leaves, ends = self.leaves.replace(UNSTAMPED_BYTES, recorded.encode()), self.ends
        sha256 = hashlib.sha256
        starts = [0, *ends]
        digests = [sha256(b"\x00" + leaves[starts[i] : end]).digest() for i, end in enumerate(ends)]
        return replace(self, leaves=leaves, ends=ends, digests=b"".join(digests), stamp=recorded)

    def spooled(self, i: int) -> Spooled:
        """Record ``i`` as the spool would give it back."""
        ref_ids = self.ref_ids[i]
        return Spooled(
            i,
            self.wheres[i],
            self.kinds[i],
            self.record_ids[i],
            self.aggregate_ids[i],
            self.datas[i],
            ref_ids.split(";") if ref_ids else [],
            self.ref_fields[i],
            self.fact_ids[i],
            self.sigs[i],
        )

    def row(self, i: int) -> tuple[Any, ...]:
        """Record ``i`` as a spool row (``spool.spool_row``)."""
        return (
            self.ranks[i],
            self.wheres[i],
            self.kinds[i],
            self.record_ids[i],
            self.aggregate_ids[i],
            self.datas[i],
            self.ref_ids[i],
            self.ref_fields[i],
            self.fact_ids[i],
            self.sigs[i],
        )


@dataclass(frozen=True)
class Problem:
    """Why a helper stopped early: the bad line's message."""

    message: str

    def raise_it(self) -> NoReturn:
        """Raise what validating in this process would have raised."""
        raise BadInputError(self.message)


def line_pages(lines: Iterable[str]) -> Iterator[ValidatedPage]:
    """Validate lines here, a page of ``PAGE`` records at a time."""
    return _pages(lambda advance: read_rows(lines, progress=advance))


def csv_pages(path: Path, record_type: str | None) -> Iterator[ValidatedPage]:
    """Validate a CSV file here (``csv_input``), a page at a time, as ``line_pages`` does."""
    with path.open("rb") as binary, input_text(binary) as handle:
        yield from _pages(lambda advance: _csv_rows(handle, record_type, advance))


def _csv_rows(
    lines: Iterable[str], record_type: str | None, advance: Callable[[int], None]
) -> Iterator[tuple[Any, ...]]:
    """The spool rows of a CSV input's records (``csv_input.csv_records``)."""
    for where, record in csv_records(lines, record_type, advance):
        yield spool_row(where, record)


def _pages(
    rows: Callable[[Callable[[int], None]], Iterable[tuple[Any, ...]]],
) -> Iterator[ValidatedPage]:
    """Pages of ``PAGE`` records, from ``rows(advance)``, which gives their spool rows and
    calls ``advance`` with the bytes of input each record took."""
    read = [0]  # bytes of input read so far

    def advance(size: int) -> None:
        read[0] += size

    columns, paged = _Columns(), 0
    for row in rows(advance):
        columns.add(row)
        if len(columns.rows) >= PAGE:
            columns.size, paged = read[0] - paged, read[0]
            yield columns.page()
            columns = _Columns()
    columns.size = read[0] - paged
    if columns.rows or columns.size:
        yield columns.page()


def file_pages(path: Path, stamps: Stamps | None = None) -> Iterator[ValidatedPage]:
    """Validate a JSON Lines file a page at a time in file order, on two cores when it pays
    (``stamps``: where the helpers find the recorded time, once it is posted).

    Raises what ``line_pages`` over the file would: ``BadInputError`` for the first
    bad line (a line that is not UTF-8 among them).
    """
    if not _in_parallel(path):
        with path.open("rb") as binary, input_text(binary) as handle:
            yield from line_pages(handle)
        return
    chunk = 0
    if stamps is not None:
        stamps.share()
    with (
        Producer(_chunk_pages, path, 0, 2, stamps) as even,
        Producer(_chunk_pages, path, 1, 2, stamps) as odd,
    ):
        helpers = (even, odd)
        streams = [iter(even), iter(odd)]
        while True:
            item = next(streams[chunk % 2], None)
            if item is None:
                if helpers[chunk % 2].complete:
                    return  # the file has no chunk of this number
                break
            if isinstance(item, Problem):
                item.raise_it()
            yield item
            chunk += 1
    # A helper stopped: validate from the chunk it did not send, here.
    for item in _chunk_pages(path, chunk, 1):
        if isinstance(item, Problem):
            item.raise_it()
        yield item


def _in_parallel(path: Path) -> bool:
    """Whether a JSON Lines file is validated by two helpers (``file_pages``)."""
    return path.stat().st_size >= SPLIT_MIN_BYTES and two_cores()


AHEAD_RECORDS = 20_000
"""Records an import validates before it takes the store's write lock (``records_ahead``):
every record of most inputs; of a larger one, its first pages (the rest waits for the
lock, so that the pages held in memory stay few)."""


def records_ahead(path: Path | None) -> int:
    """How many records of an input to validate before taking the write lock: a page of
    a file the helpers validate (they are far ahead of the recording once it starts, and
    this process would only wait for them), else ``AHEAD_RECORDS``."""
    if path is not None and path.suffix.lower() != ".csv" and _in_parallel(path):
        return PAGE
    return AHEAD_RECORDS


_HEADER_START = re.compile(r'"?[A-Za-z_]')
_JSON_WORDS = re.compile(r"(true|false|null)\b")


def sniff_csv(lines: Iterable[str]) -> tuple[bool, Iterator[str]]:
    """Whether standard input is a spreadsheet's CSV rather than JSON Lines, told by its
    first line that holds anything (blank lines, and a spreadsheet's rows of empty cells,
    hold nothing): a CSV starts with its header row, whose first cell is a field's name (a
    letter, perhaps quoted); anything else — a JSON object, or what a JSON Lines import
    refuses, named as it always was — is read as JSON Lines. The lines, those read put
    back."""
    lines = iter(lines)
    read: list[str] = []
    for line in lines:
        read.append(line)
        text = line.lstrip(BOM).strip()
        if text and text.strip(',"').strip():
            header = bool(_HEADER_START.match(text)) and not _JSON_WORDS.match(text)
            return header, itertools.chain(read, lines)
    return False, iter(read)


def input_pages(
    path: Path | None,
    lines: Iterable[str],
    record_type: str | None,
    *,
    csv_lines: bool = False,
    stamps: Stamps | None = None,
) -> tuple[Callable[[], Iterator[ValidatedPage]], Callable[[str], str | None]]:
    """How an import reads its input: ``pages()`` (``line_pages`` of standard input's
    ``lines``, or their CSV rows with ``csv_lines``; ``csv_pages`` of a ``….csv`` file, else
    ``file_pages`` with ``stamps``), and ``locate(aggregate_id)``: where the input first
    holds a record (None: not known)."""
    is_csv = path is not None and path.suffix.lower() == ".csv"

    def pages() -> Iterator[ValidatedPage]:
        if path is None and csv_lines:
            return _pages(lambda advance: _csv_rows(lines, record_type, advance))
        if path is None:
            return line_pages(lines)
        return csv_pages(path, record_type) if is_csv else file_pages(path, stamps)

    def locate(aggregate_id: str) -> str | None:
        if path is None:
            return None
        if is_csv:
            return first_row_of(path, aggregate_id, record_type)
        return first_line_of(path, aggregate_id)

    return pages, locate


def _chunk_pages(
    path: Path, first: int, step: int, stamps: Stamps | None = None
) -> Iterator[ValidatedPage | Problem]:
    """Chunks ``first``, ``first + step`` … of a file as pages (one each, maybe empty),
    or the problem that stopped them; stamped once a recorded time is posted."""
    line = 1
    for number, chunk in enumerate(_chunks(path)):
        if number >= first and (number - first) % step == 0:
            columns = _Columns(len(chunk))
            try:
                for row in read_rows(_lines(chunk), first_line=line):
                    columns.add(row)
            except BadInputError as error:
                yield Problem(str(error))
                return
            recorded = "" if stamps is None else stamps.posted()
            yield columns.page().stamped(recorded) if recorded else columns.page()
        line += _line_count(chunk)


def _chunks(path: Path) -> Iterator[bytes]:
    """The file in pieces of about ``CHUNK_BYTES``, each ending at a line break (but the last)."""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            if not chunk.endswith(b"\n"):
                chunk += handle.readline()
            yield chunk


def _lines(chunk: bytes) -> Iterator[str]:
    # As ``parsing.input_text`` gives them: "\r" and "\r\n" end lines too, and a byte
    # that is not UTF-8 is left for its line to be named. A chunk ends just after a
    # "\n", so no "\r\n" is ever cut in two.
    if b"\r" in chunk:
        yield from input_text(io.BytesIO(chunk))
        return
    lines = chunk.decode("utf-8", "surrogateescape").split("\n")
    if chunk.endswith(b"\n"):
        lines.pop()
    yield from lines


def _line_count(chunk: bytes) -> int:
    if b"\r" in chunk:
        text = io.TextIOWrapper(io.BytesIO(chunk), encoding="utf-8", errors="replace")
        return sum(1 for _ in text)
    return chunk.count(b"\n") + (not chunk.endswith(b"\n"))


class _Columns:
    """A page being built: spool rows in, columns with leaves (not yet stamped) out."""

    def __init__(self, size: int = 0) -> None:
        self.size = size
        self.rows: list[tuple[Any, ...]] = []
        self.topics: list[str] = []
        self.leaves: list[bytes] = []
        self.ends: list[int] = []
        self.end = 0

    def add(self, row: tuple[Any, ...]) -> None:
        """Add one record given as its spool row, making its creation leaf unstamped."""
        self.rows.append(row)
        self.add_leaf(row[2], row[3], row[5], UNSTAMPED)

    def add_leaf(self, kind: str, record_id: str, data: str, recorded: str) -> None:
        """Make a record's creation leaf, recorded at ``recorded``."""
        _, topic, leaf = creation_leaf(kind, record_id, data, recorded)
        self.topics.append(topic)
        self.leaves.append(leaf)
        self.end += len(leaf)
        self.ends.append(self.end)

    def page(self) -> ValidatedPage:
        """The page built so far, not yet stamped."""
        readable = [leaf.replace(UNSTAMPED_BYTES, SOME_STAMP) for leaf in self.leaves]
        concerns, claims_made = own_concerns(readable)  # the recorded time concerns no incident
        columns: list[Any] = [list(column) for column in zip(*self.rows, strict=True)]
        ranks, wheres, kinds, record_ids, aggregate_ids, datas, ref_ids, ref_fields, facts, sigs = (
            columns or [[] for _ in range(10)]
        )
        return ValidatedPage(
            seqs=list(range(len(self.rows))),
            kinds=kinds,
            aggregate_ids=aggregate_ids,
            ref_ids=ref_ids,
            topics=self.topics,
            leaves=b"".join(self.leaves),
            ends=self.ends,
            digests=b"",
            fact_ids=facts,
            sigs=sigs,
            wheres=wheres,
            record_ids=record_ids,
            datas=datas,
            ref_fields=ref_fields,
            ranks=ranks,
            size=self.size,
            concerns=concerns,
            claims_made=claims_made,
            sig_places=first_places(facts, sigs),
        )
