"""The audit trail: checkpoints, verify, proofs, bundles, and a tamper matrix.

Over 400 lines: the audit trail is one feature; its tamper matrix reads best beside it.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger import log_check, samples
from incident_ledger.ledger.leaves import leaf_bytes
from incident_ledger.ledger.merkle import (
    append_leaves,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from incident_ledger.ledger.signednote import generate_signer
from incident_ledger.ledger.stores import location
from incident_ledger.ledger.stores.chains import ChainTable
from incident_ledger.ledger.stores.sqlite_log import SQLiteLogView, SQLiteNodeStore
from incident_ledger.usecases import auditing, workspace, writing
from tests.chained import as_first_made
from tests.events import immutable
from tests.predesk import predesk_append, predesk_ledger

runner = CliRunner()


def cli(db: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(store_url: str) -> str:
    """The sample ledger, on each backend."""
    writing.init(store_url)
    writing.append_file(store_url, str(samples.GHWAYRAN))
    return store_url


@pytest.fixture(
    params=[(log_check.PAGE, 10**9), (8, 10**9), (8, 2)],
    ids=["one page", "pages of 8", "pages of 8, half to a helper"],
)
def sdb(tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The sample ledger in SQLite as written before the desk (no signed batches: the
    tamper matrix is about the log), for tampering with the file directly.

    Verified in one page, in pages of 8 entries, and in pages of 8 with the middle
    pages checked by a forked helper, so a bad entry is found and named the same
    way wherever it falls.
    """
    page, parallel_min_pages = request.param
    monkeypatch.setattr(log_check, "PAGE", page)
    monkeypatch.setattr(log_check, "PARALLEL_MIN_PAGES", parallel_min_pages)
    return predesk_ledger(str(tmp_path / "ledger.db"), samples.GHWAYRAN)


def events_db(db: str) -> sqlite3.Connection:
    return sqlite3.connect(db, isolation_level=None)


def verifier_of(db: str) -> str:
    return workspace.signing_key(location.locate(db)).verifier


@pytest.mark.slow
def test_verify_passes_and_checkpoints_chain(db: str, tmp_path: Path) -> None:
    first = auditing.checkpoint(db)
    # The sample's 138 events, after the desk's first admin and its batch, then signed.
    assert first["size"] == 141
    chains = first["chains"]
    assert chains["incidents"] == 2
    assert first["note"].startswith(
        f"{first['origin']}\n141\n{first['root']}\nincident-chains 2 {chains['root']}\n\n— "
    )
    assert auditing.checkpoint(db) == first  # same size: the same checkpoint
    extra = tmp_path / "more.jsonl"
    extra.write_text(
        '{"type":"report","id":"r-x","source":"sohr","published_at":"2022-02-02"}\n'
        '{"type":"claim","id":"c-x","incident":"ghwayran-2022","fact":"escaped","value":5,'
        '"report":"r-x"}\n',
        encoding="utf-8",
    )
    writing.append_file(db, str(extra))
    second = auditing.checkpoint(db)
    assert second["size"] == 144  # two records and their batch's signature
    code, out, _ = cli(db, "verify")
    assert code == 0
    assert out.startswith("ok: 144 events, root ")
    assert out.splitlines()[0].endswith("2 checkpoint(s) verified")
    assert out.splitlines()[1] == "read model: agrees (144 events, 571 rows)"


