"""Every permission refusal of the desk: one exit code (2, as bad input: the same command
with the right key succeeds) and one wording (``who may not do what: why; what to do``),
through typer's CliRunner, on SQLite and PostgreSQL. Nothing refused is written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.usecases.desk_admin import create_key_file

runner = CliRunner()
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
SETUP: list[dict[str, object]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
]
CLAIM = {"type": "claim", "id": "c1", "incident": "g", "fact": "killed", "value": 7,
         "report": "r1"}  # fmt: skip


class Desk:
    """A ledger with review required: alice (admin, the ledger's key), bob (reporter) and
    eve (editor), each a key file; ``as_(name, …)`` runs a command with their key."""

    def __init__(self, db: str, folder: Path, ledger_key: str | None) -> None:
        self.db, self.folder, self.keys = db, folder, {"alice": ledger_key}
        assert self.as_("alice", "init", "--member", "alice", "--review", "required")[0] == 0
        for name, role in (("bob", "reporter"), ("eve", "editor")):
            self.keys[name], public = self.key(name)
            added = self.as_("alice", "member", "add", name, "--name", name, "--role", role,
                             "--public-key", public)  # fmt: skip
            assert added[0] == 0, added

    def key(self, name: str) -> tuple[str, str]:
        """A new key file of that name, and its public key."""
        path = self.folder / f"{name}.key"
        return str(path), create_key_file(path, f"incident-ledger-member-{name}")

    def as_(self, name: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
        """The exit code and the standard error (timestamps as T) of a command run by ``name``."""
        key = self.keys.get(name, name)
        env = {"LEDGER_KEY": key} if key else {}
        done = runner.invoke(app, ["--db", self.db, *args], input=stdin, env=env)
        return done.exit_code, STAMP.sub("T", done.stderr)

    def append(self, name: str, *records: dict[str, object]) -> tuple[int, str]:
        lines = "".join(json.dumps(record) + "\n" for record in records)
        return self.as_(name, "append", "--file", "-", stdin=lines)

    def events(self) -> int:
        done = runner.invoke(app, ["--db", self.db, "verify", "--json"])
        assert done.exit_code == 0, done.stderr
        count: int = json.loads(done.stdout)["events"]
        return count


@pytest.fixture
def desk(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    own = None if store_url.endswith(".db") else str(tmp_path / "ledger.key")
    monkeypatch.delenv("LEDGER_KEY", raising=False)  # each command is given its key
    made = Desk(store_url, tmp_path, own)
    assert made.append("alice", *SETUP)[0] == 0
    assert made.append("bob", CLAIM)[0] == 0  # a proposal
    return made


ASK_EDITOR = "ask an editor of the desk (ledger members lists them)"
ASK_ADMIN = "ask an admin of the desk (ledger members lists them)"
ERRATUM_RULE = (
    "with review required a reporter's erratum voids only their own proposal waiting for review"
)


def test_a_role_that_may_not_is_refused_saying_what_it_needs(desk: Desk) -> None:
    before = desk.events()
    assert desk.as_("bob", "review", "c1", "--approve") == (
        2,
        "error: member 'bob' may not review a proposal: that needs an editor, and bob is a "
        f"reporter; {ASK_EDITOR}\n",
    )
    _, public = desk.key("zed")
    adding = ("member", "add", "zed", "--name", "Z", "--role", "admin", "--public-key", public)
    assert desk.as_("bob", *adding) == (
        2,
        "error: member 'bob' may not add a member: that needs an admin, and bob is a "
        f"reporter; {ASK_ADMIN}\n",
    )
    assert desk.as_("eve", "member", "remove", "bob") == (
        2,
        "error: member 'eve' may not remove a member: that needs an admin, and eve is an "
        f"editor; {ASK_ADMIN}\n",
    )
    assert desk.events() == before


def test_a_reporters_erratum_of_what_it_may_not_void_is_refused(desk: Desk) -> None:
    assert desk.append("eve", {**CLAIM, "id": "k5"})[0] == 0
    before = desk.events()
    for record, why in (
        ("claim:k5", "it was entered by eve, not proposed by bob"),
        ("report:r1", "it is a report, whose erratum voids every record it holds"),
        ("incident:g", "it is an incident, whose erratum voids every record it holds"),
    ):
        assert desk.as_("bob", "erratum", record.split(":")[1], "--reason", "typo") == (
            2,
            f"error: member 'bob' may not record an erratum of '{record}': {why}, and "
            f"{ERRATUM_RULE}; ask an editor of the desk to record it\n",
        )
    assert desk.events() == before


def test_an_editor_never_reviews_their_own_proposal(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incident_ledger.usecases import desk_work

    # No member proposes and reviews as things stand (only reporters propose, only
    # editors review, and a role never changes): the rule holds should that change.
    monkeypatch.setattr(desk_work, "_proposed_by", lambda *_: "eve")
    assert desk.as_("eve", "review", "c1", "--approve") == (
        2,
        "error: member 'eve' may not review 'claim:c1': eve proposed it, and an editor other "
        "than its author reviews it; ask another editor of the desk (ledger members lists "
        "them)\n",
    )


def test_a_removed_member_and_a_stranger_write_nothing(desk: Desk) -> None:
    assert desk.as_("alice", "member", "remove", "eve")[0] == 0
    before = desk.events()
    removed = (
        "eve was removed from the desk at T; an admin may register them again "
        "under a new id, with a new key (what they wrote stays)"
    )
    assert desk.as_("eve", "review", "c1", "--approve") == (
        2,
        f"error: member 'eve' may not review a proposal: {removed}\n",
    )
    assert desk.append("eve", {**CLAIM, "id": "e1"}) == (
        2,
        f"error: member 'eve' may not write to this ledger: {removed}\n",
    )
    desk.keys["mallory"], _ = desk.key("mallory")
    assert desk.append("mallory", {**CLAIM, "id": "m1"}) == (
        2,
        "error: the key incident-ledger-member-mallory may not write to this ledger: it "
        "belongs to no member of the desk; an admin registers its holder (ledger member add "
        "… --public-key KEY)\n",
    )
    assert desk.events() == before


def test_the_last_admin_stays(desk: Desk) -> None:
    before = desk.events()
    assert desk.as_("alice", "member", "remove", "alice") == (
        2,
        "error: member 'alice' may not remove member 'alice': alice is the desk's last "
        "admin; add another admin first\n",
    )
    assert desk.events() == before


SIGNS = {
    "sign a checkpoint": "its checkpoints",
    "sign an export": "the checkpoint each export carries",
}


def not_the_ledgers(who: str, whose: str, action: str) -> str:
    return (
        f"error: {who} may not {action}: {whose} not the ledger's own key, which alone "
        f"signs {SIGNS[action]}; run the command with the ledger's key\n"
    )


def test_only_the_ledgers_own_key_signs_a_checkpoint_or_an_export(desk: Desk) -> None:
    """On a ledger with no checkpoint yet, on either backend: a member's key (a reporter's,
    an editor's) or a stranger's signs no checkpoint, and no export (each carries one),
    even when the ledger's key file lies beside the store; the ledger's key then still
    signs, and every checkpoint verifies."""
    desk.keys["mallory"], _ = desk.key("mallory")
    bundle = str(desk.folder / "bundle")
    refused = {
        "bob": ("member 'bob'", "bob's key is"),
        "eve": ("member 'eve'", "eve's key is"),
        "mallory": ("the key incident-ledger-member-mallory", "it is"),
    }
    for name, (who, whose) in refused.items():
        for action, command in (
            ("sign a checkpoint", ("checkpoint",)),
            ("sign an export", ("export", "--format", "csv")),
            ("sign an export", ("export", "--format", "jsonl", "--out", bundle)),
        ):
            assert desk.as_(name, *command) == (2, not_the_ledgers(who, whose, action))
    assert not Path(bundle).exists()
    assert checkpoints(desk) == 0
    assert desk.as_("alice", "checkpoint") == (0, "")
    assert desk.as_("alice", "export", "--format", "jsonl", "--out", bundle) == (0, "")
    assert desk.as_("bob", "checkpoint") == (2, not_the_ledgers(
        "member 'bob'", "bob's key is", "sign a checkpoint"))  # fmt: skip
    assert checkpoints(desk) == 1
    assert desk.as_("alice", "verify")[0] == 0
    assert desk.as_("bob", "verify", "--export", bundle)[0] == 0


def checkpoints(desk: Desk) -> int:
    done = runner.invoke(app, ["--db", desk.db, "verify", "--json"], env={
        "LEDGER_KEY": desk.keys["alice"] or ""})  # fmt: skip
    assert done.exit_code == 0, done.stderr
    count: int = json.loads(done.stdout)["checkpoints"]
    return count


@pytest.mark.parametrize(
    "command", [("checkpoint",), ("export", "--format", "csv")], ids=["checkpoint", "export"]
)
@pytest.mark.parametrize("name", ["bob", "mallory"])
def test_no_other_key_takes_the_ledger_by_signing_its_first_checkpoint(
    desk: Desk, name: str, command: tuple[str, ...]
) -> None:
    """The ledger's key is the one its log records (its first admin's) before any
    checkpoint too: a PostgreSQL member names their own key as LEDGER_KEY, and the first
    checkpoint signed with another key would have made that key the ledger's."""
    desk.keys["mallory"], _ = desk.key("mallory")
    assert desk.as_(name, *command)[0] == 2
    assert desk.as_("alice", "checkpoint") == (0, "")
    assert desk.as_("alice", "verify")[0] == 0


@pytest.mark.parametrize("name", ["bob", "mallory", "nobody"])
def test_any_key_at_hand_checks_the_checkpoints_by_the_ledgers_own(desk: Desk, name: str) -> None:
    """A member's key or a stranger's at hand (a PostgreSQL reader names their own as
    LEDGER_KEY), or none, is not the key checkpoints are checked against: ``verify`` and
    ``prove`` check them by the ledger's own key as the log records it, and never read a
    checkpoint that key signed as a bad one or leave it unchecked."""
    desk.keys["mallory"], _ = desk.key("mallory")
    desk.keys["nobody"] = ""
    assert desk.as_("alice", "checkpoint") == (0, "")
    verified = runner.invoke(app, ["--db", desk.db, "verify", "--json"], env={
        "LEDGER_KEY": desk.keys[name] or ""})  # fmt: skip
    assert verified.exit_code == 0, verified.stderr
    assert json.loads(verified.stdout)["checkpoints"] == 1
    proved = runner.invoke(app, ["--db", desk.db, "prove", "inclusion", "incident:g"], env={
        "LEDGER_KEY": desk.keys[name] or ""})  # fmt: skip
    assert proved.exit_code == 0, proved.stderr
