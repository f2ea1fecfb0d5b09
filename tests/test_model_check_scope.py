"""The read-model check in bounded memory, and scoped to what an export reads
(``projections.model_check``)."""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger import log_check, samples
from incident_ledger.ledger.audit import Checkpoint, make_checkpoint
from incident_ledger.ledger.gcpause import gc_paused
from incident_ledger.ledger.merkle import Frontier, leaf_hash
from incident_ledger.ledger.stores.location import locate
from incident_ledger.projections import check_scope, model_check
from incident_ledger.projections.projector import Projector
from incident_ledger.usecases import auditing, workspace, writing
from tests.test_cli import ledger as cli


@pytest.fixture
def sample(store_url: str) -> str:
    """The sample ledger, on each backend, its read model up to date."""
    writing.init(store_url)
    writing.append_file(store_url, str(samples.GHWAYRAN))
    return store_url


class _Cycle:
    """A reference cycle, as a parse failure's kept traceback makes one."""

    def __init__(self) -> None:
        self.me = self


@pytest.mark.slow
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
    monkeypatch.setattr(
        model_check, "CHUNK", 16, raising=False
    )  # the sample's 141 events: nine chunks
    gc.collect()
    left = []
    real_paused = gc_paused

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


DIYALA_CLAIM = "c-000-diyala-killed-soldiers"
EDIT = "UPDATE claims SET value = '5000', num_low = 5000, num_high = 5000 WHERE id = ?"


def _edit(db: str, statement: str, *params: Any) -> None:
    connection = sqlite3.connect(locate(db).views_path)
    connection.execute(statement, params)
    connection.commit()
    connection.close()


def _seq(db: str, statement: str, *params: Any) -> int:
    connection = sqlite3.connect(locate(db).views_path)
    try:
        return int(connection.execute(statement, params).fetchone()[0])
    finally:
        connection.close()


def test_an_incident_export_checks_its_own_rows_not_another_incidents(
    sample: str, tmp_path: Path
) -> None:
    seq = _seq(sample, "SELECT seq FROM claims WHERE id = ?", DIYALA_CLAIM)
    _edit(sample, EDIT, DIYALA_CLAIM)
    out = tmp_path / "ghwayran.csv"
    code, _, err = cli(
        sample, "export", "--format", "csv", "--incident", "ghwayran-2022", "--out", str(out)
    )
    assert (code, err) == (0, "")
    assert DIYALA_CLAIM not in out.read_text(encoding="utf-8")
    code, _, err = cli(sample, "export", "--format", "csv", "--incident", "diyala-2022")
    assert code == 1
    assert err.startswith(
        f"error: claims row id='{DIYALA_CLAIM}' (event {seq}): value is '5000' in the read "
        "model, '11' in the ledger: the read model does not match the ledger"
    )
    assert cli(sample, "verify")[0] == 1  # the whole model, as before


def test_an_incident_export_without_one_of_its_rows_fails(sample: str) -> None:
    seq = _seq(sample, "SELECT seq FROM reports WHERE id = 'report-000'")
    _edit(sample, "DELETE FROM reports WHERE id = 'report-000'")
    code, _, err = cli(sample, "export", "--format", "csv", "--incident", "diyala-2022")
    assert code == 1
    assert err.startswith(
        f"error: reports row id='report-000' (event {seq}): missing from the read model"
    )


def test_a_row_moved_into_an_incident_is_named(sample: str) -> None:
    claim = "c-000-sohr-killed-sf"
    seq = _seq(sample, "SELECT seq FROM claims WHERE id = ?", claim)
    _edit(sample, "UPDATE claims SET incident = 'diyala-2022' WHERE id = ?", claim)
    code, _, err = cli(sample, "export", "--format", "csv", "--incident", "diyala-2022")
    assert code == 1
    assert err.startswith(
        f"error: claims row id='{claim}' (event {seq}): incident is 'diyala-2022' in the read "
        "model, 'ghwayran-2022' in the ledger"
    )


