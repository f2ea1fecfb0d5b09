"""Capture a report's page as it was (``ledger.evidence``): the file's bytes and one
signed event, in one write."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from incident_ledger.ledger.desk_entries import Target, capture_event
from incident_ledger.ledger.errors import BadInputError, NotFoundError
from incident_ledger.ledger.evidence import (
    MEDIA_TYPES,
    Capture,
    EvidenceChunks,
    FileDigest,
    check_report_digest,
    digest_file,
    refuse_voided_report,
)
from incident_ledger.usecases.workspace import open_workspace
from incident_ledger.usecases.writing import catch_up_after_writing


def capture(db: str | None, report: str, file: str, media_type: str | None) -> dict[str, Any]:
    """Keep ``file`` as a captured copy of ``report``: content-addressed by its SHA-256,
    with its media type, size and the time it was captured (the event's recorded time).

    The file is read twice, one chunk at a time: once to hash it before the write, once
    to store it inside the write (checked against the first read)."""
    path = Path(file)
    found = _digest(path, file, media_type)
    report_id = report.removeprefix("report:")
    with open_workspace(db, write=True) as ws:
        ledger = ws.ledger
        with ledger.writing("another member captured this file at the same time") as appender:
            view = appender.view
            target = Target(f"report:{report_id}", None, None)
            check_report_digest(ledger, view, report_id, found.sha256)
            refuse_voided_report(ledger, view, report_id)
            if view.existing([Capture.aggregate_id(f"{report_id}/{found.sha256}")]):
                raise BadInputError(f"report '{report_id}' already has this file ({found.sha256})")
            chunks = EvidenceChunks(view)
            chunks.ensure_table()
            chunks.store(path, found)
            event = capture_event(ledger, target, found, path.name)
            ledger.append_events(appender, [event])
        catch_up_after_writing(ws, "the capture")
    return {
        "report": report_id,
        "sha256": found.sha256,
        "media_type": found.media_type,
        "kind": MEDIA_TYPES[found.media_type],
        "size": found.size,
        "captured_at": event.timestamp.isoformat(),
    }


def _digest(path: Path, file: str, media_type: str | None) -> FileDigest:
    """The file's digest, or the error that it cannot be read. Only a regular file that
    holds something is read: a named pipe or a device could block the read for good."""
    try:
        mode = path.stat()
        if stat.S_ISREG(mode.st_mode) and mode.st_size == 0:
            raise BadInputError(f"{file} is empty")
        if not stat.S_ISREG(mode.st_mode) and not stat.S_ISDIR(mode.st_mode):
            raise BadInputError(f"{file} is not a regular file")
        return digest_file(path, media_type)
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {file}") from None
    except IsADirectoryError:
        raise BadInputError(f"{file} is a directory") from None
    except OSError as error:
        raise BadInputError(f"cannot read {file}: {error.strerror or error}") from None
