"""Checking a verifiable export bundle offline (``ledger.bundles`` writes them).

Needs no ledger: the leaves are hashed and checked against the signed checkpoint
(all of them against its root, or each against its inclusion proof), ``--prev``
against the consistency proofs, then the chains of incidents the leaves make
against the tree of chains the checkpoint signs: for an incident bundle, that it
holds every event concerning its incident.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from incident_ledger.ledger.audit import PAGE, Checkpoint, open_checkpoint, unb64, verifier_key
from incident_ledger.ledger.bundle_inclusion import (
    bundle_file,
    bundle_text,
    entry_id,
    verify_included,
)
from incident_ledger.ledger.bundles import (
    CHECKPOINT_FILE,
    CONSISTENCY_FILE,
    HASHES_FILE,
    INCIDENT_FILE,
    KEY_FILE,
    LEAVES_FILE,
    PROOFS_FILE,
    SUBTREES_FILE,
)
from incident_ledger.ledger.errors import NotFoundError, VerificationError
from incident_ledger.ledger.event_citations import cited_records
from incident_ledger.ledger.evidence_files import check_evidence
from incident_ledger.ledger.incident_chains import (
    START,
    ChainMap,
    Chains,
    concerned,
    created_claim,
    entry_line,
    parse_leaf,
)
from incident_ledger.ledger.merkle import (
    Frontier,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)


def verify_bundle(path: Path, key: str | None, prev: str | None) -> dict[str, Any]:
    """Verify an export bundle offline: signature, leaves against the root or their
    proofs, ``--prev``, then the chains of incidents (for an incident bundle, that it
    holds every event concerning its incident)."""
    if not (path / LEAVES_FILE).is_file() or not (path / CHECKPOINT_FILE).is_file():
        raise NotFoundError(
            f"{path} is not an export bundle (no {LEAVES_FILE} or {CHECKPOINT_FILE})"
        )
    verifier = verifier_key(key) if key else bundle_text(path, KEY_FILE).strip()
    checkpoint = open_checkpoint(bundle_text(path, CHECKPOINT_FILE), [verifier])
    lines = bundle_file(path, LEAVES_FILE).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    selected = (path / SUBTREES_FILE).exists() or (path / PROOFS_FILE).exists()
    if selected:
        verify_included(path, lines, checkpoint)
    else:
        _verify_full(path, lines, checkpoint)
    result: dict[str, Any] = {
        "entries": len(lines),
        "checkpoint": checkpoint.as_json(),
        "key": "given" if key else "taken from the bundle",
    }
    if prev is not None:
        previous = open_checkpoint(_read_text(prev), [verifier], "{prev} checkpoint", ("prev",))
        _verify_extends(path, lines, selected, previous, checkpoint)
        result["extends"] = previous.size
    if selected:
        result["incident"] = _verify_complete(path, lines, checkpoint)
    else:
        _verify_all_chains(lines, checkpoint)
    captures, included = check_evidence(path, lines)
    if captures.captures or included:
        result |= captures.as_json()
    if not included and captures.files:  # the log verifies; the files are not here
        result["captured_files_left_out"] = captures.files
    return result


def _read_text(path_or_text: str) -> str:
    try:
        return Path(path_or_text).read_text("utf-8")
    except OSError:
        raise NotFoundError(f"no checkpoint file {path_or_text}") from None
    except UnicodeDecodeError:
        raise VerificationError(f"{path_or_text} is not a checkpoint (not UTF-8 text)") from None


def _verify_full(path: Path, lines: list[bytes], checkpoint: Checkpoint) -> None:
    computed = [leaf_hash(line) for line in lines]
    frontier = Frontier()
    for digest in computed:
        frontier.push(digest)
    if frontier.size == checkpoint.size and frontier.root() == checkpoint.root:
        return
    first = _first_bad_entry(path, computed, checkpoint)
    if first is None:
        raise VerificationError(
            f"the {len(lines)} entries do not hash to the signed root of {checkpoint.size}, and "
            f"the bundle's {HASHES_FILE} is not authentic either, so no entry can be named"
        )
    shown = entry_id(lines[first]) if first < len(lines) else "missing"
    raise VerificationError(
        f"entry {first} ({shown}): does not match the signed log (edited, inserted, removed "
        "or reordered)"
    )


def _first_bad_entry(path: Path, computed: list[bytes], checkpoint: Checkpoint) -> int | None:
    """Locate the first bad entry using the bundle's leaf hashes, once they are authenticated.

    The hashes are trusted only if they fold to the signed root; then the first
    line whose own hash differs from its authenticated hash is the culprit.
    """
    try:
        listed = [unb64(h, HASHES_FILE) for h in (path / HASHES_FILE).read_text("ascii").split()]
    except (OSError, ValueError, VerificationError):  # missing, not text, not base64
        return None
    frontier = Frontier()
    for digest in listed:
        frontier.push(digest)
    if frontier.size != checkpoint.size or frontier.root() != checkpoint.root:
        return None
    for index, digest in enumerate(listed):
        if index >= len(computed) or computed[index] != digest:
            return index
    return len(listed) if len(computed) > len(listed) else None


def _verify_complete(path: Path, lines: list[bytes], checkpoint: Checkpoint) -> dict[str, Any]:
    """Check that an incident bundle holds every event concerning its incident: the chain
    its leaves make is the one the checkpoint signs (through ``incident.json``)."""
    if not (path / INCIDENT_FILE).is_file():
        raise VerificationError(
            f"the bundle holds {len(lines)} entries of the signed log but no {INCIDENT_FILE}: "
            "nothing shows that no event was left out"
        )
    if checkpoint.chains is None:
        raise VerificationError(
            f"checkpoint {checkpoint.size} does not sign the chains of incidents: nothing "
            "shows that no event was left out"
        )
    incident, count, head, index, proof = _read_entry(path / INCIDENT_FILE)
    try:
        digest = leaf_hash(entry_line(incident, count, head))
        verify_inclusion(digest, index, checkpoint.chains[0], proof, checkpoint.chains[1])
    except ProofError as error:
        raise VerificationError(
            f"{INCIDENT_FILE}: the chain of incident '{incident}' is not one checkpoint "
            f"{checkpoint.size} signs ({error})"
        ) from None
    found, found_head = _chains_of(lines).heads.get(incident, (0, START))
    if found < count:
        raise VerificationError(
            f"incomplete: checkpoint {checkpoint.size} counts {count} events concerning "
            f"incident '{incident}' but the bundle shows {found}: events were left out"
        )
    if (found, found_head) != (count, head):
        raise VerificationError(
            f"the events concerning incident '{incident}' do not make the chain checkpoint "
            f"{checkpoint.size} signs (an event was left out, added or reordered)"
        )
    _verify_cited(lines, incident)
    return {"id": incident, "events": count}


def _verify_cited(lines: list[bytes], incident: str) -> None:
    """Check that an incident bundle holds the records its incident's events cite (their
    reports, claimants, relays and the claims they name) and the outlet of each report:
    the chain covers only the events concerning the incident, not what they cite."""
    parsed = [parse_leaf(line) for line in lines]
    held = {line["id"] for line in parsed if line is not None}
    claims = dict(made for line in parsed if line is not None and (made := created_claim(line)))
    outlets = {
        line["id"]: f"source:{source}"
        for line in parsed
        if line is not None
        and line["id"].startswith("report:")
        and type(source := line["data"].get("source")) is str
    }
    labels = concerned(lines, lambda wanted: claims)
    for line, label in zip(parsed, labels, strict=True):
        if line is None or incident not in label:
            continue
        for record in sorted(cited_records(line)):
            cited = [record, *([outlets[record]] if record in outlets else [])]
            for missing in (name for name in cited if name not in held):
                raise VerificationError(
                    f"incomplete: {_named(line['id'])} cites {_named(missing)}, which the "
                    "bundle lacks"
                )


def _named(aggregate: str) -> str:
    """``report r5`` for ``report:r5``."""
    kind, _, name = aggregate.partition(":")
    return f"{kind} {name}"


def _read_entry(path: Path) -> tuple[str, int, bytes, int, list[bytes]]:
    """(incident, count, head, index, proof) of an ``incident.json``."""
    try:
        entry = json.loads(path.read_text("utf-8"))
        incident, count, index = entry["incident"], entry["count"], entry["index"]
        if type(incident) is not str or type(count) is not int or type(index) is not int:
            raise TypeError
        head = unb64(entry["head"], INCIDENT_FILE)
        proof = [unb64(h, INCIDENT_FILE) for h in entry["proof"]]
    except (OSError, ValueError, KeyError, TypeError):
        raise VerificationError(f"{INCIDENT_FILE} is malformed") from None
    return incident, count, head, index, proof


def _verify_all_chains(lines: list[bytes], checkpoint: Checkpoint) -> None:
    """A full bundle: the chains of incidents its leaves make are the ones signed."""
    if checkpoint.chains is None:
        return  # signed before the chains existed
    tree = ChainMap(_chains_of(lines).entries())
    if (tree.size, tree.root) != checkpoint.chains:
        raise VerificationError(
            f"the entries' chains of incidents are not the ones checkpoint {checkpoint.size} signs"
        )


def _chains_of(lines: list[bytes]) -> Chains:
    """The chains of incidents a bundle's leaves make, a claim's incident being the one
    its creation in the bundle names (read a page at a time)."""
    claims: dict[str, str] = {}
    for start in range(0, len(lines), PAGE):
        for line in lines[start : start + PAGE]:
            parsed = parse_leaf(line)
            made = created_claim(parsed) if parsed is not None else None
            if made is not None:
                claims.setdefault(*made)
    chains = Chains()
    for start in range(0, len(lines), PAGE):
        page = lines[start : start + PAGE]
        labels = concerned(page, lambda wanted: claims)
        chains.add(labels, map(leaf_hash, page))
    return chains


def _verify_extends(
    path: Path, lines: list[bytes], selected: bool, previous: Checkpoint, current: Checkpoint
) -> None:
    if previous.origin != current.origin:
        raise VerificationError(
            f"{{prev}} is a checkpoint of another log ({previous.origin}, not {current.origin})",
            arguments=("prev",),
        )
    if previous.size > current.size:
        raise VerificationError(
            f"the export's checkpoint ({current.size}) is older than {{prev}} ({previous.size}): "
            "a rollback",
            arguments=("prev",),
        )
    if previous.size == current.size:
        if previous.root != current.root:
            raise VerificationError(
                f"a fork: two different logs of size {current.size} are signed with this key"
            )
        return
    if not selected:
        frontier = Frontier()
        for line in lines[: previous.size]:
            frontier.push(leaf_hash(line))
        if frontier.root() != previous.root:
            raise VerificationError(
                f"the export does not extend {{prev}}: its first {previous.size} entries hash to "
                "a different root (history was rewritten)",
                arguments=("prev",),
            )
        return
    try:
        proofs = json.loads(bundle_text(path, CONSISTENCY_FILE))
    except ValueError:
        proofs = None
    if not isinstance(proofs, dict):
        raise VerificationError(f"the bundle's {CONSISTENCY_FILE} is not a set of proofs")
    hashes = proofs.get(str(previous.size))
    if hashes is None:
        raise VerificationError(f"the export holds no consistency proof from size {previous.size}")
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        raise VerificationError(
            f"the bundle's {CONSISTENCY_FILE}: the proof from size {previous.size} is not a "
            "list of hashes"
        )
    proof = [unb64(h, "consistency proof") for h in hashes]
    try:
        verify_consistency(previous.size, current.size, proof, previous.root, current.root)
    except ProofError as error:
        raise VerificationError(
            f"the export does not extend {{prev}}: {error}", arguments=("prev",)
        ) from None
