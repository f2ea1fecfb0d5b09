"""The use cases the command line calls: one function per command.

Each function opens the ledger named by ``--db``, does one thing, brings the
read model up to date and returns plain data for the CLI to render. The CLI
holds no logic; these functions know nothing of terminals.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ledger.application import Entry, Ledger, Outcome
from ledger.errors import BadInputError, NotFoundError, StoreError
from ledger.store import StoreLocation, locate
from ledger.times import parse_instant, utc_now
from projections.projector import Projector
from projections.understanding import Policy, state
from projections.views import Views

if TYPE_CHECKING:
    from ledger.streaming import ValidatedPage

Progress = Callable[[int, int], None]
PhaseProgress = Callable[[str, int, int], None]
"""Reports (phase, done, total) — phases: importing (bytes), recording (records that
waited for references later in the input), projecting (events)."""


@dataclass
class Workspace:
    """An opened ledger: the event store, its read model and their projector."""

    location: StoreLocation
    ledger: Ledger
    views: Views
    projector: Projector

    def refresh(self, progress: Progress | None = None) -> int:
        """Bring the read model up to date with the event store."""
        return self.projector.catch_up(progress=progress)


@contextmanager
def open_workspace(
    db: str | None,
    *,
    create: bool = False,
    clock: Callable[[], datetime] = utc_now,
    views_path: Path | None = None,
) -> Iterator[Workspace]:
    """Open the ledger at ``db``; it must exist unless ``create`` is true."""
    location = locate(db)
    if location.sqlite_path is not None and not create and not location.sqlite_path.exists():
        raise NotFoundError(f"no ledger at {location.sqlite_path}: run 'ledger init' first")
    if location.sqlite_path is not None and create:
        parent = location.sqlite_path.parent
        if not parent.exists():
            raise BadInputError(f"directory {parent} does not exist")
    ledger = Ledger(location.event_store_env(create=create), clock=clock)
    try:
        if location.is_postgres and not create:
            _require_initialised(ledger, location)
        views = Views(views_path or location.views_path)
        try:
            views.ensure_schema()
            yield Workspace(location, ledger, views, Projector(ledger, views))
        finally:
            views.close()
    finally:
        ledger.close()


def _require_initialised(ledger: Ledger, location: StoreLocation) -> None:
    from eventsourcing.persistence import PersistenceError

    try:
        ledger.recorder.max_notification_id()
    except PersistenceError as error:
        if "does not exist" in str(error):
            raise NotFoundError(f"no ledger at {location.shown}: run 'ledger init' first") from None
        raise StoreError(f"cannot read the event store: {error}") from None


@contextmanager
def read_model(db: str | None) -> Iterator[sqlite3.Connection]:
    """The read model of the ledger at ``db``, caught up with its events, for queries."""
    with open_workspace(db) as ws:
        ws.refresh()
        ws.views.map_for_queries()
        yield ws.views.connection


def query_instant(text: str | None) -> datetime | None:
    """A query time from the command line: a date means the end of that UTC day."""
    return parse_instant(text, end_of_day=True) if text else None


@dataclass(frozen=True)
class InitResult:
    """What ``init`` created."""

    store: str
    views: str
    key_path: str
    verifier_key: str
    created_key: bool


def init(db: str | None) -> InitResult:
    """Create the event store, the read model and a signing key (kept if present)."""
    with open_workspace(db, create=True) as ws:
        created, verifier = _ensure_signing_key(ws.location.key_path)
        return InitResult(
            ws.location.shown,
            str(ws.location.views_path),
            str(ws.location.key_path),
            verifier,
            created,
        )


def _ensure_signing_key(path: Path) -> tuple[bool, str]:
    """Create an Ed25519 signing key, readable by its owner only, unless one exists."""
    from ledger.signednote import generate_signer, verifier_from_signer

    if path.exists():
        return False, verifier_from_signer(path.read_text(encoding="ascii").strip())
    # The key name is the log's origin in its checkpoints: unique per ledger.
    signer, verifier = generate_signer(f"incident-ledger/{secrets.token_hex(4)}")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise StoreError(f"cannot create the signing key {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(signer + "\n")
    return True, verifier


def append_file(
    db: str | None,
    file: str,
    *,
    progress: PhaseProgress | None = None,
    stdin: TextIO | None = None,
    project: bool = True,
) -> Outcome:
    """Import a JSON Lines file (``-`` for standard input) as one transaction.

    With ``project=False`` the read model is left behind: every read command
    brings it up to date first, so answers are the same, only later.

    Each page of lines is recorded as soon as it is validated, in file order
    (``Ledger.record_input``); a bad line anywhere rolls everything back.
    """
    from ledger.streaming import file_pages, first_line_of, line_pages  # models load to write

    path = None if file == "-" else Path(file)
    size = 0 if path is None else _input_size(path, file)
    lines = stdin or sys.stdin

    def pages(recorded: str) -> Iterator[ValidatedPage]:
        return line_pages(lines, recorded) if path is None else file_pages(path, recorded)

    def where_first(aggregate_id: str) -> str | None:
        return None if path is None else first_line_of(path, aggregate_id)

    with open_workspace(db) as ws:
        try:
            outcome = ws.ledger.record_input(
                pages, locate=where_first, progress=progress, size=size
            )
        except UnicodeDecodeError:
            name = "the input" if path is None else file
            raise BadInputError(f"{name} is not UTF-8 text") from None
        if not outcome.added_total and not outcome.unchanged:
            raise BadInputError("the input holds no records")
        if project:
            ws.refresh(None if progress is None else lambda d, t: progress("projecting", d, t))
        return outcome


def _input_size(path: Path, file: str) -> int:
    """The size of an input file, or the error that it cannot be read."""
    try:
        with path.open("rb") as handle:
            return os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {file}") from None
    except IsADirectoryError:
        raise BadInputError(f"{file} is a directory") from None


def append_one(db: str | None, fields: dict[str, Any]) -> Outcome:
    """Record one record given as fields (``append claim``, ``retract``, ``correct``)."""
    from ledger.importing import validate_record

    record = validate_record({k: v for k, v in fields.items() if v is not None}, "input")
    with open_workspace(db) as ws:
        outcome = ws.ledger.record([Entry("input", record)])
        ws.refresh()
        return outcome


def rate(
    db: str | None, source: str, grade: str, *, reason: str, effective_from: str | None = None
) -> dict[str, Any]:
    """Re-grade a source (Admiralty A–F); in force for known times from ``effective_from``."""
    grade = grade.strip().upper()
    if grade not in ("A", "B", "C", "D", "E", "F"):
        raise BadInputError("the grade must be an Admiralty letter A to F")
    if not reason.strip():
        raise BadInputError("--reason must say why the grade changes")
    if effective_from is not None:
        parse_instant(effective_from)
    with open_workspace(db) as ws:
        ws.ledger.rate_source(source, grade, reason.strip(), effective_from)
        ws.refresh()
    return {
        "source": source,
        "reliability": grade,
        "reason": reason.strip(),
        "effective_from": effective_from,
    }


def replay(
    db: str | None,
    *,
    until: str | None = None,
    out: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Rebuild the read model from the events (into ``out`` when given)."""
    until_at = query_instant(until)
    if until_at is not None and out is None:
        raise BadInputError(
            "--until needs --out: the live read model always follows the whole ledger"
        )
    views_path = Path(out) if out else None
    with open_workspace(db, views_path=views_path) as ws:
        ws.views.reset()
        applied = ws.projector.catch_up(until=until_at, progress=progress)
        return {
            "views": str(ws.views.path),
            "events": applied,
            "position": ws.views.position(),
            "until": until,
        }


