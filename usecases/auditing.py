"""The use cases of the audit trail: checkpoints, verification, proofs and exports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import BadInputError, NotFoundError, StoreError
from incident_ledger.usecases.outputs import output_file, output_folder, write_output
from incident_ledger.usecases.workspace import (
    Workspace,
    open_workspace,
    query_instant,
    signing_key,
)

if TYPE_CHECKING:
    pass


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


def checkpoint(db: str | None) -> dict[str, Any]:
    """Sign the log's current size and root (consistent with the previous checkpoint)."""
    from incident_ledger.ledger.audit import make_checkpoint

    with open_workspace(db) as ws:
        key = signing_key(ws.location)
        return make_checkpoint(ws.ledger, key.signer, key.origin, key.verifier).as_json()


def verify(db: str | None) -> dict[str, Any]:
    """Recompute every leaf, the root and every checkpoint of the stored ledger."""
    from incident_ledger.ledger.log_check import verify_ledger

    with open_workspace(db) as ws:
        return verify_ledger(ws.ledger, signing_key(ws.location).verifier)


def verify_export(path: str, key: str | None = None, prev: str | None = None) -> dict[str, Any]:
    """Verify an exported bundle offline (no ledger needed)."""
    from incident_ledger.ledger.audit import verify_bundle

    return verify_bundle(Path(path), key, prev)


_KINDS = ("claim", "report", "source", "incident", "retraction", "assessment")


def prove_inclusion(db: str | None, record: str, version: int = 1) -> dict[str, Any]:
    """Inclusion proof of a record's event (``kind:id`` or a bare id)."""
    from incident_ledger.ledger.audit import prove_inclusion as prove

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
    from incident_ledger.ledger.audit import prove_consistency as prove

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
    from incident_ledger.ledger.audit import make_checkpoint, write_bundle
    from incident_ledger.projections.selection import aggregate_ids

    if fmt not in EXPORT_FORMATS:
        raise BadInputError(f"--format must be one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "jsonl" and out is None:
        raise BadInputError("--format jsonl writes a folder: give --out DIR")
    # Where the output goes is checked before any work is done.
    folder = output_folder(out) if fmt == "jsonl" and out is not None else None
    target = output_file(out) if fmt != "jsonl" and out is not None else None
    known_at = query_instant(at)
    with open_workspace(db) as ws:
        ws.refresh()
        if fmt != "jsonl" or incident is not None or known_at is not None:
            # Read from the read model: refused if it lacks an event the export needs.
            ws.views.require_projected(incident)
        key = signing_key(ws.location)
        signed = make_checkpoint(ws.ledger, key.signer, key.origin, key.verifier)
        if folder is not None:
            selected = (
                aggregate_ids(ws.views.connection, incident, known_at)
                if incident is not None or known_at is not None
                else None
            )
            try:
                return write_bundle(ws.ledger, folder, signed, key.verifier, selected)
            except OSError as error:
                raise StoreError(f"cannot write the bundle {out}: {error.strerror}") from None
        document = _render_export(fmt, ws, incident, known_at, signed.note)
    if target is None:
        return {"document": document}
    return {"path": out, "bytes": write_output(target, document)}


def _render_export(
    fmt: str, ws: Workspace, incident: str | None, at: datetime | None, note: str
) -> str:
    from incident_ledger.projections import exports

    exporter = {
        "csv": exports.export_csv,
        "prov": exports.export_prov,
        "claimreview": exports.export_claimreview,
        "html": exports.export_html,
    }[fmt]
    return exporter(ws.views.connection, incident=incident, at=at, checkpoint=note)
