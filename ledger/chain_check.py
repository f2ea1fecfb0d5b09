"""``verify``'s check of the chains of incidents (``ledger.incident_chains``).

While ``log_check`` walks the log page by page, the chains are computed again
from the events (``add``); the roots of the tree of chains at the size of each
checkpoint that signs one are kept (``signed``), and at the end the chains the
store keeps must be those computed (``check_stored``). A page a helper process
checked comes back with the incidents each of its events concerns (``labels``),
so this process only extends the chains.
"""

from __future__ import annotations

from collections.abc import Sequence

from incident_ledger.ledger.audit import Checkpoint
from incident_ledger.ledger.errors import VerificationError
from incident_ledger.ledger.incident_chains import (
    START,
    ChainMap,
    Chains,
    concerned,
)
from incident_ledger.ledger.stores.chains import Plain, claim_lookup
from incident_ledger.ledger.stores.recorder import LogView

Labels = list[tuple[str, ...]]


def labels(view: LogView, plain: Plain | None, lines: Sequence[bytes]) -> Labels:
    """The incidents each of a page's events concerns (``lines``: their leaves); a claim
    created on an earlier page is looked up in ``view``."""
    return concerned(lines, claim_lookup(view, plain))


class ChainCheck:
    """The chains of incidents computed from the log as ``verify`` walks it."""

    def __init__(
        self, view: LogView, plain: Plain | None, checkpoints: Sequence[tuple[int, Checkpoint]]
    ) -> None:
        self.view = view
        self.plain = plain
        self.chains = Chains()
        self.size = 0
        signing = {size for size, checkpoint in checkpoints if checkpoint.chains is not None}
        self.pending = sorted(signing, reverse=True)
        """Sizes of the checkpoints that sign the chains, not reached yet (last first)."""
        self.signed: dict[int, tuple[int, bytes]] = {}
        """Checkpoint size → (number of incidents, root of their tree) computed at it."""
        if 0 in self.pending:
            self._reach(0)

    def add(self, lines: Sequence[bytes], digests: Sequence[bytes]) -> None:
        """Extend the chains by the next page of leaves and their hashes."""
        self.add_labelled(labels(self.view, self.plain, lines), digests)

    def add_labelled(self, page_labels: Labels, digests: Sequence[bytes]) -> None:
        """Extend the chains by the next page of events, given as the incidents each
        concerns and its leaf hash; the tree of chains is taken at each checkpoint."""
        start, done = self.size, 0
        while self.pending and self.pending[-1] <= start + len(digests):
            end = self.pending[-1] - start
            self.chains.add(page_labels[done:end], digests[done:end])
            self.size, done = start + end, end
            self._reach(self.size)
        self.chains.add(page_labels[done:], digests[done:])
        self.size = start + len(digests)

    def _reach(self, size: int) -> None:
        tree = ChainMap(self.chains.entries())
        self.signed[size] = (tree.size, tree.root)
        while self.pending and self.pending[-1] == size:
            self.pending.pop()

    def check(
        self, checkpoints: Sequence[tuple[int, Checkpoint]], stored: dict[str, tuple[int, bytes]]
    ) -> int:
        """Raise unless each checkpoint signs the chains computed at its size and the store
        keeps exactly those computed at the end; returns how many incidents there are."""
        for size, checkpoint in checkpoints:
            if checkpoint.chains is not None and self.signed[size] != checkpoint.chains:
                raise VerificationError(
                    f"checkpoint {size}: the signed chains of incidents do not match the "
                    "events that concern them"
                )
        return self.check_stored(stored)

    def check_stored(self, stored: dict[str, tuple[int, bytes]]) -> int:
        """Raise unless the store keeps exactly the chains computed; returns how many."""
        computed = self.chains.heads
        for incident in sorted(set(stored) | set(computed)):
            count, head = computed.get(incident, (0, START))
            kept = stored.get(incident)
            if kept == (count, head):
                continue
            counts = (
                ""
                if kept is not None and kept[0] == count
                else (f" ({'none' if kept is None else kept[0]} in the store, {count} in the log)")
            )
            raise VerificationError(
                f"incident '{incident}': the store's chain of the events that concern it does "
                f"not match the log{counts}: the chains were edited"
            )
        return len(computed)
