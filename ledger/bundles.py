"""Verifiable export bundles: a folder of leaves, proofs and the checkpoint to check them.

A full bundle holds every leaf up to its checkpoint, so the root is recomputed
from them. An incident bundle holds every event concerning the incident up to
its checkpoint (``incident_chains.concerned``), the reports, sources and claims
those events cite, one inclusion proof per leaf, and ``incident.json``: the
incident's chain (count and head) with its inclusion proof in the tree of chains
the checkpoint signs. A recipient recomputes the chain from the bundle's own
leaves, so a bundle that leaves out any event concerning the incident fails.
A known time (``--at``) does not narrow a bundle: whether an event was known by
then is read from the events themselves (their reports' publication times), and
only a bundle holding all of them lets a recipient check that none was left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.audit import (
    PAGE,
    Checkpoint,
    _leaves_in_ledger_order,
    b64,
    open_checkpoint,
    unb64,
    verifier_key,
)
from incident_ledger.ledger.errors import BadInputError, NotFoundError, VerificationError
from incident_ledger.ledger.incident_chains import (
    START,
    ChainMap,
    Chains,
    Line,
    concerned,
    created_claim,
    entry_line,
    parse_leaf,
)
from incident_ledger.ledger.merkle import (
    Frontier,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from incident_ledger.ledger.stores.chains import claim_lookup
from incident_ledger.ledger.stores.recorder import LogView

LEAVES_FILE = "leaves.jsonl"
PROOFS_FILE = "proofs.jsonl"
HASHES_FILE = "leaf-hashes.txt"
CHECKPOINT_FILE = "checkpoint"
KEY_FILE = "key.pub"
CONSISTENCY_FILE = "consistency.json"
INCIDENT_FILE = "incident.json"


def write_bundle(
    ledger: Ledger,
    out: Path,
    checkpoint: Checkpoint,
    verifier: str,
    incident: str | None,
) -> dict[str, Any]:
    """Write the verifiable JSONL bundle folder for the log at ``checkpoint``: every
    leaf, or with ``incident`` that incident's (each with an inclusion proof)."""
    if out.exists() and any(out.iterdir()):
        raise BadInputError(f"{out} exists and is not empty")
    recorder = ledger.audit
    with recorder.reading() as view:
        chosen = None if incident is None else _incident_part(ledger, view, checkpoint, incident)
        out.mkdir(parents=True, exist_ok=True)
        wanted = None if chosen is None else chosen[1]
        written = _write_leaves(ledger, view, out, checkpoint, wanted)
        store = view.nodes
        earlier = [size for size, _ in view.checkpoints() if 0 < size < checkpoint.size]
        consistency = {
            str(size): [b64(h) for h in consistency_proof(store, size, checkpoint.size)]
            for size in earlier
        }
    if chosen is not None:
        (out / INCIDENT_FILE).write_text(json.dumps(chosen[0], indent=1) + "\n", "utf-8")
    (out / CHECKPOINT_FILE).write_text(checkpoint.note, encoding="utf-8")
    (out / KEY_FILE).write_text(verifier + "\n", encoding="ascii")
    (out / CONSISTENCY_FILE).write_text(json.dumps(consistency, indent=1) + "\n", "utf-8")
    return {"path": str(out), "entries": written, "checkpoint": checkpoint.as_json()}


Wanted = Callable[[int, str], bool]
"""Whether the leaf of this index and aggregate id goes into an incident bundle."""


def _write_leaves(
    ledger: Ledger, view: LogView, out: Path, checkpoint: Checkpoint, wanted: Wanted | None
) -> int:
    """Write the leaves (all, or the ``wanted`` ones with their proofs); how many."""
    store = view.nodes
    written = 0
    with (
        (out / LEAVES_FILE).open("wb") as leaves,
        _maybe_open(out / PROOFS_FILE, wanted is not None) as proofs,
        _maybe_open(out / HASHES_FILE, wanted is None) as hashes,
    ):
        for index, notification, line in _leaves_in_ledger_order(ledger, view):
            if index >= checkpoint.size:
                break
            if wanted is not None and not wanted(index, str(notification.originator_id)):
                continue
            leaves.write(line + b"\n")
            if hashes is not None:
                hashes.write(b64(leaf_hash(line)) + "\n")
            if proofs is not None:
                proof = inclusion_proof(store, index, checkpoint.size)
                record = {"index": index, "proof": [b64(h) for h in proof]}
                proofs.write(json.dumps(record) + "\n")
            written += 1
    return written


def _incident_part(
    ledger: Ledger, view: LogView, checkpoint: Checkpoint, incident: str
) -> tuple[dict[str, Any], Wanted]:
    """An incident's chain entry with its proof, and which leaves its bundle holds: those
    concerning it, and every event of the records they cite (``_cited``).

    The chains are computed again from the log up to the checkpoint, and must be
    the ones it signed.
    """
    chains, lookup = Chains(), claim_lookup(view, ledger.audit.plain)
    own: set[int] = set()
    cited: set[str] = set()
    batch: list[tuple[int, bytes]] = []

    def add_batch() -> None:
        lines = [parse_leaf(leaf) for _, leaf in batch]
        labels = concerned(lines, lookup)
        chains.add(labels, [leaf_hash(leaf) for _, leaf in batch])
        for (index, _), line, label in zip(batch, lines, labels, strict=True):
            if incident in label and line is not None:
                own.add(index)
                cited.update(_cited(line))
        batch.clear()

    for index, _, leaf in _leaves_in_ledger_order(ledger, view):
        if index >= checkpoint.size:
            break
        batch.append((index, leaf))
        if len(batch) == PAGE:
            add_batch()
    add_batch()
    tree = ChainMap(chains.entries())
    if checkpoint.chains != (tree.size, tree.root):
        raise VerificationError(
            f"the log's chains of incidents are not the ones checkpoint {checkpoint.size} "
            "signed: run verify"
        )
    entry = tree.entry(incident)
    if entry is None:
        raise NotFoundError(f"no incident '{incident}' in the ledger")
    cited |= _outlets(view, ledger, cited)
    return entry, lambda index, aggregate: index in own or aggregate in cited