def current_state(
    db: str | None,
    incident: str,
    *,
    at: str | None = None,
    as_recorded: str | None = None,
    policy: str = "range",
) -> dict[str, Any]:
    """The understanding of an incident at a known time, optionally as recorded by R."""
    known_at = query_instant(at) or utc_now()
    recorded_at = query_instant(as_recorded)
    try:
        chosen = Policy(policy)
    except ValueError:
        raise BadInputError(
            f"--policy must be one of {', '.join(p.value for p in Policy)}"
        ) from None
    with read_model(db) as conn:
        return state(conn, incident, known_at, recorded_at, chosen)


def export_records(db: str | None) -> list[dict[str, Any]]:
    """Every stored record, in ledger order, as it was imported (normalized)."""
    with open_workspace(db) as ws:
        return list(iter_records(ws.ledger))


def iter_records(ledger: Ledger, page: int = 2_000) -> Iterator[dict[str, Any]]:
    """Stream the records the events carry, in ledger order."""
    position = 0
    while True:
        notifications = ledger.recorder.select_notifications(start=position + 1, limit=page)
        if not notifications:
            return
        for notification in notifications:
            event = ledger.mapper.to_domain_event(notification)
            to_record = getattr(event, "to_record", None)
            if to_record is not None:
                yield to_record().model_dump(mode="json", exclude_none=True)
        position = notifications[-1].id


def sample_path() -> Path:
    """The bundled Ghwayran sample (JSON Lines)."""
    return Path(__file__).with_name("samples") / "ghwayran.jsonl"


@dataclass(frozen=True)
class SigningKey:
    """The ledger's Ed25519 key: signer (secret), verifier (public) and origin (its name)."""

    signer: str
    verifier: str
    origin: str


