"""A ledger whose incidents have retractions, corrections and an assessment, and its bundles."""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger import samples
from incident_ledger.ledger.merkle import leaf_hash, node_hash
from incident_ledger.ledger.multiproofs import needed_subtrees
from incident_ledger.usecases import writing

runner = CliRunner()

EXTRA: list[dict[str, Any]] = [
    {"type": "report", "id": "r-later", "source": "misryoum", "published_at": "2022-01-25"},
    {"type": "retraction", "id": "ret-1", "claim": "c-002-diyala-killed-soldiers",
     "report": "r-later", "reason": "misattributed"},
    {"type": "correction", "id": "cor-1", "claim": "c-000-diyala-killed-soldiers",
     "incident": "diyala-2022", "fact": "killed.soldiers", "value": 12, "unit": "people",
     "report": "r-later"},
    {"type": "assessment", "id": "as-1", "claim": "c-003-ina-killed-soldiers",
     "verdict": "mixed", "by": "Desk", "published_at": "2022-01-26",
     "url": "https://desk.example/as-1", "summary": "INA: 30 soldiers killed"},
]  # fmt: skip
# (A correction filed under another incident than its claim's, which concerns both, is
# refused since the desk's consistency rules: a correction never moves its claim.)

DIYALA = [
    ("incident:diyala-2022", 1),
    ("fact:diyala-2022/attack.started", 1),
    ("fact:diyala-2022/killed.soldiers", 1),
    ("fact:diyala-2022/location", 1),
    ("claim:c-000-diyala-killed-soldiers", 1),
    ("claim:c-000-diyala-attack-started", 1),
    ("claim:c-002-diyala-killed-soldiers", 1),
    ("claim:c-003-diyala-attack-started", 1),
    ("claim:c-003-ina-killed-soldiers", 1),
    ("claim:c-003-ina-diyala-location", 1),
    ("retraction:ret-1", 1),
    ("claim:c-002-diyala-killed-soldiers", 2),
    ("claim:cor-1", 1),
    ("claim:c-000-diyala-killed-soldiers", 2),
    ("assessment:as-1", 1),
]
"""Every event concerning diyala-2022, in log order."""
NAMED_BY = {
    ("claim:c-000-diyala-killed-soldiers", 1): 1,
    ("claim:c-002-diyala-killed-soldiers", 1): 2,
    ("claim:c-003-ina-killed-soldiers", 1): 1,
}
"""How many other events concern the incident only through naming this claim (a
retraction, an assessment, a ``Claim.Superseded`` or ``Claim.Retracted``)."""


def cli(db: str | None, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*(["--db", db] if db else []), *args])
    return result.exit_code, result.stdout + result.stderr


def write_records(path: Path, records: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def make(store_url: str, tmp_path: Path) -> str:
    """The sample ledger with a retraction, corrections and an assessment."""
    writing.init(store_url)
    writing.append_file(store_url, str(samples.GHWAYRAN))
    writing.append_file(store_url, write_records(tmp_path / "extra.jsonl", EXTRA))
    return store_url


def export(db: str, out: Path, *args: str) -> Path:
    code, output = cli(db, "export", "--format", "jsonl", "--out", str(out), *args)
    assert code == 0, output
    return out


def entries(bundle: Path) -> list[tuple[str, int]]:
    lines = (bundle / "leaves.jsonl").read_text("utf-8").splitlines()
    return [(line["id"], line["version"]) for line in map(json.loads, lines)]


def drop(bundle: Path, event: tuple[str, int]) -> None:
    """Leave one event out of a bundle, and show the others included all the same: what
    a sender could do. A bundle of one proof per leaf loses that leaf's proof; one with a
    multiproof gets the subtrees the other leaves need, worked out from the bundle."""
    at = entries(bundle).index(event)
    names = ["leaves.jsonl", "proofs.jsonl" if (bundle / "proofs.jsonl").exists() else ""]
    if not names[1]:
        names[1] = "leaf-indexes.txt"
        _without_leaf(bundle, at)
    for name in names:
        lines = (bundle / name).read_bytes().split(b"\n")[:-1]
        (bundle / name).write_bytes(
            b"".join(line + b"\n" for i, line in enumerate(lines) if i != at)
        )


def _without_leaf(bundle: Path, at: int) -> None:
    """Rewrite a bundle's subtrees for its leaves but the one at line ``at``: each hash
    they need is computed from the bundle's leaves and subtrees."""
    indexes, mth = _tree_of(bundle)
    size = int((bundle / "checkpoint").read_text("utf-8").splitlines()[1])
    kept = indexes[:at] + indexes[at + 1 :]
    spans = [span for piece in needed_subtrees(size, kept) for span in piece]
    (bundle / "subtrees.jsonl").write_text(
        "".join(f'[{lo}, {hi}, "{b64encode(mth(lo, hi)).decode()}"]\n' for lo, hi in spans),
        "ascii",
    )


def _tree_of(bundle: Path) -> tuple[list[int], Callable[[int, int], bytes]]:
    """A multiproof bundle's leaf indexes, and the hash of any subtree of the log that
    its leaves and subtrees determine (RFC 9162 ``MTH(D[lo:hi])``)."""
    leaves = (bundle / "leaves.jsonl").read_bytes().split(b"\n")[:-1]
    indexes = [int(x) for x in (bundle / "leaf-indexes.txt").read_text("ascii").split()]
    parts = {
        (start, end): b64decode(digest)
        for start, end, digest in map(json.loads, (bundle / "subtrees.jsonl").open())
    }
    hashes = dict(zip(indexes, map(leaf_hash, leaves), strict=True))

    def mth(lo: int, hi: int) -> bytes:
        if (lo, hi) in parts:
            return parts[(lo, hi)]
        if hi - lo == 1:
            return hashes[lo]
        mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))
        return node_hash(mth(lo, mid), mth(mid, hi))

    return indexes, mth


def as_first_made(bundle: Path) -> None:
    """Turn an incident bundle into the form bundles were first made in: one inclusion
    proof per leaf (``proofs.jsonl``, ``{"index", "proof"}`` a line), no multiproof."""
    indexes, mth = _tree_of(bundle)
    size = int((bundle / "checkpoint").read_text("utf-8").splitlines()[1])
    lines = []
    for index in indexes:
        proof, lo, hi = [], 0, size
        while hi - lo > 1:  # RFC 9162 PATH(m, D[lo:hi]), from the root down
            mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))
            proof.append(mth(mid, hi) if index < mid else mth(lo, mid))
            lo, hi = (lo, mid) if index < mid else (mid, hi)
        hashes = [b64encode(h).decode() for h in reversed(proof)]
        lines.append(json.dumps({"index": index, "proof": hashes}) + "\n")
    (bundle / "proofs.jsonl").write_text("".join(lines), "utf-8")
    (bundle / "leaf-indexes.txt").unlink()
    (bundle / "subtrees.jsonl").unlink()


def whole_log_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each time a bundle walks the whole log (``audit._leaves_in_ledger_order``)."""
    from incident_ledger.ledger import bundles

    walks: list[str] = []
    walk = vars(bundles)["_leaves_in_ledger_order"]

    def counted(*args: Any) -> Any:
        walks.append("walk")
        return walk(*args)

    monkeypatch.setattr(bundles, "_leaves_in_ledger_order", counted)
    return walks
