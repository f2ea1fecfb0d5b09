"""``ledger init`` refused: bad options create nothing (no store, key or read model),
and a repeated init that asks for another first admin or review setting than the ledger
holds says what it holds — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from tests.conftest import POSTGRES_URL

runner = CliRunner()


def cli(db: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--db", db, *args])
    return result.exit_code, result.stderr


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
    store_url: str, tmp_path: Path, options: list[str], said: str
) -> None:
    assert cli(store_url, "init", *options) == (2, said)
    assert left_behind(store_url, tmp_path) == []
    assert cli(store_url, "init", "--member", "carol", "--review", "required")[0] == 0
    members = json.loads(runner.invoke(app, ["--db", store_url, "members", "--json"]).stdout)
    assert [member["id"] for member in members] == ["carol"]


def test_a_repeated_init_names_what_the_ledger_holds(store_url: str) -> None:
    assert cli(store_url, "init", "--member", "root")[0] == 0
    size = json.loads(runner.invoke(app, ["--db", store_url, "verify", "--json"]).stdout)
    assert cli(store_url, "init", "--member", "carol") == (
        2,
        "error: member: this ledger's first admin is 'root': init registers the first admin "
        "once (other members are added with ledger member add)\n",
    )
    assert cli(store_url, "init", "--review", "required") == (
        2,
        "error: review: this ledger's review is off; it is chosen once, when the ledger is "
        "created\n",
    )
    assert cli(store_url, "init", "--member", "root") == (0, "")
    again = json.loads(runner.invoke(app, ["--db", store_url, "verify", "--json"]).stdout)
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
