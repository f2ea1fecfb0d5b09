"""The desk's members and signed batches: two members in separate processes, forged
batches caught by verify, and a ledger made before the desk upgraded."""

from __future__ import annotations

import base64
import re
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.batch_signing import batch_text
from incident_ledger.ledger.desk_domain import Batch
from incident_ledger.ledger.domain import creation_event
from incident_ledger.ledger.errors import VerificationError
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.log_check import verify_ledger
from incident_ledger.ledger.merkle import leaf_hash, root_from_leaf_hashes
from incident_ledger.ledger.signednote import sign_note
from incident_ledger.ledger.stores.location import locate
from incident_ledger.usecases import writing
from incident_ledger.usecases.workspace import read_member_key, read_signing_key
from tests.desk_cli import Member, new_key

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
]


def claim(claim_id: str, value: int = 7) -> dict[str, Any]:
    return {
        "type": "claim",
        "id": claim_id,
        "incident": "g",
        "fact": "killed",
        "value": value,
        "report": "r1",
    }


@pytest.fixture
def desk(store_url: str, tmp_path: Path) -> tuple[Member, Member, str]:
    """An admin (the ledger's key) and a reporter (bob, his own key) at separate terminals."""
    admin = Member(store_url)
    admin.ok("init", "--member", "alice")
    bob_key, bob_public = new_key(tmp_path, "bob")
    admin.ok(
        "member", "add", "bob", "--name", "Bob", "--role", "reporter", "--public-key", bob_public
    )
    return admin, Member(store_url, bob_key), bob_public


@pytest.mark.slow
def test_init_registers_the_first_admin_with_the_ledger_key(store_url: str) -> None:
    admin = Member(store_url)
    out = admin.ok("init", "--member", "alice")
    assert "desk member alice registered as admin with that key" in out
    key = read_signing_key(locate(store_url).key_path)
    assert admin.json("members") == [
        {
            "id": "alice",
            "name": "alice",
            "role": "admin",
            "public_key": key.verifier,
            "removed": False,
        }
    ]
    again = admin.ok("init", "--member", "alice")
    assert "registered" not in again
    assert [m["id"] for m in admin.json("members")] == ["alice"]
    checked = admin.json("verify")
    assert (checked["batches"], checked["recorded_before_desk"]) == (1, 0)


@pytest.mark.slow
def test_keygen_makes_a_private_key_file_and_never_overwrites(tmp_path: Path) -> None:
    path, public = new_key(tmp_path, "k")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_member_key(path).verifier == public
    again = Member(str(tmp_path / "x.db")).run("keygen", "--out", str(path))
    assert again.returncode == 2
    assert again.stderr == f"error: {path} already exists: a key is never overwritten\n"


@pytest.mark.slow
def test_two_members_write_sign_and_are_removed(desk: tuple[Member, Member, str]) -> None:
    admin, bob, _ = desk
    assert admin.append(SETUP).returncode == 0
    done = bob.append([claim("c1")])
    assert done.returncode == 0, done.stderr
    checked = admin.json("verify")
    assert checked["batches"] == 4  # init, member add, setup, bob's claim
    alice_public = admin.json("members")[0]["public_key"]
    refused = bob.run(
        "member", "add", "eve", "--name", "Eve", "--role", "admin", "--public-key", alice_public
    )
    assert refused.returncode == 2
    assert refused.stderr == (
        "error: member 'bob' may not add a member: that needs an admin, and bob is a "
        "reporter; ask an admin of the desk (ledger members lists them)\n"
    )
    admin.ok("member", "remove", "bob")
    events = admin.json("verify")["events"]
    late = bob.append([claim("c2")])
    assert late.returncode == 2
    assert re.sub(r"at \S+Z;", "at T;", late.stderr) == (
        "error: member 'bob' may not write to this ledger: bob was removed from the desk at T; "
        "an admin may register them again under a new id, with a new key (what "
        "they wrote stays)\n"
    )
    assert admin.json("verify")["events"] == events  # nothing of it was written
    listed = {m["id"]: m["removed"] for m in admin.json("members")}
    assert listed == {"alice": False, "bob": True}


@pytest.mark.slow
def test_the_last_admin_cannot_be_removed(desk: tuple[Member, Member, str]) -> None:
    admin, _, _ = desk
    done = admin.run("member", "remove", "alice")
    assert done.returncode == 2
    assert done.stderr == (
        "error: member 'alice' may not remove member 'alice': alice is the desk's last "
        "admin; add another admin first\n"
    )


@pytest.mark.slow
def test_a_stranger_key_writes_nothing(desk: tuple[Member, Member, str], tmp_path: Path) -> None:
    admin, _, _ = desk
    stranger_key, _ = new_key(tmp_path, "stranger")
    done = Member(admin.db, stranger_key).append(SETUP)
    assert done.returncode == 2
    assert "may not write to this ledger: it belongs to no member of the desk" in done.stderr
    assert done.stderr.startswith("error: the key incident-ledger-member-")


# --- forged batches ----------------------------------------------------------------------


@pytest.fixture
def sqlite_desk(tmp_path: Path) -> tuple[str, Path, str]:
    """A SQLite desk: alice (admin, the ledger key) and bob (reporter), with some records."""
    db = str(tmp_path / "ledger.db")
    admin = Member(db)
    admin.ok("init", "--member", "alice")
    bob_key, bob_public = new_key(tmp_path, "bob")
    admin.ok(
        "member", "add", "bob", "--name", "Bob", "--role", "reporter", "--public-key", bob_public
    )
    assert admin.append(SETUP).returncode == 0
    return db, bob_key, bob_public


