"""Where the desk's keys are, said truly: a ledger made with a key its first admin holds
(``ledger --key alice.key init``) is met from a folder where that key is not at hand —
on PostgreSQL, any other member's folder (the ledger's key is the file ``--key`` names,
default ``./ledger.key``); on SQLite, a store whose key beside it is gone. No command
makes a key of its own for such a ledger, and each names the ledger's key as its log
records it, and how to point ``--key`` at it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.usecases.desk_admin import create_key_file

runner = CliRunner()
SETUP = '{"type": "incident", "id": "g", "title": "Ghwayran"}\n'
POINT = "point --key (or LEDGER_KEY) at its file"


def run(db: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    # (``--key`` sets LEDGER_KEY in the process: each command starts without it)
    done = runner.invoke(app, ["--db", db, *args], input=stdin, env={"LEDGER_KEY": ""})
    return done.exit_code, done.stdout, done.stderr


class Made:
    """A ledger made with alice's own key (``--key alice.key init``), one write in it,
    then met from a folder that holds no key of it (the working folder)."""

    def __init__(self, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.db, self.folder = db, tmp_path
        monkeypatch.setenv("LEDGER_KEY", "")
        (tmp_path / "ledger.key").unlink(missing_ok=True)  # (the PostgreSQL fixture's)
        self.alice = tmp_path / "alice.key"
        self.public = create_key_file(self.alice, "incident-ledger-member-alice")
        assert run(db, "--key", str(self.alice), "init", "--member", "alice")[0] == 0
        assert run(db, "--key", str(self.alice), "append", "--file", "-", stdin=SETUP)[0] == 0
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)  # a PostgreSQL member's own folder: no ./ledger.key
        (tmp_path / "ledger.key").unlink(missing_ok=True)  # the copy beside a SQLite store
        self.at_hand = (
            Path("ledger.key") if db.startswith("postgresql") else tmp_path / "ledger.key"
        )

    def keys(self) -> list[str]:
        """Every key file in the ledger's folder and the working one."""
        found = [*self.folder.glob("*.key"), *Path().glob("*.key")]
        return sorted(path.name for path in found)

    def named(self) -> str:
        """How a refusal names the ledger's key as its log records it."""
        return f"this ledger's key is incident-ledger-member-alice (member alice's: {self.public})"


@pytest.fixture
def made(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Made:
    return Made(store_url, tmp_path, monkeypatch)


@pytest.mark.parametrize("args", [(), ("--member", "alice")])
def test_init_again_without_the_ledgers_key_makes_none_and_names_it(
    made: Made, args: tuple[str, ...]
) -> None:
    code, out, err = run(made.db, "init", *args)
    assert (code, out) == (2, "")
    assert err == (
        f"error: init made no key: {made.named()}, and there is none at {made.at_hand}; {POINT}\n"
    )
    assert made.keys() == ["alice.key"]
    assert run(made.db, "--key", str(made.alice), "verify")[0] == 0
    assert run(made.db, "--key", str(made.alice), "init", "--member", "alice")[0] == 0


def test_init_again_with_another_key_never_takes_it_for_the_ledgers(made: Made) -> None:
    bob = made.folder / "bob.key"
    create_key_file(bob, "incident-ledger-member-bob")
    code, out, err = run(made.db, "--key", str(bob), "init")
    assert (code, out) == (2, "")
    assert err == (f"error: init made no key: {made.named()}, not the key at {bob}; {POINT}\n")
    assert made.keys() == ["alice.key", "bob.key"]


def test_checkpoint_without_the_ledgers_key_names_it(made: Made) -> None:
    code, out, err = run(made.db, "checkpoint")
    assert (code, out) == (1, "")
    assert err == f"error: no signing key at {made.at_hand}: {made.named()}; {POINT}\n"
    assert run(made.db, "--key", str(made.alice), "checkpoint")[0] == 0


def test_keygen_does_not_call_a_missing_file_the_ledgers_key(made: Made) -> None:
    code, _, err = run(made.db, "keygen", "--out", str(made.at_hand))
    assert code == 2
    assert err == (
        f"error: {made.at_hand} is the ledger's signing key file (read when no key is "
        "named; none is there now): give another file\n"
    )
    assert made.keys() == ["alice.key"]


def test_a_named_key_that_is_not_there_is_bad_input(made: Made) -> None:
    for args in (("--key", "nope.key", "checkpoint"), ("--key", "nope.key", "append",
                                                         "--file", "-")):  # fmt: skip
        code, out, err = run(made.db, *args, stdin=SETUP)
        assert (code, out) == (2, "")
        assert err == (
            "error: no key at nope.key: --key (or LEDGER_KEY) names the key the command acts "
            "with; 'ledger keygen --out FILE' makes one, or name the one you hold\n"
        )
    assert made.keys() == ["alice.key"]


def test_an_empty_public_key_is_a_missing_one(made: Made) -> None:
    code, _, err = run(made.db, "--key", str(made.alice), "member", "add", "bob", "--name",
                       "B", "--role", "reporter", "--public-key", "")  # fmt: skip
    assert (code, err) == (
        2,
        "error: public_key: a member's own public key is needed once the desk has members "
        "(the member makes one with ledger keygen)\n",
    )
    members = json.loads(run(made.db, "members", "--json")[1])
    assert [member["id"] for member in members] == ["alice"]
