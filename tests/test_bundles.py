"""An incident's bundle proves it is complete: the chains of incidents, on both backends."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.audit import b64
from incident_ledger.ledger.incident_chains import START, ChainMap, Chains, concerned
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.ledger.signednote import format_checkpoint, sign_note
from incident_ledger.ledger.stores.location import locate
from incident_ledger.usecases import auditing, workspace, writing
from tests.chained import (
    DIYALA,
    NAMED_BY,
    cli,
    drop,
    entries,
    export,
    make,
    whole_log_read,
    write_records,
)


@pytest.fixture
def db(store_url: str, tmp_path: Path) -> str:
    """The sample ledger with a retraction, corrections and an assessment, on each backend."""
    return make(store_url, tmp_path)


def test_an_incident_bundle_holds_every_event_concerning_it_and_says_so(
    db: str, tmp_path: Path
) -> None:
    bundle = export(db, tmp_path / "diyala", "--incident", "diyala-2022")
    held = entries(bundle)
    assert [event for event in held if event in DIYALA] == DIYALA
    cited = {event for event in held if event not in DIYALA}
    assert cited == {
        ("report:report-000", 1),
        ("report:report-002", 1),
        ("report:report-003", 1),
        ("report:r-later", 1),
        ("source:misryoum", 1),
        ("source:outlet-002", 1),
        ("source:hafryat", 1),
        ("source:ina", 1),
    }
    entry = json.loads((bundle / "incident.json").read_text("utf-8"))
    assert (entry["incident"], entry["count"]) == ("diyala-2022", len(DIYALA))
    code, out = cli(None, "verify", "--export", str(bundle))
    assert (code, out) == (
        0,
        "ok: 23 entries verified against checkpoint 148 (key taken from the bundle); "
        "complete: all 15 events of incident diyala-2022\n",
    )
    other = export(db, tmp_path / "ghwayran", "--incident", "ghwayran-2022")
    code, out = cli(None, "verify", "--export", str(other))
    complete = "complete: all 107 events of incident ghwayran-2022\n"
    assert (code, out.split("; ")[-1]) == (0, complete)


@pytest.mark.slow
@pytest.mark.parametrize("event", DIYALA, ids=[f"{i}@{v}" for i, v in DIYALA])
def test_a_bundle_missing_any_event_of_its_incident_is_refused(
    db: str, tmp_path: Path, event: tuple[str, int]
) -> None:
    bundle = export(db, tmp_path / "diyala", "--incident", "diyala-2022")
    drop(bundle, event)
    # Without a claim, the events that name it cannot be told to concern the incident.
    shown = 14 - NAMED_BY.get(event, 0)
    code, out = cli(None, "verify", "--export", str(bundle))
    assert (code, out) == (
        1,
        "error: incomplete: checkpoint 148 counts 15 events concerning incident 'diyala-2022' "
        f"but the bundle shows {shown}: events were left out\n",
    )


def test_a_chain_recomputed_by_the_sender_is_not_the_signed_one(db: str, tmp_path: Path) -> None:
    bundle = export(db, tmp_path / "diyala", "--incident", "diyala-2022")
    drop(bundle, ("retraction:ret-1", 1))
    lines = (bundle / "leaves.jsonl").read_bytes().split(b"\n")[:-1]
    chains = Chains()
    chains.add(concerned(lines, lambda claims: {}), map(leaf_hash, lines))
    entry = json.loads((bundle / "incident.json").read_text("utf-8"))
    count, head = chains.heads["diyala-2022"]
    entry |= {"count": count, "head": b64(head)}
    (bundle / "incident.json").write_text(json.dumps(entry), "utf-8")
    code, out = cli(None, "verify", "--export", str(bundle))
    assert code == 1
    assert out.startswith(
        "error: incident.json: the chain of incident 'diyala-2022' is not one checkpoint 148 "
        "signs ("
    )


@pytest.mark.slow
def test_a_bundle_without_its_chain_or_with_another_incidents_is_refused(
    db: str, tmp_path: Path
) -> None:
    bundle = export(db, tmp_path / "diyala", "--incident", "diyala-2022")
    other = export(db, tmp_path / "ghwayran", "--incident", "ghwayran-2022")
    shutil.copy(other / "incident.json", bundle / "incident.json")
    code, out = cli(None, "verify", "--export", str(bundle))
    assert (code, out) == (
        1,
        "error: incomplete: checkpoint 148 counts 107 events concerning incident "
        "'ghwayran-2022' but the bundle shows 0: events were left out\n",
    )
    (bundle / "incident.json").unlink()
    code, out = cli(None, "verify", "--export", str(bundle))
    assert (code, out) == (
        1,
        "error: the bundle holds 23 entries of the signed log but no incident.json: nothing "
        "shows that no event was left out\n",
    )
    (bundle / "incident.json").write_text('{"incident": "diyala-2022"}', "utf-8")
    assert cli(None, "verify", "--export", str(bundle)) == (
        1,
        "error: incident.json is malformed\n",
    )


@pytest.mark.slow
def test_a_known_time_does_not_narrow_a_bundle(db: str, tmp_path: Path) -> None:
    # Whether an event was known by then is read from the events, so all of them are there.
    at = export(db, tmp_path / "at", "--incident", "diyala-2022", "--at", "2022-01-21")
    assert entries(at) == entries(export(db, tmp_path / "now", "--incident", "diyala-2022"))
    full = export(db, tmp_path / "full", "--at", "2022-01-21")
    assert len(entries(full)) == 148
    assert not {"proofs.jsonl", "subtrees.jsonl", "leaf-indexes.txt"} & {
        path.name for path in full.iterdir()
    }
    assert cli(None, "verify", "--export", str(full))[0] == 0


def test_export_help_says_a_bundle_ignores_the_known_time() -> None:
    code, out = cli(None, "export", "--help")
    said = " ".join(out.replace("│", " ").split())
    assert code == 0
    assert "jsonl ignores it: a bundle holds every event, to check that none was left out" in said


def test_an_unknown_incident_writes_nothing(db: str, tmp_path: Path) -> None:
    out = tmp_path / "none"
    code, output = cli(db, "export", "--format", "jsonl", "--out", str(out), "--incident", "nope")
    assert (code, output) == (1, "error: no incident 'nope' in the ledger\n")
    assert not out.exists()


def signer_of(db: str) -> Any:
    return workspace.signing_key(locate(db))


def test_a_full_bundle_checks_the_signed_chains(db: str, tmp_path: Path) -> None:
    bundle = export(db, tmp_path / "full")
    assert cli(None, "verify", "--export", str(bundle))[0] == 0
    checkpoint = auditing.checkpoint(db)
    key = signer_of(db)
    forged = format_checkpoint(
        key.origin,
        checkpoint["size"],
        base64.b64decode(checkpoint["root"]),
        [ChainMap([("diyala-2022", 1, START)]).extension()],
    )
    (bundle / "checkpoint").write_text(sign_note(forged, key.signer), "utf-8")
    code, out = cli(None, "verify", "--export", str(bundle))
    assert (code, out) == (
        1,
        "error: the entries' chains of incidents are not the ones checkpoint 148 signs\n",
    )


def stored_chains(db: str) -> dict[str, tuple[int, bytes]]:
    ledger = Ledger(locate(db).event_store_env(create=False))
    try:
        with ledger.audit.reading() as view:
            return view.chain_heads()
    finally:
        ledger.close()


def run_sql(db: str, statement: str) -> None:
    if db.startswith("postgresql://"):
        import psycopg

        url, _, schema = db.partition("?schema=")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')  # type: ignore[arg-type,unused-ignore]
            conn.execute(statement)  # type: ignore[arg-type,unused-ignore]
        return
    lite = sqlite3.connect(db, isolation_level=None)
    lite.execute(statement)
    lite.close()


def test_a_store_written_before_the_chains_gets_them_when_opened(db: str) -> None:
    before = stored_chains(db)
    assert before["diyala-2022"][0] == len(DIYALA)
    assert before["ghwayran-2022"][0] == 107
    old = auditing.checkpoint(db)
    run_sql(db, "DROP TABLE incident_chains")
    run_sql(db, f"UPDATE checkpoints SET note = '{_without_chains(db, old)}'")
    assert stored_chains(db) == before
    again = auditing.checkpoint(db)  # the same size, signed again with the chains
    assert (again["size"], again["root"], again["chains"]) == (
        old["size"],
        old["root"],
        old["chains"],
    )
    code, out = cli(db, "verify")
    assert (code, out.splitlines()[0].split(", ")[-1]) == (0, "1 checkpoint(s) verified")


def _without_chains(db: str, checkpoint: dict[str, Any]) -> str:
    key = signer_of(db)
    root = base64.b64decode(checkpoint["root"])
    return sign_note(format_checkpoint(key.origin, checkpoint["size"], root), key.signer)


def test_verify_names_an_incident_whose_stored_chain_was_edited(db: str, tmp_path: Path) -> None:
    auditing.checkpoint(db)
    run_sql(db, "UPDATE incident_chains SET size = size + 1 WHERE incident = 'diyala-2022'")
    code, out = cli(db, "verify")
    assert (code, out) == (
        1,
        "error: incident 'diyala-2022': the store's chain of the events that concern it does "
        "not match the log (16 in the store, 15 in the log): the chains were edited\n",
    )
    code, out = cli(db, "checkpoint")
    assert (code, out) == (
        1,
        "error: checkpoint 148 commits to other chains of incidents than the store holds "
        "(they were edited): run verify\n",
    )
    writing.append_file(
        db,
        write_records(
            tmp_path / "one.jsonl",
            [{"type": "report", "id": "r-one", "source": "sohr", "published_at": "2022-02-02"}],
        ),
    )
    assert cli(db, "checkpoint")[0] == 0  # signs what the store holds
    code, out = cli(db, "verify")
    assert (code, out) == (
        1,
        "error: checkpoint 150: the signed chains of incidents do not match the events that "
        "concern them\n",
    )


@pytest.mark.slow
def test_two_writers_extend_one_chain_one_after_the_other(db: str, tmp_path: Path) -> None:
    files = [
        write_records(
            tmp_path / f"w{w}.jsonl",
            [
                {"type": "claim", "id": f"w{w}-{n}", "incident": "diyala-2022",
                 "fact": "killed.soldiers", "value": n, "report": "r-later"}
                for n in range(40)
            ],
        )
        for w in range(2)
    ]  # fmt: skip
    failures: list[BaseException] = []

    def write(path: str) -> None:
        try:
            writing.append_file(db, path)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(path,)) for path in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert stored_chains(db)["diyala-2022"][0] == len(DIYALA) + 80
    assert cli(db, "verify")[0] == 0
    bundle = export(db, tmp_path / "diyala", "--incident", "diyala-2022")
    assert cli(None, "verify", "--export", str(bundle))[0] == 0


@pytest.mark.parametrize("incident", ["diyala-2022", "ghwayran-2022"])
def test_an_incident_bundle_reads_only_its_events_and_what_they_cite(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, incident: str
) -> None:
    whole = export(db, tmp_path / "whole", "--incident", incident)  # the model read first
    walks = whole_log_read(monkeypatch)
    bundle = export(db, tmp_path / "read", "--incident", incident)
    assert walks == []
    for name in ("leaves.jsonl", "leaf-indexes.txt", "subtrees.jsonl", "incident.json"):
        assert (bundle / name).read_bytes() == (whole / name).read_bytes(), name
    assert cli(None, "verify", "--export", str(bundle))[0] == 0


def test_an_incident_bundle_reads_the_whole_log_when_the_model_misplaces_an_event(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incident_ledger.projections import incidents

    walks = whole_log_read(monkeypatch)
    found = incidents.events_of_incident
    wrong = {
        "missing": lambda db, incident: sorted(found(db, incident) or ())[1:],
        "another's": lambda db, incident: (
            (found(db, incident) or set()) | (found(db, "ghwayran-2022") or set())
        ),
    }
    first = export(db, tmp_path / "first", "--incident", "diyala-2022")
    assert walks == []
    read = {}
    for name, positions in wrong.items():
        monkeypatch.setattr(incidents, "events_of_incident", positions)
        bundle = export(db, tmp_path / name, "--incident", "diyala-2022")
        assert entries(bundle) == entries(first), name
        read[name], walks[:] = len(walks), []
    # A missing event breaks the incident's chain: the whole log is read instead (to check
    # the chains, then to pick the leaves). Another incident's events are left out.
    assert read == {"missing": 2, "another's": 0}


@pytest.mark.slow
@pytest.mark.parametrize("seq", ["'abc'", "NULL", "X'00'", "1.5"])
def test_an_unreadable_placement_reads_the_whole_log(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seq: str
) -> None:
    first = export(db, tmp_path / "first", "--incident", "diyala-2022")
    lite = sqlite3.connect(locate(db).views_path, isolation_level=None)
    # (a claim's seq is its row's id, which holds only whole numbers: the incident's own
    # row is damaged instead)
    lite.execute(f"UPDATE incidents SET seq = {seq} WHERE id = 'diyala-2022'")
    lite.close()
    walks = whole_log_read(monkeypatch)
    bundle = export(db, tmp_path / "edited", "--incident", "diyala-2022")
    assert walks  # the whole log, since the model cannot say where the events are
    for name in ("leaves.jsonl", "leaf-indexes.txt", "subtrees.jsonl", "incident.json"):
        assert (bundle / name).read_bytes() == (first / name).read_bytes(), name
    assert cli(None, "verify", "--export", str(bundle))[0] == 0


@pytest.mark.parametrize(
    ("dropped", "said"),
    [
        (("report:report-002", 1), "claim c-002-diyala-killed-soldiers cites report report-002"),
        (("source:ina", 1), "claim c-003-ina-killed-soldiers cites source ina"),
    ],
)
def test_a_bundle_missing_a_record_its_events_cite_is_incomplete(
    db: str, tmp_path: Path, dropped: tuple[str, int], said: str
) -> None:
    bundle = export(db, tmp_path / "diyala", "--incident", "diyala-2022")
    drop(bundle, dropped)
    code, out = cli(None, "verify", "--export", str(bundle))
    assert (code, out) == (1, f"error: incomplete: {said}, which the bundle lacks\n")
