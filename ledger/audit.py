"""The audit trail: signed checkpoints and proofs (bundles: ``ledger.bundles``).

The log is an RFC 9162 Merkle tree over the events' export lines (see
``ledger.leaves``), kept by the recorder in the same transaction as the events.
Checkpoints are C2SP signed notes (Ed25519) over the tlog-checkpoint body, with
one extension line committing to every incident's chain
(``ledger.incident_chains``); each new one must be consistent with the previous one.
"""

from __future__ import annotations

import base64
from binascii import b2a_base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventsourcing.persistence import MapperDeserialisationError, PersistenceError

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import (
    BadInputError,
    ConflictError,
    NotFoundError,
    StoreError,
    VerificationError,
)
from incident_ledger.ledger.incident_chains import ChainMap, Chains, parse_extension
from incident_ledger.ledger.keyfiles import read_key_file
from incident_ledger.ledger.leaves import leaf_bytes
from incident_ledger.ledger.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_at,
    verify_consistency,
    verify_inclusion,
)
from incident_ledger.ledger.signednote import (
    CheckpointError,
    NoteError,
    checkpoint_extensions,
    format_checkpoint,
    open_note,
    parse_checkpoint,
    sign_note,
)
from incident_ledger.ledger.stores.recorder import LogView
from incident_ledger.ledger.times import to_key, utc_now

PAGE = 2_000


def b64(data: bytes) -> str:
    """Standard base64, as in checkpoints and proofs (``b2a_base64``: the quickest
    spelling, for the hundreds of thousands of hashes a bundle writes)."""
    return b2a_base64(data, newline=False).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Strict base64 decoding with a clear error."""
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise VerificationError(f"{what} is not valid base64") from None


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of the log's size and root, and of every incident's chain
    (number of incidents, root of the tree of their chains) when it commits to them."""

    origin: str
    size: int
    root: bytes
    note: str
    chains: tuple[int, bytes] | None = None

    def as_json(self) -> dict[str, Any]:
        """JSON form for the CLI."""
        shown: dict[str, Any] = {"origin": self.origin, "size": self.size, "root": b64(self.root)}
        if self.chains is not None:
            shown["chains"] = {"incidents": self.chains[0], "root": b64(self.chains[1])}
        return shown | {"note": self.note}


def open_checkpoint(
    note: str,
    verifier_keys: Sequence[str],
    what: str = "checkpoint",
    arguments: tuple[str, ...] = (),
) -> Checkpoint:
    """Check a signed checkpoint's signature and parse its body (``what`` names it in an
    error, with the ``arguments`` it names, as ``LedgerError`` has them)."""
    try:
        text, _ = open_note(note, verifier_keys)
        origin, size, root = parse_checkpoint(text)
        chains = parse_extension(checkpoint_extensions(text))
    except (NoteError, CheckpointError, ValueError) as error:
        raise VerificationError(f"{what}: {error}", arguments=arguments) from None
    return Checkpoint(origin, size, root, note, chains)


def make_checkpoint(
    ledger: Ledger, signer_key: str, origin: str, verifier: str, *, keep: bool = True
) -> Checkpoint:
    """Sign the log's current size and root and the chains of its incidents; it must
    extend the previous checkpoint.

    The new checkpoint is stored with the log, unless ``keep`` is false (a store that
    cannot be written: the checkpoint then lives only where it is handed out). A
    checkpoint of the same size signed before the chains existed is signed again with
    them (and replaces it: same size, same root).
    """
    recorder = ledger.audit
    with recorder.reading() as view:
        size = view.size()
        store = view.nodes
        root = root_at(store, size)
        chains = ChainMap(Chains(view.chain_heads()).entries())
        stored = view.checkpoints()
        previous = open_checkpoint(stored[-1][1], [verifier]) if stored else None
        if previous is not None:
            if previous.size > size:
                raise VerificationError(
                    f"the log holds {size} entries but checkpoint {previous.size} was signed: "
                    "the log was truncated"
                )
            if previous.size == size:
                if previous.root != root:
                    raise VerificationError(f"checkpoint {size} does not match the log's root")
                if previous.chains == (chains.size, chains.root):
                    return previous
                if previous.chains is not None:
                    raise VerificationError(
                        f"checkpoint {size} commits to other chains of incidents than the "
                        "store holds (they were edited): run verify"
                    )
            try:
                proof = consistency_proof(store, previous.size, size) if previous.size else []
                if previous.size:
                    verify_consistency(previous.size, size, proof, previous.root, root)
            except ProofError as error:
                raise VerificationError(
                    f"the log is not consistent with checkpoint {previous.size}: {error}"
                ) from None
    note = sign_note(format_checkpoint(origin, size, root, [chains.extension()]), signer_key)
    if keep:
        try:
            if previous is not None and previous.size == size:
                recorder.replace_checkpoint(size, previous.note, note, to_key(utc_now()))
            else:
                recorder.add_checkpoint(size, note, to_key(utc_now()))
        except PersistenceError as error:
            raise StoreError(f"cannot store the checkpoint: {error}") from None
    return Checkpoint(origin, size, root, note, (chains.size, chains.root))


