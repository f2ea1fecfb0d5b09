"""``ledger --key FILE init`` (or ``LEDGER_KEY``): the first admin is registered with
the key named, which must exist, and no other key is made — on SQLite as on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.usecases.desk_admin import create_key_file

runner = CliRunner()
SETUP = '{"type": "incident", "id": "g", "title": "Ghwayran"}\n'


def run(db: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    done = runner.invoke(app, ["--db", db, *args], input=stdin)
    return done.exit_code, done.stdout, done.stderr


@pytest.fixture
def keyless(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ledger's place with no key named yet (whatever names one is undone after)."""
    monkeypatch.setenv("LEDGER_KEY", "")
    return store_url


@pytest.mark.parametrize("how", ["--key", "LEDGER_KEY"])
def test_init_registers_the_first_admin_with_the_key_named_and_makes_none(
    keyless: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    key = tmp_path / "alice.key"
    public = create_key_file(key, "incident-ledger-member-alice")
    before = sorted(path.name for path in tmp_path.iterdir())
    given = ["--key", str(key)] if how == "--key" else []
    if how == "LEDGER_KEY":
        monkeypatch.setenv("LEDGER_KEY", str(key))
    code, out, err = run(keyless, *given, "init", "--member", "alice")
    assert (code, err) == (0, "")
    made = sorted(path.name for path in tmp_path.iterdir() if path.name not in before)
    if keyless.startswith("postgresql"):  # the key named is the ledger's, wherever it is
        assert f"signing key kept at {key}; verifier key:\n{public}\n" in out
        assert not [name for name in made if name.endswith(".key")]
    else:  # a SQLite store keeps its key beside it: a copy of the one named
        beside = tmp_path / "ledger.key"
        assert f"signing key copied from {key} to {beside}; verifier key:\n{public}\n" in out
        assert [name for name in made if name.endswith(".key")] == ["ledger.key"]
        assert beside.read_text() == key.read_text()
        assert (beside.stat().st_mode & 0o777) == 0o600
    members = json.loads(run(keyless, *given, "members", "--json")[1])
    assert [(m["id"], m["public_key"]) for m in members] == [("alice", public)]
    assert run(keyless, *given, "append", "--file", "-", stdin=SETUP)[0] == 0
    assert run(keyless, *given, "checkpoint")[0] == 0
    assert run(keyless, *given, "verify")[0] == 0


def test_a_sqlite_ledger_made_with_a_key_named_keeps_it_when_init_runs_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run again without the key named, init changes nothing: no other key is made, and the
    # checkpoints signed before still verify, whoever exports next.
    db, key = str(tmp_path / "l.db"), tmp_path / "alice.key"
    public = create_key_file(key, "incident-ledger-member-alice")
    monkeypatch.setenv("LEDGER_KEY", "")
    assert run(db, "--key", str(key), "init", "--member", "alice")[0] == 0
    assert run(db, "--key", str(key), "append", "--file", "-", stdin=SETUP)[0] == 0
    assert run(db, "--key", str(key), "checkpoint")[0] == 0
    code, out, _ = run(db, "init")
    assert code == 0
    assert f"signing key kept at {tmp_path / 'l.key'}; verifier key:\n{public}\n" in out
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".key") == [
        "alice.key",
        "l.key",
    ]
    bundle = tmp_path / "bundle"
    assert run(db, "export", "--format", "jsonl", "--out", str(bundle))[0] == 0
    assert run(db, "--key", str(key), "verify")[0] == 0
    assert run(db, "verify", "--export", str(bundle))[0] == 0


def test_init_refuses_a_key_named_that_is_not_there_and_writes_nothing(
    keyless: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nobody.key"
    before = sorted(path.name for path in tmp_path.iterdir())
    assert run(keyless, "--key", str(missing), "init") == (
        2,
        "",
        f"error: no key at {missing}: init registers the first admin with the key --key (or "
        f"LEDGER_KEY) names; make it first with ledger keygen, or name none "
        "for init to make the ledger's own\n",
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == before
    monkeypatch.setenv("LEDGER_KEY", "")
    code, _, err = run(keyless, "verify")
    assert (code, err.split(":")[0]) == (1, "error")  # no ledger was made


def test_init_of_a_sqlite_ledger_with_its_own_key_refuses_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "l.db")
    monkeypatch.setenv("LEDGER_KEY", "")
    assert run(db, "init", "--member", "alice")[0] == 0
    other = tmp_path / "other.key"
    create_key_file(other, "incident-ledger-member-other")
    assert run(db, "--key", str(other), "init", "--member", "alice") == (
        2,
        "",
        f"error: --key (or LEDGER_KEY) names {other}, but this ledger's key is "
        f"{tmp_path / 'l.key'}, beside it: init registers the first admin with that key; "
        "name that file, or none\n",
    )


def test_init_beside_a_broken_link_for_a_key_says_so_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key link that points nowhere read "no signing key at ledger.key: run 'ledger init'
    first" — said to ``ledger init`` itself."""
    monkeypatch.setenv("LEDGER_KEY", "")
    link = tmp_path / "ledger.key"
    link.symlink_to(tmp_path / "gone" / "ledger.key")
    before = sorted(path.name for path in tmp_path.iterdir())
    assert run(str(tmp_path / "ledger.db"), "init") == (
        1,
        "",
        f"error: the signing key {link} is a link to {tmp_path / 'gone' / 'ledger.key'}, which "
        "does not exist: remove the link, or make it point at the ledger's key\n",
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == before
