"""Rebuild a ledger from a verifiable JSONL bundle: the round trip of ``export --format
jsonl``.

The bundle is verified first (its leaves against its signed checkpoint); a bundle that
does not verify restores nothing. The restored store then holds the bundle's leaves
byte for byte, in the bundle's order: each event keeps its recorded time, ratings,
retractions, corrections and assessments included, so the restored log has the same
root as the bundle's checkpoint (which therefore verifies against it) and
"as recorded" questions answer as they did. It is a new store nonetheless: it gets
its own store id and signs its own checkpoints with its own key, the first at once:
that checkpoint records the key as the restored ledger's own (the bundle's desk
brings its first admin, whose key is the original ledger's, not this one). Which key
that is follows init's rule: the one ``LEDGER_KEY`` (``--key``) names, which must exist
(a SQLite store keeps a copy beside it), else the one at the ledger's place, else a new
one made there. The bundle's checkpoint is kept beside nothing, it stays the bundle's;
what restore returns is the checkpoint it signed.

Events are not re-signed or re-recorded because any change of a byte would change the
leaves, and with them the root a recipient of the bundle holds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.usecases.workspace import open_workspace, require_new_ledger, signing_key
from incident_ledger.usecases.writing import init

Progress = Callable[[int, int], None]
PAGE = 2_000


def restore(
    bundle: str, db: str | None, key: str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Verify ``bundle`` and write its leaves into the empty ledger at ``db`` (created
    when absent); returns what was restored."""
    from incident_ledger.ledger.audit import make_checkpoint
    from incident_ledger.ledger.bundle_check import verify_bundle
    from incident_ledger.ledger.bundles import LEAVES_FILE
    from incident_ledger.ledger.evidence import CaptureCount
    from incident_ledger.ledger.evidence_files import bundle_captures, restore_evidence

    folder = Path(bundle)
    checked = verify_bundle(folder, key, None)
    if "incident" in checked:
        raise BadInputError(
            f"{bundle} holds one incident's events, not a whole ledger: restore needs a "
            "bundle of every event"
        )
    leaves = (folder / LEAVES_FILE).read_bytes().split(b"\n")[:-1]
    count = CaptureCount.from_json(checked)  # as verify_bundle counted them
    if "captured_files_left_out" in checked:  # the restored ledger would not verify
        raise BadInputError(
            f"the bundle holds {count.words()} but not their files: export it again with "
            "the captured files"
        )
    captures = bundle_captures(leaves) if count.captures else {}
    made = init(db, desk=False)  # the bundle brings its desk: its members and signed batches
    with open_workspace(db) as ws:
        require_new_ledger(ws.ledger, ws.location)
        with ws.ledger.writing("another writer wrote to this ledger meanwhile") as appender:
            for start in range(0, len(leaves), PAGE):
                page = leaves[start : start + PAGE]
                appender.append(
                    [_row(ws.ledger, leaf) for leaf in page], list(map(leaf_hash, page))
                )
                if progress is not None:
                    progress(start + len(page), len(leaves))
            restore_evidence(appender.view, folder, captures)
        own = signing_key(ws.location)  # init made it, kept the one there, or copied it
        signed = make_checkpoint(ws.ledger, own.signer, own.origin, own.verifier)
        ws.refresh()
        return {
            "bundle": bundle,
            "ledger": ws.location.shown,
            "events": len(leaves),
            **count.as_json(),
            "key_path": made.key_path,
            "verifier_key": made.verifier_key,
            "created_key": made.created_key,
            "copied_from": made.copied_from,
            "checkpoint": signed.as_json(),
        }


def _row(ledger: Any, leaf: bytes) -> Any:
    """The stored row of an event given as its leaf: its id, version and topic are read
    from the leaf itself (the mapper checks them against it when it is read back)."""
    event = orjson.loads(leaf)
    return ledger.leaf_mapper.row_from_leaf(event["id"], event["version"], event["topic"], leaf)
