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
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from eventsourcing.persistence import Notification

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.audit import (
    PAGE,
    Checkpoint,
    _leaf,
    _leaves_in_ledger_order,
    b64,
)
from incident_ledger.ledger.errors import BadInputError, NotFoundError, VerificationError
from incident_ledger.ledger.event_citations import cited_records, records_named, report_outlets
from incident_ledger.ledger.evidence_files import captured_in, write_evidence
from incident_ledger.ledger.incident_chains import (
    ChainMap,
    Chains,
    concerned,
    parse_leaf,
)
from incident_ledger.ledger.merkle import consistency_proof, leaf_hash
from incident_ledger.ledger.multiproofs import needed_subtrees, subtree_hashes
from incident_ledger.ledger.stores.chains import claim_lookup
from incident_ledger.ledger.stores.recorder import LogView

LEAVES_FILE = "leaves.jsonl"
PROOFS_FILE = "proofs.jsonl"
"""An incident bundle's inclusion proofs as bundles carried them first, one per leaf: still
verified, no longer written (``SUBTREES_FILE`` carries each of their hashes once)."""
INDEXES_FILE = "leaf-indexes.txt"
SUBTREES_FILE = "subtrees.jsonl"
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
    positions: Collection[int] | None = None,
    with_evidence: bool = False,
) -> dict[str, Any]:
    """Write the verifiable JSONL bundle folder for the log at ``checkpoint``: every
    leaf, or with ``incident`` that incident's (each with an inclusion proof); with
    ``with_evidence``, the files of the captures it holds (``evidence_files``).

    ``positions``, when given, are where the incident's events are in the log (the
    notification ids a read model holds for them): the bundle then reads those and the
    events they cite instead of the whole log, once they prove to be every event of the
    incident (``_indexed_part``) and the captures of its reports; otherwise the whole log
    is read. An incident bundle with its captured files reads the whole log."""
    require_empty(out)
    recorder = ledger.audit
    with recorder.reading() as view:
        picked = None
        if incident is not None and positions is not None and not with_evidence:
            picked = _indexed_part(ledger, view, checkpoint, incident, positions)
        chosen = None
        if incident is not None and picked is None:
            chosen = _incident_part(ledger, view, checkpoint, incident)
        out.mkdir(parents=True, exist_ok=True)
        captures: list[str] = []
        if picked is not None:
            written = _write_picked(view, out, checkpoint, picked[1])
            captures = [found[0] for _, leaf in picked[1] if (found := captured_in(leaf))]
        else:
            wanted = None if chosen is None else chosen[1]
            written = _write_leaves(ledger, view, out, checkpoint, wanted, captures)
        files = write_evidence(view, out, captures) if with_evidence else None
        store = view.nodes
        earlier = [size for size, _ in view.checkpoints() if 0 < size < checkpoint.size]
        consistency = {
            str(size): [b64(h) for h in consistency_proof(store, size, checkpoint.size)]
            for size in earlier
        }
    entry = picked[0] if picked is not None else None if chosen is None else chosen[0]
    if entry is not None:
        (out / INCIDENT_FILE).write_text(json.dumps(entry, indent=1) + "\n", "utf-8")
    (out / CHECKPOINT_FILE).write_text(checkpoint.note, encoding="utf-8")
    (out / KEY_FILE).write_text(verifier + "\n", encoding="ascii")
    (out / CONSISTENCY_FILE).write_text(json.dumps(consistency, indent=1) + "\n", "utf-8")
    result: dict[str, Any] = {
        "path": str(out),
        "entries": written,
        "checkpoint": checkpoint.as_json(),
    }
    if files is None and captures:  # restoring the bundle will need these files
        result["files_left_out"] = len(set(captures))
    return result if files is None else result | {"evidence": files}


Wanted = Callable[[int, str], bool]
"""Whether the leaf of this index and aggregate id goes into an incident bundle."""


def require_empty(out: Path) -> None:
    """Refuse a bundle folder that already holds files: a bundle is all the folder holds."""
    if out.exists() and any(out.iterdir()):
        raise BadInputError(f"{out} exists and is not empty")


def has_chain(ledger: Ledger, incident: str) -> bool:
    """Whether the log holds an event concerning ``incident`` (it has a chain): else an
    incident bundle of it is refused."""
    with ledger.audit.reading() as view:
        return incident in view.chain_heads()


def _write_leaves(
    ledger: Ledger,
    view: LogView,
    out: Path,
    checkpoint: Checkpoint,
    wanted: Wanted | None,
    captures: list[str],
) -> int:
    """Write the leaves (all, or the ``wanted`` ones and their multiproof); how many. The
    SHA-256 of each capture written goes into ``captures``."""
    indexes: list[int] = []
    written = 0
    with (
        (out / LEAVES_FILE).open("wb") as leaves,
        _maybe_open(out / HASHES_FILE, wanted is None) as hashes,
    ):
        for index, notification, line in _leaves_in_ledger_order(ledger, view):
            if index >= checkpoint.size:
                break
            if wanted is not None and not wanted(index, str(notification.originator_id)):
                continue
            leaves.write(line + b"\n")
            captured = captured_in(line)
            if captured is not None:
                captures.append(captured[0])
            if hashes is not None:
                hashes.write(b64(leaf_hash(line)) + "\n")
            else:
                indexes.append(index)
            written += 1
    if wanted is not None:
        write_multiproof(view, out, checkpoint.size, indexes)
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

    def wanted(index: int, aggregate: str) -> bool:
        if aggregate.startswith("capture:"):
            return _captured_report(aggregate) in cited
        return index in own or aggregate in cited

    return entry, wanted


