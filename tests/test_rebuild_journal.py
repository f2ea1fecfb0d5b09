"""A rebuild writes its new model once: the file no other process opens until it is in place
keeps its journal in memory while its rows and indexes go in, and is in WAL mode when it is."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import incident_ledger.projections.projector as projector_module
import incident_ledger.projections.views as views_module
from incident_ledger.projections.claim_status import settle
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.views import Views
from incident_ledger.usecases import rebuilding
from tests.test_rebuild_work import ALONE, ledger_of, model

pytestmark = pytest.mark.slow


def test_a_rebuild_writes_its_rows_once_and_puts_a_wal_model_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild's new model is no other process's until it is renamed into place: its rows
    go in with the journal in memory, written once rather than to a WAL and again to the
    file; so do its indexes, new pages too. The statuses, which change pages the model
    holds (an in-memory journal would keep their old contents), and the model put in place,
    where readers come, are in WAL mode; the model is the one projecting in place gives."""
    db = ledger_of(tmp_path, 600)
    in_place = model(db, tmp_path / "in-place.db", BULK_BACKLOG=0, **ALONE).dump()
    modes: list[tuple[str, str]] = []

    def mode(connection: sqlite3.Connection) -> str:
        return str(connection.execute("PRAGMA journal_mode").fetchone()[0])

    apply_pages = Projector._apply_pages

    def applying(self: Projector, *args: Any) -> int:
        modes.append(("rows", mode(self.db)))
        return apply_pages(self, *args)

    def settling(connection: sqlite3.Connection) -> None:
        modes.append(("statuses", mode(connection)))
        settle(connection)

    monkeypatch.setattr(Projector, "_apply_pages", applying)
    monkeypatch.setattr(views_module, "settle", settling)
    for name, value in {"BULK_BACKLOG": 0, **ALONE}.items():
        monkeypatch.setattr(projector_module, name, value)
    rebuilt = Path(rebuilding.replay(db)["views"])
    assert modes == [("rows", "memory"), ("statuses", "wal")]
    with closing(sqlite3.connect(rebuilt)) as connection:
        assert mode(connection) == "wal"
    assert Views(rebuilt).dump() == in_place
