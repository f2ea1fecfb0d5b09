"""Shared fixtures: temporary ledgers and a controllable clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.stores.location import locate
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.views import Views
from tests.desk_cli import SETUP, Member, new_key

# Properties are about answers, never about speed: a shared or slow machine must not
# fail a property test because one example took longer than hypothesis's default
# deadline (speed is the benchmarks' business).
# Tests run in scratch folders (``_in_a_scratch_folder``): the examples hypothesis found
# failing are kept in the repository's own (ignored) folder, so the next run tries them first.
settings.register_profile(
    "ledger",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=DirectoryBasedExampleDatabase(
        Path(__file__).parent.parent / ".hypothesis" / "examples"
    ),
)
settings.load_profile("ledger")

SLOW_MODULES = {
    "test_benchmarks_smoke.py": "runs the benchmark harness on small ledgers",
    "test_teams.py": "races writers and kills processes with SIGKILL",
    "test_killed.py": "kills imports and their helpers mid-way",
    "test_desk_filters.py": "runs every desk command as a process, members' keys made by keygen",
    "test_desk_review.py": "runs every desk command as a process, members' keys made by keygen",
    "test_desk_marks.py": "runs every desk command as a process, members' keys made by keygen",
    "test_claim_status.py": "runs every desk command as a process, members' keys made by keygen",
    "test_desk_export_marks.py": "runs every desk command as a process, keys made by keygen",
    "test_desk_proposed_ends.py": "runs every desk command as a process, keys made by keygen",
    "test_desk_voided_history.py": "runs every desk command as a process, keys made by keygen",
}
"""Modules every test of which is ``slow``, and why."""

SLOW_TESTS = {
    # Modules at their 400 lines name their slow tests here rather than above each.
    "test_evidence.py": {
        "test_a_50_mb_capture_never_holds_the_file_in_memory",
        "test_a_bundle_carries_the_captured_files_and_restores_them",
        "test_verify_export_names_a_changed_missing_or_stray_captured_file",
        "test_an_incident_bundle_takes_its_reports_captures",
        "test_outputs_link_the_archived_and_captured_copies",
    },
    "test_desk_consistency.py": {
        "test_an_end_from_a_report_published_before_the_claim_s_is_refused",
        "test_a_report_of_the_claim_s_day_may_end_it",
        "test_a_correction_changes_the_fact_only_when_it_says_so",
        "test_a_correction_never_moves_its_claim",
        "test_a_retraction_racing_a_correction_one_wins",
        "test_an_end_entered_in_error_ends_nothing",
        "test_the_end_that_stands_is_named_not_a_voided_one",
        "test_change_fact_false_and_absent_are_one_record",
        "test_an_erratum_of_a_report_a_source_or_an_incident_voids_what_it_holds",
        "test_a_claim_entered_in_error_is_not_ended",
    },
}
"""Tests that are ``slow`` (over half a second each), by module, where a decorator on each
does not fit."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` what ``pytest -m "not slow"`` leaves out to answer within a minute:
    the modules of ``SLOW_MODULES``, every property test (hypothesis runs each with many
    examples) and every PostgreSQL half (a schema made and dropped for each). A test slow
    for its own reasons carries ``@pytest.mark.slow``. ``python3 tasks.py test`` and CI
    run everything."""
    for item in items:
        function = getattr(item, "obj", None)
        named = getattr(item, "originalname", "") in SLOW_TESTS.get(item.path.name, ())
        if item.path.name in SLOW_MODULES or named or _is_property(function) or _on_postgres(item):
            item.add_marker(pytest.mark.slow)


def _on_postgres(item: pytest.Item) -> bool:
    """A test of the PostgreSQL half: a ``store_url`` on PostgreSQL, a test of a
    ``TestPostgres…`` class, or one skipped without ``LEDGER_TEST_POSTGRES``."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    owner = getattr(item, "cls", None)
    return (
        params.get("store_url") == "postgres"
        or "Postgres" in getattr(owner, "__name__", "")
        or any(mark.kwargs.get("reason") == NO_POSTGRES for mark in item.iter_markers("skipif"))
    )


