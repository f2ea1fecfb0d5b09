"""The user documentation holds together: the README stays a page, every link between the
documents leads somewhere, the README's command table names every command, and what its
example quotes is what the commands print."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from incident_ledger.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
"""A Markdown inline link: ``[text](target)``."""


def test_the_readme_is_a_page() -> None:
    assert (ROOT / "README.md").stat().st_size <= 12 * 1024


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_every_link_between_documents_leads_to_a_file(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    local = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t) and t[0] != "#"]
    missing = [t for t in local if not (document.parent / t.split("#")[0]).exists()]
    assert not missing, f"{document.name} links to missing files: {missing}"


def test_the_readme_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Commands at a glance") : readme.index("## Read more")]
    listed = set(re.findall(r"^\| `([a-z]+)", table, flags=re.MULTILINE))
    listed |= set(re.findall(r"`, `([a-z]+)", table))
    commands = set(typer.main.get_command(app).list_commands(None))  # type: ignore[attr-defined]
    assert commands <= listed, f"missing from the README: {sorted(commands - listed)}"


def test_every_document_is_reachable_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {Path(t.split("#")[0]).name for t in LINK.findall(readme)}
    unlinked = [d.name for d in DOCUMENTS[2:] if d.name not in linked]
    assert not unlinked, f"docs the README does not name: {unlinked}"


def test_the_readme_quotes_what_state_prints(sample_db: str) -> None:
    """The example's quotes: the table's status cell on 21 January, ``why.summary`` then,
    and what the summary adds by 31 January."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = readme[readme.index("On 21 January") : readme.index("## Commands at a glance")]
    table, whole, added = re.findall(r'"([^"]+)"', " ".join(paragraph.split()))

    def state(*args: str) -> str:
        command = ["--db", sample_db, "state", "ghwayran-2022", *args]
        result = CliRunner().invoke(app, command, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.output

    def why(at: str) -> str:
        facts = json.loads(state("--at", at, "--json"))["facts"]
        summary: str = facts["killed.security_forces"]["why"]["summary"]
        return summary

    assert table in state("--at", "2022-01-21")
    assert whole == why("2022-01-21")
    assert added in why("2022-01-31") and added not in whole
