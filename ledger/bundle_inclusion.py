"""An incident bundle's leaves shown to be entries of the signed log, in either form
bundles carry: the subtrees its leaves need, each once (``SUBTREES_FILE``, with
``INDEXES_FILE``; ``multiproofs``), or, as bundles were first made, one RFC 9162
inclusion proof per leaf (``PROOFS_FILE``), which bundles already handed out hold.
"""

from __future__ import annotations

import json
from pathlib import Path

from incident_ledger.ledger.audit import Checkpoint, unb64
from incident_ledger.ledger.bundles import INDEXES_FILE, PROOFS_FILE, SUBTREES_FILE
from incident_ledger.ledger.errors import VerificationError
from incident_ledger.ledger.merkle import HASH_SIZE, ProofError, leaf_hash, verify_inclusion
from incident_ledger.ledger.multiproofs import root_from_parts


def verify_included(path: Path, lines: list[bytes], checkpoint: Checkpoint) -> None:
    """Check that an incident bundle's leaves are in the log ``checkpoint`` signs, by its
    subtrees when it carries them, else by its proofs."""
    if (path / SUBTREES_FILE).exists():
        _verify_multiproof(path, lines, checkpoint)
    else:
        _verify_selected(lines, path / PROOFS_FILE, checkpoint)


def bundle_file(path: Path, name: str) -> bytes:
    """The bytes of one file of a bundle; one that is missing or unreadable fails the
    verification, naming it."""
    try:
        return (path / name).read_bytes()
    except FileNotFoundError:
        raise VerificationError(f"the bundle holds no {name}") from None
    except OSError as error:
        raise VerificationError(f"cannot read the bundle's {name}: {error.strerror}") from None


def bundle_text(path: Path, name: str) -> str:
    """One text file of a bundle (UTF-8); garbage fails the verification, naming it."""
    try:
        return bundle_file(path, name).decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError(f"the bundle's {name} is not UTF-8 text") from None


def entry_id(line: bytes) -> str:
    try:
        return str(json.loads(line).get("id", "?"))
    except (ValueError, AttributeError):
        return "?"


def _verify_selected(lines: list[bytes], proofs_path: Path, checkpoint: Checkpoint) -> None:
    proofs = bundle_text(proofs_path.parent, proofs_path.name).splitlines()
    if len(proofs) != len(lines):
        raise VerificationError(
            f"the export holds {len(lines)} entries but {len(proofs)} inclusion proofs"
        )
    previous = -1
    for position, (line, raw) in enumerate(zip(lines, proofs, strict=True)):
        index, hashes = _inclusion_record(raw, position + 1)
        if index <= previous:
            raise VerificationError(f"entry {index}: entries are out of ledger order")
        previous = index
        proof = [unb64(h, f"proof of entry {index}") for h in hashes]
        try:
            verify_inclusion(leaf_hash(line), index, checkpoint.size, proof, checkpoint.root)
        except ProofError as error:
            raise VerificationError(
                f"entry {index} ({entry_id(line)}): not in the signed log ({error})"
            ) from None
        del position


def _verify_multiproof(path: Path, lines: list[bytes], checkpoint: Checkpoint) -> None:
    """An incident bundle's leaves are in the signed log: with the subtrees it carries,
    at the indexes it gives them, they hash to the signed root (``root_from_parts``)."""
    indexes = _leaf_indexes(path)
    if len(indexes) != len(lines):
        raise VerificationError(
            f"the export holds {len(lines)} entries but {len(indexes)} leaf indexes"
        )
    parts = _subtrees(path)
    try:
        root = root_from_parts(checkpoint.size, indexes, [leaf_hash(x) for x in lines], parts)
    except ProofError as error:
        raise VerificationError(f"the entries are not shown in the signed log ({error})") from None
    if root != checkpoint.root:
        raise VerificationError(
            f"the {len(lines)} entries, at their indexes, with the subtrees of {SUBTREES_FILE}, "
            f"do not hash to the signed root of {checkpoint.size}: an entry was edited, or is "
            "not in the signed log"
        )


def _leaf_indexes(path: Path) -> list[int]:
    """The indexes of ``INDEXES_FILE``, one whole number a line."""
    lines = bundle_text(path, INDEXES_FILE).splitlines()
    if not all(line.isascii() and line.isdigit() for line in lines):
        raise VerificationError(f"the bundle's {INDEXES_FILE} is not one index a line")
    return [int(line) for line in lines]


def _subtrees(path: Path) -> dict[tuple[int, int], bytes]:
    """The subtree hashes of ``SUBTREES_FILE`` by span: ``[start, end, base64]`` a line;
    anything else fails the verification, naming the line."""
    parts: dict[tuple[int, int], bytes] = {}
    for number, raw in enumerate(bundle_text(path, SUBTREES_FILE).splitlines(), start=1):
        try:
            start, end, digest = json.loads(raw)
            if type(start) is not int or type(end) is not int or not start < end:
                raise ValueError
            parts[(start, end)] = unb64(digest, SUBTREES_FILE)
            if len(parts[(start, end)]) != HASH_SIZE:
                raise ValueError
        except (ValueError, TypeError, VerificationError):
            raise VerificationError(
                f"{SUBTREES_FILE} line {number}: not a subtree ([start, end, hash])"
            ) from None
    return parts


def _inclusion_record(raw: str, number: int) -> tuple[int, list[str]]:
    """One line of the proofs file: ``{"index": n, "proof": [base64, …]}``; anything else
    fails the verification, naming the line."""
    try:
        record = json.loads(raw)
    except ValueError:
        record = None
    index = record.get("index") if isinstance(record, dict) else None
    hashes = record.get("proof") if isinstance(record, dict) else None
    if (
        type(index) is not int
        or index < 0
        or not isinstance(hashes, list)
        or not all(isinstance(h, str) for h in hashes)
    ):
        raise VerificationError(f"{PROOFS_FILE} line {number}: not an inclusion proof")
    return index, hashes