def test_inclusion_and_consistency_proofs_check_out_for_a_third_party(db: str) -> None:
    auditing.checkpoint(db)
    code, out, _ = cli(db, "prove", "inclusion", "c-000-sohr-killed-sf")
    assert code == 0
    proof = json.loads(out)
    verify_inclusion(
        leaf_hash(proof["leaf"].encode("utf-8")),
        proof["index"],
        proof["tree_size"],
        [base64.b64decode(h) for h in proof["proof"]],
        base64.b64decode(proof["root"]),
    )
    assert proof["checkpoint"].split("\n")[2] == proof["root"]
    code, out, _ = cli(db, "prove", "consistency", "10", "138")
    assert code == 0
    c = json.loads(out)
    verify_consistency(
        10,
        138,
        [base64.b64decode(h) for h in c["proof"]],
        base64.b64decode(c["root1"]),
        base64.b64decode(c["root2"]),
    )
    assert cli(db, "prove", "inclusion", "nope")[2] == "error: no record 'nope' in the ledger\n"
    assert cli(db, "prove", "consistency", "0", "5")[0] == 2


# --- the stored ledger, tampered -------------------------------------------------------------


def rebuild_tree(db: str) -> None:
    """What an attacker with write access does to hide an edit: recompute the whole log
    (tree and chains of incidents)."""
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.stores.location import locate

    ledger = Ledger(locate(db).event_store_env())
    try:
        events = [
            (n.id, leaf_hash(leaf_bytes(ledger.mapper.to_domain_event(n))))
            for n in ledger.recorder.select_notifications(start=1, limit=10**6)
        ]
    finally:
        ledger.close()
    conn = events_db(db)
    conn.execute("BEGIN")
    conn.execute("DELETE FROM merkle_nodes")
    conn.executemany(
        "UPDATE stored_events SET leaf_hash = ? WHERE rowid = ?", [(h, n) for n, h in events]
    )
    append_leaves(SQLiteNodeStore(conn.cursor(), "stored_events"), 0, [h for _, h in events])
    conn.execute("DELETE FROM incident_chains")
    cursor = conn.cursor()
    ChainTable("?", "").fill(cursor, SQLiteLogView(cursor, "stored_events", str), None)
    conn.execute("COMMIT")
    conn.close()


def forge_event(db: str) -> None:
    """Insert an event behind the ledger's back (no leaf): a copy of row 30 as claim 'forged'."""
    conn = events_db(db)
    conn.execute(
        "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
        "SELECT 'claim:forged', 1, topic, state FROM stored_events WHERE rowid = 30"
    )
    conn.close()


def rewrite_event(db: str, rowid: int, old: str, new: str) -> None:
    conn = events_db(db)
    state = conn.execute("SELECT state FROM stored_events WHERE rowid = ?", (rowid,)).fetchone()[0]
    assert old.encode() in state
    conn.execute(
        "UPDATE stored_events SET state = ? WHERE rowid = ?",
        (state.replace(old.encode(), new.encode(), 1), rowid),
    )
    conn.close()


def originator(db: str, rowid: int) -> str:
    conn = events_db(db)
    row = conn.execute("SELECT originator_id FROM stored_events WHERE rowid = ?", (rowid,))
    value = str(row.fetchone()[0])
    conn.close()
    return value


def test_flipped_byte_names_the_entry(sdb: str) -> None:
    rowid = 60  # a claim: the sample's incidents, sources, facts and reports come first
    conn = events_db(sdb)
    state = bytearray(
        conn.execute("SELECT state FROM stored_events WHERE rowid = ?", (rowid,)).fetchone()[0]
    )
    position = state.index(b'"fact"') + 3
    state[position] ^= 0x01
    conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (bytes(state), rowid))
    conn.close()
    code, _, err = cli(sdb, "verify")
    assert code == 1
    assert err == (
        f"error: entry 59 ({originator(sdb, rowid)}): the event does not match its Merkle leaf "
        "(edited after it was recorded)\n"
    )


def test_unreadable_event_names_the_entry(sdb: str) -> None:
    conn = events_db(sdb)
    conn.execute("UPDATE stored_events SET state = X'7B7B' WHERE rowid = 12")
    conn.close()
    code, _, err = cli(sdb, "verify")
    assert code == 1
    assert err == (
        f"error: entry 11 ({originator(sdb, 12)}): the stored event is not a recorded event "
        "of this id, version and topic (edited after it was recorded)\n"
    )


