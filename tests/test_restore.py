"""The round trip: a JSONL bundle restores a ledger that answers every question as the
original did, on each backend; an unverifiable bundle restores nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.usecases import writing
from tests.chained import make
from tests.conftest import POSTGRES_URL, drop_schema, made_key

runner = CliRunner()
POLICIES = ("range", "conservative", "latest", "preferred")


class Place:
    """Where a ledger lives: its store, and (for PostgreSQL) its read model and key."""

    def __init__(self, db: str, folder: Path) -> None:
        self.db = db
        self.env = {"LEDGER_VIEWS": str(folder / "views.db"), "LEDGER_KEY": str(folder / "key")}

    @contextmanager
    def active(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
        with monkeypatch.context() as patched:
            if self.db.startswith("postgresql"):
                for name, value in self.env.items():
                    patched.setenv(name, value)
            yield self.db

    def run(self, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
        with self.active(monkeypatch) as db:
            result = runner.invoke(app, ["--db", db, *args])
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def places(store_url: str, tmp_path: Path) -> Iterator[tuple[Place, Place]]:
    """An original ledger's place and an empty one on the same backend."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    if store_url.startswith("postgresql"):
        assert POSTGRES_URL is not None
        schema = f"t_{uuid.uuid4().hex[:12]}"
        made_key(tmp_path / "a" / "key")  # the original's init registers its admin with it
        made_key(tmp_path / "b" / "key")  # and restore, as init, gives the new ledger its own
        yield (
            Place(store_url, tmp_path / "a"),
            Place(f"{POSTGRES_URL}?schema={schema}", tmp_path / "b"),
        )
        drop_schema(schema)
    else:
        yield Place(store_url, tmp_path / "a"), Place(str(tmp_path / "b" / "restored.db"), tmp_path)


