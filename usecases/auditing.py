"""The use cases of the audit trail: checkpoints, verification, proofs and exports.

Over 400 lines: every output of the audit trail is made here under one signed checkpoint,
with the same checks of the log and the read model before it is written.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import (
    BadInputError,
    NotFoundError,
    StoreError,
    VerificationError,
)
from incident_ledger.ledger.stores.location import StoreLocation, locate
from incident_ledger.ledger.stores.sqlite_file import is_database
from incident_ledger.usecases.choices import ExportFormat, parse_format
from incident_ledger.usecases.model_glance import refuse_store_files
from incident_ledger.usecases.outputs import (
    output_file,
    output_folder,
    write_file,
    write_folder,
    write_output,
)
from incident_ledger.usecases.workspace import (
    Workspace,
    ledger_files,
    ledger_signer,
    open_ledger,
    open_workspace,
    query_instant,
    signing_key,
)

if TYPE_CHECKING:
    from incident_ledger.ledger.audit import Checkpoint
    from incident_ledger.projections.exports.common import Provenance


def export_records(db: str | None) -> list[dict[str, Any]]:
    """Every stored record, in ledger order, as it was imported (normalized)."""
    with open_ledger(db) as (_, ledger):
        return list(iter_records(ledger))


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


SIGN_CHECKPOINT = ("sign a checkpoint", "its checkpoints")
SIGN_EXPORT = ("sign an export", "the checkpoint each export carries")
"""What a key other than the ledger's own is refused (``ledger_signer``), and why."""


def checkpoint(db: str | None) -> dict[str, Any]:
    """Sign the log's current size and root (consistent with the previous checkpoint)
    with the ledger's own key."""
    from incident_ledger.ledger.audit import make_checkpoint

    with open_ledger(db, write=True) as (location, ledger):
        key = ledger_signer(ledger, location, *SIGN_CHECKPOINT)
        return make_checkpoint(ledger, key.signer, key.origin, key.verifier).as_json()


def verify(db: str | None, key: str | None = None, *, read_model: bool = True) -> dict[str, Any]:
    """Recompute every leaf, the root and every checkpoint of the stored ledger, then
    compare the read model with the log (unless ``read_model`` is false).

    Needs only the store: checkpoints are checked against ``key`` (the verifier key, as
    text or a file), else against the ledger's own signing key when it is at hand, else
    counted as unchecked. The read model, if there is one, is opened read-only.
    """
    from incident_ledger.ledger.log_check import verify_ledger

    with open_ledger(db) as (location, ledger):
        result = verify_ledger(ledger, _verifier(location, ledger, key))
        result["read_model"] = (
            _model_report(location, ledger) if read_model else {"status": "not checked"}
        )
    if result["read_model"]["status"] == "differs":
        raise VerificationError(
            f"the read model {location.views_path} does not agree with the log: "
            f"{result['read_model']['detail']}; the log itself verified ({result['events']} "
            "events): run 'ledger replay' to rebuild the read model"
        )
    return result


def _verifier(location: StoreLocation, ledger: Ledger, key: str | None) -> str | None:
    """The verifier key checkpoints are checked against (see ``verify``): the one given,
    else ``checkpoint_verifier``."""
    from incident_ledger.ledger.audit import verifier_key

    if key is not None:
        return verifier_key(key)
    try:
        return checkpoint_verifier(location, ledger)
    except StoreError:  # the store fails to read: verify says where, with the key at hand
        return signing_key(location).verifier if location.key_path.exists() else None


def checkpoint_verifier(location: StoreLocation, ledger: Ledger) -> str | None:
    """The key the log's checkpoints are checked against when none is given: the key at
    hand when it is the ledger's own as the log records it (``is_ledger_key``), else —
    a member's own key, a stranger's (a PostgreSQL reader names their own), or none —
    the ledger's key as the log records it (``recorded_key``) when a member holds it
    (None: the log records none and no key is at hand)."""
    from incident_ledger.ledger.batch_signing import is_ledger_key, recorded_key

    held = signing_key(location).verifier if location.key_path.exists() else None
    with ledger.audit.reading() as view:
        if held is not None and is_ledger_key(ledger, view, held) is not False:
            return held
        recorded = recorded_key(ledger, view)
    return recorded.verifier if recorded is not None and recorded.verifier else held


