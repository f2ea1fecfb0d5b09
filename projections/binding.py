"""A read model belongs to exactly one store.

A model's ``tracking`` row names the store it was projected from (the store's
id, ``ledger_info``) and the store's Merkle log as of the model's position (its
size and root), written in the transaction of each page the projector applies.
Before a model answers, ``binding_problem`` compares that with the store: a
model of another store (a deleted and re-created ledger, another database), or
of a history the store no longer holds (rolled back, rewritten, a copy that went
its own way), is not this store's model, whatever its position says.

The check costs one read of the store's id (once per process) and a root at
the model's position: O(log n) reads of the stored tree. After a write of its own
process the model needs neither (``follows``): the writer knows the log's root where
its write began.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from incident_ledger.ledger.errors import StoreError
from incident_ledger.ledger.times import to_key
from incident_ledger.projections.positions import iso
from incident_ledger.projections.views import Binding, Views

if TYPE_CHECKING:  # the application loads the event classes; a read need not
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.stores.recorder import LogView
    from incident_ledger.ledger.stores.written import Written


def binding_problem(ledger: Ledger, views: Views) -> str | None:
    """Why this read model is not the store's own, or None when it is (or holds nothing
    yet: a model at position 0 is bound by the projector's first catch-up).

    The answer completes a sentence about the model: "the read model X …".
    """
    binding = views.binding()
    if binding.position == 0:
        return None
    from eventsourcing.persistence import PersistenceError  # loaded with the ledger

    def log() -> tuple[int, bytes]:
        with ledger.audit.reading() as view:
            return log_at(view, binding.position)

    try:
        return store_problem(binding, ledger.audit.store_id(), log)
    except PersistenceError as error:
        raise StoreError(f"cannot read the event store: {error}") from None


def store_problem(
    binding: Binding, store_id: str, log: Callable[[], tuple[int, bytes]]
) -> str | None:
    """``binding_problem`` of a model at a position above 0, from the store's id and
    ``log()``: the log's (size, root) as of that position, asked only when the id is
    the model's."""
    snapshot = snapshot_of(binding.store_id)
    if snapshot is not None and snapshot[0] == store_id:
        until = snapshot[1]
        return (
            f"is a snapshot of this ledger as recorded by {until} (ledger replay --until): "
            "it does not follow the ledger"
        )
    if binding.store_id != store_id:
        return (
            f"belongs to another ledger (store {binding.store_id or 'unknown'}; "
            f"this one is {store_id})"
        )
    size, root = log()
    if binding.size is not None and size < binding.size:
        return (
            f"has projected {binding.size} events but this store holds {size} up to that "
            "position: the store was rolled back or replaced"
        )
    if binding.root != root or binding.size != size:
        return (
            f"was projected from another history of this store: the log's root after "
            f"{size} events is not the one the model recorded (the store was rewritten, or "
            "is a copy that went its own way)"
        )
    return None


SNAPSHOT = " as recorded by "
"""Between a store's id and an instant, in the id a snapshot model records for its store
(``snapshot_id``): such a model holds the events recorded by that instant, not the log
up to its position, so it is never caught up nor taken as the store's own."""


def snapshot_id(store_id: str, until: datetime) -> str:
    """The store id a model of the events recorded by ``until`` records."""
    return f"{store_id}{SNAPSHOT}{iso(to_key(until))}"


def snapshot_of(recorded: str | None) -> tuple[str, str] | None:
    """The store a snapshot model's recorded id names and the instant it was cut at (None:
    not a snapshot's id)."""
    if recorded is None or SNAPSHOT not in recorded:
        return None
    store_id, until = recorded.split(SNAPSHOT, 1)
    return store_id, until


def log_at(view: LogView, position: int) -> tuple[int, bytes]:
    """(size, root) of the log a view sees, as of notification id ``position``: O(log n)
    reads of the stored tree (``merkle.root_at``)."""
    size = view.size_at(position)
    try:
        return size, view.root_at(size)
    except LookupError:
        raise StoreError(
            f"the event store's Merkle log lacks nodes below size {size}: run 'ledger verify'"
        ) from None


def follows(ledger: Ledger, views: Views, written: Written) -> bool:
    """Whether this read model stands exactly where a write of this process began: this
    store's model, at the position, log size and root its writer found under the lock.
    Then it is bound (the root is the store's own there) and the events to apply are
    the write's (``written.rows``); else ``binding_problem`` decides, and the model
    reads the store."""
    binding = views.binding()
    before = written.before
    return (
        binding.position == before.position
        and binding.size == before.size
        and binding.root == before.root
        and binding.store_id == ledger.audit.store_id()
    )
