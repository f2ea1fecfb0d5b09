"""A read model belongs to exactly one store; read-only stores serve reads; rebuilds.

Each test drives the command line as a user would and asserts the exit code and
the exact line a user sees.

Over 400 lines: binding, read-only use and rebuilding share one set of stores.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger import samples
from incident_ledger.ledger.errors import StoreError
from incident_ledger.ledger.stores.location import locate
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.views import Views
from incident_ledger.usecases import auditing, rebuilding, workspace, writing
from tests.conftest import NO_POSTGRES, POSTGRES_URL, drop_schema
from tests.test_cli import ledger as cli

INCIDENT = "ghwayran-2022"
OTHER: list[dict[str, Any]] = [
    {"type": "incident", "id": "other", "title": "Zanzibar"},
    {"type": "source", "id": "desk", "name": "Desk", "kind": "outlet"},
    {"type": "report", "id": "r1", "source": "desk", "published_at": "2022-01-21"},
    {
        "type": "claim",
        "id": "o1",
        "incident": "other",
        "fact": "killed.total",
        "value": 3,
        "report": "r1",
    },
]


def jsonl(path: Path, records: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def sample_ledger(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    db = str(folder / "ledger.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    return db


def other_ledger(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    db = str(folder / "ledger.db")
    writing.init(db)
    writing.append_file(db, jsonl(folder / "other.jsonl", OTHER))
    return db


def remove_store(db: str) -> None:
    for path in Path(db).parent.glob(Path(db).name + "*"):  # ledger.db* (not ledger.views.db)
        path.unlink()


def claim_count(db: str) -> int:
    code, out, err = cli(db, "state", INCIDENT, "--json")
    assert code == 0, err
    return sum(len(fact["positions"]) for fact in json.loads(out)["facts"].values())


# --- item: a read model belongs to exactly one store -----------------------------------------


@pytest.mark.slow
def test_a_ledger_made_again_in_place_does_not_show_the_deleted_ones_claims(
    tmp_path: Path,
) -> None:
    db = sample_ledger(tmp_path)
    assert claim_count(db) > 0
    remove_store(db)
    assert cli(db, "init")[0] == 0
    assert cli(db, "state", INCIDENT) == (
        1,
        "",
        f"error: no incident '{INCIDENT}' in the ledger\n",
    )


@pytest.mark.slow
def test_a_store_replaced_under_its_model_is_rebuilt_for_it(tmp_path: Path) -> None:
    db = sample_ledger(tmp_path / "a")
    assert claim_count(db) > 0
    other = other_ledger(tmp_path / "b")
    remove_store(db)
    shutil.copy(other, db)  # no init: the model beside it was the deleted ledger's
    assert cli(db, "state", INCIDENT)[2] == f"error: no incident '{INCIDENT}' in the ledger\n"
    code, out, _ = cli(db, "state", "other", "--json")
    assert code == 0
    assert json.loads(out)["facts"]["killed.total"]["value"] == {"min": 3, "max": 3}


def store_id(db: str) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("SELECT value FROM ledger_info").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.slow
def test_a_model_named_by_LEDGER_VIEWS_is_not_answered_for_another_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    second = other_ledger(tmp_path / "b")  # with its own model, beside it
    shared = tmp_path / "shared.views.db"
    monkeypatch.setenv("LEDGER_VIEWS", str(shared))
    first = sample_ledger(tmp_path / "a")
    assert claim_count(first) > 0
    code, out, err = cli(second, "state", INCIDENT)
    assert (code, out) == (1, "")
    assert err == (
        f"error: the read model {shared} belongs to another ledger (store {store_id(first)}; "
        f"this one is {store_id(second)}); set LEDGER_VIEWS to a file of this ledger's own "
        "(or unset it); 'ledger replay' would rebuild this one for this ledger, in place of "
        "what it holds\n"
    )
    assert claim_count(first) > 0  # not clobbered: still the first ledger's


def test_a_snapshot_model_never_follows_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model of the events recorded by T passed over the later ones: caught up from its
    position it would hold the events after it, without those it passed over."""
    db = sample_ledger(tmp_path)
    cut = datetime.now(UTC).isoformat()
    writing.append_file(db, jsonl(tmp_path / "late.jsonl", OTHER))
    snapshot = tmp_path / "then.db"
    assert cli(db, "replay", "--until", cut, "--out", str(snapshot))[0] == 0
    writing.append_file(db, jsonl(tmp_path / "later.jsonl", [{**OTHER[0], "id": "later"}]))
    monkeypatch.setenv("LEDGER_VIEWS", str(snapshot))
    code, out, err = cli(db, "state", "other")
    assert (code, out) == (1, "")
    said = datetime.fromisoformat(cut).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert err == (
        f"error: the read model {snapshot} is a snapshot of this ledger as recorded by "
        f"{said} (ledger replay --until): it does not follow the ledger; read it with "
        "sqlite3 or Datasette, or set LEDGER_VIEWS to a model that follows it\n"
    )
    monkeypatch.delenv("LEDGER_VIEWS")
    own = Path(db).with_suffix(".views.db")
    assert cli(db, "replay", "--until", cut, "--out", str(own))[0] == 0  # the live model
    code, out, _ = cli(db, "incidents", "--json")
    assert code == 0
    assert {"other", "later", INCIDENT} <= {i["id"] for i in json.loads(out)}  # rebuilt whole


