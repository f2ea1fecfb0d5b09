"""How events are stored: each as its own Merkle leaf.

The library's mapper stores an event's attributes through its JSON transcoder.
This one stores the event's leaf instead (``ledger.leaves``): the RFC 8785
canonical JSON of topic, aggregate id, version, recorded time and fields. So
the bytes in the store are the bytes the Merkle log hashes and the JSONL export
carries: ``verify`` hashes what is stored, without decoding it, and the read
model can read an event's fields without building an event object. The
library's cipher and compressor still apply on top when configured, and its
upcasting runs as usual (``class_version`` travels in the leaf).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from itertools import repeat
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from incident_ledger.ledger.leaves import STAMP_LENGTH, absent_fields, json_string, leaf_bytes
from incident_ledger.ledger.stores.recorder import NewRow

_STAMP_LENGTH = STAMP_LENGTH + len('"')


class LeafMapper(Mapper[str]):
    """Stores each event as its canonical leaf; reads it back into the event object."""

    def to_stored_event(self, domain_event: DomainEventProtocol[str]) -> StoredEvent:
        """The stored form of an event: its leaf (compressed and encrypted if configured)."""
        return StoredEvent(*self.row_with_leaf(domain_event)[0])

    def row_with_leaf(self, domain_event: DomainEventProtocol[str]) -> tuple[NewRow, bytes]:
        """The stored row of an event and its leaf bytes, encoded once."""
        leaf = leaf_bytes(domain_event)
        row = self.row_from_leaf(
            str(domain_event.originator_id),
            domain_event.originator_version,
            get_topic(type(domain_event)),
            leaf,
        )
        return row, leaf

    def row_from_leaf(self, originator_id: str, version: int, topic: str, leaf: bytes) -> NewRow:
        """The stored row of an event given as its leaf (``leaves.framed_leaf``)."""
        state = leaf
        if self.compressor:
            state = self.compressor.compress(state)
        if self.cipher:
            state = self.cipher.encrypt(state)
        return originator_id, version, topic, state

    def creations_from_leaves(
        self, originator_ids: Sequence[str], topics: Sequence[str], leaves: Sequence[bytes]
    ) -> list[NewRow]:
        """The stored rows of creation events (version 1) given as their leaves."""
        if self.compressor or self.cipher:
            return [
                self.row_from_leaf(originator_id, 1, topic, leaf)
                for originator_id, topic, leaf in zip(originator_ids, topics, leaves, strict=True)
            ]
        return list(zip(originator_ids, repeat(1), topics, leaves))

    def leaf_of(self, stored_event: StoredEvent) -> bytes:
        """The leaf bytes of a stored event, after checking they name the same event.

        A stored event whose columns (id, version, topic) say something other than
        its leaf raises ``MapperDeserialisationError``: a row edited in place.
        """
        state = self.plain(stored_event.state)
        check_envelope(
            state,
            str(stored_event.originator_id),
            stored_event.originator_version,
            stored_event.topic,
        )
        return state

    def leaves_of_rows(self, rows: Sequence[tuple[Any, str, int, str, Any]]) -> list[bytes] | None:
        """The leaves of stored (id, originator id, version, topic, state) rows, in bulk.

        None if any row's leaf names another event than its columns (then
        ``leaf_of`` row by row says which). This is the inner loop of ``verify``,
        so each topic's part of the envelope is encoded once.
        """
        states = [row[4] for row in rows]
        if self.cipher or self.compressor:
            states = [self.plain(state) for state in states]
        tails: dict[str, bytes] = {}
        for (_, originator_id, version, topic, _), leaf in zip(rows, states, strict=True):
            topic_tail = tails.get(topic)
            if topic_tail is None:
                topic_tail = tails[topic] = _topic_tail(topic)
            if not _names(leaf, originator_id, version, topic_tail):
                return None
        return states

    def plain(self, state: bytes) -> bytes:
        """Stored bytes as the leaf: decrypted and decompressed when those are configured."""
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        return state

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[str]:
        """Rebuild the event object from its leaf, upcasting older class versions."""
        try:
            line = json.loads(self.leaf_of(stored_event))
            event_state: dict[str, Any] = line["data"]
            recorded_at = datetime.fromisoformat(line["recorded_at"])
            from_version = line.get("class_version", 1)
        except Exception as error:
            raise MapperDeserialisationError(
                f"cannot read the stored event {stored_event.originator_id!r} "
                f"version {stored_event.originator_version}: {error}"
            ) from error
        cls = event_class(stored_event.topic)
        upcast(cls, from_version, event_state)
        state: dict[str, Any] = dict(absent_fields(cls))
        state.update(event_state)
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        state["timestamp"] = recorded_at
        aggregate_topic = getattr(cls, "aggregate_topic", None)
        if aggregate_topic is not None:
            state["originator_topic"] = aggregate_topic
        domain_event: DomainEventProtocol[str] = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event


def event_class(topic: str) -> type:
    """The event class a stored topic names. The classes register their topics as their
    modules load, which opening a store does not do (a read of the model never needs
    them): they load here, the first time an event is decoded."""
    _load_event_classes()
    cls: type = resolve_topic(topic)
    return cls


@cache
def _load_event_classes() -> None:
    # Loaded for the topics their classes register.
    from incident_ledger.ledger import desk_domain, domain, evidence  # noqa: F401


def upcast(cls: type, from_version: int, event_state: dict[str, Any]) -> None:
    """Bring an event's fields of class version ``from_version`` to its class's version,
    in place, through the class's ``upcast_vN_vN+1`` methods (the library's upcasting)."""
    class_version = getattr(cls, "class_version", 1)
    while from_version < class_version:
        getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
        from_version += 1


def check_envelope(leaf: bytes, originator_id: str, version: int, topic: str) -> None:
    """Raise ``MapperDeserialisationError`` unless the leaf names this id, version and topic.

    Canonical JSON sorts keys, so a leaf ends ``,"id":…,"recorded_at":"…","topic":…,
    "version":N}``: comparing that tail is enough, without decoding the leaf.
    """
    if not _names(leaf, originator_id, version, _topic_tail(topic)):
        raise MapperDeserialisationError(
            f"the stored event {originator_id!r} version {version} does not hold that event"
        )


def _topic_tail(topic: str) -> bytes:
    return b',"topic":%s,"version":' % _json(topic)


def _names(leaf: bytes, originator_id: str, version: int, topic_tail: bytes) -> bool:
    """Whether a leaf's envelope is this id and version and the topic of ``topic_tail``."""
    tail = b"%s%d}" % (topic_tail, version)
    head = b',"id":%s,"recorded_at":"' % _json(originator_id)
    end = len(leaf) - len(tail) - _STAMP_LENGTH
    return leaf.endswith(tail) and leaf[end - len(head) : end] == head


def _json(text: str) -> bytes:
    return json_string(text).encode("utf-8")
