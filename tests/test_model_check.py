"""An edited read model must not pass for the ledger: ``verify`` and every export compare
it with the log (``projections.model_check``), naming the first row that differs."""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import incident_ledger.projections.projector as projector_module
from incident_ledger.ledger import samples
from incident_ledger.ledger.errors import NotFoundError
from incident_ledger.ledger.stores.location import locate
from incident_ledger.projections.model_check import ReadModelDiffers, check_read_model
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.views import Views, row_key, table_columns
from incident_ledger.usecases import workspace, writing
from tests.test_cli import ledger as cli

EDIT = "UPDATE claims SET value = '5000', num_low = 5000, num_high = 5000 WHERE id = ?"
CLAIM = "c-000-sohr-killed-sf"


def first_difference(db: str) -> str:
    """The row ``verify`` names as the read model's first difference, and what follows."""
    code, _, err = cli(db, "verify")
    assert code == 1
    return err.split(": ", 2)[2]


@pytest.fixture
def db(store_url: str) -> str:
    """The sample ledger, on each backend, its read model up to date."""
    writing.init(store_url)
    writing.append_file(store_url, str(samples.GHWAYRAN))
    return store_url


def model_path(db: str) -> Path:
    return locate(db).views_path


def edit_model(db: str, statement: str, *params: Any) -> None:
    conn = sqlite3.connect(model_path(db))
    conn.execute(statement, params)
    conn.commit()
    conn.close()


def seq_of(db: str, table: str, key_column: str, key: str) -> int:
    conn = sqlite3.connect(model_path(db))
    try:
        return int(
            conn.execute(f"SELECT seq FROM {table} WHERE {key_column} = ?", (key,)).fetchone()[0]
        )
    finally:
        conn.close()


def test_verify_says_the_read_model_agrees(db: str) -> None:
    code, out, err = cli(db, "verify")
    assert (code, err) == (0, "")
    assert out.splitlines()[1] == "read model: agrees (141 events, 568 rows)"
    result = json.loads(cli(db, "verify", "--json")[1])
    assert result["read_model"] | {"path": ""} == {
        "path": "",
        "status": "agrees",
        "position": result["read_model"]["position"],
        "events": 141,
        "rows": 568,
    }
    code, out, _ = cli(db, "verify", "--no-read-model")
    assert (code, out.splitlines()[1]) == (0, "read model: not checked")


def test_verify_names_the_first_row_that_differs(db: str) -> None:
    seq = seq_of(db, "claims", "id", CLAIM)
    edit_model(db, EDIT, CLAIM)
    code, out, err = cli(db, "verify")
    assert (code, out) == (1, "")
    assert err == (
        f"error: the read model {model_path(db)} does not agree with the log: claims row "
        f"id='{CLAIM}' (event {seq}): value is '5000' in the read model, '20' in the ledger; "
        "the log itself verified (141 events): run 'ledger replay' to rebuild the read model\n"
    )
    assert cli(db, "verify", "--no-read-model")[0] == 0
    assert cli(db, "replay")[0] == 0
    assert cli(db, "verify")[0] == 0


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "html", "prov", "claimreview"])
def test_an_export_over_an_edited_row_fails_naming_it(db: str, fmt: str, tmp_path: Path) -> None:
    seq = seq_of(db, "claims", "id", CLAIM)
    edit_model(db, EDIT, CLAIM)
    out = tmp_path / "out"
    code, stdout, err = cli(
        db, "export", "--format", fmt, "--incident", "ghwayran-2022", "--out", str(out)
    )
    assert (code, stdout) == (1, "")
    assert err == (
        f"error: claims row id='{CLAIM}' (event {seq}): value is '5000' in the read model, "
        "'20' in the ledger: the read model does not match the ledger, so nothing was "
        "exported; run 'ledger replay' to rebuild it\n"
    )
    assert not out.exists()