def _model_report(location: StoreLocation, ledger: Ledger) -> dict[str, Any]:
    """Whether the read model agrees with the log: ``agrees`` (up to the position it has
    projected), ``absent``, ``outdated`` (an earlier layout, rebuilt by the next read) or
    ``differs`` (with the first row that does)."""
    from incident_ledger.projections.model_check import ReadModelDiffers, check_read_model
    from incident_ledger.projections.views import Views

    path = location.views_path
    report: dict[str, Any] = {"path": str(path)}
    refuse_store_files(path)  # (as every command does: ``open_views``)
    if not path.exists():
        return report | {"status": "absent"}
    try:
        views = Views(path, read_only=True)
    except StoreError as error:
        said = "it is not a SQLite database" if not is_database(path) else None
        return report | {"status": "differs", "detail": said or f"it cannot be read ({error})"}
    try:
        if views.table_statements() is None:
            return report | {"status": "outdated"}
        with views.snapshot():
            agreement = check_read_model(ledger, views)
    except ReadModelDiffers as error:
        return report | {"status": "differs", "detail": error.where}
    except sqlite3.Error as error:
        return report | {"status": "differs", "detail": f"it cannot be read ({error})"}
    finally:
        views.close()
    return report | {
        "status": "agrees",
        "position": agreement.position,
        "events": agreement.size,
        "rows": agreement.rows,
    }


def verify_export(path: str, key: str | None = None, prev: str | None = None) -> dict[str, Any]:
    """Verify an exported bundle offline (no ledger needed)."""
    from incident_ledger.ledger.bundle_check import verify_bundle

    return verify_bundle(Path(path), key, prev)


_KINDS = ("claim", "report", "source", "incident", "retraction", "assessment")


def prove_inclusion(db: str | None, record: str, version: int = 1) -> dict[str, Any]:
    """Inclusion proof of a record's event (``kind:id`` or a bare id)."""
    from incident_ledger.ledger.audit import prove_inclusion as prove

    with open_ledger(db) as (location, ledger):
        verifier = checkpoint_verifier(location, ledger) or signing_key(location).verifier
        kind, _, bare = record.partition(":")
        candidates = [record] if kind in _KINDS and bare else [f"{k}:{record}" for k in _KINDS]
        found = [c for c in candidates if ledger.recorder.select_events(c, limit=1)]
        if not found:
            raise NotFoundError(f"no record '{record}' in the ledger")
        if len(found) > 1:
            raise BadInputError(
                f"'{record}' names several records ({', '.join(found)}): give kind:id"
            )
        return prove(ledger, found[0], version, verifier)


def prove_consistency(db: str | None, size1: int, size2: int | None = None) -> dict[str, Any]:
    """Consistency proof between two sizes of the log."""
    from incident_ledger.ledger.audit import prove_consistency as prove

    with open_ledger(db) as (_, ledger):
        return prove(ledger, size1, size2)


def export(
    db: str | None,
    fmt: ExportFormat | str,
    *,
    out: str | None,
    incident: str | None = None,
    at: str | None = None,
    strict: bool = False,
    namespace: str | None = None,
    to: Callable[[str], None] | None = None,
    with_evidence: bool = False,
    reviewed_only: bool | None = None,
) -> dict[str, Any]:
    """Export in one of ``choices.EXPORT_FORMATS``; ``jsonl`` writes a verifiable bundle
    folder (every event up to the checkpoint, or every event concerning ``incident`` and
    what they cite, read from the log alone: ``at`` does not narrow it, see
    ``ledger.bundles``).

    What an export shows of the read model is first checked against the log, in the
    same read transaction of the model, and the log's root at the model's position
    against the checkpoint the export carries (``_checked_model``): an edited model
    stops the export.

    CSV and PROV are written as they are read (``STREAMED``), to ``out`` or, without it,
    through ``to`` (else the result's ``document``), a page at a time.
    ``reviewed_only``: proposals count once approved (None: so when review is required).
    The result's ``notes`` say what was left out and why; with ``strict``, any item a
    platform would reject refuses the whole export instead.
    """
    from incident_ledger.ledger.audit import make_checkpoint

    fmt = parse_format(fmt)
    _check_options(fmt, with_evidence, reviewed_only, namespace)
    folder, target = _destination(fmt, out, db)
    query_instant(at)  # a bad date is refused before the ledger is opened
    selects = fmt != "jsonl"  # a bundle is read from the log alone
    with open_workspace(db) as ws:
        key = ledger_signer(ws.ledger, ws.location, *SIGN_EXPORT)
        ws.refresh()
        if selects:
            # Read from the read model: refused if it lacks an event the export needs.
            ws.views.require_projected(incident)
        with ws.views.snapshot():
            known_at = query_instant(at, _require_incident(ws, incident, selects))
            signed = make_checkpoint(
                ws.ledger, key.signer, key.origin, key.verifier, keep=not ws.location.read_only
            )
            if selects:
                _checked_model(ws, signed, incident)
            if folder is not None:
                return _bundle(ws, folder, signed, key.verifier, incident, with_evidence)
            provenance = _provenance(ws, signed, key.verifier)
            reviewed, said = _reviewed_only(ws, reviewed_only, incident)
            asked = (incident, known_at, provenance, reviewed)
            written = _write_as_made(fmt, ws, asked, namespace, (out, target), to)
            if written is not None:
                return written | {"notes": said}
            document, notes = _render_export(fmt, ws, *asked, namespace)
            notes.other[:0] = said
    return _written(fmt, document, notes, (out, target), strict=strict)