def state(place: Place, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    code, out, err = place.run(monkeypatch, "state", *args, "--json")
    assert code == 0, err
    answer: dict[str, Any] = json.loads(out)
    return answer


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_restored_ledger_answers_as_the_original(
    places: tuple[Place, Place], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Any
) -> None:
    original, restored = places
    bundle = tmp_path / f"bundle-{uuid.uuid4().hex[:8]}"
    if not (tmp_path / "made").exists():
        with original.active(monkeypatch) as db:
            make(db, tmp_path)
            writing.rate(db, "sohr", "B", reason="a later review", effective_from="2022-01-23")
        assert (
            original.run(monkeypatch, "export", "--format", "jsonl", "--out", str(bundle))[0] == 0
        )
        code, out, err = restored.run(monkeypatch, "restore", str(bundle), "--json")
        assert code == 0, err
        assert json.loads(out)["events"] == len((bundle / "leaves.jsonl").read_bytes().splitlines())
        (tmp_path / "made").touch()
        # The same leaves, byte for byte: the same log, so the bundle verifies against it.
        first, again = (p.run(monkeypatch, "checkpoint") for p in (original, restored))
        assert first[1].split("\n")[1:3] == again[1].split("\n")[1:3]
    incident = data.draw(st.sampled_from(["ghwayran-2022", "diyala-2022"]))
    day = data.draw(st.dates(datetime(2022, 1, 19).date(), datetime(2022, 2, 3).date()))
    policy = data.draw(st.sampled_from(POLICIES))
    args = [incident, "--at", day.isoformat(), "--policy", policy]
    if data.draw(st.booleans()):
        # As the ledger stood a moment ago: the restored events keep their recorded times.
        ago = data.draw(st.integers(0, 120))
        moment = datetime.now(UTC) - timedelta(seconds=ago)
        args += ["--as-recorded", moment.isoformat()]
    assert state(restored, monkeypatch, *args) == state(original, monkeypatch, *args)


def test_a_restored_ledger_records_its_own_key_and_signs_with_it_alone(
    places: tuple[Place, Place], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundle's desk brings the original's first admin, whose key the restored ledger
    does not hold: restore signs the restored log's first checkpoint with the ledger's
    own key, which is then the key its log records, and no other key signs after it."""
    original, restored = places
    with original.active(monkeypatch) as db:
        make(db, tmp_path)
    bundle = str(tmp_path / "bundle")
    assert original.run(monkeypatch, "export", "--format", "jsonl", "--out", bundle)[0] == 0
    assert restored.run(monkeypatch, "restore", bundle)[0] == 0
    assert json.loads(restored.run(monkeypatch, "verify", "--json")[1])["checkpoints"] == 1
    stranger = made_key(tmp_path / "stranger.key")
    with monkeypatch.context() as kept:  # --key sets LEDGER_KEY in this process
        kept.setenv("LEDGER_KEY", "")
        code, _, err = restored.run(monkeypatch, "--key", str(stranger), "checkpoint")
    assert (code, err.split(" may not ")[1]) == (
        2,
        "sign a checkpoint: it is not the ledger's own key, which alone signs its "
        "checkpoints; run the command with the ledger's key\n",
    )
    signed = restored.run(monkeypatch, "checkpoint")
    assert signed[0::2] == (0, ""), signed
    assert restored.run(monkeypatch, "verify", "--export", bundle)[0] == 0


def test_an_unverifiable_bundle_restores_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    make(db, tmp_path)
    bundle = tmp_path / "bundle"
    assert (
        runner.invoke(
            app, ["--db", db, "export", "--format", "jsonl", "--out", str(bundle)]
        ).exit_code
        == 0
    )
    leaves = bundle / "leaves.jsonl"
    leaves.write_bytes(leaves.read_bytes().replace(b'"value":20', b'"value":21', 1))
    target = tmp_path / "restored.db"
    result = runner.invoke(app, ["--db", str(target), "restore", str(bundle)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert not target.exists()


def test_restore_refuses_a_ledger_that_holds_events(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    make(db, tmp_path)
    bundle = tmp_path / "bundle"
    runner.invoke(app, ["--db", db, "export", "--format", "jsonl", "--out", str(bundle)])
    result = runner.invoke(app, ["--db", db, "restore", str(bundle)])
    assert result.exit_code == 1
    assert result.stderr == f"error: {db} already holds events: restore into a new ledger\n"


def test_an_incident_bundle_is_not_a_ledger(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    make(db, tmp_path)
    bundle = tmp_path / "bundle"
    args = [
        "--db",
        db,
        "export",
        "--format",
        "jsonl",
        "--incident",
        "diyala-2022",
        "--out",
        str(bundle),
    ]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, ["--db", str(tmp_path / "r.db"), "restore", str(bundle)])
    assert result.exit_code == 2
    assert "holds one incident's events" in result.stderr


def test_restore_reads_the_captures_of_the_leaves_once_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify_bundle counts the captures; restore takes its count, and looks for the
    captures' files only when there are some: a bundle without any is read for them once."""
    from incident_ledger.ledger import evidence_files

    db = str(tmp_path / "a.db")
    make(db, tmp_path)
    bundle = tmp_path / "bundle"
    exported = runner.invoke(app, ["--db", db, "export", "--format", "jsonl", "--out", str(bundle)])
    assert exported.exit_code == 0
    leaves = len((bundle / "leaves.jsonl").read_bytes().split(b"\n")) - 1
    read: list[bytes] = []
    original = evidence_files.captured_in

    def counted(leaf: bytes) -> Any:
        read.append(leaf)
        return original(leaf)

    monkeypatch.setattr(evidence_files, "captured_in", counted)
    result = runner.invoke(app, ["--db", str(tmp_path / "b.db"), "restore", str(bundle)])
    assert result.exit_code == 0, result.stderr
    assert len(read) == leaves


def test_restore_says_the_new_ledgers_key_and_the_checkpoint_it_signed(
    places: tuple[Place, Place], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original, restored = places
    with original.active(monkeypatch) as db:
        make(db, tmp_path)
    bundle = str(tmp_path / "bundle")
    assert original.run(monkeypatch, "export", "--format", "jsonl", "--out", bundle)[0] == 0
    bundled = (Path(bundle) / "checkpoint").read_text().split("\n", 1)[0]
    code, out, err = restored.run(monkeypatch, "restore", bundle, "--json")
    assert (code, err) == (0, ""), err
    answer = json.loads(out)
    verifier = answer["verifier_key"]
    assert answer["checkpoint"]["origin"] == verifier.split("+", 1)[0] != bundled
    again = json.loads(restored.run(monkeypatch, "checkpoint", "--json")[1])
    assert answer["checkpoint"] == again  # the one restore signed: nothing was added since
    checked = restored.run(monkeypatch, "verify", "--key", verifier, "--json")
    assert json.loads(checked[1])["checkpoints"] == 1
    with monkeypatch.context() as patched:  # the table says the same
        patched.setenv("LEDGER_KEY", "")
        shown = runner.invoke(app, ["--db", str(tmp_path / "r.db"), "restore", bundle])
    assert shown.exit_code == 0, shown.stderr
    key = tmp_path / "r.key"
    printed = key.read_text().strip()
    from incident_ledger.ledger.signednote import verifier_from_signer

    assert f"signing key created at {key}; verifier key:\n{verifier_from_signer(printed)}\n" in (
        shown.stdout
    )
    assert "checkpoint signed: " in shown.stdout


def test_restore_takes_the_key_named_as_init_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incident_ledger.usecases.desk_admin import create_key_file

    monkeypatch.setenv("LEDGER_KEY", "")
    db = str(tmp_path / "a.db")
    make(db, tmp_path)
    bundle = exported(db, tmp_path / "bundle")
    missing = runner.invoke(app, ["--db", str(tmp_path / "r.db"), "--key",
                                  str(tmp_path / "nobody.key"), "restore", bundle])  # fmt: skip
    assert missing.exit_code == 2
    assert missing.stderr.startswith(f"error: no key at {tmp_path / 'nobody.key'}: ")
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "r.key").exists()
    carol = tmp_path / "carol.key"
    public = create_key_file(carol, "incident-ledger-member-carol")
    done = runner.invoke(app, ["--db", str(tmp_path / "r.db"), "--key", str(carol), "restore",
                               bundle, "--json"])  # fmt: skip
    assert done.exit_code == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["verifier_key"], answer["checkpoint"]["origin"]) == (
        public,
        "incident-ledger-member-carol",
    )
    assert (tmp_path / "r.key").read_text() == carol.read_text()  # kept beside, as init does


def test_init_again_on_a_restored_ledger_knows_its_first_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundle's first admin holds the original's key, not the restored ledger's own:
    init run again, naming them, changes nothing; naming another says who it is."""
    monkeypatch.setenv("LEDGER_KEY", "")
    db, restored = str(tmp_path / "a.db"), str(tmp_path / "r.db")
    make(db, tmp_path)
    bundle = exported(db, tmp_path / "bundle")
    assert runner.invoke(app, ["--db", restored, "restore", bundle]).exit_code == 0
    first = json.loads(runner.invoke(app, ["--db", restored, "members", "--json"]).stdout)[0]
    again = runner.invoke(app, ["--db", restored, "init", "--member", first["id"]])
    assert (again.exit_code, again.stderr) == (0, "")
    assert f"signing key kept at {tmp_path / 'r.key'}" in again.stdout
    other = runner.invoke(app, ["--db", restored, "init", "--member", "zed"])
    assert (other.exit_code, other.stderr) == (
        2,
        f"error: member: this ledger's first admin is '{first['id']}': init registers the "
        "first admin once (other members are added with ledger member add)\n",
    )


def exported(db: str, out: Path) -> str:
    """The folder a whole-ledger JSONL export of ``db`` was written to."""
    done = runner.invoke(app, ["--db", db, "export", "--format", "jsonl", "--out", str(out)])
    assert done.exit_code == 0, done.stderr
    return str(out)
