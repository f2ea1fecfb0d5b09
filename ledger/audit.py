"""The audit trail: signed checkpoints, full verification, proofs, verifiable bundles.

The log is an RFC 9162 Merkle tree over the events' export lines (see
``ledger.leaves``), kept by the recorder in the same transaction as the events.
Checkpoints are C2SP signed notes (Ed25519) over the tlog-checkpoint body;
each new one must be consistent with the previous one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventsourcing.persistence import MapperDeserialisationError, PersistenceError

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import (
    BadInputError,
    NotFoundError,
    StoreError,
    VerificationError,
)
from incident_ledger.ledger.keyfiles import read_key_file
from incident_ledger.ledger.leaves import leaf_bytes
from incident_ledger.ledger.merkle import (
    Frontier,
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
    format_checkpoint,
    open_note,
    parse_checkpoint,
    sign_note,
)
from incident_ledger.ledger.stores.recorder import LogView
from incident_ledger.ledger.times import to_key, utc_now

PAGE = 2_000


def b64(data: bytes) -> str:
    """Standard base64, as in checkpoints and proofs."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Strict base64 decoding with a clear error."""
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise VerificationError(f"{what} is not valid base64") from None


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of the log's size and root."""

    origin: str
    size: int
    root: bytes
    note: str

    def as_json(self) -> dict[str, Any]:
        """JSON form for the CLI."""
        return {"origin": self.origin, "size": self.size, "root": b64(self.root), "note": self.note}


def open_checkpoint(
    note: str, verifier_keys: Sequence[str], what: str = "checkpoint"
) -> Checkpoint:
    """Check a signed checkpoint's signature and parse its body."""
    try:
        text, _ = open_note(note, verifier_keys)
        origin, size, root = parse_checkpoint(text)
    except (NoteError, CheckpointError) as error:
        raise VerificationError(f"{what}: {error}") from None
    return Checkpoint(origin, size, root, note)


def make_checkpoint(
    ledger: Ledger, signer_key: str, origin: str, verifier: str, *, keep: bool = True
) -> Checkpoint:
    """Sign the log's current size and root; it must extend the previous checkpoint.

    The new checkpoint is stored with the log, unless ``keep`` is false (a store that
    cannot be written: the checkpoint then lives only where it is handed out).
    """
    recorder = ledger.audit
    with recorder.reading() as view:
        size = view.size()
        store = view.nodes
        root = root_at(store, size)
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
                return previous
            try:
                proof = consistency_proof(store, previous.size, size) if previous.size else []
                if previous.size:
                    verify_consistency(previous.size, size, proof, previous.root, root)
            except ProofError as error:
                raise VerificationError(
                    f"the log is not consistent with checkpoint {previous.size}: {error}"
                ) from None
    note = sign_note(format_checkpoint(origin, size, root), signer_key)
    if keep:
        try:
            recorder.add_checkpoint(size, note, to_key(utc_now()))
        except PersistenceError as error:
            raise StoreError(f"cannot store the checkpoint: {error}") from None
    return Checkpoint(origin, size, root, note)


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


# --- verifiable export bundles -------------------------------------------------------------

LEAVES_FILE = "leaves.jsonl"
PROOFS_FILE = "proofs.jsonl"
HASHES_FILE = "leaf-hashes.txt"
CHECKPOINT_FILE = "checkpoint"
KEY_FILE = "key.pub"
CONSISTENCY_FILE = "consistency.json"


def write_bundle(
    ledger: Ledger,
    out: Path,
    checkpoint: Checkpoint,
    verifier: str,
    selected: set[str] | None,
) -> dict[str, Any]:
    """Write the verifiable JSONL bundle folder for the log at ``checkpoint``.

    ``selected`` limits it to the events of those aggregate ids, each with an
    inclusion proof; without it every leaf is written and the root can be
    recomputed directly.
    """
    if out.exists() and any(out.iterdir()):
        raise BadInputError(f"{out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    recorder = ledger.audit
    written = 0
    with recorder.reading() as view:
        store = view.nodes
        earlier = [size for size, _ in view.checkpoints() if 0 < size < checkpoint.size]
        with (
            (out / LEAVES_FILE).open("wb") as leaves,
            _maybe_open(out / PROOFS_FILE, selected is not None) as proofs,
            _maybe_open(out / HASHES_FILE, selected is None) as hashes,
        ):
            events = _leaves_in_ledger_order(ledger, view)
            for index, notification, line in events:
                if index >= checkpoint.size:
                    break
                if selected is not None and str(notification.originator_id) not in selected:
                    continue
                leaves.write(line + b"\n")
                if hashes is not None:
                    hashes.write(b64(leaf_hash(line)) + "\n")
                if proofs is not None:
                    proof = inclusion_proof(store, index, checkpoint.size)
                    record = {"index": index, "proof": [b64(h) for h in proof]}
                    proofs.write(json.dumps(record) + "\n")
                written += 1
        consistency = {
            str(size): [b64(h) for h in consistency_proof(store, size, checkpoint.size)]
            for size in earlier
        }
    (out / CHECKPOINT_FILE).write_text(checkpoint.note, encoding="utf-8")
    (out / KEY_FILE).write_text(verifier + "\n", encoding="ascii")
    (out / CONSISTENCY_FILE).write_text(json.dumps(consistency, indent=1) + "\n", "utf-8")
    return {"path": str(out), "entries": written, "checkpoint": checkpoint.as_json()}


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
    """Verify an export bundle offline: leaves, root or proofs, signature, and ``--prev``."""
    if not (path / LEAVES_FILE).is_file() or not (path / CHECKPOINT_FILE).is_file():
        raise NotFoundError(
            f"{path} is not an export bundle (no {LEAVES_FILE} or {CHECKPOINT_FILE})"
        )
    verifier = _read_key(key) if key else _bundle_text(path, KEY_FILE).strip()
    checkpoint = open_checkpoint(_bundle_text(path, CHECKPOINT_FILE), [verifier])
    lines = _bundle_file(path, LEAVES_FILE).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    proofs_path = path / PROOFS_FILE
    if proofs_path.exists():
        _verify_selected(lines, proofs_path, checkpoint)
    else:
        _verify_full(path, lines, checkpoint)
    result: dict[str, Any] = {
        "entries": len(lines),
        "checkpoint": checkpoint.as_json(),
        "key": "given" if key else "taken from the bundle",
    }
    if prev is not None:
        previous = open_checkpoint(_read_text(prev), [verifier], "--prev checkpoint")
        _verify_extends(path, lines, proofs_path.exists(), previous, checkpoint)
        result["extends"] = previous.size
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
        raise BadInputError("--key must be the verifier (public) key, not the signing key")
    return text


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
