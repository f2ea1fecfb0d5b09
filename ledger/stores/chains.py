"""The stored chains of incidents (``ledger.incident_chains``): one row per incident.

Each append extends them in its own transaction, after inserting the events and
under the same write lock, on either backend: the chains follow the log as the
Merkle tree does, and two writers extend them one after the other. A store
written before the chains existed gets them computed from its log once, when
it is first opened (``fill``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, cast

from incident_ledger.ledger.gcpause import gc_paused
from incident_ledger.ledger.incident_chains import (
    Chains,
    ClaimLookup,
    Concerns,
    concerned,
    created_claim,
    parse_leaf,
)
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.ledger.stores.recorder import CHAINS_TABLE as TABLE
from incident_ledger.ledger.stores.recorder import LogView

PAGE = 4_096

Plain = Callable[[bytes], bytes]
"""A stored event's state as its leaf (decrypted and decompressed when configured)."""


class ChainTable:
    """The chains' table, as SQL for one backend (its placeholder and schema prefix)."""

    def __init__(self, placeholder: str, prefix: str) -> None:
        p, table = placeholder, prefix + TABLE
        self.select = f"SELECT incident, size, head FROM {table} WHERE incident IN "
        self.select_all = f"SELECT incident, size, head FROM {table}"
        self.upsert = (
            f"INSERT INTO {table} VALUES ({p}, {p}, {p}) ON CONFLICT (incident) "
            "DO UPDATE SET size = excluded.size, head = excluded.head"
        )
        self.p = p

    def heads(
        self, cursor: Any, incidents: Collection[str] | None = None
    ) -> dict[str, tuple[int, bytes]]:
        """The stored (count, head) of these incidents (of every incident when None)."""
        if incidents is None:
            cursor.execute(self.select_all)
            return {str(r[0]): (int(r[1]), bytes(r[2])) for r in cursor.fetchall()}
        names = sorted(incidents)
        found: dict[str, tuple[int, bytes]] = {}
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            cursor.execute(self.select + f"({','.join([self.p] * len(chunk))})", chunk)
            found.update({str(r[0]): (int(r[1]), bytes(r[2])) for r in cursor.fetchall()})
        return found

    def put(self, cursor: Any, heads: dict[str, tuple[int, bytes]]) -> None:
        """Store these incidents' (count, head)."""
        cursor.executemany(self.upsert, [(name, *heads[name]) for name in sorted(heads)])

    def session(self, cursor: Any, view: LogView, plain: Plain | None) -> ChainSession:
        """The chains as one write transaction extends them (``ChainSession``)."""
        return ChainSession(self, cursor, view, plain)

    def fill(self, cursor: Any, view: LogView, plain: Plain | None) -> int:
        """Compute every chain from the events in the store (in log order) and store
        them; returns how many events were read."""
        chains = Chains()
        lookup = claim_lookup(view, plain)
        after, read = 0, 0
        with gc_paused():
            while rows := view.event_rows(after, PAGE):
                leaves = [row[4] if plain is None else plain(row[4]) for row in rows]
                labels = concerned(leaves, lookup)
                chains.add(labels, [leaf_hash(leaf) for leaf in leaves])
                after, read = rows[-1][0], read + len(rows)
        if chains.heads:
            self.put(cursor, chains.heads)
        return read


CLAIMS_KEPT = 200_000
"""Claims a write transaction remembers the incident of before it forgets them (memory stays
bounded; a claim forgotten is looked up in the store)."""


class ChainSession:
    """The chains as one write transaction extends them, page after page.

    The incidents' heads are read once, kept while the transaction appends, and
    written once before it commits (``flush``); the claims its pages create are
    remembered, so a later page that names one (a retraction, a correction) need
    not look it up. Nothing outlives the transaction, which may still roll back.
    """

    def __init__(self, table: ChainTable, cursor: Any, view: LogView, plain: Plain | None):
        self.table, self.cursor, self.plain = table, cursor, plain
        self.lookup = claim_lookup(view, plain)
        self.chains = Chains()
        self.grown: set[str] = set()
        self.created: dict[str, str] = {}

    def extend(
        self,
        states: Sequence[bytes],
        leaf_hashes: Sequence[bytes],
        known: tuple[Concerns, dict[str, str]] | None = None,
    ) -> None:
        """Extend the chains by events just inserted (their stored states, in log order,
        and leaf hashes); a claim created before the transaction is looked up in the
        store, which this transaction sees. ``known``: what the writer knows of them
        (``incident_chains.own_concerns`` of their leaves): only the leaves of events
        it leaves None are decoded here."""
        if len(self.created) > CLAIMS_KEPT:
            self.created.clear()
        if known is not None:
            labels = self._known_labels(states, *known)
        else:
            leaves = states if self.plain is None else map(self.plain, states)
            with gc_paused():  # a page of decoded leaves: objects the collector need not walk
                labels = concerned(leaves, self.lookup, self.created)
        touched = {incident for incidents in labels for incident in incidents}
        unread = touched.difference(self.chains.heads)
        if unread:
            self.chains.heads.update(self.table.heads(self.cursor, unread))
        self.chains.add(labels, leaf_hashes)
        self.grown |= touched

    def _known_labels(
        self, states: Sequence[bytes], concerns: Concerns, created: dict[str, str]
    ) -> list[tuple[str, ...]]:
        """The incidents of each event, those the writer did not know read from leaves."""
        if len(concerns) != len(states):
            raise ValueError("one entry of concerns is needed per event")
        self.created.update(created)
        unknown = [i for i, label in enumerate(concerns) if label is None]
        if not unknown:
            return cast(list[tuple[str, ...]], concerns)
        plain = self.plain
        leaves = [states[i] if plain is None else plain(states[i]) for i in unknown]
        labels = list(concerns)
        for i, label in zip(unknown, concerned(leaves, self.lookup, self.created), strict=True):
            labels[i] = label
        return cast(list[tuple[str, ...]], labels)

    def flush(self) -> None:
        """Write the chains that grew (before the transaction commits)."""
        if self.grown:
            self.table.put(self.cursor, {name: self.chains.heads[name] for name in self.grown})
            self.grown.clear()


def claim_lookup(view: LogView, plain: Plain | None) -> ClaimLookup:
    """Finds the incident of claims from their creation events in the store."""

    def lookup(claims: Collection[str]) -> dict[str, str]:
        states = view.creation_states([f"claim:{claim}" for claim in sorted(claims)])
        found: dict[str, str] = {}
        for _, state in states.values():
            line = parse_leaf(state if plain is None else plain(state))
            made = created_claim(line) if line is not None else None
            if made is not None:
                found[made[0]] = made[1]
        return found

    return lookup