def _write_as_made(
    fmt: str,
    ws: Workspace,
    asked: tuple[str | None, datetime | None, Provenance, bool],
    namespace: str | None,
    where: tuple[str | None, Path | None],
    to: Callable[[str], None] | None,
) -> dict[str, Any] | None:
    """Write the formats that go to their file as they are made (XLSX and HTML to
    ``out``; CSV and PROV to ``out`` or through ``to``); None for the others."""
    target = where[1]
    if fmt in STREAMED and (target is not None or to is not None):
        return _write_streamed(fmt, _streamed(fmt, ws, *asked, namespace), where, to)
    if fmt in ("xlsx", "html") and target is not None:
        return _made_file(fmt, ws, target, asked)
    return None


def _check_options(
    fmt: str, with_evidence: bool, reviewed_only: bool | None, namespace: str | None
) -> None:
    """Refuse what a format cannot do (only a bundle holds captured files, and a bundle
    is the whole log) and a PROV namespace that is no URI, before anything is signed."""
    from incident_ledger.projections.exports.prov_export import prov_namespace

    if with_evidence and fmt != "jsonl":
        raise BadInputError("captured files go only into a JSONL bundle")
    if reviewed_only is not None and fmt == "jsonl":
        raise BadInputError("a JSONL bundle holds the whole log, proposals and reviews alike")
    if namespace is not None and fmt == "prov":
        prov_namespace(namespace)


def _require_incident(ws: Workspace, incident: str | None, selects: bool) -> str | None:
    """Refuse an unknown incident before a checkpoint is signed, naming the closest ids:
    as the read model knows it, or for a bundle (read from the log alone) as the log's
    chains do. The incident's time zone (None: UTC, and for every incident or a bundle)."""
    from incident_ledger.ledger.bundles import has_chain
    from incident_ledger.projections.incidents import require_incident, unknown_incident

    if incident is None:
        return None
    if selects:
        return require_incident(ws.views.connection, incident)
    if not has_chain(ws.ledger, incident):
        raise NotFoundError(unknown_incident(ws.views.connection, incident))
    return None


def _reviewed_only(
    ws: Workspace, asked: bool | None, incident: str | None
) -> tuple[bool, list[str]]:
    """Whether an export counts proposals only once approved (by default, when the ledger
    requires review), and the note that says so (that proposals are left out only when
    some of what is exported waits for review)."""
    from incident_ledger.ledger.batch_signing import review_required
    from incident_ledger.projections.review_queue import waiting

    if asked is None:
        with ws.ledger.audit.reading() as view:
            asked = review_required(ws.ledger, view)
        if asked:
            left_out = (
                "proposals waiting for review are left out ({with_proposals} brings them in)"
                if waiting(ws.views.connection, incident)
                else "the reviewed view (nothing waits for review now)"
            )
            return True, [
                f"review is required: {left_out}; rejected proposals and entry errors "
                "are left out either way"
            ]
    return asked, []


STREAMED = frozenset({ExportFormat.CSV, ExportFormat.PROV})
"""The formats written as their rows are read, memory bounded whatever the incident's size."""