def test_deleted_event_names_the_entry(sdb: str) -> None:
    victim = originator(sdb, 40)
    conn = events_db(sdb)
    conn.execute("DELETE FROM stored_events WHERE rowid = 40")
    conn.close()
    code, _, err = cli(sdb, "verify")
    assert code == 1
    # In SQLite an event holds its leaf hash: deleting one deletes the other.
    assert err == (
        f"error: entry 39 ({originator(sdb, 41)}): the Merkle log has no leaf at this index "
        "(the next is 40): a leaf or its event was deleted\n"
    )
    assert victim not in err  # it is gone; the entry is named by index and its successor


def test_erased_leaf_hash_names_the_entry(sdb: str) -> None:
    conn = events_db(sdb)
    conn.execute("UPDATE stored_events SET leaf_hash = NULL WHERE rowid = 30")
    conn.close()
    code, _, err = cli(sdb, "verify")
    assert code == 1
    assert err.startswith(f"error: entry 29 ({originator(sdb, 30)}): ")


def test_inserted_event_names_the_entry(sdb: str) -> None:
    forge_event(sdb)
    code, _, err = cli(sdb, "verify")
    assert code == 1
    assert err.startswith("error: entry 138 (claim:forged): ")


def test_reordered_events_name_the_first_moved_entry(sdb: str) -> None:
    conn = events_db(sdb)
    columns = "originator_id, originator_version, topic, state"  # not the leaf hashes
    a = conn.execute(f"SELECT {columns} FROM stored_events WHERE rowid = 50").fetchone()
    b = conn.execute(f"SELECT {columns} FROM stored_events WHERE rowid = 51").fetchone()
    leaf_50, leaf_51 = (
        conn.execute("SELECT leaf_hash FROM stored_events WHERE rowid = ?", (n,)).fetchone()[0]
        for n in (50, 51)
    )
    conn.execute("BEGIN")
    conn.execute("DELETE FROM stored_events WHERE rowid IN (50, 51)")
    conn.execute(
        "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, "
        "state, leaf_hash) VALUES (50, ?, ?, ?, ?, ?)",
        (*b, leaf_50),
    )
    conn.execute(
        "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, "
        "state, leaf_hash) VALUES (51, ?, ?, ?, ?, ?)",
        (*a, leaf_51),
    )
    conn.execute("COMMIT")
    conn.close()
    code, _, err = cli(sdb, "verify")
    assert code == 1
    assert err.startswith(f"error: entry 49 ({b[0]}): the event does not match its Merkle leaf")


def write_earlier_format(db: str, shift: int = 0) -> None:
    """Give the store the layout an earlier version wrote: leaf hashes as level-0 tree nodes,
    every level of the tree (here a made-up level 3 node) and a table pairing leaf indexes
    with notification ids (``shift`` makes it point elsewhere, as a tampered one would)."""
    conn = events_db(db)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO merkle_nodes SELECT 0, rowid - 1, leaf_hash FROM stored_events")
    conn.execute("INSERT INTO merkle_nodes VALUES (3, 2, zeroblob(32))")
    conn.execute("ALTER TABLE stored_events DROP COLUMN leaf_hash")
    conn.execute(
        "CREATE TABLE merkle_leaves (idx INTEGER PRIMARY KEY, notification_id INTEGER NOT NULL "
        "UNIQUE)"
    )
    conn.execute(
        "INSERT INTO merkle_leaves SELECT rowid - 1, rowid + ? FROM stored_events", (shift,)
    )
    conn.execute("COMMIT")
    conn.close()


def has_leaf_table(db: str) -> bool:
    conn = events_db(db)
    found = conn.execute("SELECT name FROM sqlite_master WHERE name = 'merkle_leaves'")
    answer = found.fetchone() is not None
    conn.close()
    return answer