def test_an_incident_check_projects_only_its_events(
    sample: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    projected: list[str] = []
    collect = Projector.collect

    def counting(self: Projector, page: Any, leaves: Any) -> Any:
        projected.extend(row[1] for row in page)
        return collect(self, page, leaves)

    monkeypatch.setattr(Projector, "collect", counting)
    with workspace.open_workspace(sample) as ws, ws.views.snapshot():
        whole = model_check.check_read_model(ws.ledger, ws.views)
        everything, projected[:] = list(projected), []
        part = model_check.check_read_model(ws.ledger, ws.views, "diyala-2022")
    assert len(everything) == whole.size == part.size
    assert part.root == whole.root  # every leaf still folds to the model's root
    claims = {name[6:] for name in projected if name.startswith("claim:")}
    connection = sqlite3.connect(locate(sample).views_path)
    query = "SELECT id FROM claims WHERE incident = 'diyala-2022'"
    assert claims == {row[0] for row in connection.execute(query)}
    connection.close()
    assert len(projected) < len(everything) / 2


class _Counted:
    """A model connection that counts the rows its tables' full reads hand to Python."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.fetched = 0

    def execute(self, sql: str, *params: Any) -> Any:
        cursor = self.connection.execute(sql, *params)
        return _CountedCursor(cursor, self) if sql.endswith("ORDER BY rowid") else cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)


class _CountedCursor:
    def __init__(self, cursor: sqlite3.Cursor, owner: _Counted) -> None:
        self.cursor, self.owner = cursor, owner

    def fetchmany(self, size: int) -> list[Any]:
        rows = self.cursor.fetchmany(size)
        self.owner.fetched += len(rows)
        return rows


def test_an_incident_check_reads_only_the_rows_it_compares(
    sample: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite hands over only the rows of the events in the incident's scope: each one
    read is compared, none of another incident's is made into a row and dropped."""
    with workspace.open_workspace(sample) as ws, ws.views.snapshot():
        counted = _Counted(ws.views.connection)
        monkeypatch.setattr(ws.views, "connection", counted)
        whole = model_check.check_read_model(ws.ledger, ws.views)
        everything, counted.fetched = counted.fetched, 0
        part = model_check.check_read_model(ws.ledger, ws.views, "diyala-2022")
    assert everything == whole.rows
    assert counted.fetched == part.rows < whole.rows / 2


INCIDENTS = ("ghwayran-2022", "diyala-2022")


def _signed(ws: workspace.Workspace) -> Checkpoint:
    """The checkpoint an export signs, made as ``auditing.export`` makes it."""
    key = workspace.ledger_signer(ws.ledger, ws.location, *auditing.SIGN_EXPORT)
    return make_checkpoint(ws.ledger, key.signer, key.origin, key.verifier)


@pytest.mark.parametrize("incident", INCIDENTS)
def test_an_incident_s_scope_found_by_index_is_the_one_a_pass_finds(
    sample: str, incident: str
) -> None:
    """The events the model places for an incident, proven by its chain, with those of
    the records they cite and every registration, are the scope a pass over the whole
    log finds, event for event; and the check of that scope agrees as the pass's does."""
    with workspace.open_workspace(sample) as ws, ws.views.snapshot():
        signed = _signed(ws)
        with ws.ledger.audit.reading() as view:
            size = view.size_at(ws.views.binding().position)
            passed = check_scope.incident_scope(
                ws.ledger, view, size, ws.views.connection, incident
            )
            found = check_scope.indexed_scope(
                ws.ledger, view, ws.views.connection, incident, signed
            )
            assert found is not None
            assert found.scope == passed
            on_the_log = [
                (row[0], leaf_hash(leaf))
                for rows, leaves in log_check.checked_pages(
                    view, ws.ledger.leaf_mapper, size, Frontier()
                )
                for row, leaf in zip(rows, leaves, strict=True)
                if row[0] in passed.positions
            ]
        assert list(zip(found.positions, found.hashes, strict=True)) == on_the_log
        by_pass = model_check.check_read_model(ws.ledger, ws.views, incident)
        by_index = model_check.check_read_model(ws.ledger, ws.views, incident, signed)
    assert by_index == by_pass


def test_an_incident_export_reads_its_events_not_the_whole_log(
    sample: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check of an incident's export read every event of the log twice (once to
    find the scope, once to hash it): 32 s for a 600-event incident in a ledger of a
    million. It reads the incident's events, and writes the same file."""
    before = tmp_path / "before.csv"
    args = ("export", "--format", "csv", "--incident", "diyala-2022")
    assert cli(sample, *args, "--out", str(before))[0] == 0

    def whole_log(*_: Any, **__: Any) -> Any:
        raise AssertionError("the whole log was read")

    monkeypatch.setattr(model_check, "checked_pages", whole_log)
    monkeypatch.setattr(model_check, "incident_scope", whole_log)
    after = tmp_path / "after.csv"
    assert cli(sample, *args, "--out", str(after))[::2] == (0, "")
    assert _rows(after) == _rows(before)
    seq = _seq(sample, "SELECT seq FROM claims WHERE id = ?", DIYALA_CLAIM)
    _edit(sample, EDIT, DIYALA_CLAIM)  # still caught, from the incident's events alone
    code, _, err = cli(sample, *args)
    assert code == 1
    assert err.startswith(
        f"error: claims row id='{DIYALA_CLAIM}' (event {seq}): value is '5000' in the read "
        "model, '11' in the ledger: the read model does not match the ledger"
    )


def _rows(path: Path) -> list[str]:
    """A CSV export's lines but its provenance (the checkpoint each export signs anew)."""
    return [line for line in path.read_text("utf-8").splitlines() if "checkpoint" not in line]


def test_a_model_that_misplaces_an_incident_s_event_is_checked_against_the_whole_log(
    sample: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim row deleted from the model: the positions the model gives for the
    incident no longer make its signed chain, so the check reads the whole log, which
    names the row."""
    claim = "c-000-sohr-killed-sf"
    seq = _seq(sample, "SELECT seq FROM claims WHERE id = ?", claim)
    _edit(sample, "DELETE FROM claims WHERE id = ?", claim)
    passes: list[str] = []
    scope_of = check_scope.incident_scope

    def counted(*args: Any) -> Any:
        passes.append(args[-1])
        return scope_of(*args)

    monkeypatch.setattr(model_check, "incident_scope", counted)
    code, _, err = cli(sample, "export", "--format", "csv", "--incident", "ghwayran-2022")
    assert code == 1
    assert err.startswith(f"error: claims row id='{claim}' (event {seq}): missing from the read")
    assert passes == ["ghwayran-2022"]
