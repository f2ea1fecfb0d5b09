"""The audit form of an event: one line of the JSONL export, and a Merkle leaf.

A leaf is the RFC 8785 canonical JSON of an event as exported — topic, aggregate
id and version, recorded time, and the event's own fields (absent optional
fields left out). It is computed from the domain event object, both when the
event is first stored and when ``verify`` recomputes it from the stored event,
so the two must agree byte for byte.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import rfc8785
from eventsourcing.utils import get_topic

_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def event_line(event: Any) -> dict[str, Any]:
    """The JSON object an event is exported as."""
    data = {
        key: value
        for key, value in vars(event).items()
        if key not in _ENVELOPE and value is not None
    }
    return {
        "topic": get_topic(type(event)),
        "id": str(event.originator_id),
        "version": int(event.originator_version),
        "recorded_at": event.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": data,
    }


def leaf_bytes(event: Any) -> bytes:
    """The Merkle leaf of an event: its export line as RFC 8785 canonical JSON."""
    encoded: bytes = rfc8785.dumps(event_line(event))
    return encoded
