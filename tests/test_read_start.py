"""A read command starts without the write side: the command line loads a command's use
case only when that command runs, and reading a model that is up to date loads neither
the record models (pydantic) nor the event classes and the projector that handles them.
Each of these was a fifth or more of a cold ``ledger state``'s start-up."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger import samples
from incident_ledger.usecases import writing

pytestmark = pytest.mark.slow

WRITE_SIDE = (
    "pydantic",
    "incident_ledger.ledger.records",
    "incident_ledger.ledger.domain",
    "incident_ledger.ledger.desk_domain",
    "incident_ledger.ledger.evidence",
    "incident_ledger.projections.projector",
)
"""What a read of an up-to-date model never needs."""

STORE_LIBRARY = ("eventsourcing", "incident_ledger.ledger.application")
"""What a read of a SQLite store's up-to-date model needs neither: a glance at the store
tells that the model is current (``sqlite_log.glance``)."""

NOT_AT_START = (
    *WRITE_SIDE,
    "eventsourcing",
    "sqlite_utils",
    "cryptography",
    "psycopg",
    "jinja2",
    "incident_ledger.usecases.reading",
    "incident_ledger.usecases.searching",
    "incident_ledger.usecases.writing",
    "incident_ledger.usecases.auditing",
    "incident_ledger.usecases.workspace",
    "incident_ledger.usecases.serving",
    "incident_ledger.usecases.desk_work",
    "incident_ledger.usecases.desk_admin",
)
"""What loading the command line itself must not load: each command loads its own."""


def _loaded(code: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` a fresh interpreter has loaded after running ``code``."""
    script = (
        f"import sys\n{code}\n"
        f"print(sorted(m for m in {watched!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return list(ast.literal_eval(done.stderr.strip().splitlines()[-1]))


def test_the_command_line_loads_no_use_case() -> None:
    assert _loaded("import incident_ledger.cli.main", NOT_AT_START) == []


def test_the_command_line_makes_only_the_command_that_runs() -> None:
    import typer.main

    from incident_ledger.cli.main import app

    root: Any = typer.main.get_command(app)
    assert not {"init", "state", "verify", "export"} & set(root.commands)
    assert root.get_command(None, "state").name == "state"
    assert "state" in root.list_commands(None)


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("read-start") / "l.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    return db


@pytest.mark.parametrize(
    "command",
    [
        ["state", "ghwayran-2022", "--at", "2022-01-23"],
        ["state", "ghwayran-2022", "--json"],
        ["sources"],
        ["search", "سجن"],
    ],
)
def test_a_read_command_does_not_load_the_write_side(sample_db: str, command: list[str]) -> None:
    code = (
        "from incident_ledger.cli.entry import run\n"
        f"sys.argv = ['ledger', '--db', {sample_db!r}, *{command!r}]\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
    )
    assert _loaded(code, WRITE_SIDE + STORE_LIBRARY) == []
    if command[0] == "search":  # its own use case, without those that work out a state
        assert _loaded(code, ("incident_ledger.usecases.reading",)) == []


def test_a_record_is_read_in_a_process_that_never_loaded_the_event_classes(
    sample_db: str,
) -> None:
    code = (
        "from incident_ledger.usecases.workspace import open_ledger\n"
        f"with open_ledger({sample_db!r}) as (_, ledger):\n"
        "    record = ledger.get_record('claim', 'c-000-sohr-killed-sf')\n"
        "assert record.fact == 'killed.security_forces', record\n"
    )
    assert "incident_ledger.ledger.domain" in _loaded(code, WRITE_SIDE)


def test_a_read_brings_a_deferred_model_up_to_date(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN), project=False)
    code = (
        "from incident_ledger.usecases.reading import current_state\n"
        f"facts = current_state({db!r}, 'ghwayran-2022', at='2022-01-23')['facts']\n"
        "assert facts['killed.security_forces']['status'] == 'contested', facts\n"
    )
    assert "incident_ledger.projections.projector" in _loaded(code, WRITE_SIDE)


def test_a_model_behind_its_store_is_brought_up_to_date(tmp_path: Path) -> None:
    """A glance finds the model behind the store: the store is opened and the model caught
    up, and the next read glances again."""
    db, lines = str(tmp_path / "l.db"), samples.GHWAYRAN.read_text().splitlines(keepends=True)
    (tmp_path / "first.jsonl").write_text("".join(lines[:100]))
    (tmp_path / "rest.jsonl").write_text("".join(lines[100:]))
    writing.init(db)
    writing.append_file(db, str(tmp_path / "first.jsonl"))
    writing.append_file(db, str(tmp_path / "rest.jsonl"), project=False)
    code = (
        "from incident_ledger.usecases.reading import current_state\n"
        f"facts = current_state({db!r}, 'ghwayran-2022', at='2022-01-23')['facts']\n"
        "assert facts['killed.security_forces']['status'] == 'contested', facts\n"
    )
    assert _loaded(code, STORE_LIBRARY) == list(STORE_LIBRARY)
    assert _loaded(code, STORE_LIBRARY) == []
