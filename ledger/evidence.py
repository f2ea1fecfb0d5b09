"""Evidence: a report's page as it was (HTML, PDF, PNG, WARC), kept in the event store.

A capture is one ``Capture.Recorded`` event (the report, the file's SHA-256, media
type, size and name; its recorded time is the capture time), signed in its batch like
every write. The bytes live beside the log in the same store, in the table
``evidence_chunks(sha256, idx, data)``: 1 MiB chunks keyed by the content's SHA-256,
so a SQLite file or a PostgreSQL dump carries them with the events, both backends keep
them alike, and the same file captured twice is stored once. The chunks are written in
the capture's own write transaction: a capture is its event and its bytes, or nothing.

Nothing here holds a whole file: it is hashed, written and read back one chunk at a time.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from eventsourcing.persistence import StoredEvent

from incident_ledger.ledger.desk_domain import DeskEntry
from incident_ledger.ledger.domain import TOPIC_PREFIX, LedgerAggregate
from incident_ledger.ledger.errors import (
    BadInputError,
    NotFoundError,
    StoreError,
    VerificationError,
)
from incident_ledger.ledger.stores.recorder import LogView

CHUNK_BYTES = 1 << 20
"""The size of a stored chunk, and of every read of a captured file."""

SPILL_CACHE_KIB = -2_000
"""SQLite's page cache while a capture is written (its default), in KiB."""

MEDIA_TYPES = {
    "text/html": "HTML",
    "application/pdf": "PDF",
    "image/png": "PNG",
    "application/warc": "WARC",
}
"""The media types a capture may have, with their names."""

_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"WARC/", "application/warc"),
)
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<!--", b"<meta", b"<title")


class Capture(LedgerAggregate):
    """A captured copy of a report (``capture:REPORT/SHA256``: one per report and file)."""

    TOPIC = TOPIC_PREFIX + "Capture"
    kind = "capture"

    class Recorded(LedgerAggregate.Event, DeskEntry):
        TOPIC = TOPIC_PREFIX + "Capture.Recorded"
        sha256: str
        media_type: str
        size: int
        name: str


@dataclass(frozen=True)
class FileDigest:
    """What one read of a file found: its SHA-256, size and media type."""

    sha256: str
    size: int
    media_type: str


def sniff(head: bytes) -> str | None:
    """The media type a file's first bytes show, if they show one that is kept."""
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return "text/html" if text.startswith(_HTML_STARTS) else None


def media_type_of(path: Path, head: bytes, given: str | None) -> str:
    """The file's media type: ``given`` when it is one that is kept and the content does
    not show another; else what the content shows; else what its name says."""
    kept = ", ".join(MEDIA_TYPES.values())
    shown = sniff(head)
    if given is not None:
        given = given.strip().lower()
        if given not in MEDIA_TYPES:
            raise BadInputError(f"media type '{given}': only {kept} files are captured")
        if shown is not None and shown != given:
            raise BadInputError(f"{path.name} is {MEDIA_TYPES[shown]}, not {given}")
        has_magic = any(media == given for _, media in _MAGIC)
        if shown is None and has_magic:  # every PDF, PNG and WARC file starts with its own
            raise BadInputError(
                f"{path.name} does not start as every {MEDIA_TYPES[given]} file does: "
                f"it is not {given}"
            )
        if shown is None and b"\x00" in head:  # a page's text holds no NUL byte
            raise BadInputError(f"{path.name} holds binary bytes, not text: it is not {given}")
        return given
    if shown is not None:
        return shown
    guessed = "application/warc" if path.name.endswith(".warc") else None
    guessed = guessed or mimetypes.guess_type(path.name, strict=False)[0]
    if guessed in MEDIA_TYPES:
        return guessed
    raise BadInputError(
        f"cannot tell what kind of file {path.name} is: only {kept} files are captured "
        "(give its media type if it is one of them)"
    )


def read_chunks(file: BinaryIO) -> Iterator[bytes]:
    """A file's bytes, one chunk at a time."""
    while chunk := file.read(CHUNK_BYTES):
        yield chunk