def test_a_model_of_another_history_of_the_store_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared.views.db"
    monkeypatch.setenv("LEDGER_VIEWS", str(shared))
    first = sample_ledger(tmp_path / "a")
    (tmp_path / "b").mkdir()
    copy = str(tmp_path / "b" / "ledger.db")
    shutil.copy(first, copy)  # the same store id: a copy that then goes its own way
    shutil.copy(Path(first).with_suffix(".key"), Path(copy).with_suffix(".key"))
    writing.append_file(first, jsonl(tmp_path / "one.jsonl", OTHER[:1]))
    writing.append_file(copy, jsonl(tmp_path / "two.jsonl", OTHER[1:2]), project=False)
    code, _, err = cli(copy, "state", INCIDENT)
    assert code == 1
    assert err == (
        f"error: the read model {shared} was projected from another history of this store: "
        "the log's root after 143 events is not the one the model recorded (the store was "
        "rewritten, or is a copy that went its own way); set LEDGER_VIEWS to a file of this "
        "ledger's own (or unset it); 'ledger replay' would rebuild this one for this ledger, "
        "in place of what it holds\n"
    )


def test_the_own_model_of_a_store_rolled_back_and_rewritten_is_rebuilt(tmp_path: Path) -> None:
    db = sample_ledger(tmp_path)
    backup = tmp_path / "backup.db"
    shutil.copy(db, backup)
    writing.append_file(db, jsonl(tmp_path / "one.jsonl", OTHER))  # the model follows to 147
    remove_store(db)
    shutil.copy(backup, db)  # the store rolled back to 141 events …
    writing.append_file(db, jsonl(tmp_path / "two.jsonl", OTHER[:1]), project=False)
    code, out, _ = cli(db, "search", "Zanzibar", "--json")  # … and rewritten: rebuilt
    assert code == 0
    assert [hit["ref"] for hit in json.loads(out)["hits"]] == ["other"]
    code, out, _ = cli(db, "state", "other", "--json")
    assert code == 0
    assert json.loads(out)["facts"] == {}  # its claim was in the history rolled back


def test_init_keeps_a_store_id_that_a_model_is_bound_to(tmp_path: Path) -> None:
    db = sample_ledger(tmp_path)
    kept = store_id(db)
    assert cli(db, "init")[0] == 0  # init again: the same store, the same id
    assert store_id(db) == kept
    views = Views(locate(db).views_path)
    try:
        assert views.binding().store_id == kept
        assert views.binding().position == 141
    finally:
        views.close()


@pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
def test_two_postgres_stores_never_share_the_default_read_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default ./ledger.views.db and ./ledger.key
    monkeypatch.delenv("LEDGER_VIEWS", raising=False)
    first, second = f"{POSTGRES_URL}?schema=t_bind_a", f"{POSTGRES_URL}?schema=t_bind_b"
    drop_schema("t_bind_a")
    drop_schema("t_bind_b")
    try:
        writing.init(first)
        writing.append_file(first, str(samples.GHWAYRAN))
        assert claim_count(first) > 0
        code, _, err = cli(second, "init")
        assert code == 1
        assert err.startswith(
            "error: the read model ledger.views.db belongs to another ledger (store "
        )
        monkeypatch.setenv("LEDGER_VIEWS", str(tmp_path / "second.views.db"))
        assert cli(second, "init")[0] == 0
        assert cli(second, "state", INCIDENT)[2] == (
            f"error: no incident '{INCIDENT}' in the ledger\n"
        )
    finally:
        drop_schema("t_bind_a")
        drop_schema("t_bind_b")


