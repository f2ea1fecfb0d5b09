"""Checking the desk's signed batches, as part of ``verify``.

From the desk's first batch on, the log is tiled by batches, each followed
by its ``Batch.Signed`` event (``batch_signing``). Each batch must be signed
by the member it names, with the key that member was registered with, by a
member registered no later than the batch (in the batch itself only for the
desk's first: its first admin registering itself) and not removed before it,
over the root of the very leaf hashes the log holds. Entries before the first
batch were recorded before the desk.

This runs after the log's leaves and tree nodes are checked against the
events, so the stored leaf hashes are the events' own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from incident_ledger.ledger.batch_signing import batch_text, desk_members
from incident_ledger.ledger.desk_domain import Member
from incident_ledger.ledger.errors import VerificationError
from incident_ledger.ledger.merkle import root_from_leaf_hashes
from incident_ledger.ledger.stores.recorder import LogView

if TYPE_CHECKING:
    from incident_ledger.ledger.application import Ledger

_ENTRY = re.compile(r"entry (\d+)")


@dataclass(frozen=True)
class SignedBatch:
    """A ``Batch.Signed`` event as stored: what it signs, and where it is."""

    first: int
    last: int
    member: str
    root: str
    signature: str
    proposed: bool
    at: int
    """The leaf index of the signature event itself."""

    @property
    def name(self) -> str:
        """How messages name the batch."""
        return f"batch {self.first}–{self.last} (recorded by {self.member})"


def signed_batches(ledger: Ledger, view: LogView) -> list[SignedBatch]:
    """Every signed batch the store holds, in log order."""
    found = []
    for aggregate_id, _, state in view.creations_between("batch:", "batch;"):
        data: dict[str, Any] = orjson.loads(ledger.leaf_mapper.plain(state))["data"]
        at = view.leaf_index(aggregate_id, 1)
        found.append(
            SignedBatch(
                int(data["first"]),
                int(data["last"]),
                str(data["member"]),
                str(data["root"]),
                str(data["signature"]),
                bool(data.get("proposed")),
                -1 if at is None else at,
            )
        )
    return sorted(found, key=lambda batch: batch.first)


def batch_of(ledger: Ledger, view: LogView, index: int | None) -> SignedBatch | None:
    """The signed batch whose range holds the leaf at ``index`` (None: none does, as for
    an event recorded before the desk)."""
    if index is None:
        return None
    for batch in signed_batches(ledger, view):
        if batch.first <= index <= batch.last:
            return batch
    return None


def check_batches(ledger: Ledger, view: LogView, size: int) -> dict[str, int]:
    """Check every signed batch (see the module's docstring); raise VerificationError
    naming the first that fails. How many batches, and entries before the desk."""
    batches = signed_batches(ledger, view)
    members = desk_members(ledger, view)
    expected = batches[0].first if batches else size
    before_desk = expected
    for number, batch in enumerate(batches):
        if batch.first != expected:
            raise _gap(expected, batch.first, batch)
        if batch.at != batch.last + 1 or batch.last < batch.first:
            raise VerificationError(
                f"{batch.name}: its signature is not the entry right after the batch"
            )
        _check_signer(view, members, batch, first_batch=number == 0)
        _check_signature(view, members[batch.member], batch)
        expected = batch.at + 1
    if expected < size:
        raise VerificationError(
            f"entries {expected}–{size - 1} are in no signed batch: written without a "
            "desk member's signature"
        )
    return {"batches": len(batches), "recorded_before_desk": before_desk}


def batch_of_entry(ledger: Ledger, view: LogView, message: str) -> str | None:
    """The batch holding the entry a verification message names first, as ``name``."""
    match = _ENTRY.match(message)
    if match is None:
        return None
    index = int(match.group(1))
    for batch in signed_batches(ledger, view):
        if batch.first <= index <= batch.at:
            return batch.name
    return None


def _gap(expected: int, first: int, batch: SignedBatch) -> VerificationError:
    if first > expected:
        return VerificationError(
            f"entries {expected}–{first - 1} are in no signed batch: written without a "
            "desk member's signature"
        )
    return VerificationError(f"{batch.name}: overlaps the batch before it")


def _check_signer(
    view: LogView, members: dict[str, Member], batch: SignedBatch, *, first_batch: bool
) -> None:
    member = members.get(batch.member)
    if member is None:
        raise VerificationError(f"{batch.name}: no member '{batch.member}' on the desk")
    aggregate_id = Member.aggregate_id(batch.member)
    registered = view.leaf_index(aggregate_id, 1)
    late = registered is None or registered > batch.last
    if late or (registered is not None and registered >= batch.first and not first_batch):
        raise VerificationError(f"{batch.name}: signed by a member not registered before it")
    removed = view.leaf_index(aggregate_id, 2)
    if removed is not None and removed < batch.first:
        raise VerificationError(
            f"{batch.name}: member '{batch.member}' was removed at entry {removed}, before "
            "this batch: a removed member cannot write"
        )


def _check_signature(view: LogView, member: Member, batch: SignedBatch) -> None:
    from incident_ledger.ledger.signednote import NoteError, open_note

    count = batch.last - batch.first + 1
    hashes = view.node_hashes(0, batch.first, count)
    if len(hashes) != count:
        raise VerificationError(f"{batch.name}: the log lacks some of its leaves")
    root = root_from_leaf_hashes(hashes)
    text = batch_text(batch.member, batch.first, batch.last, root)
    try:
        open_note(f"{text}\n{batch.signature}\n", [member.member.public_key])
    except NoteError:
        raise VerificationError(
            f"{batch.name}: the signature does not verify with {batch.member}'s key over "
            "the batch's leaves (a wrong key, or an entry of the batch was changed)"
        ) from None
