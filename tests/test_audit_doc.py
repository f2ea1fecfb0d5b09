"""The recipe of docs/audit-trail.md, run as documented on real bundles."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from incident_ledger.ledger.signednote import generate_signer
from tests.chained import as_first_made, drop, export, make

DOC = Path(__file__).resolve().parents[1] / "docs" / "audit-trail.md"


def recipe() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Verify an export yourself") :]
    start = section.index("```python\n") + len("```python\n")
    return section[start : section.index("\n```\n", start)] + "\n"


def run(script: Path, bundle: Path, *key: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), str(bundle), *key],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def db(store_url: str, tmp_path: Path) -> str:
    return make(store_url, tmp_path)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "check.py"
    path.write_text(recipe(), encoding="utf-8")
    return path


def test_the_recipe_needs_only_the_standard_library_and_cryptography() -> None:
    imports = {
        line.split()[1] for line in recipe().splitlines() if line.startswith(("import ", "from "))
    }
    assert imports == {"base64,", "pathlib", "cryptography.hazmat.primitives.asymmetric.ed25519"}


def key_of(bundle: Path) -> str:
    return (bundle / "key.pub").read_text("ascii").strip()


@pytest.mark.slow
def test_the_recipe_checks_a_full_bundle(db: str, tmp_path: Path, script: Path) -> None:
    full = export(db, tmp_path / "full")
    ok = run(script, full, key_of(full))
    assert (ok.returncode, ok.stderr) == (0, "")
    assert ok.stdout.startswith("OK: 148 entries match root ")
    tampered = tmp_path / "tampered"
    shutil.copytree(full, tampered)
    lines = (tampered / "leaves.jsonl").read_bytes().split(b"\n")[:-1]
    assert b'"name":"' in lines[5]  # a source (after the desk's first admin and its batch)
    lines[5] = lines[5].replace(b'"name":"', b'"name":"X')
    (tampered / "leaves.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    bad = run(script, tampered, key_of(full))
    assert (bad.returncode, bad.stderr) == (
        1,
        "FAIL: the entries do not match the signed checkpoint\n",
    )
    _, other = generate_signer("incident-ledger/someone-else")
    assert run(script, full, other).returncode == 1


@pytest.mark.slow
def test_the_recipe_checks_that_an_incident_bundle_is_complete(
    db: str,
    tmp_path: Path,
    script: Path,
) -> None:
    bundle = export(db, tmp_path / "diyala", "--incident", "diyala-2022")
    first_made = tmp_path / "first-made"  # with one inclusion proof per entry
    shutil.copytree(bundle, first_made)
    as_first_made(first_made)
    for form in (bundle, first_made):
        ok = run(script, form)
        assert (ok.returncode, ok.stderr) == (0, "")
        assert ok.stdout.endswith("; all 15 events of diyala-2022\n")
        dropped = tmp_path / f"dropped-{form.name}"
        shutil.copytree(form, dropped)
        drop(dropped, ("retraction:ret-1", 1))
        bad = run(script, dropped, key_of(bundle))
        assert (bad.returncode, bad.stderr) == (
            1,
            "FAIL: incomplete: 15 events concern diyala-2022, the bundle shows 14\n",
        )
        edited = tmp_path / f"edited-{form.name}"
        shutil.copytree(form, edited)
        lines = (edited / "leaves.jsonl").read_bytes().split(b"\n")
        lines[3] = lines[3].replace(b'"id":"', b'"id":"X')
        (edited / "leaves.jsonl").write_bytes(b"\n".join(lines))
        bad = run(script, edited, key_of(bundle))
        assert (bad.returncode, bad.stderr) == (
            1,
            "FAIL: an entry is not in the signed log, or the entries are out of order\n",
        )
    # The sender cannot make up for it by rewriting the chain it shows.
    entry = json.loads((dropped / "incident.json").read_text("utf-8"))
    entry["count"] = 12
    (dropped / "incident.json").write_text(json.dumps(entry), "utf-8")
    bad = run(script, dropped, key_of(bundle))
    assert (bad.returncode, bad.stderr) == (
        1,
        "FAIL: incident.json is not a chain the checkpoint signs\n",
    )
    other = export(db, tmp_path / "ghwayran", "--incident", "ghwayran-2022")
    ok = run(script, other)
    assert ok.stdout.endswith("; all 107 events of ghwayran-2022\n"), ok.stderr