def test_a_store_of_an_earlier_version_keeps_its_first_leaf_as_its_id(store_url: str) -> None:
    writing.init(store_url)
    writing.append_file(store_url, str(samples.GHWAYRAN))
    location = locate(store_url)
    if location.is_postgres:
        import psycopg

        schema = store_url.rsplit("schema=", 1)[1]
        assert POSTGRES_URL is not None
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP TABLE "{schema}".ledger_info')
    else:
        drop_store_id(store_url)
    location.views_path.unlink()  # a model of an earlier version is rebuilt anyway
    assert claim_count(store_url) > 0  # answered: the model is bound to the id now kept
    views = Views(location.views_path)
    try:
        bound = views.binding().store_id
    finally:
        views.close()
    with workspace.open_ledger(store_url) as (_, ledger):
        kept = ledger.audit.store_id()
    assert bound == kept and kept.startswith("leaf:")


def drop_store_id(db: str) -> None:
    """Make the store look as an earlier version left it: without a kept id."""
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE ledger_info")
    conn.commit()
    conn.close()


@pytest.mark.slow
def test_a_read_only_store_of_an_earlier_version_is_known_by_its_first_leaf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sample_ledger(tmp_path / "store")
    drop_store_id(db)
    monkeypatch.setenv("LEDGER_VIEWS", str(tmp_path / "elsewhere.views.db"))
    with frozen(Path(db).parent):
        assert claim_count(db) > 0  # read-only: no id can be kept, the first leaf names it
    views = Views(tmp_path / "elsewhere.views.db")
    try:
        bound = views.binding().store_id
    finally:
        views.close()
    assert bound is not None and bound.startswith("leaf:")
    assert claim_count(db) > 0  # writable now: the same id is kept, the model stays bound
    assert store_id(db) == bound


# --- item: read-only stores serve reads -----------------------------------------------------


@contextmanager
def frozen(*paths: Path) -> Iterator[None]:
    """Make folders (and every file in them) and files read-only, even to root: immutable
    (``chattr +i``), as on a read-only medium or mount. Root ignores permission bits, so a
    chmod would prove nothing when the tests run as root; without chattr, a non-root user
    gets a chmod, which does stop it."""
    targets = [str(f) for p in paths for f in ([*p.iterdir(), p] if p.is_dir() else [p])]
    locked = subprocess.run(["chattr", "+i", *targets], capture_output=True, text=True)
    if locked.returncode == 0:
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *targets], check=True)
        return
    subprocess.run(["chattr", "-i", *targets], capture_output=True)
    if os.geteuid() == 0:
        pytest.skip(f"cannot make files immutable here, and root ignores chmod: {locked.stderr}")
    modes = {t: os.stat(t).st_mode for t in targets}
    for target in targets:
        os.chmod(target, 0o555 if os.path.isdir(target) else 0o444)
    try:
        yield
    finally:
        for target, mode in modes.items():
            os.chmod(target, mode)


@pytest.mark.slow
def test_reads_are_served_from_a_read_only_store_and_folder(tmp_path: Path) -> None:
    db = sample_ledger(tmp_path / "store")
    auditing.checkpoint(db)
    bundle, document = tmp_path / "bundle", tmp_path / "claims.csv"
    more = jsonl(tmp_path / "more.jsonl", OTHER)
    with frozen(Path(db).parent):
        code, out, err = cli(db, "state", INCIDENT, "--json")
        assert (code, err) == (0, "")
        assert json.loads(out)["facts"]
        code, out, err = cli(db, "search", "prison", "--json")
        assert (code, err) == (0, "")
        code, out, err = cli(db, "verify")
        assert (code, err) == (0, "")
        assert out.splitlines()[1] == "read model: agrees (141 events, 568 rows)"
        assert cli(db, "export", "--format", "csv", "--out", str(document))[:3:2] == (0, "")
        assert cli(db, "export", "--format", "jsonl", "--out", str(bundle))[:3:2] == (0, "")
        assert cli(db, "append", "--file", more) == (
            1,
            "",
            f"error: the ledger at {db} is read-only: nothing was written\n",
        )
        assert cli(db, "checkpoint")[2] == (
            f"error: the ledger at {db} is read-only: nothing was written\n"
        )
    assert document.read_text(encoding="utf-8").count("\n") == 81
    assert cli(db, "verify", "--export", str(bundle))[0] == 0