def _leaves_in_ledger_order(ledger: Ledger, view: LogView) -> Iterator[tuple[int, Any, bytes]]:
    """(leaf index, notification, leaf bytes) in ledger order.

    Walks the notification log and the leaf table side by side, so an event
    deleted, inserted or moved shows up at the first index where they part. The
    leaf is the stored bytes themselves, once their id, version and topic are checked.
    """
    position, index = 0, 0
    while True:
        notifications = view.notifications(position, PAGE)
        leaves = view.leaf_notifications(index, PAGE)
        if not notifications and not leaves:
            return
        for offset in range(max(len(notifications), len(leaves))):
            notification = notifications[offset] if offset < len(notifications) else None
            leaf = leaves[offset] if offset < len(leaves) else None
            if notification is None or leaf is None or leaf[1] != notification.id:
                event = (
                    None if notification is None else (notification.id, notification.originator_id)
                )
                raise order_error(index, event, leaf)
            yield index, notification, _leaf(ledger, notification, index)
            index += 1
        if not notifications:
            return
        position = notifications[-1].id


def order_error(
    index: int, event: tuple[int, Any] | None, leaf: tuple[int, int] | None
) -> VerificationError:
    """The error for entry ``index`` when the store's event there (notification id,
    aggregate id) is not the one the log's leaf (index, notification id) records."""
    if event is None:
        held = leaf[1] if leaf is not None else "none"
        return VerificationError(
            f"entry {index}: the event this leaf records (notification {held}) "
            "is missing from the store"
        )
    if leaf is None or leaf[1] != event[0]:
        expected = f"notification {leaf[1]}" if leaf else "no leaf"
        return VerificationError(
            f"entry {index} ({event[1]}): the stored event order does not match the Merkle "
            f"log (leaf holds {expected}, store has notification {event[0]}): an event was "
            "deleted, inserted or moved"
        )
    return VerificationError(f"entry {index}: the stored event order does not match the log")


def _leaf(ledger: Ledger, notification: Any, index: int) -> bytes:
    try:
        return ledger.leaf_mapper.leaf_of(notification)
    except MapperDeserialisationError:
        raise VerificationError(
            f"entry {index} ({notification.originator_id}): the stored event is not a "
            "recorded event of this id, version and topic (edited after it was recorded)"
        ) from None
    except Exception as error:  # any decoding failure is tampering to report
        raise VerificationError(
            f"entry {index} ({notification.originator_id}): the stored event cannot be "
            f"decoded ({type(error).__name__})"
        ) from None


def _latest_checkpoint(view: LogView, verifier: str, at_least: int) -> Checkpoint | None:
    for size, note in reversed(view.checkpoints()):
        if size >= at_least:
            return open_checkpoint(note, [verifier])
    return None