def test_a_store_in_the_earlier_layout_is_upgraded_on_open(sdb: str) -> None:
    before = cli(sdb, "verify", "--json")
    write_earlier_format(sdb)
    assert cli(sdb, "verify", "--json") == before
    assert not has_leaf_table(sdb)
    conn = events_db(sdb)
    assert conn.execute("SELECT DISTINCT level FROM merkle_nodes").fetchall() == []
    assert conn.execute("SELECT COUNT(leaf_hash) FROM stored_events").fetchone() == (138,)
    conn.close()
    assert before[0] == 0


def test_an_earlier_leaf_table_that_does_not_follow_the_events_is_refused(sdb: str) -> None:
    write_earlier_format(sdb, shift=1)
    code, _, err = cli(sdb, "verify")
    assert (code, err) == (
        1,
        "error: cannot open the event store: this ledger's Merkle leaf table (written by an "
        "earlier version) does not follow its events: it was tampered with; verify it with "
        "that version\n",
    )
    assert has_leaf_table(sdb)


def test_a_read_only_store_in_the_earlier_layout_says_it_needs_writing_once(sdb: str) -> None:
    write_earlier_format(sdb)
    with immutable(sdb):
        code, _, err = cli(sdb, "verify")
    assert code == 1
    assert err.startswith(
        "error: cannot open the event store: this ledger was written by an earlier version and "
        "is upgraded when first opened, which needs write access ("
    )
    assert cli(sdb, "verify")[0] == 0  # writable again: upgraded, and it verifies


def test_an_append_is_refused_when_the_log_and_the_events_differ_in_length(sdb: str) -> None:
    forge_event(sdb)
    code, _, err = cli(sdb, "rate", "sohr", "B", "--reason", "checked")
    assert (code, err) == (
        1,
        "error: cannot write to the event store: the Merkle log has 138 leaves but the events "
        "table 139 events; run verify to find where they part\n",
    )


def more_claims(db: str, tmp_path: Path, count: int) -> None:
    """Append ``count`` claims to the sample ledger, so that its tree has stored nodes
    above the leaves (levels 8, 16, …: one per 256 leaves at level 8)."""
    claims = tmp_path / "more.jsonl"
    claim = {"type": "claim", "incident": "ghwayran-2022", "fact": "escaped",
             "report": "report-000", "claimant": "sohr"}  # fmt: skip
    claims.write_text(
        "".join(json.dumps({**claim, "id": f"more-{i}", "value": i}) + "\n" for i in range(count))
    )
    predesk_append(db, claims)


def test_edited_tree_node_is_detected(sdb: str, tmp_path: Path) -> None:
    more_claims(sdb, tmp_path, 200)
    conn = events_db(sdb)
    conn.execute("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 8 AND idx = 0")
    conn.close()
    code, _, err = cli(sdb, "verify")
    assert (code, err) == (
        1,
        "error: entry 255 (claim:more-117): the stored Merkle tree node (level 8, index 0) "
        "above it was edited\n",
    )


@pytest.mark.slow
def test_only_the_tile_levels_of_the_tree_are_read(sdb: str, tmp_path: Path) -> None:
    """Levels between the stored ones (a store written before only levels 0, 8, 16, … were
    kept holds them all) are derived, never read: an edit there changes nothing."""
    more_claims(sdb, tmp_path, 200)
    before = cli(sdb, "verify", "--json")
    conn = events_db(sdb)
    conn.execute("INSERT INTO merkle_nodes VALUES (3, 2, zeroblob(32))")
    conn.close()
    assert cli(sdb, "verify", "--json") == before
    assert before[0] == 0


def test_rewritten_history_with_a_rebuilt_tree_fails_the_kept_checkpoint(sdb: str) -> None:
    auditing.checkpoint(sdb)
    rewrite_event(sdb, 59, '"value":20', '"value":2')
    rebuild_tree(sdb)
    code, _, err = cli(sdb, "verify")
    assert code == 1
    assert err == (
        "error: checkpoint 138: the signed root does not match the events: some entry below 138 "
        "was rewritten\n"
    )