def test_a_read_only_store_keeps_its_read_model_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sample_ledger(tmp_path / "store")
    (tmp_path / "store" / "ledger.views.db").unlink()
    elsewhere = tmp_path / "views" / "ledger.views.db"
    elsewhere.parent.mkdir()
    with frozen(Path(db).parent):
        assert cli(db, "state", INCIDENT)[2] == (
            f"error: there is no read model at {Path(db).parent / 'ledger.views.db'}, and one "
            "cannot be made there (read-only): set LEDGER_VIEWS to a file that can be written\n"
        )
        monkeypatch.setenv("LEDGER_VIEWS", str(elsewhere))
        assert claim_count(db) > 0


def test_a_read_only_model_answers_only_when_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sample_ledger(tmp_path / "store")
    model = tmp_path / "views" / "ledger.views.db"
    model.parent.mkdir()
    monkeypatch.setenv("LEDGER_VIEWS", str(model))
    assert claim_count(db) > 0
    with frozen(model.parent):
        assert claim_count(db) > 0  # current and bound to this store: answered
        writing.append_file(db, jsonl(tmp_path / "more.jsonl", OTHER), project=False)
        assert cli(db, "state", INCIDENT) == (
            1,
            "",
            f"error: the read model {model} is read-only and behind the store (141 of 147 "
            "events): set LEDGER_VIEWS to a file that can be written, where it is brought up "
            "to date\n",
        )


def test_verify_needs_neither_the_read_model_nor_the_private_key(tmp_path: Path) -> None:
    db = sample_ledger(tmp_path)
    auditing.checkpoint(db)
    verifier = workspace.signing_key(locate(db)).verifier
    (tmp_path / "ledger.key").unlink()
    (tmp_path / "ledger.views.db").unlink()
    code, out, err = cli(db, "verify", "--key", verifier)
    assert (code, err) == (0, "")
    assert out.splitlines()[0].endswith(", 1 checkpoint(s) verified")
    assert out.splitlines()[1] == f"read model: absent (none at {tmp_path / 'ledger.views.db'})"
    key_file = tmp_path / "verifier.pub"
    key_file.write_text(verifier + "\n", encoding="ascii")
    assert cli(db, "verify", "--key", str(key_file))[0] == 0
    code, out, _ = cli(db, "verify")
    assert code == 0  # no key at hand: the ledger's key as its log records it checks them
    assert out.splitlines()[0].endswith(", 1 checkpoint(s) verified")
    assert not (tmp_path / "ledger.views.db").exists()  # verify made none


def test_verify_checks_checkpoints_against_the_key_given(tmp_path: Path) -> None:
    db = sample_ledger(tmp_path)
    auditing.checkpoint(db)
    other = other_ledger(tmp_path / "other")
    foreign = workspace.signing_key(locate(other)).verifier
    code, _, err = cli(db, "verify", "--key", foreign)
    assert code == 1
    assert err.startswith("error: checkpoint 141: ")


