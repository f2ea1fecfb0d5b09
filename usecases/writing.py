"""The use cases that write: create a ledger, import, append one record, re-grade a
source (a rebuild of the read model is ``rebuilding``'s).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from incident_ledger.ledger.errors import (
    BadInputError,
    NotFoundError,
    StoreError,
    shown,
)
from incident_ledger.ledger.record_names import Reliability
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.times import instant_key
from incident_ledger.usecases.choices import parse_grade
from incident_ledger.usecases.init_undo import present, undone_on_failure
from incident_ledger.usecases.workspace import (
    Progress,
    Workspace,
    open_workspace,
    read_signing_key,
    require_new_ledger,
)

if TYPE_CHECKING:
    from incident_ledger.ledger.imports.importer import Outcome
    from incident_ledger.ledger.records import AnyRecord

PhaseProgress = Callable[[str, int, int], None]
"""Reports (phase, done, total) — phases: importing (bytes), recording (records that
waited for references later in the input), projecting (events)."""


@dataclass(frozen=True)
class InitResult:
    """What ``init`` created."""

    store: str
    views: str
    key_path: str
    verifier_key: str
    created_key: bool
    member: str | None
    """The first admin registered with the ledger's key (None: the desk had members)."""
    copied_from: str | None = None
    """The key file named at init that the ledger's key was copied from, if any."""


def init(
    db: str | None, member: str | None = None, review: str | None = None, *, desk: bool = True
) -> InitResult:
    """Create the event store (with its id), the read model and a signing key (kept if
    present), and register the desk's first admin (``member``, default the user's name)
    with that key. A read model left by a ledger deleted from the same place is rebuilt
    for this one, or refused if it may be another live ledger's (``Workspace.ensure_bound``).

    A key there, or named (``check_named_key``), is read before anything is created; a
    ledger with events gets no key but its own (``check_init_key``). An init that fails
    once begun removes what it created, only that (``init_undo``). ``desk=False``: a
    restore's new ledger, whose desk the bundle brings."""
    from incident_ledger.ledger.batch_signing import Actor
    from incident_ledger.ledger.signednote import verifier_from_signer
    from incident_ledger.usecases.desk_admin import (
        check_init_again,
        check_init_key,
        check_init_options,
        check_named_key,
        choose_review,
        default_member_id,
        register_first_admin,
        write_key_file,
    )

    location = locate(db)
    named = check_named_key(location, "init" if desk else "restore")
    kept = present(location.key_path)
    # Every option is checked before anything is created: a refused init leaves nothing.
    signer = _init_signer(location.key_path, kept, named[1].signer if named else None)
    verifier = verifier_from_signer(signer)
    member_id = member or default_member_id()
    if desk:
        check_init_options(member_id, review, verifier)
    # What this init creates goes if it fails (``init_undo``); its error is the one reported.
    with undone_on_failure(location), open_workspace(db, create=True) as ws:
        ws.ensure_bound()
        if desk:
            check_init_key(ws.ledger, verifier, named, ws.location.key_path, kept)
            check_init_again(ws.ledger, member, review)
        else:
            require_new_ledger(ws.ledger, ws.location)
        if not kept:
            write_key_file(ws.location.key_path, signer)
        key = read_signing_key(ws.location.key_path)
        actor = Actor(key.signer, key.verifier, holds_ledger_key=True)
        # A ledger restored from a bundle brings its own desk (``desk=False``).
        registered = desk and register_first_admin(ws.ledger, member_id, actor)
        if review is not None:
            choose_review(ws.ledger, review)
        ws.refresh()
        return InitResult(
            ws.location.shown,
            str(ws.location.views_path),
            str(ws.location.key_path),
            key.verifier,
            not kept,
            member_id if registered else None,
            str(named[0]) if named is not None and not kept else None,
        )


def _init_signer(key_path: Path, kept: bool, named: str | None) -> str:
    """The signing key ``init`` gives the ledger: the one already at ``key_path``, else the
    one named (a SQLite store keeps a copy beside it, where a key made would go), else a
    new one, whose name is the log's origin in its checkpoints: unique per ledger."""
    from incident_ledger.ledger.signednote import generate_signer

    if kept:
        return read_signing_key(key_path).signer
    if named is not None:
        return named
    return generate_signer(f"incident-ledger/{secrets.token_hex(4)}")[0]


