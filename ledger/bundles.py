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
)
from incident_ledger.ledger.errors import BadInputError, NotFoundError, VerificationError
from incident_ledger.ledger.incident_chains import (
    ChainMap,
    Chains,
    Line,
    concerned,
    parse_leaf,
)
from incident_ledger.ledger.merkle import (
    consistency_proof,
    inclusion_prover,
    leaf_hash,
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
    prove = inclusion_prover(view.nodes, checkpoint.size)
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
                proof = prove(index)
                record = {"index": index, "proof": [b64(h) for h in proof]}
                proofs.write(json.dumps(record) + "\n")
            written += 1
    return written


def _incident_part(
    ledger: Ledger, view: LogView, checkpoint: Checkpoint, incident: str
) -> tuple[dict[str, Any], Wanted]:
    """An incident's chain entry with its proof, and which leaves its bundle holds: those
    concerning it, and every event of the records they cite (``cited_records``).

    The chains are computed again from the log up to the checkpoint, and must be
    the ones it signed.
    """
    chains, lookup = Chains(), claim_lookup(view, ledger.audit.plain)
    own: set[int] = set()
    cited: set[str] = set()
    batch: list[tuple[int, bytes]] = []

    def add_batch() -> None:
        labels = concerned([leaf for _, leaf in batch], lookup)
        chains.add(labels, [leaf_hash(leaf) for _, leaf in batch])
        for (index, leaf), label in zip(batch, labels, strict=True):
            line = parse_leaf(leaf) if incident in label else None
            if line is not None:
                own.add(index)
                cited.update(cited_records(line))
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
    cited |= report_outlets(view, ledger, cited)
    return entry, lambda index, aggregate: index in own or aggregate in cited


def cited_records(line: Line) -> set[str]:
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


def report_outlets(view: LogView, ledger: Ledger, cited: set[str]) -> set[str]:
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