def _is_property(function: Any) -> bool:
    """A hypothesis test: a function given examples, or a state machine's test case."""
    if getattr(function, "is_hypothesis_test", False):
        return True
    owner = getattr(function, "__self__", None)
    return type(owner).__name__ == "TestCase" and hasattr(type(owner), "settings")


class Clock:
    """A clock the test moves: recorded time is assigned by the ledger, never supplied."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2022, 2, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(autouse=True, scope="session")
def _in_a_scratch_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test runs in a scratch folder, never in the repository: whatever a test or a
    command writes into the working folder (the default ``./ledger.db`` and
    ``./ledger.key``, a store named by a bare word) lands there. A ledger so written once
    sat at the repository's root, and was committed (``test_house`` checks none is)."""
    before = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite ledger holding the Ghwayran sample, one per test module."""
    from incident_ledger.ledger import samples
    from incident_ledger.usecases import writing

    db = str(tmp_path_factory.mktemp("sample") / "ledger.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    return db


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "ledger.db")


@pytest.fixture
def ledger(db_path: str, clock: Clock) -> Iterator[Ledger]:
    app = Ledger(locate(db_path).event_store_env(), clock=clock)
    yield app
    app.close()


@pytest.fixture
def views(db_path: str) -> Iterator[Views]:
    model = Views(locate(db_path).views_path)
    model.ensure_schema()
    yield model
    model.close()


@pytest.fixture
def projector(ledger: Ledger, views: Views) -> Projector:
    return Projector(ledger, views)


POSTGRES_URL = os.environ.get("LEDGER_TEST_POSTGRES")
NO_POSTGRES = (
    "PostgreSQL half skipped: set LEDGER_TEST_POSTGRES=postgresql://user@127.0.0.1:PORT/db "
    "(.ci/run starts a throwaway cluster and sets it)"
)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh, empty ledger location on each backend (a SQLite file; a PostgreSQL schema)."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.db")
        return
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL half: LEDGER_TEST_POSTGRES is not set")
        pytest.skip(NO_POSTGRES)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("LEDGER_VIEWS", str(tmp_path / "ledger.views.db"))
    monkeypatch.setenv("LEDGER_KEY", str(made_key(tmp_path / "ledger.key")))
    yield f"{POSTGRES_URL}?schema={schema}"
    drop_schema(schema)


def made_key(path: Path) -> Path:
    """A ledger's signing key made at ``path``, as ``ledger init`` makes one: an init
    given a key (``LEDGER_KEY``, as a PostgreSQL ledger's is) registers its first admin
    with it, and makes none."""
    from incident_ledger.ledger.signednote import generate_signer
    from incident_ledger.usecases.desk_admin import write_key_file

    write_key_file(path, generate_signer(f"incident-ledger/{uuid.uuid4().hex[:8]}")[0])
    return path


def drop_schema(schema: str) -> None:
    import psycopg

    assert POSTGRES_URL is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def started_helpers(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., list[tuple[Any, ...]]]:
    """``started = started_helpers(module)``: the forked helpers that module starts, counted
    (``started_helpers(module, "Producer")`` for its producers)."""

    def count(module: Any, name: str = "Helper") -> list[tuple[Any, ...]]:
        started: list[tuple[Any, ...]] = []

        class Counted(getattr(module, name)):  # type: ignore[misc]
            def __init__(self, *args: Any) -> None:
                started.append(args)
                super().__init__(*args)

        monkeypatch.setattr(module, name, Counted)
        return started

    return count


@pytest.fixture
def desk(store_url: str, tmp_path: Path) -> tuple[Member, Member, Member]:
    """A desk of three (``tests.desk_cli``), review required: alice (admin, the ledger's
    key), bob (reporter) and eve (editor)."""
    alice = Member(store_url)
    alice.ok("init", "--member", "alice", "--review", "required")
    members = []
    for name, role in (("bob", "reporter"), ("eve", "editor")):
        key, public = new_key(tmp_path, name)
        alice.ok("member", "add", name, "--name", name, "--role", role, "--public-key", public)
        members.append(Member(store_url, key))
    assert alice.append(SETUP).returncode == 0
    return alice, members[0], members[1]