@pytest.mark.parametrize("incident", [[], ["--incident", "ghwayran-2022"]], ids=["all", "one"])
def test_a_bundle_reads_no_row_of_the_model(db: str, tmp_path: Path, incident: list[str]) -> None:
    edit_model(db, EDIT, CLAIM)
    out = str(tmp_path / "bundle")
    code, _, err = cli(db, "export", "--format", "jsonl", "--out", out, *incident)
    assert (code, err) == (0, "")  # the leaves themselves: nothing of the model is used
    assert cli(db, "verify", "--export", out)[0] == 0


RETRACTED = [
    {"type": "report", "id": "r-retract", "source": "sohr", "published_at": "2022-01-25"},
    {"type": "retraction", "id": "x-1", "claim": CLAIM, "report": "r-retract"},
]


def test_an_export_without_a_deleted_retraction_fails(db: str, tmp_path: Path) -> None:
    source = tmp_path / "retract.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in RETRACTED), encoding="utf-8")
    writing.append_file(db, str(source))
    seq = seq_of(db, "claim_ends", "claim", CLAIM)
    edit_model(db, "DELETE FROM claim_ends WHERE claim = ?", CLAIM)  # the claim looks active
    code, _, err = cli(db, "export", "--format", "csv")
    assert code == 1
    assert err == (
        f"error: claim_ends row claim='{CLAIM}', ended_by='x-1' (event {seq}): missing from "
        "the read model: the read model does not match the ledger, so nothing was exported; "
        "run 'ledger replay' to rebuild it\n"
    )


def test_a_row_no_event_produces_and_a_changed_grade_are_named(db: str) -> None:
    edit_model(
        db,
        "INSERT INTO assessments (id, claim, verdict, by, published_at, recorded_at, seq) "
        "VALUES ('forged', ?, 'false', 'me', '2022-01-22', '2022-01-22', 137)",
        CLAIM,
    )
    assert first_difference(db).startswith(
        "assessments row id='forged' (event 137): the ledger has no such row;"
    )
    edit_model(db, "DELETE FROM assessments WHERE id = 'forged'")
    seq = seq_of(db, "sources", "id", "sohr")
    edit_model(db, "UPDATE sources SET reliability = 'A' WHERE id = 'sohr'")
    assert first_difference(db).startswith(
        f"sources row id='sohr' (event {seq}): reliability is 'A' in the read model, 'C' in "
        "the ledger;"
    )


def test_a_row_held_twice_is_named(db: str) -> None:
    columns = "body, original, kind, ref, incident, field, seq"
    edit_model(
        db,
        f"INSERT INTO search_index ({columns}) SELECT {columns} FROM search_index "
        "WHERE ref = ? AND field = 'quote'",
        CLAIM,
    )
    seq = seq_of(db, "claims", "id", CLAIM)
    assert first_difference(db).startswith(
        f"search_index row kind='claim', ref='{CLAIM}', field='quote' (event {seq}): held "
        "twice in the read model;"
    )


def test_the_index_of_texts_by_incident_and_of_report_titles_is_checked(db: str) -> None:
    """Their rows name texts by number, which the log does not fix: they are checked
    against the full-text index they are derived from, both ways."""
    conn = sqlite3.connect(model_path(db))
    row, incident = conn.execute("SELECT row, incident FROM search_incidents LIMIT 1").fetchone()
    title, report = conn.execute("SELECT row, report FROM search_reports LIMIT 1").fetchone()
    conn.close()
    edit_model(db, "UPDATE search_incidents SET incident = 'elsewhere' WHERE row = ?", row)
    assert first_difference(db).startswith(
        f"search_incidents lacks the row ({row}, '{incident}'), unlike search_index;"
    )
    edit_model(db, "UPDATE search_incidents SET incident = ? WHERE row = ?", incident, row)
    edit_model(db, "DELETE FROM search_reports WHERE row = ?", title)
    assert first_difference(db).startswith(
        f"search_reports lacks the row ({title}, '{report}'), unlike search_index;"
    )
    edit_model(db, "INSERT INTO search_reports VALUES (?, ?)", title, report)
    edit_model(db, "INSERT INTO search_reports VALUES (?, 'r-forged')", row)
    assert first_difference(db).startswith(
        f"search_reports holds the row ({row}, 'r-forged'), unlike search_index;"
    )
    edit_model(db, "DELETE FROM search_reports WHERE row = ?", row)
    code, _, err = cli(db, "verify")
    assert (code, err) == (0, "")