def _captured_report(aggregate: str) -> str:
    """The report a capture's id names (``capture:REPORT/SHA256``), as an aggregate id: a
    report's captures go with it into an incident bundle."""
    return "report:" + aggregate[8:].rpartition("/")[0]


Picked = list[tuple[int, bytes]]
"""Leaves of an incident bundle, (index, leaf bytes) in log order."""


def _indexed_part(
    ledger: Ledger, view: LogView, checkpoint: Checkpoint, incident: str, positions: Collection[int]
) -> tuple[dict[str, Any], Picked] | None:
    """``_incident_part`` read from the events at ``positions`` and those they cite, not
    the whole log: the stored chains must be the ones the checkpoint signed, and the
    events at ``positions`` that concern the incident must make its chain, count and
    head, as stored. So none is missing, none is extra and the order is the log's. None
    when they do not (a read model behind or wrong): the whole log is read instead."""
    heads = view.chain_heads()
    tree = ChainMap(Chains(heads).entries())
    if checkpoint.chains != (tree.size, tree.root):
        return None
    entry = tree.entry(incident)
    if entry is None:
        raise NotFoundError(f"no incident '{incident}' in the ledger")
    leaves = _leaves_at(ledger, view, checkpoint, ("notification", sorted(positions)))
    # The claims these events end have events of their own (Claim.Retracted and
    # Claim.Superseded), which no read-model row places: every event of those claims.
    named = records_named(leaf for _, leaf in leaves or ())
    ended_claims = sorted(f"claim:{claim}" for claim in named["claim"])
    ended = _leaves_at(ledger, view, checkpoint, ("originator", ended_claims))
    if leaves is None or ended is None:
        return None
    leaves = sorted(dict(leaves + ended).items())
    labels = concerned([leaf for _, leaf in leaves], claim_lookup(view, ledger.audit.plain))
    own = [item for item, label in zip(leaves, labels, strict=True) if incident in label]
    chain = Chains()
    chain.add([(incident,)] * len(own), [leaf_hash(leaf) for _, leaf in own])
    if chain.heads.get(incident) != heads.get(incident):
        return None
    cited = {
        f"{kind}:{value}"
        for kind, values in records_named(leaf for _, leaf in own).items()
        for value in values
    }
    cited |= report_outlets(view, ledger, cited)
    others = _leaves_at(ledger, view, checkpoint, ("originator", sorted(cited)))
    if others is None:
        return None
    captures = [item for item in leaves if _capture_of(item[1], cited)]
    return entry, sorted(dict(own + others + captures).items())


def _capture_of(leaf: bytes, cited: set[str]) -> bool:
    """Whether a leaf is a capture of a cited report (the positions an incident bundle
    reads hold the captures of the incident's reports)."""
    line = parse_leaf(leaf) if b'"capture:' in leaf else None
    aggregate = None if line is None else line.get("id")
    return (
        type(aggregate) is str
        and aggregate.startswith("capture:")
        and (_captured_report(aggregate) in cited)
    )


def _leaves_at(
    ledger: Ledger, view: LogView, checkpoint: Checkpoint, where: tuple[str, list[Any]]
) -> Picked | None:
    """The leaves inside the checkpoint of the stored events ``LogView.leaf_rows_where``
    finds, as ``verify`` reads them (``audit._leaf``); None if one has no leaf."""
    rows, indexes = view.leaf_rows_where(*where)
    if indexes is None:
        return None
    size = checkpoint.size
    # The stored forms are the leaves, each checked to name its event (in bulk; row by
    # row only to say which one does not).
    states = ledger.leaf_mapper.leaves_of_rows(rows)
    if states is not None:
        return [(i, state) for i, state in zip(indexes, states, strict=True) if i < size]
    leaves: Picked = []
    for (position, aggregate, version, topic, state), index in zip(rows, indexes, strict=True):
        if index < size:
            stored = Notification(
                id=position,
                originator_id=aggregate,
                originator_version=version,
                topic=topic,
                state=state,
            )
            leaves.append((index, _leaf(ledger, stored, index)))
    return leaves


def _write_picked(view: LogView, out: Path, checkpoint: Checkpoint, picked: Picked) -> int:
    """Write an incident bundle's leaves and what proves them included; how many."""
    with (out / LEAVES_FILE).open("wb") as leaves:
        leaves.writelines(line + b"\n" for _, line in picked)
    write_multiproof(view, out, checkpoint.size, [index for index, _ in picked])
    return len(picked)


def write_multiproof(view: LogView, out: Path, size: int, indexes: list[int]) -> None:
    """Write where an incident bundle's leaves are in the log (``INDEXES_FILE``, one index
    a line, line for line with the leaves) and the hashes of the subtrees that, with
    them, make the root of the tree of ``size`` (``SUBTREES_FILE``, one
    ``[start, end, hash]`` a line: ``multiproofs.needed_subtrees``)."""
    with (out / INDEXES_FILE).open("w", encoding="ascii") as listed:
        listed.writelines(f"{index}\n" for index in indexes)
    with (out / SUBTREES_FILE).open("w", encoding="ascii") as subtrees:
        for piece in needed_subtrees(size, indexes):
            hashes = subtree_hashes(view.nodes, size, piece)
            subtrees.writelines(
                f'[{start}, {end}, "{b64(digest)}"]\n'
                for (start, end), digest in zip(piece, hashes, strict=True)
            )


class _maybe_open:
    """Open a text file for writing, or stand in as None."""

    def __init__(self, path: Path, wanted: bool) -> None:
        self.handle = path.open("w", encoding="utf-8") if wanted else None

    def __enter__(self) -> Any:
        return self.handle

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()