def forge(db: str, records: list[dict[str, Any]], member: str, signer: str) -> None:
    """Append records and a batch signature by ``member`` made with ``signer``, writing the
    store directly (as a writer bypassing the desk's checks would)."""
    ledger = Ledger(locate(db).event_store_env())
    try:
        events = [creation_event(validate_record(r, "x"), ledger.clock()) for r in records]
        with ledger.writing("forging") as appender:
            first = appender.view.size()
            ledger.append_events(appender, events)
            leaves = [ledger.leaf_mapper.row_with_leaf(event)[1] for event in events]
            root = root_from_leaf_hashes([leaf_hash(leaf) for leaf in leaves])
            last = first + len(events) - 1
            note = sign_note(batch_text(member, first, last, root), signer)
            ledger.append_events(
                appender,
                [
                    Batch.Signed(
                        originator_id=Batch.aggregate_id(str(first)),
                        originator_version=1,
                        timestamp=ledger.clock(),
                        originator_topic=Batch.Signed.aggregate_topic,
                        member=member,
                        first=first,
                        last=last,
                        root=base64.b64encode(root).decode(),
                        signature=note.rsplit("\n\n", 1)[1].strip(),
                        proposed=None,
                    )
                ],
            )
    finally:
        ledger.close()


def verify_error(db: str) -> str:
    ledger = Ledger(locate(db).event_store_env())
    try:
        with pytest.raises(VerificationError) as raised:
            verify_ledger(ledger, None)
        return str(raised.value)
    finally:
        ledger.close()


@pytest.mark.slow
def test_a_batch_signed_with_the_wrong_key_is_named(sqlite_desk: tuple[str, Path, str]) -> None:
    db, bob_key, _ = sqlite_desk
    forge(db, [claim("c9")], "alice", read_member_key(bob_key).signer)
    assert verify_error(db) == (
        "batch 8–8 (recorded by alice): the signature does not verify with alice's key over "
        "the batch's leaves (a wrong key, or an entry of the batch was changed)"
    )


@pytest.mark.slow
def test_a_removed_members_batch_is_named(sqlite_desk: tuple[str, Path, str]) -> None:
    db, bob_key, _ = sqlite_desk
    Member(db).ok("member", "remove", "bob")
    forge(db, [claim("c9")], "bob", read_member_key(bob_key).signer)
    assert verify_error(db) == (
        "batch 10–10 (recorded by bob): member 'bob' was removed at entry 8, before this "
        "batch: a removed member cannot write"
    )


@pytest.mark.slow
def test_an_edited_leaf_names_its_batch(sqlite_desk: tuple[str, Path, str]) -> None:
    db, _, _ = sqlite_desk
    with sqlite3.connect(db) as conn:
        (state,) = conn.execute(
            "SELECT state FROM stored_events WHERE originator_id = 'source:sohr'"
        ).fetchone()
        edited = bytes(state).replace(b"SOHR", b"S0HR")
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = 'source:sohr'", (edited,)
        )
    message = verify_error(db)
    assert message.startswith("entry 5 (source:sohr): ")
    assert message.endswith("; it is in batch 4–6 (recorded by alice), whose signature it breaks")


def test_unsigned_entries_after_the_desk_are_named(sqlite_desk: tuple[str, Path, str]) -> None:
    db, _, _ = sqlite_desk
    ledger = Ledger(locate(db).event_store_env())
    try:
        event = creation_event(validate_record(claim("c9"), "x"), ledger.clock())
        with ledger.writing("unsigned") as appender:
            ledger.append_events(appender, [event])
    finally:
        ledger.close()
    assert verify_error(db) == (
        "entries 8–8 are in no signed batch: written without a desk member's signature"
    )


# --- a ledger made before the desk -------------------------------------------------------


def old_ledger(db: str) -> None:
    """A ledger as the version before the desk left it: records, a key, no members."""
    writing.init(db)  # the key and the store …
    Path(db).unlink()  # … but a store without the desk's events
    ledger = Ledger(locate(db).event_store_env(create=True))
    try:
        events = [creation_event(validate_record(r, "x"), ledger.clock()) for r in SETUP]
        with ledger.writing("old") as appender:
            ledger.append_events(appender, events)
    finally:
        ledger.close()


@pytest.mark.slow
def test_a_ledger_from_before_the_desk_upgrades(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    old_ledger(db)
    admin = Member(db)
    refused = admin.append([claim("c1")])
    assert refused.returncode == 2
    assert re.sub(r"key \S+ may", "key K may", refused.stderr) == (
        "error: the key K may not write to this ledger: the ledger has no desk members yet; "
        "whoever holds its signing key first registers the first admin (ledger member add ID "
        "--name NAME --role admin)\n"
    )
    stranger_key, stranger_public = new_key(tmp_path, "stranger")
    stranger = Member(db, stranger_key)
    done = stranger.run("member", "add", "mallory", "--name", "M", "--role", "admin")
    assert done.returncode == 2
    assert done.stderr == (
        f"error: the key {stranger_public.split('+')[0]} may not register the ledger's first "
        "member: the first member is an admin, registered with the ledger's own signing key; "
        "run the command with that key\n"
    )
    admin.ok("member", "add", "alice", "--name", "Alice", "--role", "admin")
    assert admin.append([claim("c1")]).returncode == 0
    checked = admin.json("verify")
    assert (checked["recorded_before_desk"], checked["batches"]) == (3, 2)
    assert stranger_public not in str(admin.json("members"))