def _streamed(
    fmt: str,
    ws: Workspace,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance,
    reviewed_only: bool,
    namespace: str | None,
) -> Callable[[TextIO], None]:
    """What writes a ``STREAMED`` export to an open text file."""
    from incident_ledger.projections import exports

    db = ws.views.connection
    if fmt == "prov":
        return lambda out: exports.write_prov(
            db,
            out,
            incident=incident,
            at=at,
            provenance=provenance,
            namespace=namespace,
            reviewed_only=reviewed_only,
        )
    return lambda out: exports.write_csv(
        db, out, incident=incident, at=at, provenance=provenance, reviewed_only=reviewed_only
    )


def _write_streamed(
    fmt: str,
    write: Callable[[TextIO], None],
    where: tuple[str | None, Path | None],
    to: Callable[[str], None] | None,
) -> dict[str, Any]:
    """Write a streamed export to its file (through a temporary file, renamed when
    complete), or to a temporary file first and then through ``to`` in pieces: either
    way nothing is written of an export that fails."""
    out, target = where
    written: dict[str, Any] = {"format": fmt, "notes": []}
    if target is not None:

        def to_file(path: Path) -> None:
            with path.open("w", encoding="utf-8", newline="") as handle:
                write(handle)

        return written | {"path": out, "bytes": write_file(target, to_file)}
    assert to is not None
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        write(spool)
        spool.seek(0)
        while piece := spool.read(1 << 16):
            to(piece)
    return written


def _bundle(
    ws: Workspace,
    folder: Path,
    signed: Checkpoint,
    verifier: str,
    incident: str | None,
    with_evidence: bool,
) -> dict[str, Any]:
    """Write the JSONL bundle; an incident's reads the events the read model places in
    it, when their chain proves them complete (``ledger.bundles``), else the whole log;
    ``with_evidence``: with the captured files."""
    from incident_ledger.ledger.bundles import write_bundle
    from incident_ledger.projections.incidents import events_of_incident

    positions = None if incident is None else events_of_incident(ws.views.connection, incident)

    def write(place: Path) -> dict[str, Any]:
        return write_bundle(ws.ledger, place, signed, verifier, incident, positions, with_evidence)

    result = write_folder(folder, write, f"the bundle {folder}") | {"path": str(folder)}
    if result.get("files_left_out"):
        result["notes"] = [
            f"the captured files ({result['files_left_out']}) are not included: restoring "
            "the bundle will need them (export {with_evidence} to include them)"
        ]
    return result


def _written(
    fmt: str,
    document: str,
    notes: ExportNotes,
    where: tuple[str | None, Path | None],
    *,
    strict: bool,
) -> dict[str, Any]:
    """Write the document (or hand it back for standard output), unless ``strict``
    and some item was left out."""
    if strict and notes.refused:
        raise VerificationError(
            f"{len(notes.refused)} item(s) would be rejected, so nothing was written: "
            + " | ".join(notes.refused)
        )
    written = {"format": fmt, "notes": notes.lines}
    out, target = where
    if target is None:
        return written | {"document": document}
    return written | {"path": out, "bytes": write_output(target, document)}


def _destination(
    fmt: ExportFormat, out: str | None, db: str | None
) -> tuple[Path | None, Path | None]:
    """(folder, file) an export in ``fmt`` (``parse_format``) goes to, checked before any
    work is done: never one of the files of the ledger at ``db``."""
    from incident_ledger.ledger.bundles import require_empty

    if fmt == "jsonl" and out is None:
        raise BadInputError("{fmt} jsonl writes a folder: give {out} DIR", arguments=("fmt", "out"))
    if fmt == "xlsx" and out is None:
        raise BadInputError("an xlsx workbook is a binary file: give a file to write it to")
    folder = output_folder(out) if fmt == "jsonl" and out is not None else None
    if folder is not None:
        require_empty(folder)
    target = None
    if fmt != "jsonl" and out is not None:
        target = output_file(out, ledger_files(locate(db)))
    return folder, target


