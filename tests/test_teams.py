"""Teams and failures: concurrent writers, a correction race, crashes, full disk, read-only."""

from __future__ import annotations

import json
import random
import re
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import ConflictError
from incident_ledger.ledger.imports import importer
from incident_ledger.ledger.imports.importer import Entry
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.stores.location import locate
from incident_ledger.projections.views import Views
from incident_ledger.usecases import auditing, rebuilding, writing
from incident_ledger.usecases.workspace import acting_key
from tests.events import immutable

ROOT = Path(__file__).resolve().parents[1]
SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
]


def claims(prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "claim",
            "id": f"{prefix}-{n}",
            "incident": "g",
            "fact": "killed.total",
            "value": n,
            "report": "r1",
            "quote": "قتلى",
        }
        for n in range(count)
    ]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return str(path)


def ledger_cli(db: str, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "incident_ledger.cli.main", "--db", db, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def stored_ids(db: str) -> Counter[str]:
    return Counter(f"{r['type']}:{r['id']}" for r in auditing.export_records(db))


def copies_in_store(db: str, records: list[dict[str, Any]]) -> list[int]:
    """How many creation events each record has in the event store (0 or 1 expected)."""
    ledger = Ledger(locate(db).event_store_env(create=False))
    try:
        return [len(ledger.recorder.select_events(f"claim:{r['id']}", lte=1)) for r in records]
    finally:
        ledger.close()


@pytest.fixture
def db(store_url: str, tmp_path: Path) -> str:
    writing.init(store_url)
    writing.append_file(store_url, write_jsonl(tmp_path / "setup.jsonl", SETUP))
    return store_url


WRITER = """
import sys
from pathlib import Path
from incident_ledger.usecases import auditing
from incident_ledger.usecases import writing
from incident_ledger.ledger.errors import ConflictError
db, files = sys.argv[1], sys.argv[2:]
for name in files:
    while True:  # what a user does on a conflict: run the same command again
        try:
            writing.append_file(db, name)
            break
        except ConflictError:
            continue
"""


def test_concurrent_writers_lose_and_duplicate_nothing(db: str, tmp_path: Path) -> None:
    writers, batches, size = 4, 6, 25
    shared = write_jsonl(tmp_path / "shared.jsonl", claims("shared", 30))
    processes = []
    for w in range(writers):
        files = [
            write_jsonl(tmp_path / f"w{w}-{b}.jsonl", claims(f"w{w}b{b}", size))
            for b in range(batches)
        ]
        files.insert(batches // 2, shared)  # every writer also imports the same records
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", WRITER, db, *files],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for process in processes:
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
    counts = stored_ids(db)
    expected = {
        f"claim:w{w}b{b}-{n}" for w in range(writers) for b in range(batches) for n in range(size)
    } | {f"claim:shared-{n}" for n in range(30)}
    assert expected <= set(counts)
    assert max(counts.values()) == 1
    result = auditing.verify(db)
    # one signed batch per import that added records (each writer's files, the shared
    # file once, the setup) and the desk's first admin's; one event that gives
    # killed.total its kind, from whichever claim came first; the desk's first admin
    assert result["batches"] == writers * batches + 3
    assert result["events"] == len(SETUP) + len(expected) + 1 + 1 + result["batches"]
    assert result["tree_size"] == result["events"]  # one gapless order, every event a leaf


def test_two_writers_correcting_one_claim_one_wins(db: str, tmp_path: Path) -> None:
    writing.append_file(db, write_jsonl(tmp_path / "c.jsonl", claims("c", 1)))
    env = locate(db).event_store_env()
    first, second = Ledger(env), Ledger(env)
    first.actor = second.actor = acting_key(locate(db))  # both the desk's admin

    def correction(record_id: str, value: int) -> Entry:
        record = {
            "type": "correction",
            "id": record_id,
            "claim": "c-0",
            "incident": "g",
            "fact": "killed.total",
            "value": value,
            "report": "r1",
        }
        return Entry("input", validate_record(record, "input"))

    # The second writer has read the claim when the first tries to save its own
    # correction: exactly the interleaving of two desks at once. An import holds
    # the store's write lock from its first read, so the first waits, then finds
    # the claim corrected and is told so; nothing is half-written.
    import threading
    import time

    from incident_ledger.ledger.imports import rules

    original = rules.Checks._load_claim
    outcome: dict[str, BaseException | None] = {}

    def first_writer() -> None:
        try:
            importer.record(first, [correction("fix-a", 5)])
            outcome["first"] = None
        except BaseException as error:  # reported below
            outcome["first"] = error

    racer = threading.Thread(target=first_writer)

    def interleaved(batch: Any, spooled: Any, claim_id: str) -> Any:
        claim = original(batch, spooled, claim_id)
        if batch.ledger is second and not racer.is_alive():
            racer.start()
            time.sleep(1.0)  # the first writer is now waiting for the lock
        return claim

    rules.Checks._load_claim = interleaved  # type: ignore[method-assign,assignment]
    try:
        importer.record(second, [correction("fix-b", 6)])
        racer.join(timeout=60)
    finally:
        rules.Checks._load_claim = original  # type: ignore[method-assign]
        first.close()
        second.close()
    lost = outcome["first"]
    assert isinstance(lost, ConflictError), lost
    recorded = r"\(recorded \d{4}-\d\d-\d\dT[\d:.]+Z by [^)]+\)"
    assert re.fullmatch(
        rf"input: claim 'c-0' was already corrected by 'fix-b' {recorded}; correct 'fix-b' "
        "instead",
        str(lost),
    ), lost
    counts = stored_ids(db)
    assert counts["correction:fix-b"] == 1
    assert "correction:fix-a" not in counts  # nothing half-written
    # the fact's kind, claim, correction, superseded; the desk's first admin and the
    # signatures of four batches (init, the setup, the claim, the correction)
    assert auditing.verify(db)["events"] == len(SETUP) + 4 + 5
    process = ledger_cli(
        db,
        "correct",
        "--id",
        "fix-c",
        "--claim",
        "c-0",
        "--incident",
        "g",
        "--fact",
        "killed.total",
        "--value",
        "7",
        "--report",
        "r1",
    )
    _, err = process.communicate(timeout=60)
    # Corrected before this command began: bad input, not a race.
    assert process.returncode == 2
    assert re.fullmatch(
        rf"error: input: claim: claim 'c-0' was already corrected by 'fix-b' {recorded}; "
        "correct 'fix-b' instead\n",
        err,
    ), err


def test_kill_9_during_bulk_import(db: str, tmp_path: Path) -> None:
    rng = random.Random(20220120)
    tally = Counter[str]()
    for trial in range(20):
        records = claims(f"t{trial}", 800)
        source = write_jsonl(tmp_path / f"t{trial}.jsonl", records)
        process = ledger_cli(db, "append", "--file", source)
        time.sleep(rng.uniform(0.05, 0.6))  # interpreter start and import both get hit
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        tally["trials"] += 1
        verified = auditing.verify(db)  # raises on any inconsistency
        tally["verify failures"] += 0 if verified else 1
        copies = copies_in_store(db, records)
        present = sum(copies)
        tally["duplicated"] += sum(1 for n in copies if n > 1)
        assert present in (0, len(records)), f"trial {trial}: a partial import ({present})"
        tally["killed before commit" if present == 0 else "killed after commit"] += 1
        rerun = ledger_cli(db, "append", "--file", source)
        _, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err
        tally["lost"] += sum(1 for n in copies_in_store(db, records) if n == 0)
    auditing.verify(db)
    print("crash trials:", dict(tally))
    assert tally["lost"] == tally["duplicated"] == tally["verify failures"] == 0


def test_kill_9_during_replay_resumes_to_a_full_rebuild(db: str, tmp_path: Path) -> None:
    writing.append_file(db, write_jsonl(tmp_path / "big.jsonl", claims("big", 6000)))
    location = locate(db)
    rng = random.Random(7)
    for _ in range(3):
        process = ledger_cli(db, "replay")
        time.sleep(rng.uniform(0.3, 1.2))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        state = ledger_cli(db, "state", "g", "--at", "2022-01-22", "--json")
        out, err = state.communicate(timeout=120)
        assert state.returncode == 0, err
        positions = json.loads(out)["facts"]["killed.total"]["positions"]
        # sohr's claims in its one report are one position, read together
        assert [(p["claimant"], len(p["claims"])) for p in positions] == [("sohr", 6000)]
        rebuilt = tmp_path / "rebuilt.views.db"
        rebuilt.unlink(missing_ok=True)
        rebuilding.replay(db, out=str(rebuilt))
        live, fresh = Views(location.views_path), Views(rebuilt)
        try:
            assert live.dump() == fresh.dump()
            assert live.position() == fresh.position()
        finally:
            live.close()
            fresh.close()


def _limit_file_size(limit: int) -> Any:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write with EFBIG, don't die
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_full_disk_gives_one_clear_error_and_no_corruption(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    writing.init(db)
    writing.append_file(db, write_jsonl(tmp_path / "setup.jsonl", SETUP))
    before = stored_ids(db)
    size = max(p.stat().st_size for p in tmp_path.glob("ledger.db*"))
    source = write_jsonl(tmp_path / "big.jsonl", claims("big", 4000))
    process = ledger_cli(
        db, "append", "--file", source, preexec_fn=_limit_file_size(size + 64 * 1024)
    )
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert err.startswith("error: cannot write to the event store: ")  # "disk I/O error"
    assert len(err.strip().splitlines()) == 1
    assert stored_ids(db) == before
    auditing.verify(db)
    writing.append_file(db, source)  # with room again, the same import completes
    assert sum(1 for key in stored_ids(db) if key.startswith("claim:big-")) == 4000


def test_read_only_store_gives_one_clear_error_and_no_corruption(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    writing.init(db)
    writing.append_file(db, write_jsonl(tmp_path / "setup.jsonl", SETUP))
    source = write_jsonl(tmp_path / "more.jsonl", claims("more", 10))
    with immutable(db):
        process = ledger_cli(db, "append", "--file", source)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err == f"error: the ledger at {db} is read-only: nothing was written\n"
    auditing.verify(db)
    assert not any(key.startswith("claim:more-") for key in stored_ids(db))