def digest_file(path: Path, given_media_type: str | None) -> FileDigest:
    """Hash a file one chunk at a time and tell its media type."""
    digest, size, head = hashlib.sha256(), 0, b""
    with path.open("rb") as file:
        for chunk in read_chunks(file):
            if not size:
                head = chunk[:64]
            digest.update(chunk)
            size += len(chunk)
    return FileDigest(digest.hexdigest(), size, media_type_of(path, head, given_media_type))


class EvidenceChunks:
    """The stored chunks of captured files, as one transaction (a ``LogView``) sees them."""

    def __init__(self, view: LogView) -> None:
        self.cursor, self.p = view.cursor, view.p
        self.table = f"{view.prefix}evidence_chunks"

    def ensure_table(self) -> None:
        """Create the table, for a store made before captures (inside the write)."""
        blob = "bytea" if self.p == "%s" else "BLOB"
        self.cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (sha256 TEXT NOT NULL, "
            f"idx INTEGER NOT NULL, data {blob} NOT NULL, PRIMARY KEY (sha256, idx))"
        )

    def count(self, sha256: str) -> int:
        """How many chunks of this content are stored."""
        self.cursor.execute(f"SELECT COUNT(*) FROM {self.table} WHERE sha256 = {self.p}", (sha256,))
        return int(self.cursor.fetchone()[0])

    def store(self, path: Path, expected: FileDigest) -> None:
        """Write a file's chunks (unless its content is stored already), checking as it
        goes that it is still the content ``expected`` was read from."""
        if self.count(expected.sha256) == -(-expected.size // CHUNK_BYTES):
            return  # the same content, captured before: kept once
        self.cursor.execute(f"DELETE FROM {self.table} WHERE sha256 = {self.p}", (expected.sha256,))
        if self.p == "?":
            # SQLite keeps a write's pages in its cache until it commits, up to the cache's
            # size (an import's is 64 MiB): a small cache spills them to the journal
            # instead, so the file is not held in memory there either.
            self.cursor.execute(f"PRAGMA cache_size={SPILL_CACHE_KIB}")
        insert = f"INSERT INTO {self.table} VALUES ({self.p}, {self.p}, {self.p})"
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as file:
            for idx, chunk in enumerate(read_chunks(file)):
                digest.update(chunk)
                size += len(chunk)
                self.cursor.execute(insert, (expected.sha256, idx, chunk))
        if (digest.hexdigest(), size) != (expected.sha256, expected.size):
            raise BadInputError(f"{path.name} changed while it was being captured")

    def read(self, sha256: str, size: int | None = None) -> Iterator[bytes]:
        """The stored content, one chunk at a time (one query per chunk): the chunks a
        file of ``size`` bytes was stored in (None: as many as are stored). A chunk that
        is missing, or that the store cannot give back as bytes, raises ``StoreError``
        saying which."""
        pieces = self.count(sha256) if size is None else -(-size // CHUNK_BYTES)
        # SQLite hands a chunk that became text back as text, and fails on text that is
        # not UTF-8: read it as the bytes it holds, whose hash then tells it was changed.
        data = "CAST(data AS BLOB)" if self.p == "?" else "data"
        select = f"SELECT {data} FROM {self.table} WHERE sha256 = {self.p} AND idx = {self.p}"
        for idx in range(pieces):
            try:
                self.cursor.execute(select, (sha256, idx))
                row = self.cursor.fetchone()
            except Exception as error:  # the backends' own errors, which differ
                raise StoreError(f"its stored piece {idx} of {pieces}: {error}") from None
            if row is None or row[0] is None:
                raise StoreError(f"its stored piece {idx} of {pieces} is missing")
            yield bytes(row[0])

    def rehash(self, sha256: str, size: int | None = None) -> tuple[str, int]:
        """The SHA-256 and size of what is stored under ``sha256`` (for a file of
        ``size`` bytes), read chunk by chunk."""
        digest, total = hashlib.sha256(), 0
        for chunk in self.read(sha256, size):
            digest.update(chunk)
            total += len(chunk)
        return digest.hexdigest(), total


def check_report_digest(ledger: Any, view: LogView, report_id: str, captured: str) -> None:
    """Refuse a capture of a report the ledger lacks, or whose content is not what the
    report's ``sha256`` says (when it says one)."""
    report = ledger.load(view, f"report:{report_id}")
    if report is None:
        raise NotFoundError(f"no report '{report_id}' in the ledger")
    expected = getattr(report.record, "sha256", None)
    if expected is not None and expected != captured:
        raise BadInputError(
            f"report '{report_id}' has sha256 {expected}, but the captured file's is {captured}"
        )


def refuse_voided_report(ledger: Any, view: LogView, report_id: str) -> None:
    """Refuse a capture of a report the desk voided: one recorded as an entry error, or
    whose source was (its capture would be evidence for nothing that counts)."""
    from incident_ledger.ledger.desk_domain import Erratum
    from incident_ledger.ledger.leaves import recorded_key

    report = ledger.load(view, f"report:{report_id}")
    for record in (f"report:{report_id}", f"source:{report.record.source}"):
        erratum = ledger.load(view, Erratum.aggregate_id(record))
        if erratum is not None:
            raise BadInputError(
                f"report '{report_id}' was voided by the erratum of {record} "
                f"(recorded {recorded_key(erratum.created_on)}: {erratum.reason}): "
                "it takes no capture"
            )


@dataclass(frozen=True)
class CaptureCount:
    """How many captures a log or a bundle holds, and of how many files (distinct
    contents: one file captured for two reports is two captures of one file).
    ``verify``, ``verify --export`` and ``restore`` all count them so, and say it in
    these words."""

    captures: int
    files: int

    @classmethod
    def of(cls, sha256s: Iterable[str]) -> CaptureCount:
        """The count of these captures, given by their contents' SHA-256."""
        listed = list(sha256s)
        return cls(len(listed), len(set(listed)))

    @classmethod
    def from_json(cls, shown: dict[str, Any]) -> CaptureCount:
        """The count an answer holds (``as_json``)."""
        return cls(int(shown.get("captures", 0)), int(shown.get("captured_files", 0)))

    def as_json(self) -> dict[str, int]:
        """``{"captures": 3, "captured_files": 2}``."""
        return {"captures": self.captures, "captured_files": self.files}

    def words(self) -> str:
        """``3 capture(s) of 2 file(s)``."""
        return f"{self.captures} capture(s) of {self.files} file(s)"


def check_captures(ledger: Any, view: LogView) -> CaptureCount:
    """Hash every captured file again, chunk by chunk; how many captures there are.

    Raises ``VerificationError`` naming the first capture whose stored bytes are not
    what was captured, or whose report's ``sha256`` says otherwise."""
    checked: set[str] = set()
    captures = view.creations_between(Capture.aggregate_id(""), Capture.kind + ";")
    chunks = EvidenceChunks(view)
    for aggregate_id, topic, state in captures:
        event = ledger.mapper.to_domain_event(StoredEvent(aggregate_id, 1, topic, state))
        what = f"captured file {event.sha256} of {event.record} ({event.name})"
        if event.sha256 not in checked:
            try:
                found, size = chunks.rehash(event.sha256, event.size)
            except StoreError as error:
                raise VerificationError(f"{what}: {error}") from None
            if (found, size) != (event.sha256, event.size):
                raise VerificationError(
                    f"{what}: its stored bytes hash to {found} ({size} bytes), not to what "
                    "was captured: they were changed after it was captured"
                )
            checked.add(event.sha256)
        try:
            check_report_digest(ledger, view, event.record.split(":", 1)[1], event.sha256)
        except (BadInputError, NotFoundError) as error:
            raise VerificationError(f"{what}: {error}") from None
    return CaptureCount(len(captures), len(checked))
