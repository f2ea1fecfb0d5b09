"""Shared fixtures: temporary ledgers and a controllable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.store import locate
from projections.projector import Projector
from projections.views import Views


class Clock:
    """A clock the test moves: recorded time is assigned by the ledger, never supplied."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2022, 2, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "ledger.db")


@pytest.fixture
def ledger(db_path: str, clock: Clock) -> Iterator[Ledger]:
    app = Ledger(locate(db_path).event_store_env(), clock=clock)
    yield app
    app.close()


@pytest.fixture
def views(db_path: str) -> Iterator[Views]:
    model = Views(locate(db_path).views_path)
    model.ensure_schema()
    yield model
    model.close()


@pytest.fixture
def projector(ledger: Ledger, views: Views) -> Projector:
    return Projector(ledger, views)