def _checked_model(ws: Workspace, signed: Checkpoint, incident: str | None) -> None:
    """Check the read model against the log (``check_read_model``, scoped to ``incident``) and
    the log it was checked against against the signed checkpoint: the same root, or one the
    checkpoint extends (a consistency proof from the model's position to the checkpoint's size)."""
    from incident_ledger.ledger.merkle import ProofError, consistency_proof, verify_consistency
    from incident_ledger.projections.model_check import ReadModelDiffers, check_read_model

    try:
        agreement = check_read_model(ws.ledger, ws.views, incident)
    except ReadModelDiffers as error:
        raise VerificationError(
            f"{error.where}: the read model does not match the ledger, so nothing was "
            "exported; run 'ledger replay' to rebuild it"
        ) from None
    if agreement.size == 0:
        return
    try:
        if agreement.size > signed.size:
            raise ProofError(
                f"the model has {agreement.size} entries, the checkpoint {signed.size}"
            )
        with ws.ledger.audit.reading() as view:
            proof = consistency_proof(view.nodes, agreement.size, signed.size)
        verify_consistency(agreement.size, signed.size, proof, agreement.root, signed.root)
    except ProofError as error:
        raise VerificationError(
            f"the log the read model was checked against is not the signed one ({error}): "
            "nothing was exported; run 'ledger verify'"
        ) from None


def _provenance(ws: Workspace, signed: Checkpoint, verifier: str) -> Provenance:
    """The checkpoint an export is made under, and where its records are in that log."""
    from incident_ledger.ledger.audit import b64, leaf_locations
    from incident_ledger.projections.exports.common import Provenance

    return Provenance(
        signed.note,
        signed.origin,
        signed.size,
        b64(signed.root),
        lambda wanted: leaf_locations(ws.ledger, signed, wanted),
        verifier,
    )


@dataclass
class ExportNotes:
    """What a reader of an export should be told about it, one line each."""

    refused: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [*self.other, *(f"left out {line}" for line in self.refused)]


def _render_export(
    fmt: str,
    ws: Workspace,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance,
    reviewed_only: bool,
    namespace: str | None,
) -> tuple[str, ExportNotes]:
    from incident_ledger.projections import exports
    from incident_ledger.projections.exports.common import collected

    if fmt == "claimreview":
        return _claimreview(ws, incident, at, provenance, reviewed_only)
    if fmt in STREAMED:
        write = _streamed(fmt, ws, incident, at, provenance, reviewed_only, namespace)
        return collected(write), ExportNotes()
    document = exports.export_html(
        ws.views.connection,
        incident=incident,
        at=at,
        provenance=provenance,
        reviewed_only=reviewed_only,
    )
    return document, ExportNotes()


def _made_file(
    fmt: str,
    ws: Workspace,
    target: Path,
    asked: tuple[str | None, datetime | None, Provenance, bool],
) -> dict[str, Any]:
    """An XLSX workbook or the HTML report, written to its file as it is made; the
    workbook's result also counts its claims."""
    # Each format's writer only: openpyxl is not loaded for a report, nor matplotlib for
    # a workbook.
    writer: Callable[..., Any]
    if fmt == "xlsx":
        from incident_ledger.projections.exports.xlsx_export import export_xlsx as writer
    else:
        from incident_ledger.projections.exports.html_export import write_html as writer

    incident, at, provenance, reviewed_only = asked
    made: list[Any] = []

    def write(path: Path) -> None:
        made.append(
            writer(
                ws.views.connection,
                path,
                incident=incident,
                at=at,
                provenance=provenance,
                reviewed_only=reviewed_only,
            )
        )

    size = write_file(target, write)
    written = {"format": fmt, "notes": [], "path": str(target), "bytes": size}
    return written | {"claims": made[0]} if fmt == "xlsx" else written


def _claimreview(
    ws: Workspace,
    incident: str | None,
    at: datetime | None,
    provenance: Provenance,
    reviewed_only: bool,
) -> tuple[str, ExportNotes]:
    from incident_ledger.projections.exports.claimreview_export import claim_reviews

    reviews = claim_reviews(
        ws.views.connection,
        incident=incident,
        at=at,
        provenance=provenance,
        reviewed_only=reviewed_only,
    )
    notes = ExportNotes(refused=reviews.refused)
    if reviews.assessments == 0:
        known = (
            "no assessment known then counts in the reviewed view"
            if reviewed_only
            else ("no assessments were known then")
        )
        notes.other.append(f"{known}: the ClaimReview list is empty")
    return reviews.text, notes
