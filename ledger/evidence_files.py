"""Captured files in a JSONL bundle: ``evidence/<sha256>``, one file per content.

``export --format jsonl --with-evidence`` writes the files of the captures the bundle's
leaves hold, streamed from the store a chunk at a time; ``verify --export`` hashes each
again against its capture's leaf (SHA-256 and size), so a recipient checks the bytes
with the same signed checkpoint as the events.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from incident_ledger.ledger.errors import VerificationError
from incident_ledger.ledger.evidence import (
    Capture,
    CaptureCount,
    EvidenceChunks,
    FileDigest,
    read_chunks,
)
from incident_ledger.ledger.incident_chains import parse_leaf
from incident_ledger.ledger.stores.recorder import LogView

EVIDENCE_FOLDER = "evidence"
_SHA256 = re.compile("[0-9a-f]{64}")


def captured_in(leaf: bytes) -> tuple[str, int, str] | None:
    """(SHA-256, size, report) of a capture's leaf; None for any other leaf."""
    if b'"capture:' not in leaf:
        return None
    line = parse_leaf(leaf)
    if line is None or line.get("topic") != Capture.Recorded.TOPIC:
        return None
    data = line["data"]
    sha256, size, report = data.get("sha256"), data.get("size"), data.get("record")
    if type(sha256) is not str or not _SHA256.fullmatch(sha256) or type(size) is not int:
        return None  # not a file name this folder can hold
    return sha256, size, str(report)


def write_evidence(view: LogView, out: Path, captures: Iterable[str]) -> int:
    """Write each captured content into ``out/evidence``; how many files."""
    folder = out / EVIDENCE_FOLDER
    folder.mkdir(exist_ok=True)
    chunks = EvidenceChunks(view)
    written = 0
    for sha256 in sorted(set(captures)):
        with (folder / sha256).open("wb") as file:
            for chunk in chunks.read(sha256):
                file.write(chunk)
        written += 1
    return written


def check_evidence(path: Path, leaves: Iterable[bytes]) -> tuple[CaptureCount, bool]:
    """Hash every file of the bundle's ``evidence`` folder again, against the captures its
    leaves hold; how many captures it holds, and whether their files are in the bundle
    (it has the folder). A capture without its file, a file no capture names, or one
    whose bytes differ fails, naming it."""
    folder = path / EVIDENCE_FOLDER
    expected: dict[str, tuple[int, str]] = {}
    sha256s = []
    for leaf in leaves:
        found = captured_in(leaf)
        if found is not None:
            expected[found[0]] = (found[1], found[2])
            sha256s.append(found[0])
    count = CaptureCount.of(sha256s)
    if not folder.is_dir():
        return count, False
    present = {entry.name for entry in folder.iterdir()}
    for name in sorted(present - expected.keys()):
        raise VerificationError(f"{EVIDENCE_FOLDER}/{name} is not a capture the bundle holds")
    for sha256, (size, report) in sorted(expected.items()):
        what = f"{EVIDENCE_FOLDER}/{sha256} (captured copy of {report})"
        if sha256 not in present:
            raise VerificationError(f"{what} is missing from the bundle")
        digest, length = hashlib.sha256(), 0
        with (folder / sha256).open("rb") as file:
            for chunk in read_chunks(file):
                digest.update(chunk)
                length += len(chunk)
        if (digest.hexdigest(), length) != (sha256, size):
            raise VerificationError(
                f"{what}: its bytes hash to {digest.hexdigest()} ({length} bytes), not to "
                "what was captured"
            )
    return count, True


def bundle_captures(leaves: Iterable[bytes]) -> dict[str, int]:
    """The captured contents a bundle's leaves hold (SHA-256 → size), to be restored from
    its files once ``check_evidence`` has verified them."""
    return {
        sha256: size
        for leaf in leaves
        if (found := captured_in(leaf))
        for sha256, size, _ in [found]
    }


def restore_evidence(view: LogView, path: Path, captures: dict[str, int]) -> None:
    """Store a bundle's captured files (``bundle_captures``) in the transaction that
    restores its leaves."""
    if not captures:
        return
    chunks = EvidenceChunks(view)
    chunks.ensure_table()
    for sha256, size in sorted(captures.items()):
        chunks.store(path / EVIDENCE_FOLDER / sha256, FileDigest(sha256, size, ""))