# --- item: replay always rebuilds, and never into what is not a read model --------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    ["not sqlite", "truncated", "half-written", "a stray log"],
)
def test_replay_rebuilds_a_damaged_read_model(tmp_path: Path, damage: str) -> None:
    db = sample_ledger(tmp_path)
    model = tmp_path / "ledger.views.db"
    if damage == "not sqlite":
        model.write_bytes(b"this is not a database\n" * 100)
    elif damage == "truncated":
        data = model.read_bytes()
        model.write_bytes(data[: len(data) // 3])
    elif damage == "half-written":  # tables made, no tracking row: a first build killed early
        conn = sqlite3.connect(model)
        conn.execute("DELETE FROM tracking")
        conn.execute("DROP TABLE claims")
        conn.commit()
        conn.close()
    else:
        (tmp_path / "ledger.views.db-wal").write_bytes(b"\x00" * 4096)
    code, out, err = cli(db, "replay")
    assert (code, err) == (0, "")
    assert out == f"replayed 141 events into {model}\n"
    assert claim_count(db) > 0
    assert cli(db, "verify")[1].splitlines()[1] == "read model: agrees (141 events, 568 rows)"


def test_a_replay_that_fails_leaves_the_model_it_was_replacing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sample_ledger(tmp_path)
    model = tmp_path / "ledger.views.db"
    with closing(Views(model)) as views:
        before = views.dump()

    def fails(self: Projector, *args: Any, **kwargs: Any) -> int:
        raise StoreError(f"cannot update the read model {self.views.path}: disk full")

    monkeypatch.setattr(Projector, "catch_up", fails)
    with pytest.raises(StoreError):
        rebuilding.replay(db)
    monkeypatch.undo()
    # the new model is built beside the old one, which answers until the new is complete
    assert not list(tmp_path.glob("*.rebuilding*"))
    with closing(Views(model)) as views:
        assert views.dump() == before
    assert cli(db, "state", INCIDENT)[0] == 0
    assert rebuilding.replay(db)["views"] == str(model)
    with closing(Views(model)) as views:
        assert views.dump() == before
    assert cli(db, "verify")[1].splitlines()[1] == "read model: agrees (141 events, 568 rows)"


def test_a_rebuilt_model_that_cannot_be_put_in_place_leaves_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The new model replaces the old by one rename: there is a model at its path at every
    # moment, and the old one is still there when the rename fails.
    db = sample_ledger(tmp_path)
    model = tmp_path / "ledger.views.db"
    with closing(Views(model)) as views:
        before = views.dump()

    def refused(source: object, target: object) -> None:
        assert model.exists()  # never removed before the new model is put in its place
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(StoreError, match="cannot put the rebuilt read model in place"):
        rebuilding.replay(db)
    monkeypatch.undo()
    with closing(Views(model)) as views:
        assert views.dump() == before


def test_replay_out_refuses_the_event_store(tmp_path: Path) -> None:
    db = sample_ledger(tmp_path)
    before = Path(db).read_bytes()
    assert cli(db, "replay", "--out", db) == (
        2,
        "",
        f"error: {db} is the event store: a read model cannot be written there\n",
    )
    other = other_ledger(tmp_path / "other")
    assert cli(db, "replay", "--out", other) == (
        2,
        "",
        f"error: {other} is an event store: a read model cannot be written there\n",
    )
    assert Path(db).read_bytes() == before
    assert cli(db, "verify")[0] == 0


@pytest.mark.slow
@pytest.mark.parametrize("what", ["text", "sqlite", "directory"])
def test_replay_out_refuses_a_file_that_is_not_a_read_model(tmp_path: Path, what: str) -> None:
    db = sample_ledger(tmp_path)
    target = tmp_path / "target"
    if what == "text":
        target.write_text("my notes\n", encoding="utf-8")
        said = f"error: {target} is not a read model: refusing to overwrite it\n"
    elif what == "sqlite":
        conn = sqlite3.connect(target)
        conn.execute("CREATE TABLE mine (x)")
        conn.commit()
        conn.close()
        said = f"error: {target} is a SQLite database of something else: refusing to overwrite it\n"
    else:
        target.mkdir()
        said = f"error: {target} is a directory: give a file name\n"
    assert cli(db, "replay", "--out", str(target)) == (2, "", said)
    assert target.exists()
    if what == "text":
        assert target.read_text(encoding="utf-8") == "my notes\n"


def test_replay_out_replaces_a_read_model(tmp_path: Path) -> None:
    db = sample_ledger(tmp_path)
    target = tmp_path / "then.db"
    assert cli(db, "replay", "--out", str(target), "--until", "2000-01-01")[0] == 0
    assert cli(db, "replay", "--out", str(target))[1] == f"replayed 141 events into {target}\n"


@pytest.mark.parametrize(
    ("left", "replaced"),
    [
        # version 13's claims(report), which version 14 no longer makes
        ("CREATE INDEX idx_claims_report ON claims (report)", True),
        # a bulk load's own index, left by one killed before its end
        ("CREATE INDEX bulk_lookup_sources_id ON sources (id)", True),
        # a table of someone's own, whatever version the model says it is
        ("CREATE TABLE my_notes (note TEXT)", False),
    ],
)
def test_replay_replaces_a_read_model_holding_only_what_a_model_holds(
    tmp_path: Path, left: str, replaced: bool
) -> None:
    """A model of an earlier schema version may hold an index this version no longer
    makes, and one a bulk load killed before its end its own: it is still a model, and a
    rebuild replaces it. A table a model never holds makes the file someone else's."""
    db = sample_ledger(tmp_path)
    model = Path(db).with_suffix(".views.db")
    with closing(sqlite3.connect(model)) as conn, conn:
        conn.execute(left)
        conn.execute("UPDATE tracking SET schema_version = 13")
    said = f"error: {model} is a SQLite database of something else: refusing to overwrite it\n"
    for command in (("replay", "--out", str(model)), ("replay",)):
        done = cli(db, *command)
        if replaced:
            assert done == (0, f"replayed 141 events into {model}\n", "")
        else:
            assert done == (2, "", said)
    with closing(sqlite3.connect(model)) as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert (left.split()[2] in names) is not replaced


# --- item: a full disk while projecting ---------------------------------------------------------

FULL = "database or disk is full"


def big_import(folder: Path, count: int) -> str:
    records: list[dict[str, Any]] = list(OTHER[:3])
    records += [
        {
            "type": "claim",
            "id": f"big-{n}",
            "incident": "other",
            "fact": "killed.total",
            "value": n,
            "report": "r1",
            "quote": f"a long quote to fill the read model's pages, number {n} " * 4,
        }
        for n in range(count)
    ]
    return jsonl(folder / "big.jsonl", records)


def committed_claims(db: str) -> int:
    return sum(1 for r in auditing.export_records(db) if r["type"] == "claim")


@pytest.mark.slow
def test_a_full_disk_while_projecting_says_the_records_are_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills as the read model is written: a real full file system (a tmpfs of
    384 KB holding the model: room for an initialised ledger's model, not for 2,000
    claims) where this process may mount one."""
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=384k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(
            "cannot mount a small file system here "
            f"({mounted.stderr.strip()}); the injected full disk below stands in for it"
        )
    try:
        monkeypatch.setenv("LEDGER_VIEWS", str(mount / "ledger.views.db"))
        db = str(tmp_path / "ledger.db")
        writing.init(db)
        code, _, err = cli(db, "append", "--file", big_import(tmp_path, 2000))
        assert code == 1
        assert err.startswith("error: 2003 new record(s) committed to the ledger, but the read ")
        assert err.endswith(f"{FULL}); it catches up at the next command that reads it\n")
        assert len(err.splitlines()) == 1
        assert committed_claims(db) == 2000
        monkeypatch.setenv("LEDGER_VIEWS", str(tmp_path / "roomy.views.db"))
        code, out, _ = cli(db, "state", "other", "--json")
        assert code == 0
        # one claimant's claims in one report: one position, every claim projected
        (position,) = json.loads(out)["facts"]["killed.total"]["positions"]
        assert len(position["claims"]) == 2000
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_while_projecting_injected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same, where no small file system can be mounted: SQLite's own error, raised
    where the projector writes its rows (``Projector.flush``)."""
    db = str(tmp_path / "ledger.db")
    writing.init(db)

    def full(self: Projector) -> None:
        raise sqlite3.OperationalError(FULL)

    with monkeypatch.context() as patched:
        patched.setattr(Projector, "flush", full)
        code, _, err = cli(db, "append", "--file", big_import(tmp_path, 20))
    assert (code, err) == (
        1,
        "error: 23 new record(s) committed to the ledger, but the read model was not brought "
        f"up to date (cannot update the read model {tmp_path / 'ledger.views.db'}: {FULL}); "
        "it catches up at the next command that reads it\n",
    )
    assert committed_claims(db) == 20
    code, out, _ = cli(db, "state", "other", "--json")
    assert code == 0
    (position,) = json.loads(out)["facts"]["killed.total"]["positions"]
    assert len(position["claims"]) == 20  # one report's claims: one position, all projected


# --- item: prove inclusion prints only a leaf that hashes to the stored leaf ------------------


def test_prove_inclusion_refuses_an_event_that_does_not_hash_to_its_leaf(tmp_path: Path) -> None:
    db = sample_ledger(tmp_path)
    conn = sqlite3.connect(db)
    rowid, state = conn.execute(
        "SELECT rowid, state FROM stored_events WHERE originator_id = 'claim:c-000-sohr-car-bomb'"
    ).fetchone()
    edited = bytes(state).replace(b'"value":1', b'"value":9')
    assert edited != bytes(state)
    conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (edited, rowid))
    conn.commit()
    conn.close()
    assert cli(db, "prove", "inclusion", "claim:c-000-sohr-car-bomb") == (
        1,
        "",
        f"error: entry {rowid - 1} (claim:c-000-sohr-car-bomb): the stored event does not "
        "hash to its Merkle leaf (edited after it was recorded): no proof is given; run "
        "'ledger verify'\n",
    )
    code, out, _ = cli(db, "prove", "inclusion", "claim:c-000-sohr-killed-sf")
    assert code == 0, out


@pytest.mark.parametrize("command", [["search", "Ghwayran"], ["state", "ghwayran-2022"]])
def test_a_read_refuses_an_event_store_named_as_its_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """``LEDGER_VIEWS`` naming an event store (this one or another): a read wrote a whole
    read model into that file; it is refused, and the file is left as it was."""
    db = sample_ledger(tmp_path)
    other = other_ledger(tmp_path / "other")
    for store in (db, other):
        before = Path(store).read_bytes()
        monkeypatch.setenv("LEDGER_VIEWS", store)
        assert cli(db, *command) == (
            2,
            "",
            f"error: {store} is an event store: a read model cannot be written there "
            "(set LEDGER_VIEWS to a file of its own)\n",
        )
        assert Path(store).read_bytes() == before
    monkeypatch.delenv("LEDGER_VIEWS")
    assert cli(db, "verify")[0] == 0


def test_a_read_refuses_a_database_of_something_else_named_as_its_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``LEDGER_VIEWS`` naming someone's own SQLite file: a read wrote a whole read model
    into it, beside their tables; it is refused, and the file is left as it was. A model of
    any version (it keeps ``tracking``) is still a model, a table of someone's own in it
    or not."""
    db = sample_ledger(tmp_path)
    mine = tmp_path / "mine.db"
    with closing(sqlite3.connect(mine)) as conn, conn:
        conn.execute("CREATE TABLE people (name TEXT)")
        conn.execute("INSERT INTO people VALUES ('Ali')")
    before = mine.read_bytes()
    monkeypatch.setenv("LEDGER_VIEWS", str(mine))
    refused = (
        2,
        "",
        f"error: {mine} is a SQLite database of something else: a read model cannot be "
        "written there (set LEDGER_VIEWS to a file of its own)\n",
    )
    for command in (["state", "ghwayran-2022"], ["search", "Ghwayran"], ["incidents"]):
        assert cli(db, *command) == refused
    assert mine.read_bytes() == before
    model = Path(db).with_suffix(".views.db")
    with closing(sqlite3.connect(model)) as conn, conn:
        conn.execute("CREATE TABLE my_notes (note TEXT)")
    monkeypatch.setenv("LEDGER_VIEWS", str(model))
    assert cli(db, "incidents")[0] == 0


@pytest.mark.parametrize(
    "theirs",
    [
        ["CREATE TABLE incidents (id TEXT, what TEXT, severity INTEGER)"],
        ["CREATE TABLE sources (id TEXT)", "CREATE TABLE reports (id TEXT)"],
        ["CREATE TABLE tracking (parcel TEXT, status TEXT)"],
        # an event processor's own: a model's two first columns, not its schema_version
        [
            "CREATE TABLE tracking (projection TEXT PRIMARY KEY, position INTEGER)",
            "INSERT INTO tracking VALUES ('understanding', 7)",
            "CREATE TABLE incidents (id TEXT)",
        ],
    ],
)
def test_a_database_whose_tables_a_model_also_has_is_not_a_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, theirs: list[str]
) -> None:
    """Someone's own ``incidents``, ``sources`` or ``tracking``: names a model has too, but
    not a model (no read model's tracking table). A read refused it only after writing a
    model beside them; ``replay --out`` replaced the whole file."""
    db = sample_ledger(tmp_path)
    mine = tmp_path / "mine.db"
    with closing(sqlite3.connect(mine)) as conn, conn:
        for statement in theirs:
            conn.execute(statement)
    before = mine.read_bytes()
    said = f"error: {mine} is a SQLite database of something else"
    assert cli(db, "replay", "--out", str(mine)) == (2, "", f"{said}: refusing to overwrite it\n")
    monkeypatch.setenv("LEDGER_VIEWS", str(mine))
    assert cli(db, "incidents") == (
        2,
        "",
        f"{said}: a read model cannot be written there (set LEDGER_VIEWS to a file of its own)\n",
    )
    assert mine.read_bytes() == before


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_a_file_sqlite_keeps_beside_the_store_is_never_a_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """``LEDGER_VIEWS`` naming the store's ``-wal`` made a read model there, and the next
    write left the store unreadable ("database disk image is malformed")."""
    db = sample_ledger(tmp_path)
    monkeypatch.setenv("LEDGER_VIEWS", db + suffix)
    for command in (["note", "incident:ghwayran-2022", "--text", "hi"], ["verify"]):
        assert cli(db, *command) == (
            2,
            "",
            f"error: {db}{suffix} is a file SQLite keeps beside {db}: a read model cannot be "
            "written there (set LEDGER_VIEWS to a file of its own)\n",
        )
    monkeypatch.delenv("LEDGER_VIEWS")
    assert cli(db, "verify")[0] == 0
    assert cli(db, "history", "ghwayran-2022", "attack.started")[0] == 0
    # beside a folder of that name, it is an ordinary file name
    (tmp_path / "desk").mkdir()
    monkeypatch.setenv("LEDGER_VIEWS", str(tmp_path / f"desk{suffix}"))
    assert cli(db, "state", "ghwayran-2022")[0] == 0


def test_the_model_beside_a_store_is_never_another_store(tmp_path: Path) -> None:
    """A ledger ``a.db`` keeps its model at ``a.views.db``: when that file is another
    ledger's event store, no command writes a read model into it; ``init`` makes no
    ledger there."""
    beside = tmp_path / "a.views.db"
    refused = (
        2,
        "",
        f"error: {beside} is an event store: a read model cannot be written there "
        "(set LEDGER_VIEWS to a file of its own)\n",
    )
    db = str(tmp_path / "a.db")
    Path(other_ledger(tmp_path / "b")).replace(beside)
    before = beside.read_bytes()
    assert cli(db, "init") == refused
    assert not Path(db).exists()
    beside.replace(tmp_path / "b.db")
    sample = sample_ledger(tmp_path / "s")
    Path(sample).replace(db)  # a ledger whose own model is gone; the other store in its place
    for path in (tmp_path / "s").glob("*"):
        path.unlink()
    (tmp_path / "b.db").replace(beside)
    for command in (["state", "ghwayran-2022"], ["search", "x"], ["verify"]):
        assert cli(db, *command) == refused, command
    assert beside.read_bytes() == before
    assert sorted(p.name for p in tmp_path.glob("a.views.db*")) == ["a.views.db"]


def test_a_refused_store_is_not_written_beside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Looking at a store named as the model leaves no ``-shm`` or ``-wal`` beside it."""
    db = sample_ledger(tmp_path)
    other = Path(other_ledger(tmp_path / "other"))
    for side in ("-wal", "-shm"):
        other.with_name(other.name + side).unlink(missing_ok=True)
    monkeypatch.setenv("LEDGER_VIEWS", str(other))
    assert cli(db, "state", "ghwayran-2022")[0] == 2
    assert sorted(p.name for p in other.parent.iterdir() if p.name.startswith(other.name)) == [
        other.name
    ]


def test_the_model_beside_the_store_is_held_to_the_same_rule(tmp_path: Path) -> None:
    """The read model's own place beside the store, when it holds someone's ``incidents``
    (a name a model has too, and no read model's tracking table): a read took it for a
    model and wrote one around their table. It is refused as a named model is."""
    db = sample_ledger(tmp_path)
    model = Path(db).with_suffix(".views.db")
    for suffix in ("", "-wal", "-shm"):
        model.with_name(model.name + suffix).unlink(missing_ok=True)
    with closing(sqlite3.connect(model)) as conn, conn:
        conn.execute("CREATE TABLE incidents (id TEXT, what TEXT, severity INTEGER)")
        conn.execute("INSERT INTO incidents VALUES ('x', 'mine', 3)")
    before = model.read_bytes()
    assert cli(db, "incidents") == (
        2,
        "",
        f"error: {model} is a SQLite database of something else: a read model cannot be "
        "written there (set LEDGER_VIEWS to a file of its own)\n",
    )
    assert model.read_bytes() == before


def test_a_database_of_something_else_with_its_log_beside_is_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone's own WAL-mode file whose tables are still only in its ``-wal`` (its
    program died before a checkpoint): the file looks empty to a reader that ignores the
    log, so a read opened it for writing, and that open's close merged the log into it
    before the refusal. It is refused, file and log as they were."""
    db = sample_ledger(tmp_path)
    live = tmp_path / "live.db"
    mine = tmp_path / "mine.db"
    with closing(sqlite3.connect(live)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        with conn:
            conn.execute("CREATE TABLE people (name TEXT)")
            conn.execute("INSERT INTO people VALUES ('Ali')")
        for suffix in ("", "-wal"):  # as a crash leaves them
            shutil.copyfile(f"{live}{suffix}", f"{mine}{suffix}")
    log = Path(f"{mine}-wal")
    before = (mine.read_bytes(), log.read_bytes())
    assert log.stat().st_size > 0
    monkeypatch.setenv("LEDGER_VIEWS", str(mine))
    assert cli(db, "incidents") == (
        2,
        "",
        f"error: {mine} is a SQLite database of something else: a read model cannot be "
        "written there (set LEDGER_VIEWS to a file of its own)\n",
    )
    assert (mine.read_bytes(), log.read_bytes()) == before