def test_truncation_is_caught_by_the_kept_checkpoint(sdb: str) -> None:
    auditing.checkpoint(sdb)
    conn = events_db(sdb)
    conn.execute("DELETE FROM stored_events WHERE rowid > 70")
    conn.close()
    rebuild_tree(sdb)
    code, _, err = cli(sdb, "verify")
    assert code == 1
    assert err == (
        "error: checkpoint 138: signed for more entries than the log holds (70): the log was "
        "rolled back or truncated\n"
    )


@pytest.mark.slow
def test_truncation_then_resigning_is_caught_by_an_earlier_checkpoint(
    sdb: str, tmp_path: Path
) -> None:
    published = tmp_path / "published-checkpoint"
    published.write_text(auditing.checkpoint(sdb)["note"], encoding="utf-8")
    conn = events_db(sdb)
    conn.execute("DELETE FROM stored_events WHERE rowid > 70")
    conn.execute("DELETE FROM checkpoints")
    conn.close()
    rebuild_tree(sdb)
    # The attacker holds the key: alone, the log looks fine. (The read model, still at 138,
    # no longer agrees; an attacker would replay it.)
    assert cli(sdb, "verify", "--no-read-model")[0] == 0
    bundle = tmp_path / "bundle"
    assert cli(sdb, "export", "--format", "jsonl", "--out", str(bundle))[0] == 0
    code, _, err = cli(
        sdb, "verify", "--export", str(bundle), "--key", verifier_of(sdb), "--prev", str(published)
    )
    assert (code, err) == (
        1,
        "error: the export's checkpoint (70) is older than --prev (138): a rollback\n",
    )


@pytest.mark.slow
def test_fork_of_equal_size_is_caught_by_an_earlier_checkpoint(sdb: str, tmp_path: Path) -> None:
    published = tmp_path / "published-checkpoint"
    published.write_text(auditing.checkpoint(sdb)["note"], encoding="utf-8")
    rewrite_event(sdb, 59, '"value":20', '"value":2')
    conn = events_db(sdb)
    conn.execute("DELETE FROM checkpoints")
    conn.close()
    rebuild_tree(sdb)
    bundle = tmp_path / "bundle"
    assert cli(sdb, "export", "--format", "jsonl", "--out", str(bundle))[0] == 0
    code, _, err = cli(
        sdb, "verify", "--export", str(bundle), "--key", verifier_of(sdb), "--prev", str(published)
    )
    assert (code, err) == (
        1,
        "error: a fork: two different logs of size 138 are signed with this key\n",
    )


# --- exports, tampered -----------------------------------------------------------------------


@pytest.fixture
def bundle(db: str, tmp_path: Path) -> Path:
    out = tmp_path / "bundle"
    code, stdout, _ = cli(db, "export", "--format", "jsonl", "--out", str(out))
    assert (code, stdout) == (0, f"wrote 141 entries to {out}/\n")
    return out


def verify_bundle(path: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["verify", "--export", str(path), *extra])
    return result.exit_code, result.stdout + result.stderr