def append_file(
    db: str | None,
    file: str,
    *,
    progress: PhaseProgress | None = None,
    stdin: TextIO | None = None,
    project: bool = True,
    record_type: str | None = None,
) -> Outcome:
    """Import a JSON Lines file (``-`` for standard input) as one transaction, or a CSV
    file (named ``….csv``, or standard input whose first line is a CSV header;
    ``record_type``: the type of its rows that name none).

    With ``project=False`` the read model is left behind: every read command
    brings it up to date first, so answers are the same, only later.

    Each page of lines is recorded as soon as it is validated, in file order
    (``Ledger.record_input``); a bad line anywhere rolls everything back.
    """
    # The models load only to write: reading never needs them.
    from incident_ledger.ledger.imports.importer import record_input
    from incident_ledger.ledger.imports.parsing import stream_lines
    from incident_ledger.ledger.imports.stamps import Stamps
    from incident_ledger.ledger.imports.streaming import input_pages, records_ahead, sniff_csv

    path = None if file == "-" else Path(file)
    size = 0 if path is None else _input_size(path, file)
    # Standard input is read as bytes, so that a line that is not UTF-8 is named.
    lines = stream_lines(stdin or sys.stdin) if path is None else iter(())
    if path is None:  # standard input has no name to tell a CSV by: its first line does
        is_csv, lines = sniff_csv(lines)
    else:
        is_csv = path.suffix.lower() == ".csv"
    if record_type is not None and not is_csv:
        raise BadInputError(
            "{record_type} is for a CSV file (FILE.csv): a JSON Lines record names its type",
            arguments=("record_type",),
        )
    stamps = Stamps()
    pages, where_first = input_pages(path, lines, record_type, csv_lines=is_csv, stamps=stamps)
    with open_workspace(db, write=True) as ws:
        outcome = record_input(
            ws.ledger,
            pages,
            locate=where_first,
            progress=progress,
            size=size,
            ahead=records_ahead(path),
            stamps=stamps,
        )
        if not outcome.added_total and not outcome.unchanged:
            raise BadInputError("the input holds no records")
        outcome.proposed = _proposed(ws.ledger, outcome.added)
        if project:
            shown = None if progress is None else lambda d, t: progress("projecting", d, t)
            catch_up_after_writing(ws, f"{outcome.added_total} new record(s)", shown)
        return outcome


def catch_up_after_writing(ws: Workspace, written: str, progress: Progress | None = None) -> None:
    """Bring the read model up to date after a write. The write is committed by then: if
    the model cannot follow (a full disk, say), the error says that nothing was lost."""
    try:
        ws.refresh(progress)
    except StoreError as error:
        raise StoreError(
            f"{written} committed to the ledger, but the read model was not brought up to "
            f"date ({error}); it catches up at the next command that reads it"
        ) from None


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
    from incident_ledger.ledger.imports.parsing import validate_record

    given = {k: v for k, v in fields.items() if v is not None or k == "value"}
    return _record_one(db, validate_record(given, "input"))


def add_record(db: str | None, kind: str, texts: Mapping[str, Any]) -> Outcome:
    """Record one record of ``kind`` given as its fields' texts (``ledger add``), read and
    checked as a CSV row's cells are (``text_fields.record_from_text``)."""
    from incident_ledger.ledger.imports.text_fields import record_from_text

    return _record_one(db, record_from_text(kind, texts, "input", empty_is_absent=False))


def _record_one(db: str | None, validated: AnyRecord) -> Outcome:
    """Record one validated record, as an import of one line: signed, attributed and,
    with review required, a reporter's proposal."""
    from incident_ledger.ledger.imports.importer import Entry, record

    with open_workspace(db, write=True) as ws:
        outcome = record(ws.ledger, [Entry("input", validated)])
        outcome.proposed = _proposed(ws.ledger, outcome.added)
        catch_up_after_writing(ws, f"{outcome.added_total} new record(s)")
        return outcome


def _proposed(ledger: Any, added: Mapping[str, int]) -> bool:
    """Whether a write that just added these records (by type) proposed some: records of a
    kind an editor reviews (``REVIEWED_KINDS``; a correction is a claim) in a batch that
    waits for review, as the write's signature says (``Ledger.sealed``)."""
    from incident_ledger.ledger.desk_entries import REVIEWED_KINDS

    kinds = {"claim" if kind == "correction" else kind for kind, n in added.items() if n}
    if kinds.isdisjoint(REVIEWED_KINDS):
        return False
    return ledger.sealed is not None and bool(ledger.sealed.proposed)


def rate(
    db: str | None,
    source: str,
    grade: Reliability | str,
    *,
    reason: str,
    effective_from: str | None = None,
) -> dict[str, Any]:
    """Re-grade a source (Admiralty A–F); in force for known times from ``effective_from``."""
    grade = parse_grade(grade).value
    if not reason.strip():
        raise BadInputError("{reason} must say why the grade changes", arguments=("reason",))
    if effective_from is not None:
        try:
            instant_key(effective_from)  # the key the read model will store
        except BadInputError as error:
            raise BadInputError(f"effective_from: {error}") from None
    with open_workspace(db, write=True) as ws:
        ws.ledger.rate_source(source, grade, reason.strip(), effective_from)
        catch_up_after_writing(ws, "the new grade")
    return {
        "source": source,
        "reliability": grade,
        "reason": reason.strip(),
        "effective_from": effective_from,
    }


def csv_template(fmt: str, record_type: str | None) -> list[str]:
    """The header row of an empty CSV input, for one record type or for all."""
    from incident_ledger.ledger.imports.csv_input import template

    if fmt != "csv":
        raise BadInputError(f"the only template format is csv (got {shown(fmt)})")
    return template(record_type)
