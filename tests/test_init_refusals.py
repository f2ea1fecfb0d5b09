"""``ledger init`` refused: bad options create nothing (no store, key or read model),
and a repeated init that asks for another first admin or review setting than the ledger
holds says what it holds — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from tests.conftest import NO_POSTGRES, POSTGRES_URL

runner = CliRunner()


def cli(db: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--db", db, *args])
    return result.exit_code, result.stderr


@pytest.fixture
def place(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where init makes a ledger and its key, on each backend: beside a SQLite store, or
    for PostgreSQL at ./ledger.key in ``tmp_path``, no key being named (a key named is
    one init does not make)."""
    if store_url.startswith("postgresql"):
        (tmp_path / "ledger.key").unlink()  # the one store_url made, to name it
        monkeypatch.delenv("LEDGER_KEY")
        monkeypatch.chdir(tmp_path)
    return store_url


def left_behind(db: str, tmp_path: Path) -> list[str]:
    """What an init left: files beside the store, and on PostgreSQL its schema."""
    found = sorted(path.name for path in tmp_path.iterdir())
    if db.startswith("postgresql"):
        import psycopg

        assert POSTGRES_URL is not None
        schema = db.rsplit("schema=", 1)[1]
        with psycopg.connect(POSTGRES_URL) as conn:
            query = "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s"
            if conn.execute(query, (schema,)).fetchone():
                found.append(f"schema {schema}")
    return found


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--review", "maybe"], "error: review: must be required or off\n"),
        (
            ["--member", "bad id"],
            "error: member: id: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -\n",
        ),
    ],
    ids=["review", "member"],
)
def test_a_refused_init_creates_nothing(
    place: str, tmp_path: Path, options: list[str], said: str
) -> None:
    assert cli(place, "init", *options) == (2, said)
    assert left_behind(place, tmp_path) == []
    assert cli(place, "init", "--member", "carol", "--review", "required")[0] == 0
    members = json.loads(runner.invoke(app, ["--db", place, "members", "--json"]).stdout)
    assert [member["id"] for member in members] == ["carol"]


def test_a_repeated_init_names_what_the_ledger_holds(place: str) -> None:
    assert cli(place, "init", "--member", "root")[0] == 0
    size = json.loads(runner.invoke(app, ["--db", place, "verify", "--json"]).stdout)
    assert cli(place, "init", "--member", "carol") == (
        2,
        "error: member: this ledger's first admin is 'root': init registers the first admin "
        "once (other members are added with ledger member add)\n",
    )
    assert cli(place, "init", "--review", "required") == (
        2,
        "error: review: this ledger's review is off; it is chosen once, when the ledger is "
        "created\n",
    )
    assert cli(place, "init", "--member", "root") == (0, "")
    again = json.loads(runner.invoke(app, ["--db", place, "verify", "--json"]).stdout)
    assert again["events"] == size["events"]


def test_a_repeated_init_keeps_a_chosen_review(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    assert cli(db, "init", "--review", "required")[0] == 0
    assert cli(db, "init", "--review", "off") == (
        2,
        "error: review: this ledger's review is required; it is chosen once, when the "
        "ledger is created\n",
    )
    assert cli(db, "init", "--review", "required") == (0, "")
    assert sorted(os.listdir(tmp_path)) == ["ledger.db", "ledger.key", "ledger.views.db"]


@pytest.mark.parametrize("step", ["write_key_file", "choose_review"])
def test_an_init_that_fails_after_creating_the_store_removes_what_it_created(
    place: str, tmp_path: Path, step: str
) -> None:
    """A failure once the store exists — the key cannot be written, or a disk error after
    the first admin was recorded — leaves nothing of the init behind; what was there
    before it stays."""
    from incident_ledger.ledger.errors import StoreError
    from incident_ledger.usecases import desk_admin

    (tmp_path / "notes.txt").write_text("the desk's own file\n")

    def fail(*args: object) -> None:
        raise StoreError("cannot create the key: No space left on device")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(desk_admin, step, fail)
        assert cli(place, "init", "--member", "root", "--review", "required") == (
            1,
            "error: cannot create the key: No space left on device\n",
        )
    assert left_behind(place, tmp_path) == ["notes.txt"]
    assert cli(place, "init", "--member", "carol")[0] == 0
    members = json.loads(runner.invoke(app, ["--db", place, "members", "--json"]).stdout)
    assert [member["id"] for member in members] == ["carol"]


def test_a_failed_init_keeps_the_key_and_the_ledger_that_were_there(
    place: str, tmp_path: Path
) -> None:
    from incident_ledger.ledger.errors import StoreError
    from incident_ledger.usecases.workspace import Workspace

    assert cli(place, "init", "--member", "root")[0] == 0
    kept = left_behind(place, tmp_path)
    key = (tmp_path / "ledger.key").read_text()

    def fail(*args: object, **named: object) -> int:
        raise StoreError("the read model cannot be written")

    with pytest.MonkeyPatch.context() as patch:
        # Bringing the read model up to date is init's last step (a model already current
        # is not written, and the projector not loaded: the failure is set on the step).
        patch.setattr(Workspace, "refresh", fail)
        assert cli(place, "init", "--member", "root") == (
            1,
            "error: the read model cannot be written\n",
        )
    assert left_behind(place, tmp_path) == kept
    assert (tmp_path / "ledger.key").read_text() == key
    assert cli(place, "verify")[0] == 0


@pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
def test_a_failed_init_in_a_schema_already_there_drops_only_its_own_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from incident_ledger.ledger.errors import StoreError
    from incident_ledger.usecases import desk_admin
    from tests.conftest import drop_schema

    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("LEDGER_VIEWS", str(tmp_path / "ledger.views.db"))
    monkeypatch.delenv("LEDGER_KEY", raising=False)  # init makes the key, at ./ledger.key
    monkeypatch.chdir(tmp_path)
    tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".desk_notes (note text)')

    def fail(*args: object) -> None:
        raise StoreError("disk full")

    monkeypatch.setattr(desk_admin, "choose_review", fail)
    try:
        url = f"{POSTGRES_URL}?schema={schema}"
        assert cli(url, "init", "--review", "required") == (1, "error: disk full\n")
        with psycopg.connect(POSTGRES_URL) as conn:
            assert conn.execute(tables, (schema,)).fetchall() == [("desk_notes",)]
        assert sorted(path.name for path in tmp_path.iterdir()) == []
    finally:
        drop_schema(schema)
