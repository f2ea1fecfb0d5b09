"""claims.claim_status, the read model's word for what the desk made of each claim (the
Datasette facet), kept true by the projector through errata, reviews and ends, by a
rebuild in bulk, and checked by verify — read on the desk of ``test_desk_review``."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path

import pytest

import incident_ledger.projections.projector as projector_module
from incident_ledger.ledger.stores.location import locate
from incident_ledger.usecases import rebuilding
from tests.desk_cli import Member, claim


def stored_statuses(model: Path, edit: str = "SELECT 1") -> dict[str, str]:
    """claims.claim_status of every claim, as the read model holds it (after ``edit``)."""
    with contextlib.closing(sqlite3.connect(model)) as conn, conn:
        conn.execute(edit)
        return dict(conn.execute("SELECT id, claim_status FROM claims").fetchall())


def test_a_claims_stored_status_says_what_the_desk_made_of_it(
    desk: tuple[Member, Member, Member], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """claims.claim_status (the Datasette facet) follows errata, reviews and ends, and
    their errata; verify derives it from the model's rows and names an edit of it."""
    alice, bob, eve = desk
    model = locate(alice.db).views_path
    report = {"type": "report", "id": "r3", "source": "sohr", "published_at": "2022-01-22"}
    correction = {**claim("c6", "missing", 5, "r2"), "type": "correction", "claim": "c5"}
    entered = [report, claim("c1", "killed", 7), claim("c2", "killed", 8, "r3"),
               claim("c4", "wounded", 3),
               {"type": "retraction", "id": "x1", "claim": "c4", "report": "r2"},
               claim("c5", "missing", 4), correction]  # fmt: skip
    assert alice.append(entered).returncode == 0
    assert bob.append([claim("c7", "held", 1), claim("c8", "held", 2)]).returncode == 0
    assert bob.append([claim("c9", "held", 3)]).returncode == 0
    assert stored_statuses(model) == {
        "c1": "active", "c2": "active", "c4": "retracted", "c5": "corrected", "c6": "active",
        "c7": "proposed", "c8": "proposed", "c9": "proposed",
    }  # fmt: skip
    alice.ok("erratum", "c1", "--reason", "typo")
    alice.ok("erratum", "report:r3", "--reason", "not a report of this incident")
    alice.ok("erratum", "retraction:x1", "--reason", "wrong claim")
    assert alice.append([claim("c3", "killed", 9, "r3")]).returncode == 0  # after its erratum
    eve.ok("review", "c7", "--approve")
    eve.ok("review", "c8", "--reject")
    bob.ok("retract", "--id", "x2", "--claim", "c6", "--report", "r2")
    assert stored_statuses(model)["c6"] == "retracted"  # a proposed end ends it
    eve.ok("review", "x2", "--reject")
    expected = {
        "c1": "voided", "c2": "voided", "c3": "voided", "c4": "active", "c5": "corrected",
        "c6": "active", "c7": "active", "c8": "rejected", "c9": "proposed",
    }  # fmt: skip
    assert stored_statuses(model) == expected
    assert alice.json("verify")["events"] > 0
    alice.ok("replay")
    assert stored_statuses(model) == expected
    # A rebuild in bulk (statuses given once it ends), its second half by a helper.
    monkeypatch.setattr(projector_module, "BULK_BACKLOG", 0)
    monkeypatch.setattr(projector_module, "PAGE_SIZE", 5)
    monkeypatch.setattr(projector_module, "PARALLEL_BACKLOG", 2)
    rebuilding.replay(alice.db, out=str(tmp_path / "bulk.db"))
    assert stored_statuses(tmp_path / "bulk.db") == expected
    alice.ok("verify")
    stored_statuses(model, "UPDATE claims SET claim_status = 'active' WHERE id = 'c1'")
    failed = alice.run("verify")
    assert failed.returncode == 1
    assert re.search(
        r": claims row id='c1' \(event \d+\): claim_status is 'active' in the read model, "
        r"'voided' in the ledger;",
        failed.stderr,
    ), failed.stderr