def _cited(line: Line) -> set[str]:
    """The records an event cites, as aggregate ids: its report, claimant, relays and the
    claim it names (which may be of another incident, for a correction)."""
    data = line["data"]
    cited = {
        f"{kind}:{value}"
        for field, kind in (("report", "report"), ("claimant", "source"), ("claim", "claim"))
        if type(value := data.get(field)) is str
    }
    via = data.get("via")
    if type(via) is list:
        cited.update(f"source:{relay}" for relay in via if type(relay) is str)
    return cited


def _outlets(view: LogView, ledger: Ledger, cited: set[str]) -> set[str]:
    """The outlets of the cited reports, from the reports' own events."""
    plain = ledger.audit.plain
    reports = sorted(aggregate for aggregate in cited if aggregate.startswith("report:"))
    outlets = set()
    for _, state in view.creation_states(reports).values():
        line = parse_leaf(state if plain is None else plain(state))
        source = None if line is None else line["data"].get("source")
        if type(source) is str:
            outlets.add(f"source:{source}")
    return outlets


class _maybe_open:
    """Open a text file for writing, or stand in as None."""

    def __init__(self, path: Path, wanted: bool) -> None:
        self.handle = path.open("w", encoding="utf-8") if wanted else None

    def __enter__(self) -> Any:
        return self.handle

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()


def verify_bundle(path: Path, key: str | None, prev: str | None) -> dict[str, Any]:
    """Verify an export bundle offline: signature, leaves against the root or their
    proofs, ``--prev``, then the chains of incidents (for an incident bundle, that it
    holds every event concerning its incident)."""
    if not (path / LEAVES_FILE).is_file() or not (path / CHECKPOINT_FILE).is_file():
        raise NotFoundError(
            f"{path} is not an export bundle (no {LEAVES_FILE} or {CHECKPOINT_FILE})"
        )
    verifier = verifier_key(key) if key else _bundle_text(path, KEY_FILE).strip()
    checkpoint = open_checkpoint(_bundle_text(path, CHECKPOINT_FILE), [verifier])
    lines = _bundle_file(path, LEAVES_FILE).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    selected = (path / PROOFS_FILE).exists()
    if selected:
        _verify_selected(lines, path / PROOFS_FILE, checkpoint)
    else:
        _verify_full(path, lines, checkpoint)
    result: dict[str, Any] = {
        "entries": len(lines),
        "checkpoint": checkpoint.as_json(),
        "key": "given" if key else "taken from the bundle",
    }
    if prev is not None:
        previous = open_checkpoint(_read_text(prev), [verifier], "--prev checkpoint")
        _verify_extends(path, lines, selected, previous, checkpoint)
        result["extends"] = previous.size
    if selected:
        result["incident"] = _verify_complete(path, lines, checkpoint)
    else:
        _verify_all_chains(lines, checkpoint)
    return result


def _bundle_file(path: Path, name: str) -> bytes:
    """The bytes of one file of a bundle; one that is missing or unreadable fails the
    verification, naming it."""
    try:
        return (path / name).read_bytes()
    except FileNotFoundError:
        raise VerificationError(f"the bundle holds no {name}") from None
    except OSError as error:
        raise VerificationError(f"cannot read the bundle's {name}: {error.strerror}") from None


def _bundle_text(path: Path, name: str) -> str:
    """One text file of a bundle (UTF-8); garbage fails the verification, naming it."""
    try:
        return _bundle_file(path, name).decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError(f"the bundle's {name} is not UTF-8 text") from None


def _read_text(path_or_text: str) -> str:
    try:
        return Path(path_or_text).read_text("utf-8")
    except OSError:
        raise NotFoundError(f"no checkpoint file {path_or_text}") from None
    except UnicodeDecodeError:
        raise VerificationError(f"{path_or_text} is not a checkpoint (not UTF-8 text)") from None


def _entry_id(line: bytes) -> str:
    try:
        return str(json.loads(line).get("id", "?"))
    except (ValueError, AttributeError):
        return "?"


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
    shown = _entry_id(lines[first]) if first < len(lines) else "missing"
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


def _verify_selected(lines: list[bytes], proofs_path: Path, checkpoint: Checkpoint) -> None:
    proofs = _bundle_text(proofs_path.parent, proofs_path.name).splitlines()
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
                f"entry {index} ({_entry_id(line)}): not in the signed log ({error})"
            ) from None
        del position


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
    return {"id": incident, "events": count}


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
        labels = concerned([parse_leaf(line) for line in page], lambda wanted: claims)
        chains.add(labels, map(leaf_hash, page))
    return chains


def _verify_extends(
    path: Path, lines: list[bytes], selected: bool, previous: Checkpoint, current: Checkpoint
) -> None:
    if previous.origin != current.origin:
        raise VerificationError(
            f"--prev is a checkpoint of another log ({previous.origin}, not {current.origin})"
        )
    if previous.size > current.size:
        raise VerificationError(
            f"the export's checkpoint ({current.size}) is older than --prev ({previous.size}): "
            "a rollback"
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
                f"the export does not extend --prev: its first {previous.size} entries hash to "
                "a different root (history was rewritten)"
            )
        return
    try:
        proofs = json.loads(_bundle_text(path, CONSISTENCY_FILE))
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
        raise VerificationError(f"the export does not extend --prev: {error}") from None
