"""Ledgers as the version before the desk wrote them: records, a signing key, no members
and no signed batches. The Merkle log's own checks (tampering, truncation, forks) are
about the log, whoever wrote it; these keep their entries where those tests expect them."""

from __future__ import annotations

from pathlib import Path

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.imports.importer import read_entries, record
from incident_ledger.ledger.stores.location import locate
from incident_ledger.usecases import writing


def predesk_ledger(path: str, *inputs: Path | str) -> str:
    """A SQLite ledger at ``path`` holding the records of ``inputs`` (JSON Lines files),
    written without a desk member, as a ledger made before the desk was."""
    writing.init(path)  # its signing key …
    views = str(locate(path).views_path)
    for name in (path, views):  # … but a store without the desk's events, and no model yet
        for suffix in ("", "-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)
    predesk_append(path, *inputs, create=True)
    return path


def predesk_append(path: str, *inputs: Path | str, create: bool = False) -> None:
    """Append the records of ``inputs`` to a ledger made before the desk, as its version
    appended them (no member signs them)."""
    ledger = Ledger(locate(path).event_store_env(create=create))
    try:
        for source in inputs:
            with Path(source).open(encoding="utf-8") as lines:
                record(ledger, read_entries(lines))
    finally:
        ledger.close()