def test_collected_rows_take_reports_from_the_log_not_from_the_model(db: str) -> None:
    """A claim's published time comes from its report: the rows computed for the comparison
    must not take it from the model, or an edited report row would vouch for edited claims."""
    seq = seq_of(db, "claims", "id", CLAIM)
    edit_model(db, "UPDATE reports SET published_at = '2000-01-01T00:00:00.000000Z'")
    with workspace.open_workspace(db) as ws:
        stored = ws.views.connection.execute(
            "SELECT published_at FROM claims WHERE id = ?", (CLAIM,)
        ).fetchone()[0]
        with ws.ledger.audit.reading() as view:
            rows = view.event_rows(seq - 1, 1)
        collected = Projector(ws.ledger, ws.views).collect(rows, [bytes(r[4]) for r in rows])
        before = ws.views.dump()
    claims = [
        row for statement, queued in collected.items() if "claims" in statement for row in queued
    ]
    assert len(claims) == 1 and claims[0][0] == CLAIM
    assert stored in claims[0] and "2000-01-01T00:00:00.000000Z" not in claims[0]
    with workspace.open_workspace(db) as ws:
        assert ws.views.dump() == before  # collecting wrote nothing


def test_a_grade_projected_in_the_same_page_as_its_source_is_kept(tmp_path: Path) -> None:
    """A page that re-grades an earlier source before registering and re-grading a new
    one: the new source's row is written before either update, so it keeps its new grade."""
    db = str(tmp_path / "ledger.db")
    writing.init(db)
    first = tmp_path / "first.jsonl"
    first.write_text(
        json.dumps({"type": "source", "id": "a", "name": "A", "kind": "outlet"}) + "\n",
        encoding="utf-8",
    )
    writing.append_file(db, str(first))
    second = tmp_path / "second.jsonl"
    second.write_text(
        json.dumps({"type": "source", "id": "b", "name": "B", "kind": "outlet", "reliability": "C"})
        + "\n",
        encoding="utf-8",
    )
    with workspace.open_workspace(db, write=True) as ws:
        ws.ledger.rate_source("a", "B", "checked", None)
    writing.append_file(db, str(second), project=False)
    with workspace.open_workspace(db, write=True) as ws:
        ws.ledger.rate_source("b", "A", "checked", None)
    code, out, _ = cli(db, "sources", "--json")  # the three events projected in one page
    assert code == 0
    assert {s["id"]: s["reliability"] for s in json.loads(out)} == {"a": "B", "b": "A"}
    assert cli(db, "verify")[0] == 0


# --- the check agrees with every sound model, and names any edit --------------------------


def _ledger_records(rng: random.Random, size: int) -> list[dict[str, Any]]:
    from benchmarks.synthetic import records

    return list(records(size, seed=rng.randrange(1000)))


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 10_000),
    page=st.sampled_from([1, 3, 7, 50, 5000]),
    batches=st.integers(1, 4),
)
def test_the_check_agrees_with_a_model_built_in_any_steps_and_names_any_edit(
    seed: int, page: int, batches: int
) -> None:
    rng = random.Random(seed)
    records = _ledger_records(rng, 60)
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "ledger.db")
        writing.init(db)
        cuts = sorted(rng.sample(range(1, len(records)), batches - 1))
        original = projector_module.PAGE_SIZE
        projector_module.PAGE_SIZE = page
        try:
            for number, chunk in enumerate(_split(records, cuts)):
                path = Path(folder) / f"{number}.jsonl"
                path.write_text("".join(json.dumps(r) + "\n" for r in chunk), encoding="utf-8")
                writing.append_file(db, str(path), project=rng.random() < 0.5)
                if rng.random() < 0.5:
                    with contextlib.suppress(NotFoundError):  # not yet registered
                        writing.rate(db, "src-0", rng.choice("ABCDEF"), reason="re-graded")
        finally:
            projector_module.PAGE_SIZE = original
        with workspace.open_workspace(db) as ws:
            ws.refresh()
            with ws.views.snapshot():
                check_read_model(ws.ledger, ws.views)
        table, key, column = _edit_somewhere(rng, locate(db).views_path)
        with (
            workspace.open_workspace(db) as ws,
            ws.views.snapshot(),
            pytest.raises(ReadModelDiffers) as raised,
        ):
            check_read_model(ws.ledger, ws.views)
        assert raised.value.where.startswith(f"{table} row {key}")
        assert f": {column} is " in raised.value.where


