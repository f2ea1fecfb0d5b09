"""The read-model check in bounded memory, and scoped to what an export reads
(``projections.model_check``)."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import incident_ledger.projections.model_check as model_check
from incident_ledger.ledger import samples
from incident_ledger.projections.projector import Projector
from incident_ledger.usecases import workspace, writing


@pytest.fixture
def sample(tmp_path: Path) -> str:
    db = str(tmp_path / "ledger.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    return db


class _Cycle:
    """A reference cycle, as a parse failure's kept traceback makes one."""

    def __init__(self) -> None:
        self.me = self


def test_the_check_frees_the_cycles_projection_leaves_as_it_goes(
    sample: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = 0
    collect = Projector.collect

    def leaving_cycles(self: Projector, page: Any, leaves: Any) -> Any:
        nonlocal made
        for _ in range(len(page) * 100):
            _Cycle()
        made += len(page) * 100
        return collect(self, page, leaves)

    monkeypatch.setattr(Projector, "collect", leaving_cycles)
    monkeypatch.setattr(model_check, "CHUNK", 16, raising=False)  # the sample's 138 events: nine chunks
    gc.collect()
    left = []
    real_paused = model_check.gc_paused

    def paused() -> Iterator[None]:
        with real_paused():
            yield
            left.append(sum(type(o) is _Cycle for o in gc.get_objects()))

    monkeypatch.setattr(model_check, "gc_paused", contextmanager(paused))
    with workspace.open_workspace(sample) as ws, ws.views.snapshot():
        model_check.check_read_model(ws.ledger, ws.views)
    assert made > 13_000
    assert left and left[0] <= 16 * 100  # one chunk's, not the whole log's


def _write(path: Path, records: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)
