"""The rules a member's registration meets: one key, one member, for good; a removed
member is not re-admitted; each refusal names its field — on SQLite and PostgreSQL,
through the real command line."""

from __future__ import annotations

import re
from pathlib import Path

from tests.desk_cli import Member, claim, new_key

STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def add(admin: Member, member_id: str, role: str, *key: str) -> tuple[int, str]:
    done = admin.run("member", "add", member_id, "--name", member_id, "--role", role, *key)
    return done.returncode, STAMP.sub("T", done.stderr)


def public_key(admin: Member, member_id: str) -> str:
    found: str = {m["id"]: m for m in admin.json("members")}[member_id]["public_key"]
    return found


def test_a_key_registered_to_a_member_is_never_registered_again(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, bob, _ = desk
    bob_public = public_key(alice, "bob")
    before = alice.json("verify")["events"]
    taken = (
        2,
        "error: public_key: the key is already registered to member 'eve': each member signs "
        "with their own key (ledger keygen makes one)\n",
    )
    assert add(alice, "mallory", "editor", "--public-key", public_key(alice, "eve")) == taken
    alice.ok("member", "remove", "bob")
    assert add(alice, "bob2", "reporter", "--public-key", bob_public) == (
        2,
        "error: public_key: the key is already registered to member 'bob' (removed by alice "
        "at T): each member signs with their own key (ledger keygen makes one)\n",
    )
    late = bob.append([claim("back", "killed", 1)])
    assert (late.returncode, STAMP.sub("T", late.stderr)) == (
        2,
        "error: member 'bob' may not write to this ledger: bob was removed from the desk at T; "
        "an admin may register them again under a new id, with a new key (what "
        "they wrote stays)\n",
    )
    assert alice.json("verify")["events"] == before + 2  # the removal and its signature
    assert [m["id"] for m in alice.json("members")] == ["alice", "bob", "eve"]


def test_a_member_after_the_first_needs_their_own_key(
    desk: tuple[Member, Member, Member],
) -> None:
    alice, _, _ = desk
    assert add(alice, "zed", "reporter") == (
        2,
        "error: public_key: a member's own public key is needed once the desk has members "
        "(the member makes one with ledger keygen)\n",
    )
    assert [m["id"] for m in alice.json("members")] == ["alice", "bob", "eve"]


def test_a_removed_member_is_not_readmitted(
    desk: tuple[Member, Member, Member], tmp_path: Path
) -> None:
    alice, _, _ = desk
    bob_public = public_key(alice, "bob")
    alice.ok("member", "remove", "bob")
    assert add(alice, "bob", "reporter", "--public-key", bob_public) == (
        2,
        "error: id: member 'bob' was removed by alice at T: a removed member is not "
        "re-admitted (register them under a new id with a new key)\n",
    )
    _, fresh = new_key(tmp_path, "bob-new")
    assert add(alice, "bob", "reporter", "--public-key", fresh)[0] == 2
    again = alice.run("member", "remove", "bob")
    assert (again.returncode, STAMP.sub("T", again.stderr)) == (
        2,
        "error: member 'bob' was already removed by alice at T\n",
    )
    assert {m["id"]: m["removed"] for m in alice.json("members")}["bob"] is True


def test_a_refused_member_names_the_field(
    desk: tuple[Member, Member, Member], tmp_path: Path
) -> None:
    alice, _, eve = desk
    _, fresh = new_key(tmp_path, "new")
    assert add(alice, "q", "boss", "--public-key", fresh) == (
        2,
        "error: member: role: must be 'reporter', 'editor' or 'admin'\n",
    )
    code, said = add(alice, "q", "editor", "--public-key", "xx")
    assert (code, said.split(": not an")[0]) == (2, "error: member: public_key")
    assert add(alice, "bad id", "editor", "--public-key", fresh) == (
        2,
        "error: member: id: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -\n",
    )
    refused = eve.run(
        "member", "add", "q", "--name", "Q", "--role", "editor", "--public-key", fresh
    )
    assert (refused.returncode, refused.stderr) == (
        2,
        "error: member 'eve' may not add a member: that needs an admin, and eve is an "
        "editor; ask an admin of the desk (ledger members lists them)\n",
    )


def test_keygen_into_no_folder_is_bad_input(tmp_path: Path) -> None:
    keygen = Member(str(tmp_path / "x.db"))
    done = keygen.run("keygen", "--out", str(tmp_path / "nodir" / "x.key"))
    assert (done.returncode, done.stderr) == (
        2,
        f"error: cannot create the key {tmp_path / 'nodir' / 'x.key'}: no folder "
        f"{tmp_path / 'nodir'}\n",
    )
    (tmp_path / "afile").write_text("")
    done = keygen.run("keygen", "--out", str(tmp_path / "afile" / "x.key"))
    assert (done.returncode, done.stderr) == (
        2,
        f"error: cannot create the key {tmp_path / 'afile' / 'x.key'}: {tmp_path / 'afile'} "
        "is not a folder\n",
    )
