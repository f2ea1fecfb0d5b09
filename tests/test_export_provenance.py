"""Every export names its checkpoint and, per record, the leaf of the event it comes from."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger.stores.location import locate
from tests.chained import make

runner = CliRunner()


@pytest.fixture
def db(store_url: str, tmp_path: Path) -> str:
    """The sample ledger with a retraction, corrections and an assessment, on each backend."""
    return make(store_url, tmp_path)


class Log:
    """The full JSONL bundle of the ledger: the leaves by index, and the checkpoint."""

    def __init__(self, db: str, out: Path) -> None:
        result = runner.invoke(app, ["--db", db, "export", "--format", "jsonl", "--out", str(out)])
        assert result.exit_code == 0, result.output
        self.lines = (out / "leaves.jsonl").read_bytes().split(b"\n")[:-1]
        self.note = (out / "checkpoint").read_text("utf-8")
        origin, size, root = self.note.split("\n")[:3]
        self.head = f"{origin} {size} {root}"
        self.origin, self.size, self.root = origin, int(size), root

    def check(self, index: Any, digest: Any, aggregate: str) -> None:
        """The leaf at ``index`` is the creation of ``aggregate`` and hashes to ``digest``."""
        line = self.lines[int(index)]
        event = json.loads(line)
        assert (event["id"], event["version"]) == (aggregate, 1)
        assert hashlib.sha256(b"\x00" + line).hexdigest() == digest


def export(db: str, fmt: str, *args: str) -> str:
    result = runner.invoke(app, ["--db", db, "export", "--format", fmt, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.slow
def test_csv_rows_name_their_leaf_and_checkpoint(db: str, tmp_path: Path) -> None:
    log = Log(db, tmp_path / "bundle")
    rows = list(csv.DictReader(io.StringIO(export(db, "csv").removeprefix("\ufeff"), newline="")))
    assert len(rows) == 81  # the sample's 80 claims and cor-1
    for row in rows:
        log.check(row["leaf_index"], row["leaf_hash"], f"claim:{row['claim']}")
        assert row["checkpoint"] == log.head
    diyala = export(db, "csv", "--incident", "diyala-2022", "--at", "2022-01-22")
    assert {
        r["leaf_index"]
        for r in csv.DictReader(io.StringIO(diyala.removeprefix("\ufeff"), newline=""))
    } <= {r["leaf_index"] for r in rows}


def literal(value: Any) -> Any:
    """A PROV-JSON value: typed literals are written ``{"$": text, "type": …}``."""
    return value["$"] if isinstance(value, dict) else value


PROV_KINDS = ("incident", "source", "report", "claim", "retraction", "assessment")


@pytest.mark.slow
def test_prov_records_name_their_leaf_and_the_export_its_checkpoint(
    db: str, tmp_path: Path
) -> None:
    log = Log(db, tmp_path / "bundle")
    document = json.loads(export(db, "prov"))
    checked: dict[str, int] = {}
    for section in ("entity", "agent", "activity"):
        for name, attributes in document.get(section, {}).items():
            kind, _, record = name.removeprefix("ledger:").partition("-")
            if kind not in PROV_KINDS:
                assert "ledger:leafIndex" not in attributes, name
                continue
            log.check(
                literal(attributes["ledger:leafIndex"]),
                attributes["ledger:leafHash"],
                f"{kind}:{record}",
            )
            checked[kind] = checked.get(kind, 0) + 1
    assert checked == {
        "incident": 2,
        "source": 16,
        "report": 6,
        "claim": 81,
        "retraction": 1,
        "assessment": 1,
    }
    export_entity = document["entity"]["ledger:export"]
    assert export_entity["ledger:checkpoint"] == log.note
    assert export_entity["ledger:checkpointOrigin"] == log.origin
    assert literal(export_entity["ledger:checkpointSize"]) == str(log.size)
    assert export_entity["ledger:checkpointRoot"] == log.root


def identifiers(item: dict[str, Any]) -> dict[str, Any]:
    return {p["propertyID"]: p["value"] for p in item["identifier"]}


@pytest.mark.slow
def test_claimreview_items_name_their_leaves_and_checkpoint(db: str, tmp_path: Path) -> None:
    log = Log(db, tmp_path / "bundle")
    reviews = json.loads(export(db, "claimreview"))
    assert len(reviews) == 1
    review = identifiers(reviews[0])
    log.check(
        review["incident-ledger:leafIndex"], review["incident-ledger:leafHash"], "assessment:as-1"
    )
    assert review["incident-ledger:checkpoint"] == log.note
    claim = identifiers(reviews[0]["itemReviewed"])
    log.check(
        claim["incident-ledger:leafIndex"],
        claim["incident-ledger:leafHash"],
        "claim:c-003-ina-killed-soldiers",
    )


ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.S)
CODE = re.compile(r"<code[^>]*>(.*?)</code>", re.S)


@pytest.mark.slow
def test_html_rows_name_their_leaf_and_the_report_its_checkpoint(db: str, tmp_path: Path) -> None:
    log = Log(db, tmp_path / "bundle")
    page = export(db, "html")
    assert f"<pre>{html.escape(log.note)}</pre>" in page
    kinds = {"claims": "claim", "sources": "source", "reports": "report", "assessments": None}
    checked = {kind: 0 for kind in kinds}
    for table, kind in kinds.items():
        for part in page.split(f'<table class="{table}">')[1:]:
            body = part.split("</table>")[0].split("<tbody>")[1]
            for row in ROW.findall(body):
                codes = [html.unescape(code) for code in CODE.findall(row)]
                # The first code is the record's id (an assessment's row shows its claim).
                record = f"{kind}:{codes[0]}" if kind else "assessment:as-1"
                log.check(codes[-2], codes[-1], record)
                checked[table] += 1
    assert checked == {"claims": 81, "sources": 16, "reports": 6, "assessments": 1}


@pytest.mark.slow
def test_an_export_refuses_a_read_model_row_that_is_not_its_event(db: str, tmp_path: Path) -> None:
    export(db, "csv")  # the read model is up to date
    views = sqlite3.connect(locate(db).views_path, isolation_level=None)
    seq = views.execute("SELECT seq FROM claims WHERE id = 'c-000-sohr-killed-sf'").fetchone()[0]
    views.execute("UPDATE claims SET seq = seq + 1000 WHERE id = 'c-000-sohr-killed-sf'")
    views.execute("UPDATE claims SET seq = ? WHERE id = 'c-000-inmates'", (seq,))
    views.close()
    out = tmp_path / "claims.csv"
    result = runner.invoke(app, ["--db", db, "export", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "c-000-inmates" in result.stderr and "read model does not match" in result.stderr
    assert not out.exists()


def test_a_leaf_is_given_only_for_its_own_records_creation_within_the_checkpoint(
    db: str,
) -> None:
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.audit import Checkpoint, leaf_locations
    from incident_ledger.ledger.errors import ConflictError, VerificationError

    ledger = Ledger(locate(db).event_store_env(create=False))
    try:
        with ledger.audit.reading() as view:
            size = view.size()
            seq = next(
                n.id for n in view.notifications(0, size) if n.originator_id == "claim:cor-1"
            )
        signed = Checkpoint("origin", size, bytes(32), "note")
        located = leaf_locations(ledger, signed, {seq: "claim:cor-1"})
        assert list(located) == [seq]
        with pytest.raises(VerificationError) as wrong:
            leaf_locations(ledger, signed, {seq: "claim:c-000-inmates"})
        assert str(wrong.value) == (
            f"the read model has claim:c-000-inmates at event {seq} of the log, which holds "
            "claim:cor-1 version 1: the read model does not match the store; rebuild it (replay)"
        )
        with pytest.raises(ConflictError) as later:
            leaf_locations(
                ledger,
                Checkpoint("origin", located[seq][0], bytes(32), "note"),
                {seq: "claim:cor-1"},
            )
        assert str(later.value) == (
            f"claim:cor-1 was recorded after checkpoint {located[seq][0]} was signed: "
            "run the export again"
        )
    finally:
        ledger.close()