def prove_inclusion(
    ledger: Ledger, aggregate_id: str, version: int, verifier: str
) -> dict[str, Any]:
    """An inclusion proof for one event, against the latest checkpoint covering it."""
    recorder = ledger.audit
    with recorder.reading() as view:
        index = view.leaf_index(aggregate_id, version)
        if index is None:
            raise NotFoundError(f"no event {aggregate_id} version {version} in the log")
        checkpoint = _latest_checkpoint(view, verifier, index + 1)
        size = checkpoint.size if checkpoint else view.size()
        store = view.nodes
        proof = inclusion_proof(store, index, size)
        root = root_at(store, size)
        leaf = store.get(0, index)
    line = _leaf_at(ledger, aggregate_id, version, index)
    if leaf is None or leaf_hash(line) != leaf:
        # The leaf printed must be the one the proof is for: a stored event that no
        # longer hashes to its leaf (edited in place) gets no proof.
        raise VerificationError(
            f"entry {index} ({aggregate_id}): the stored event does not hash to its Merkle "
            "leaf (edited after it was recorded): no proof is given; run 'ledger verify'"
        )
    try:
        verify_inclusion(leaf, index, size, proof, checkpoint.root if checkpoint else root)
    except ProofError as error:
        raise VerificationError(
            f"entry {index} ({aggregate_id}): the proof does not lead to the signed root "
            f"({error}): the stored Merkle log was edited; run 'ledger verify'"
        ) from None
    return {
        "index": index,
        "tree_size": size,
        "leaf": line.decode("utf-8"),
        "leaf_hash": b64(leaf),
        "proof": [b64(h) for h in proof],
        "root": b64(root),
        "checkpoint": checkpoint.note if checkpoint else None,
    }


def leaf_locations(
    ledger: Ledger, checkpoint: Checkpoint, wanted: Mapping[int, str]
) -> dict[int, tuple[int, bytes]]:
    """Where records' creation events are in the log at ``checkpoint``, given as
    {notification id: aggregate id} (as a read model names them): {id: (leaf index,
    leaf hash)}. Refuses an event that is not that record's creation, or is not yet
    in the checkpoint."""
    with ledger.audit.reading() as view:
        found = view.leaves_of_notifications(sorted(wanted))
    located: dict[int, tuple[int, bytes]] = {}
    for notification, aggregate in wanted.items():
        leaf = found.get(notification)
        if leaf is None or leaf[1:3] != (aggregate, 1):
            held = "no event" if leaf is None else f"{leaf[1]} version {leaf[2]}"
            raise VerificationError(
                f"the read model has {aggregate} at event {notification} of the log, which "
                f"holds {held}: the read model does not match the store; rebuild it (replay)"
            )
        if leaf[0] >= checkpoint.size:
            raise ConflictError(
                f"{aggregate} was recorded after checkpoint {checkpoint.size} was signed: "
                "run the export again"
            )
        located[notification] = (leaf[0], leaf[3])
    return located


def _leaf_at(ledger: Ledger, aggregate_id: str, version: int, index: int) -> bytes:
    """The leaf of a stored event, encoded again from the event it holds."""
    stored = ledger.recorder.select_events(aggregate_id, gt=version - 1, lte=version)
    if not stored:
        raise NotFoundError(f"no event {aggregate_id} version {version} in the log")
    try:
        return leaf_bytes(ledger.mapper.to_domain_event(stored[0]))
    except Exception as error:  # any failure to read the event is tampering to report
        raise VerificationError(
            f"entry {index} ({aggregate_id}): the stored event cannot be decoded "
            f"({type(error).__name__}); run 'ledger verify'"
        ) from None


def prove_consistency(ledger: Ledger, size1: int, size2: int | None) -> dict[str, Any]:
    """A consistency proof between two tree sizes (``size2`` defaults to the current size)."""
    recorder = ledger.audit
    with recorder.reading() as view:
        size = view.size()
        size2 = size if size2 is None else size2
        if not 0 < size1 <= size2 <= size:
            raise BadInputError(
                f"sizes must satisfy 0 < M <= N <= {size} (the log's size); got {size1} {size2}"
            )
        store = view.nodes
        proof = consistency_proof(store, size1, size2)
        return {
            "size1": size1,
            "size2": size2,
            "root1": b64(root_at(store, size1)),
            "root2": b64(root_at(store, size2)),
            "proof": [b64(h) for h in proof],
        }


def verifier_key(key: str) -> str:
    """A verifier (public) key given as its text or as a file holding it."""
    return _read_key(key)


def _read_key(key: str) -> str:
    candidate = Path(key)
    text = key.strip()
    if "+" not in key or candidate.exists():
        text = read_key_file(candidate, "the key file", BadInputError, f"no key file {key}")
        if not text:
            raise BadInputError(f"the key file {key} is empty")
    if text.startswith("PRIVATE+KEY+"):
        # Never echo a secret key back in an error message.
        raise BadInputError(
            "{key} must be the verifier (public) key, not the signing key", arguments=("key",)
        )
    return text