def edit_lines(path: Path, edit: Any) -> None:
    lines = (path / "leaves.jsonl").read_bytes().split(b"\n")[:-1]
    lines = edit(lines)
    (path / "leaves.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def test_export_verifies_and_extends_an_earlier_checkpoint(
    db: str, bundle: Path, tmp_path: Path
) -> None:
    code, out = verify_bundle(bundle, "--key", verifier_of(db))
    assert (code, out) == (0, "ok: 141 entries verified against checkpoint 141 (key given)\n")
    earlier = tmp_path / "earlier"
    earlier.write_text((bundle / "checkpoint").read_text("utf-8"), encoding="utf-8")
    more = tmp_path / "more.jsonl"
    more.write_text(
        '{"type":"report","id":"r-x","source":"sohr","published_at":"2022-02-02"}\n',
        encoding="utf-8",
    )
    writing.append_file(db, str(more))
    later = tmp_path / "later"
    cli(db, "export", "--format", "jsonl", "--out", str(later))
    code, out = verify_bundle(later, "--key", verifier_of(db), "--prev", str(earlier))
    assert code == 0
    assert out.endswith("; extends checkpoint 141\n")
    partial = tmp_path / "partial"
    cli(db, "export", "--format", "jsonl", "--out", str(partial), "--incident", "diyala-2022")
    code, out = verify_bundle(partial, "--key", verifier_of(db), "--prev", str(earlier))
    assert code == 0, out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "edit", "entry"),
    [
        (
            "flipped byte",
            lambda ls: [*ls[:30], ls[30].replace(b'"id":"', b'"id":"X'), *ls[31:]],
            30,
        ),
        ("deleted line", lambda ls: ls[:40] + ls[41:], 40),
        ("inserted line", lambda ls: [*ls[:10], ls[20], *ls[10:]], 10),
        ("reordered lines", lambda ls: [*ls[:5], ls[6], ls[5], *ls[7:]], 5),
        ("truncated", lambda ls: ls[:70], 70),
    ],
)
def test_tampered_export_names_the_first_bad_entry(
    bundle: Path, name: str, edit: Any, entry: int
) -> None:
    edit_lines(bundle, edit)
    code, out = verify_bundle(bundle)
    assert code == 1, name
    assert out.startswith(f"error: entry {entry} ("), (name, out)


def test_tampered_partial_export_fails_and_one_made_with_proofs_names_the_entry(
    db: str, tmp_path: Path
) -> None:
    partial = tmp_path / "partial"
    cli(db, "export", "--format", "jsonl", "--out", str(partial), "--incident", "diyala-2022")
    first_made = tmp_path / "first-made"
    shutil.copytree(partial, first_made)
    as_first_made(first_made)
    for bundle in (partial, first_made):
        edit_lines(bundle, lambda ls: [ls[0], ls[1].replace(b'"id":"', b'"id":"X'), *ls[2:]])
    assert verify_bundle(partial) == (
        1,
        "error: the 17 entries, at their indexes, with the subtrees of subtrees.jsonl, do not "
        "hash to the signed root of 141: an entry was edited, or is not in the signed log\n",
    )
    code, out = verify_bundle(first_made)
    index = json.loads((first_made / "proofs.jsonl").read_text().splitlines()[1])["index"]
    assert code == 1
    assert out.startswith(f"error: entry {index} (")
    assert "not in the signed log" in out


def test_truncated_and_resigned_export_fails_against_the_published_checkpoint(
    db: str, bundle: Path, tmp_path: Path
) -> None:
    published = tmp_path / "published"
    published.write_text((bundle / "checkpoint").read_text("utf-8"), encoding="utf-8")
    from incident_ledger.ledger.audit import b64
    from incident_ledger.ledger.merkle import Frontier
    from incident_ledger.ledger.signednote import format_checkpoint, sign_note

    edit_lines(bundle, lambda ls: ls[:60])
    frontier = Frontier()
    for line in (bundle / "leaves.jsonl").read_bytes().split(b"\n")[:-1]:
        frontier.push(leaf_hash(line))
    key = workspace.signing_key(location.locate(db))
    (bundle / "checkpoint").write_text(
        sign_note(format_checkpoint(key.origin, 60, frontier.root()), key.signer), "utf-8"
    )
    (bundle / "leaf-hashes.txt").write_text(
        "".join(
            b64(leaf_hash(line)) + "\n"
            for line in (bundle / "leaves.jsonl").read_bytes().split(b"\n")[:-1]
        )
    )
    assert verify_bundle(bundle, "--key", key.verifier)[0] == 0
    code, out = verify_bundle(bundle, "--key", key.verifier, "--prev", str(published))
    assert (code, out) == (
        1,
        "error: the export's checkpoint (60) is older than --prev (141): a rollback\n",
    )


