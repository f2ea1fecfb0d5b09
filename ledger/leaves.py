"""The audit form of an event: one line of the JSONL export, and a Merkle leaf.

A leaf is the RFC 8785 canonical JSON of an event as exported — topic, aggregate
id and version, recorded time, and the event's own fields (absent optional
fields left out; ``class_version`` at the top when above 1). It is also exactly
what the event store holds for the event (``ledger.mapper``), so ``verify``
hashes stored bytes, an export copies them, and one JSON encoding per event
serves storage and audit alike.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import orjson
from eventsourcing.utils import get_topic

ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
"""Event attributes the leaf carries outside ``data`` (or, for the topic, not at all)."""


def absent_fields(event_class: type) -> dict[str, None]:
    """Every data field of an event class, as None: a leaf leaves out fields that are None."""
    absent = _ABSENT.get(event_class)
    if absent is None:
        absent = {f.name: None for f in fields(event_class) if f.name not in ENVELOPE}
        _ABSENT[event_class] = absent
    return absent


_ABSENT: dict[type, dict[str, None]] = {}


STAMP_LENGTH = len("2022-01-20T19:00:00.000000Z")
"""Characters of a recorded time as the leaf writes it (``recorded_key``)."""


def recorded_key(timestamp: datetime) -> str:
    """An event's recorded time as the leaf writes it (UTC, microseconds, ``Z``)."""
    global _last_stamp  # noqa: PLW0603 - a one-entry memo, read on every event
    last = _last_stamp
    if timestamp is last[0]:  # a batch shares one timestamp: format it once
        return last[1]
    key = timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _last_stamp = (timestamp, key)
    return key


_last_stamp: tuple[datetime | None, str] = (None, "")


def event_line(event: Any) -> dict[str, Any]:
    """The JSON object an event is exported as."""
    data = {
        key: value
        for key, value in vars(event).items()
        if key not in ENVELOPE and value is not None
    }
    line = {
        "topic": get_topic(type(event)),
        "id": str(event.originator_id),
        "version": int(event.originator_version),
        "recorded_at": recorded_key(event.timestamp),
        "data": data,
    }
    class_version = getattr(type(event), "class_version", 1)
    if class_version > 1:
        line["class_version"] = class_version
    return line


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON of an event line.

    The ``rfc8785`` package is the reference, but it is pure Python and was a
    sixth of import and over half of verify time. For the values events carry —
    ASCII keys, strings of valid Unicode, integers within ±2^53, booleans, null,
    lists and objects, never floats (refused on input) — orjson with sorted keys
    produces the same bytes: RFC 8785 orders keys by UTF-16 code units, which for
    ASCII keys is plain string order, and orjson escapes strings exactly as RFC
    8785 does (every code point was compared). What orjson refuses — a lone
    surrogate, an integer beyond 64 bits — goes to the standard library's encoder,
    which treats them as before. A property test (tests/test_leaves.py) checks the
    result against ``rfc8785`` on generated event shapes.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _ENCODER.encode(value).encode("utf-8")


def canonical_json_text(value: Any) -> str:
    """``canonical_json`` as text."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    except TypeError:
        return _ENCODER.encode(value)


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def leaf_bytes(event: Any) -> bytes:
    """The Merkle leaf of an event: its export line as RFC 8785 canonical JSON."""
    return canonical_json(event_line(event))


def leaf_frame(topic: str, version: int, class_version: int = 1) -> tuple[str, str]:
    """The parts of a leaf that one kind of event shares: before ``data``, and after the
    recorded time.

    ``framed_leaf`` fills in the rest. The key order is the canonical one
    (class_version, data, id, recorded_at, topic, version), so the result equals
    ``leaf_bytes`` of the event object; bulk import uses this to store creation
    events without building them, and a test checks the two agree for every kind
    of record.
    """
    head = f'{{"class_version":{class_version},"data":' if class_version > 1 else '{"data":'
    tail = f'","topic":{_ENCODER.encode(topic)},"version":{version}}}'
    return head, tail


def framed_leaf(head: str, tail: str, aggregate_id: str, recorded: str, data_json: str) -> bytes:
    """The leaf of an event from its frame (``leaf_frame``), id, recorded time and
    ``data_json``, the canonical JSON of its fields."""
    quoted = json_string(aggregate_id)
    return f'{head}{data_json},"id":{quoted},"recorded_at":"{recorded}{tail}'.encode()


def json_string(text: str) -> str:
    """A string as canonical JSON. Ids and topics seldom hold a character JSON escapes,
    so those are quoted without the encoder (what it would give them)."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return _ENCODER.encode(text)