def _split(records: list[dict[str, Any]], cuts: list[int]) -> list[list[dict[str, Any]]]:
    bounds = [0, *cuts, len(records)]
    return [records[a:b] for a, b in itertools.pairwise(bounds)]


def _edit_somewhere(rng: random.Random, path: Path) -> tuple[str, str, str]:
    """Change one cell of one row of one table (not its key): (table, key as named, column)."""
    views = Views(path)
    conn = views.connection
    try:
        tables = [
            name
            for name in table_columns()
            if conn.execute(f"SELECT COUNT(*) FROM [{name}]").fetchone()[0]
        ]
        table = rng.choice(tables)
        columns = table_columns()[table]
        keys = row_key(table)
        rowid, *values = conn.execute(
            f"SELECT rowid, * FROM [{table}] ORDER BY random() LIMIT 1"
        ).fetchone()
        row = dict(zip(columns, values, strict=True))
        column = rng.choice([c for c in columns if c not in keys and c != "seq"])
        changed = "edited" if not isinstance(row[column], int) else row[column] + 1
        conn.execute(f"UPDATE [{table}] SET [{column}] = ? WHERE rowid = ?", (changed, rowid))
        shown = ", ".join(f"{k}={row[k]!r}" for k in keys)
        return table, shown, column
    finally:
        views.close()


def test_an_event_set_aside_is_part_of_what_the_model_must_hold(db: str) -> None:
    """An event the projector cannot show is set aside (a row of ``unprojectable``), and
    the check computes that row too: the model agrees; deleting it is a difference."""
    from tests.events import append_unchecked

    fields = {
        "incident": "ghwayran-2022",
        "fact": "control",
        "value": "0000",
        "report": "report-000",
    }
    append_unchecked(db, "claim", "c-poison", fields)
    assert cli(db, "replay")[0] == 0
    code, out, err = cli(db, "verify")
    assert (code, err) == (0, "")
    assert out.splitlines()[1] == "read model: agrees (143 events, 570 rows)"
    edit_model(db, "DELETE FROM unprojectable")
    assert first_difference(db).startswith(
        "unprojectable row seq=142 (event 142): missing from the read model;"
    )


def test_a_claims_status_follows_its_end_and_an_edit_of_it_is_named(
    db: str, tmp_path: Path
) -> None:
    """claims.claim_status (the Datasette facet): active until a retraction or correction of the
    claim is recorded, then how it ended; the check holds it to the log like any column."""
    from incident_ledger.projections.datasette_metadata import table_metadata

    ending = tmp_path / "ending.jsonl"
    ending.write_text(
        json.dumps({"type": "report", "id": "r-x", "source": "sohr", "published_at": "2022-01-25"})
        + "\n"
        + json.dumps({"type": "retraction", "id": "x-1", "claim": CLAIM, "report": "r-x"})
        + "\n",
        encoding="utf-8",
    )
    writing.append_file(db, str(ending))
    conn = sqlite3.connect(model_path(db))
    statuses = dict(conn.execute("SELECT id, claim_status FROM claims").fetchall())
    conn.close()
    assert statuses.pop(CLAIM) == "retracted"
    assert set(statuses.values()) == {"active"}
    claims = table_metadata()["claims"]
    assert "claim_status" in claims["facets"] and "claim_status" in claims["columns"]
    seq = seq_of(db, "claims", "id", CLAIM)
    edit_model(db, "UPDATE claims SET claim_status = 'active' WHERE id = ?", CLAIM)
    assert first_difference(db).startswith(
        f"claims row id='{CLAIM}' (event {seq}): claim_status is 'active' in the read model, "
        "'retracted' in the ledger;"
    )
