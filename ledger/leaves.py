"""The audit form of an event: one line of the JSONL export, and a Merkle leaf.

A leaf is the RFC 8785 canonical JSON of an event as exported — topic, aggregate
id and version, recorded time, and the event's own fields (absent optional
fields left out). It is computed from the domain event object, both when the
event is first stored and when ``verify`` recomputes it from the stored event,
so the two must agree byte for byte.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

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


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON of an event line.

    The ``rfc8785`` package is the reference, but it is pure Python and was a
    sixth of import and over half of verify time. For the values events carry —
    ASCII keys, strings of valid Unicode, integers within ±2^53, booleans, null,
    lists and objects, never floats (refused on input) — the standard library's
    C encoder with sorted keys, no whitespace and no ASCII escaping produces the
    same bytes: RFC 8785 orders keys by UTF-16 code units, which for ASCII keys is
    Python's order, and escapes strings exactly as ``json`` does. A property test
    (tests/test_leaves.py) checks the two agree on generated event shapes.
    """
    return _ENCODER.encode(value).encode("utf-8")


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def leaf_bytes_from_stored(topic: str, originator_id: str, version: int, state: bytes) -> bytes:
    """The leaf of a stored event, read straight from its stored JSON.

    Equal to ``leaf_bytes`` of the decoded event for every event class at
    ``class_version`` 1 whose fields are plain JSON (all of them today): the
    library's transcoder only wraps the timestamp. Anything else — an upcast
    class, another wrapped type — raises ``LookupError`` so the caller decodes
    the event the slow way. ``verify`` uses it to skip building event objects.
    """
    fields = json.loads(state)
    if not isinstance(fields, dict) or "class_version" in fields:
        raise LookupError("not a plain version-1 event")
    stamp = fields.pop("timestamp", None)
    fields.pop("originator_topic", None)
    if not isinstance(stamp, dict) or stamp.get("_type_") != "datetime_iso":
        raise LookupError("no plain timestamp")
    data = {}
    for key, value in fields.items():
        if isinstance(value, dict) and "_type_" in value:
            raise LookupError("a wrapped value")
        if value is not None:
            data[key] = value
    return canonical_json(
        {
            "topic": topic,
            "id": str(originator_id),
            "version": int(version),
            "recorded_at": _utc_key(stamp["_data_"]),
            "data": data,
        }
    )


def _utc_key(iso: str) -> str:
    # The ledger stores UTC timestamps with microseconds ("…T05:12:18.516051+00:00"):
    # rewrite those directly; parse anything else.
    if len(iso) == 32 and iso.endswith("+00:00") and iso[19] == ".":
        return iso[:26] + "Z"
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def leaf_bytes(event: Any) -> bytes:
    """The Merkle leaf of an event: its export line as RFC 8785 canonical JSON."""
    return canonical_json(event_line(event))
