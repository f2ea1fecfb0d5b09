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

from incident_ledger.ledger import samples
from incident_ledger.ledger.gcpause import gc_paused
from incident_ledger.ledger.stores.location import locate
from incident_ledger.projections import in_force, model_check
from incident_ledger.projections.projector import Projector
from incident_ledger.usecases import workspace, writing
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


SOHR_CLAIM = "c-000-sohr-killed-sf"


@pytest.mark.parametrize(
    ("statements", "table"),
    [
        # A claim voided by a row no event made, and shown voided.
        (
            [
                f"INSERT INTO voided VALUES ('claim:{SOHR_CLAIM}', 'erratum', "
                "'2022-01-01T00:00:00.000000Z', 99999)",
                f"UPDATE claims SET claim_status = 'voided' WHERE id = '{SOHR_CLAIM}'",
            ],
            "voided",
        ),
        # Voided under the position of another incident's event.
        (
            [
                f"INSERT INTO voided VALUES ('claim:{SOHR_CLAIM}', 'erratum', "
                "'2022-01-01T00:00:00.000000Z', "
                "(SELECT seq FROM claims WHERE incident = 'diyala-2022' LIMIT 1))",
                f"UPDATE claims SET claim_status = 'voided' WHERE id = '{SOHR_CLAIM}'",
            ],
            "voided",
        ),
        # Ended by a row of no position, and shown retracted.
        (
            [
                "INSERT INTO claim_ends (claim, how, ended_by, report, published_at, "
                f"recorded_at, seq) SELECT '{SOHR_CLAIM}', 'retracted', 'x', report, "
                "published_at, recorded_at, NULL FROM claims WHERE id = "
                f"'{SOHR_CLAIM}'",
                f"UPDATE claims SET claim_status = 'retracted' WHERE id = '{SOHR_CLAIM}'",
            ],
            "claim_ends",
        ),
        # Recorded by someone else.
        (["UPDATE batches SET member = 'mallory'"], "batches"),
        (["UPDATE members SET name = 'Mallory Fake'"], "members"),
    ],
)
def test_an_incident_export_checks_the_desk_rows_it_reads(
    sample: str, statements: list[str], table: str
) -> None:
    """Rows an export of one incident reads that no event of its scope made: an erratum
    row of no event, or of another incident's event, a claim's end of no position, a
    signed batch's member, a member's name. The scoped check never chose them (the
    whole model's check did), so the export showed them."""
    err = _refused_after(sample, statements, table)
    assert "the read model does not match the ledger" in err


@pytest.mark.parametrize(
    ("statements", "table"),
    [
        # A signed batch deleted: every claim it holds then reads "before the desk".
        (["DELETE FROM batches"], "batches"),
        (["DELETE FROM members"], "members"),
    ],
)
def test_an_incident_export_misses_no_desk_row(
    sample: str, statements: list[str], table: str
) -> None:
    """A desk row deleted from the model, whose event the log does not tie to the
    incident: the scope found desk events through the model's own rows, so the row was
    never missed, and the export showed the claims recorded by nobody."""
    assert "missing from the read model" in _refused_after(sample, statements, table)


def _refused_after(sample: str, statements: list[str], table: str) -> str:
    """The error of Ghwayran's CSV export once the model is edited by ``statements``: it
    must be refused, naming a row of ``table``."""
    for statement in statements:
        _edit(sample, statement)
    code, _, err = cli(sample, "export", "--format", "csv", "--incident", "ghwayran-2022")
    assert code == 1
    assert err.startswith(f"error: {table} row ")
    return err


def test_a_column_added_to_the_model_stops_an_export(sample: str) -> None:
    """The check compares the columns the projector writes; an export reads every column
    of some tables, so a column added by hand was shown as the ledger's."""
    _edit(sample, "ALTER TABLE claims ADD COLUMN review TEXT")
    _edit(sample, "UPDATE claims SET review = 'proposed'")
    for incident in ("ghwayran-2022", None):
        scope = ["--incident", incident] if incident else []
        code, _, err = cli(sample, "export", "--format", "csv", *scope)
        assert code == 1
        assert err.startswith(
            "error: its table claims has a column review the ledger never makes: the read "
            "model does not match the ledger, so nothing was exported"
        )


def test_an_export_never_shows_the_stored_positions_in_force(
    sample: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crowded incident's state is read from the stored positions in force, a table
    derived from the claims that the check of the model does not compare: rows deleted
    from it turned a contested fact single in the export, which passed its check."""
    monkeypatch.setattr(in_force, "CROWDED", 1)  # the sample's incidents count as crowded
    assert cli(sample, "state", "ghwayran-2022")[0] == 0  # builds the stored positions
    args = ("export", "--format", "csv", "--incident", "ghwayran-2022")
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    assert cli(sample, *args, "--out", str(before))[0] == 0
    assert _seq(sample, "SELECT count(*) FROM positions_in_force") > 0
    _edit(sample, "DELETE FROM positions_in_force WHERE claimant <> 'sohr'")
    assert cli(sample, *args, "--out", str(after))[0] == 0
    assert after.read_bytes() == before.read_bytes()  # (the same checkpoint: nothing appended)
