"""A read model of a few records, for tests that ask it questions."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.imports import importer
from incident_ledger.ledger.imports.importer import Entry
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.stores.location import locate
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.views import Views


@contextmanager
def projected(records: list[dict[str, Any]]) -> Iterator[sqlite3.Connection]:
    """The read model of a fresh ledger holding ``records`` (recorded on 1 Feb 2022), in a
    folder of its own (a hypothesis example each)."""
    with tempfile.TemporaryDirectory() as workdir:
        ledger = Ledger(
            locate(str(Path(workdir) / "l.db")).event_store_env(),
            clock=lambda: datetime(2022, 2, 1, tzinfo=UTC),
        )
        views = Views(Path(workdir) / "v.db")
        try:
            importer.record(ledger, [Entry("t", validate_record(r, "t")) for r in records])
            Projector(ledger, views).catch_up()
            yield views.connection
        finally:
            views.close()
            ledger.close()
