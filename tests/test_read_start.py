"""A read command starts without the write side's record models: pydantic and the models
built with it were about a fifth of a cold ``ledger state``'s start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from incident_ledger.ledger import samples
from incident_ledger.usecases import writing

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "command",
    [
        ["state", "ghwayran-2022", "--at", "2022-01-23"],
        ["state", "ghwayran-2022", "--json"],
        ["sources"],
        ["search", "سجن"],
    ],
)
def test_a_read_command_does_not_load_the_record_models(tmp_path: Path, command: list[str]) -> None:
    db = str(tmp_path / "l.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    code = (
        "import sys\n"
        "from incident_ledger.cli.entry import run\n"
        f"sys.argv = ['ledger', '--db', {db!r}, *{command!r}]\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "loaded = ('pydantic', 'incident_ledger.ledger.records')\n"
        "print(sorted(m for m in loaded if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "[]"
