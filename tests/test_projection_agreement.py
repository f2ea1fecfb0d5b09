"""Stateful: the incrementally maintained read model always equals one rebuilt from scratch.

Modelled on hypothesis' test_database_agreement: random interleavings of appends,
retractions, corrections, replays, partial catch-ups and crashes mid-page, with
the incremental model compared against a fresh rebuild after every step.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import incident_ledger.projections.projector as projector_module
from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import BadInputError, ConflictError
from incident_ledger.ledger.imports import importer
from incident_ledger.ledger.imports.importer import Entry
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.stores.location import locate
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.views import Views

SOURCES = ["s0", "s1", "s2"]
values = st.one_of(
    st.integers(0, 9).map(lambda n: {"value": n}),
    st.tuples(st.integers(0, 9), st.sampled_from(["approx", "at_least", "more_than"])).map(
        lambda t: {"value": t[0], "qualifier": t[1]}
    ),
    st.sampled_from(["sdf", "isis", "2022-01-20", "[2022-01-24,2022-01-31]", True]).map(
        lambda v: {"value": v}
    ),
)


class SimulatedCrash(BaseException):
    """The process dying mid-page (as KeyboardInterrupt or SystemExit would): not an event
    the projector can set aside, but an end to everything it was doing."""


class ProjectionAgreement(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.workdir = Path(tempfile.mkdtemp())
        self.ledger = Ledger(locate(str(self.workdir / "l.db")).event_store_env())
        self.views = Views(self.workdir / "incremental.db")
        self.views.ensure_schema()
        self.projector = Projector(self.ledger, self.views)
        self.claims: list[str] = []
        self.counter = 0
        setup = [{"type": "incident", "id": "i", "title": "I"}]
        setup += [{"type": "source", "id": s, "name": s, "kind": "outlet"} for s in SOURCES]
        setup += [
            {
                "type": "report",
                "id": f"r{d}",
                "source": SOURCES[d % 3],
                "published_at": f"2022-01-{10 + d}",
            }
            for d in range(5)
        ]
        self._record(setup)

    def _record(self, records: list[dict[str, Any]]) -> bool:
        entries = [
            Entry("t", validate_record({k: v for k, v in r.items() if v is not None}, "t"))
            for r in records
        ]
        try:
            importer.record(self.ledger, entries)
        except (ConflictError, BadInputError):  # e.g. a value that does not fit its fact
            return False
        return True

    def _next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    @rule(
        fact=st.sampled_from(["a", "b"]),
        value=values,
        report=st.integers(0, 4),
        claimant=st.sampled_from([None, *SOURCES]),
        copies=st.integers(1, 3),
    )
    def append_claims(
        self, fact: str, value: dict[str, Any], report: int, claimant: str | None, copies: int
    ) -> None:
        batch = []
        for _ in range(copies):
            claim_id = self._next_id("c")
            batch.append(
                {
                    "type": "claim",
                    "id": claim_id,
                    "incident": "i",
                    "fact": fact,
                    "report": f"r{report}",
                    "claimant": claimant,
                }
                | value
            )
        if self._record(batch):
            self.claims += [r["id"] for r in batch]

    @precondition(lambda self: bool(self.claims))
    @rule(pick=st.integers(0, 100), report=st.integers(0, 4))
    def retract(self, pick: int, report: int) -> None:
        claim = self.claims[pick % len(self.claims)]
        self._record(
            [
                {
                    "type": "retraction",
                    "id": self._next_id("x"),
                    "claim": claim,
                    "report": f"r{report}",
                }
            ]
        )

    @precondition(lambda self: bool(self.claims))
    @rule(pick=st.integers(0, 100), value=values, report=st.integers(0, 4))
    def correct(self, pick: int, value: dict[str, Any], report: int) -> None:
        claim = self.claims[pick % len(self.claims)]
        new_id = self._next_id("k")
        if self._record(
            [
                {
                    "type": "correction",
                    "id": new_id,
                    "claim": claim,
                    "incident": "i",
                    "fact": "a",
                    "report": f"r{report}",
                }
                | value
            ]
        ):
            self.claims.append(new_id)

    @rule(
        fact=st.sampled_from(["a", "b"]),
        kind=st.sampled_from(["count", "text", "choice"]),
        tolerance=st.sampled_from([None, 1, 3]),
        cumulative=st.booleans(),
    )
    def declare(self, fact: str, kind: str, tolerance: int | None, cumulative: bool) -> None:
        """Declare a fact, or declare it anew: claims already projected are read again."""
        declaration: dict[str, Any] = {"type": "fact", "incident": "i", "key": fact, "kind": kind}
        if kind == "count":
            declaration["cumulative"] = cumulative
            if tolerance is not None:
                declaration["tolerance"] = {"absolute": tolerance}
        if kind == "choice":
            declaration["choices"] = [{"value": "SDF", "aliases": ["qsd"]}, {"value": "isis"}]
        self._record([declaration])

    @rule()
    def catch_up(self) -> None:
        self.projector.catch_up()

    @rule()
    def replay(self) -> None:
        self.views.reset()
        self.projector.catch_up()

    def _handled_backlog(self) -> int:
        """How many events not yet projected have a handler (write read-model rows)."""
        position = self.views.position()
        pending = self.ledger.recorder.select_notifications(start=position + 1, limit=10**6)
        return sum(1 for n in pending if n.topic in projector_module._HANDLERS)

    @precondition(lambda self: self._handled_backlog() > 0)
    @rule(pick=st.integers(0, 100))
    def crash_mid_page(self, pick: int) -> None:
        """The projector dies while applying the ``after``-th event of its backlog that has
        a handler: the page in flight must leave no trace."""
        after = pick % self._handled_backlog()
        applied, crashed = [0], [False]

        def failing(handler: Any) -> Any:
            def apply(projector: Projector, line: Any, seq: int) -> None:
                if applied[0] >= after:
                    crashed[0] = True
                    raise SimulatedCrash
                applied[0] += 1
                handler(projector, line, seq)

            return apply

        handlers = projector_module._HANDLERS
        crashing = {topic: failing(handler) for topic, handler in handlers.items()}
        with pytest.MonkeyPatch.context() as patch:  # the table the projector looks up
            patch.setattr(projector_module, "_HANDLERS", crashing)
            with pytest.raises(SimulatedCrash):
                self.projector.catch_up()
        assert crashed[0], "the projector never called the handler that crashes"

    @invariant()
    def incremental_equals_rebuild(self) -> None:
        # The incremental model at its position P equals a rebuild from scratch to P.
        rebuilt_path = self.workdir / f"rebuilt-{self.counter}.db"
        rebuilt = Views(rebuilt_path)
        try:
            Projector(self.ledger, rebuilt).catch_up(up_to=self.views.position())
            assert self.views.dump() == rebuilt.dump()
            assert self.views.position() == rebuilt.position()
        finally:
            rebuilt.close()
            rebuilt_path.unlink()

    def teardown(self) -> None:
        self.views.close()
        self.ledger.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small pages make crashes land mid-way through a catch-up of several pages.
    monkeypatch.setattr(projector_module, "PAGE_SIZE", 3)


ProjectionAgreement.TestCase.settings = settings(
    max_examples=40, stateful_step_count=15, deadline=None
)
TestProjectionAgreement = ProjectionAgreement.TestCase


@pytest.mark.slow
def test_a_rebuild_split_with_a_helper_equals_one_in_a_single_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started_helpers: Any
) -> None:
    """The second half projected by a forked helper into a shard, then absorbed, gives the
    very read model one process gives: claims citing reports of the first half, corrections
    and retractions across the halves, sources re-graded in either half, an erratum of the
    first half linked to its right record in the second."""
    from benchmarks.synthetic import records
    from incident_ledger.usecases import desk_work, rebuilding, writing

    db = str(tmp_path / "l.db")
    writing.init(db)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    lines = [json.dumps(record) for record in records(600)]
    first.write_text("\n".join(lines[: len(lines) // 2]) + "\n", encoding="utf-8")
    second.write_text("\n".join(lines[len(lines) // 2 :]) + "\n", encoding="utf-8")
    claims = [json.loads(line)["id"] for line in lines if '"type": "claim"' in line]
    wrong, right = claims[0], claims[-1]  # the right one is entered in the second half
    writing.append_file(db, str(first), project=False)
    writing.rate(db, "src-0", "E", reason="first-half grade")
    writing.rate(db, "src-1", "B", reason="graded once")
    desk_work.erratum(db, wrong, reason="entered twice")
    writing.append_file(db, str(second), project=False)
    writing.rate(db, "src-0", "C", reason="second-half grade")
    writing.rate(db, "src-2", "F", reason="graded late")
    desk_work.erratum(db, wrong, reason=None, replaced_by=right)  # linked in the second half
    monkeypatch.setattr(projector_module, "BULK_BACKLOG", 0)
    monkeypatch.setattr(projector_module, "PAGE_SIZE", 50)

    def rebuilt(name: str) -> dict[str, list[tuple[object, ...]]]:
        rebuilding.replay(db, out=str(tmp_path / name))
        views = Views(tmp_path / name)
        try:
            return views.dump() | {"position": [(views.position(),)]}
        finally:
            views.close()

    monkeypatch.setattr(projector_module, "PARALLEL_BACKLOG", 10**9)
    alone = rebuilt("alone.db")
    started = started_helpers(projector_module)
    monkeypatch.setattr(projector_module, "PARALLEL_BACKLOG", 2)
    # The first part ends with the erratum: its link is the helper's.
    (erratum,), (last,) = alone["errata"], alone["position"]
    monkeypatch.setattr(
        projector_module, "FIRST_SHARE", (float(str(erratum[-1])) + 0.5) / float(str(last[0]))
    )
    assert rebuilt("split.db") == alone
    assert len(started) == 1
    sources = dict((row[0], row[4]) for row in alone["sources"])
    assert (sources["src-0"], sources["src-1"], sources["src-2"]) == ("C", "B", "F")
    assert f"claim:{right}" in str(alone["errata"])  # the link holds, in either model

    def dies(*args: Any) -> int:
        raise RuntimeError("the helper fell over")

    monkeypatch.setattr(projector_module, "_project_shard", dies)
    assert rebuilt("fallback.db") == alone  # the second half is then applied here
    assert len(started) == 2