def test_wrong_key_is_refused(bundle: Path) -> None:
    _, other = generate_signer("incident-ledger/someone-else")
    code, out = verify_bundle(bundle, "--key", other)
    assert code == 1
    assert out.startswith("error: checkpoint: ")


def test_signing_key_is_never_accepted_or_echoed_as_key(db: str, bundle: Path) -> None:
    key_file = str(location.locate(db).key_path)
    code, out = verify_bundle(bundle, "--key", key_file)
    assert (code, out) == (
        2,
        "error: --key must be the verifier (public) key, not the signing key\n",
    )


# --- the PostgreSQL store, tampered ------------------------------------------------------------

PG_TAMPERING = {
    "flipped byte": (
        "UPDATE {s}.incidentledger_events "
        "SET state = overlay(state placing '\\x58'::bytea from 30 for 1) "
        "WHERE notification_id = (SELECT notification_id FROM {s}.incidentledger_events "
        "ORDER BY notification_id OFFSET 29 LIMIT 1)",
        "error: entry 29 (",
    ),
    "deleted event": (
        "DELETE FROM {s}.incidentledger_events WHERE notification_id = "
        "(SELECT notification_id FROM {s}.incidentledger_events "
        "ORDER BY notification_id OFFSET 39 LIMIT 1)",
        "error: entry 39 (",
    ),
    "inserted event": (
        "INSERT INTO {s}.incidentledger_events (originator_id, originator_version, topic, state) "
        "SELECT 'claim:forged', 1, topic, state FROM {s}.incidentledger_events "
        "ORDER BY notification_id OFFSET 29 LIMIT 1",
        "error: entry 141 (claim:forged): ",
    ),
    "edited leaf hash": (
        "UPDATE {s}.merkle_nodes SET hash = '\\x00'::bytea WHERE level = 0 AND idx = 23",
        "error: entry 23 (",
    ),
    "edited tree node": (  # the test appends claims first: level 8 needs 256 leaves
        "UPDATE {s}.merkle_nodes SET hash = '\\x00'::bytea WHERE level = 8 AND idx = 0",
        "error: entry 255 (claim:more-114): the stored Merkle tree node (level 8, index 0)",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(PG_TAMPERING))
def test_tampered_postgres_store_names_the_entry(db: str, case: str, tmp_path: Path) -> None:
    if not db.startswith("postgresql://"):
        pytest.skip("PostgreSQL-only case (the SQLite store has its own above)")
    import psycopg

    if case == "edited tree node":
        more_claims(db, tmp_path, 200)

    url, _, query = db.partition("?schema=")
    statement, expected = PG_TAMPERING[case]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement.format(s=f'"{query}"'))  # type: ignore[arg-type,unused-ignore]
    code, _, err = cli(db, "verify")
    assert code == 1, case
    assert err.startswith(expected), (case, err)


def test_a_helper_checks_the_middle_pages_and_verify_answers_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started_helpers: Any
) -> None:
    sdb = str(tmp_path / "ledger.db")
    writing.init(sdb)
    writing.append_file(sdb, str(samples.GHWAYRAN))
    monkeypatch.setattr(log_check, "PAGE", 8)
    monkeypatch.setattr(log_check, "PARALLEL_MIN_PAGES", 10**9)
    alone = auditing.verify(sdb)
    started = started_helpers(log_check)
    monkeypatch.setattr(log_check, "PARALLEL_MIN_PAGES", 2)
    assert auditing.verify(sdb) == alone
    assert len(started) == 1

    def dies(*args: Any) -> None:
        raise RuntimeError("the helper fell over")

    monkeypatch.setattr(log_check, "_check_pages", dies)
    assert auditing.verify(sdb) == alone  # its pages are then checked here
    assert len(started) == 2
