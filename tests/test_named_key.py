"""The key ``LEDGER_KEY`` (the global ``--key``) names, read by one rule wherever it is
read: surrounding blanks are not part of the name, a blank value names no key, and a
relative path is taken from the folder the command runs in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger.stores.location import locate, named_key
from incident_ledger.usecases.desk_admin import check_named_key, create_key_file
from incident_ledger.usecases.workspace import acting_key, ledger_files

runner = CliRunner()
SETUP = '{"type": "incident", "id": "g", "title": "Ghwayran"}\n'


@pytest.mark.parametrize("value", [None, "", " ", "\t \n"])
def test_a_blank_value_names_no_key(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("LEDGER_KEY", raising=False)
    else:
        monkeypatch.setenv("LEDGER_KEY", value)
    assert named_key() is None
    teams = locate("postgresql://desk@db.example:5432/ledger")
    assert teams.key_path == Path("ledger.key")  # a PostgreSQL ledger's default key
    assert "member key" not in ledger_files(teams).values()
    assert check_named_key(locate("l.db")) is None


@pytest.mark.parametrize("value", ["bob.key", " bob.key", "bob.key \n", "./bob.key"])
def test_a_name_is_read_without_its_blanks_from_the_working_folder(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LEDGER_KEY", value)
    assert named_key() == Path("bob.key")
    assert locate("postgresql://desk@db.example/ledger").key_path == Path("bob.key")
    assert ledger_files(locate("l.db"))[Path("bob.key")] == "member key"


def test_every_reader_takes_the_same_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEDGER_KEY", raising=False)
    assert runner.invoke(app, ["--db", "l.db", "init", "--member", "alice"]).exit_code == 0
    public = create_key_file(tmp_path / "bob.key", "incident-ledger-member-bob")
    monkeypatch.setenv("LEDGER_KEY", " bob.key\n")  # as a line read from a file may end
    assert acting_key(locate("l.db")).verifier == public
    monkeypatch.setenv("LEDGER_KEY", "  ")  # blank: the ledger's own key acts (alice)
    assert acting_key(locate("l.db")).holds_ledger_key
    done = runner.invoke(app, ["--db", "l.db", "append", "--file", "-"], input=SETUP)
    assert (done.exit_code, done.stderr) == (0, "")
    members = runner.invoke(app, ["--db", "l.db", "--key", " ", "members", "--json"])
    assert [m["id"] for m in json.loads(members.stdout)] == ["alice"]


def test_a_blank_key_flag_names_none_over_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEDGER_KEY", raising=False)
    assert runner.invoke(app, ["--db", "l.db", "init", "--member", "alice"]).exit_code == 0
    monkeypatch.setenv("LEDGER_KEY", "nobody.key")
    refused = runner.invoke(app, ["--db", "l.db", "append", "--file", "-"], input=SETUP)
    assert (refused.exit_code, refused.stderr) == (
        2,
        "error: no key at nobody.key: --key (or LEDGER_KEY) names the key the command acts "
        "with; 'ledger keygen --out FILE' makes one, or name the one you hold\n",
    )
    done = runner.invoke(app, ["--db", "l.db", "--key", "", "append", "--file", "-"], input=SETUP)
    assert (done.exit_code, done.stderr) == (0, "")