def signing_key(location: StoreLocation) -> SigningKey:
    """Read the ledger's signing key file."""
    from ledger.signednote import NoteError, verifier_from_signer

    try:
        signer = location.key_path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise NotFoundError(
            f"no signing key at {location.key_path}: run 'ledger init' first"
        ) from None
    except OSError as error:
        raise StoreError(f"cannot read the signing key {location.key_path}: {error}") from None
    try:
        verifier = verifier_from_signer(signer)
    except NoteError as error:
        raise StoreError(f"the signing key {location.key_path} is unusable: {error}") from None
    return SigningKey(signer, verifier, verifier.split("+", 1)[0])


def checkpoint(db: str | None) -> dict[str, Any]:
    """Sign the log's current size and root (consistent with the previous checkpoint)."""
    from ledger.audit import make_checkpoint

    with open_workspace(db) as ws:
        key = signing_key(ws.location)
        return make_checkpoint(ws.ledger, key.signer, key.origin, key.verifier).as_json()


def verify(db: str | None) -> dict[str, Any]:
    """Recompute every leaf, the root and every checkpoint of the stored ledger."""
    from ledger.log_check import verify_ledger

    with open_workspace(db) as ws:
        return verify_ledger(ws.ledger, signing_key(ws.location).verifier)


def verify_export(path: str, key: str | None = None, prev: str | None = None) -> dict[str, Any]:
    """Verify an exported bundle offline (no ledger needed)."""
    from ledger.audit import verify_bundle

    return verify_bundle(Path(path), key, prev)


_KINDS = ("claim", "report", "source", "incident", "retraction", "assessment")


def prove_inclusion(db: str | None, record: str, version: int = 1) -> dict[str, Any]:
    """Inclusion proof of a record's event (``kind:id`` or a bare id)."""
    from ledger.audit import prove_inclusion as prove

    with open_workspace(db) as ws:
        verifier = signing_key(ws.location).verifier
        kind, _, bare = record.partition(":")
        candidates = [record] if kind in _KINDS and bare else [f"{k}:{record}" for k in _KINDS]
        found = [c for c in candidates if ws.ledger.recorder.select_events(c, limit=1)]
        if not found:
            raise NotFoundError(f"no record '{record}' in the ledger")
        if len(found) > 1:
            raise BadInputError(
                f"'{record}' names several records ({', '.join(found)}): give kind:id"
            )
        return prove(ws.ledger, found[0], version, verifier)


def prove_consistency(db: str | None, size1: int, size2: int | None = None) -> dict[str, Any]:
    """Consistency proof between two sizes of the log."""
    from ledger.audit import prove_consistency as prove

    with open_workspace(db) as ws:
        return prove(ws.ledger, size1, size2)


EXPORT_FORMATS = ("jsonl", "csv", "prov", "claimreview", "html")


def export(
    db: str | None,
    fmt: str,
    *,
    out: str | None,
    incident: str | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    """Export in one of EXPORT_FORMATS; ``jsonl`` writes a verifiable bundle folder."""
    from ledger.audit import make_checkpoint, write_bundle
    from projections.selection import aggregate_ids

    if fmt not in EXPORT_FORMATS:
        raise BadInputError(f"--format must be one of {', '.join(EXPORT_FORMATS)}")
    known_at = query_instant(at)
    with open_workspace(db) as ws:
        ws.refresh()
        key = signing_key(ws.location)
        signed = make_checkpoint(ws.ledger, key.signer, key.origin, key.verifier)
        if fmt == "jsonl":
            if out is None:
                raise BadInputError("--format jsonl writes a folder: give --out DIR")
            selected = (
                aggregate_ids(ws.views.connection, incident, known_at)
                if incident is not None or known_at is not None
                else None
            )
            return write_bundle(ws.ledger, Path(out), signed, key.verifier, selected)
        document = _render_export(fmt, ws, incident, known_at, signed.note)
    if out is None:
        return {"document": document}
    Path(out).write_text(document, encoding="utf-8")
    return {"path": out, "bytes": len(document.encode("utf-8"))}


def _render_export(
    fmt: str, ws: Workspace, incident: str | None, at: datetime | None, note: str
) -> str:
    from projections import exports

    exporter = {
        "csv": exports.export_csv,
        "prov": exports.export_prov,
        "claimreview": exports.export_claimreview,
        "html": exports.export_html,
    }[fmt]
    return exporter(ws.views.connection, incident=incident, at=at, checkpoint=note)


__all__ = [
    "InitResult",
    "Workspace",
    "append_file",
    "append_one",
    "current_state",
    "export_records",
    "init",
    "open_workspace",
    "replay",
    "sample_path",
]


def parse_flag_value(text: str) -> Any:
    """A ``--value`` flag: a whole number, a JSON range or boolean, or else text."""
    from ledger.importing import parse_json

    stripped = text.strip()
    if stripped.isdigit() or stripped in ("true", "false") or stripped.startswith("{"):
        try:
            return parse_json(stripped)
        except ValueError as error:
            raise BadInputError(f"--value: {error}") from None
    return text
