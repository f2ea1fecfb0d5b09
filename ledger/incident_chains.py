"""Per-incident chains: what lets one incident's bundle show that nothing about it is missing.

Every event that concerns an incident (``concerned``) extends that incident's
chain, in log order::

    head_0 = 32 zero bytes
    head_k = SHA-256(head_(k-1) ‖ leaf hash of the k-th event concerning the incident)

The store keeps each incident's (count, head), updated in the transaction that
appends the events (``ledger.stores.chains``). A checkpoint commits to every
incident's chain through one extension line of its note, ``incident-chains <n>
<base64 root>``: the RFC 9162 root of a Merkle tree over the ``entry_line`` of
each incident, sorted by incident id. An incident bundle carries its entry with
the entry's inclusion proof in that tree, so a recipient recomputes the chain
from the bundle's own leaves and checks it against the signed checkpoint: a
leaf left out changes the count or the head. The leaves themselves are not
changed, so the log stays an RFC 9162 log of the same leaves.

Which incidents an event concerns is decided by ``concerned`` alone, from the
leaf as stored; a new kind of event that names an incident or a claim in a
field called ``incident`` or ``claim`` is covered without a change here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import orjson

from incident_ledger.ledger.merkle import (
    DictNodeStore,
    append_leaves,
    inclusion_proof,
    leaf_hash,
    root_at,
)

START = bytes(32)
"""The head of a chain no event has extended yet."""

EXTENSION = "incident-chains"
"""The first word of the checkpoint extension line that commits to the chains."""

Line = dict[str, Any]
ClaimLookup = Callable[[Collection[str]], Mapping[str, str]]
"""Given claim ids, the incident of each the store (or a bundle) holds the creation of."""

_sha256 = hashlib.sha256
_COUNT = re.compile(r"0|[1-9][0-9]*")


def parse_leaf(leaf: bytes) -> Line | None:
    """A leaf as its JSON object, or None if it is not one with an ``id`` and ``data``
    (such a leaf concerns no incident)."""
    try:
        line = orjson.loads(leaf)
    except orjson.JSONDecodeError:
        return None
    if type(line) is not dict or type(line.get("id")) is not str:
        return None
    return line if type(line.get("data")) is dict else None


def created_claim(line: Line) -> tuple[str, str] | None:
    """(claim id, incident) if the leaf creates a claim (``claim:C`` version 1 naming an
    incident): a correction too, which is itself a claim."""
    aggregate = line["id"]
    incident = line["data"].get("incident")
    if aggregate.startswith("claim:") and line.get("version") == 1 and type(incident) is str:
        return aggregate[6:], incident
    return None


def concerned(
    leaves: Iterable[bytes], lookup: ClaimLookup, created: dict[str, str] | None = None
) -> list[tuple[str, ...]]:
    """The incidents each of a run of events concerns (given as their leaves, in order).

    An event concerns the incident it registers (id ``incident:I``), the incident its
    ``data.incident`` names, and the incident of each claim it is (id ``claim:C``: a
    claim, a correction, ``Claim.Superseded``) or names (``data.claim``: a retraction,
    an assessment, a correction). A claim's incident is the ``incident`` of its creation
    (``created_claim``): one earlier in the run or in ``created`` (claims an earlier run
    created, which gets this run's), else found by ``lookup``, which knows every
    creation in the store (or the bundle); a claim found nowhere adds nothing. A leaf
    that is not an event's JSON object concerns nothing. This runs for every event
    appended and verified: a claim's creation, the common case, takes the shortest path.
    """
    if created is None:
        created = {}
    labels, deferred = _concern(leaves, created)
    if deferred:
        found_later = lookup({name for _, _, unknown in deferred for name in unknown})
        for at, incidents, unknown in deferred:
            incidents += [found_later[name] for name in unknown if name in found_later]
            labels[at] = _label(incidents)
    return labels


Concerns = list[tuple[str, ...] | None]
"""The incidents each of a run of events concerns; None for one whose incidents need the
claims created before the run (``own_concerns``)."""


def own_concerns(leaves: Iterable[bytes]) -> tuple[Concerns, dict[str, str]]:
    """``concerned`` of a run of events as far as the run itself tells — None for an event
    naming a claim the run does not create earlier — and the claims it creates (claim id →
    incident). Made where the leaves are made, so that the writer need not decode them
    again (``stores.chains.ChainSession.extend``)."""
    created: dict[str, str] = {}
    labels, deferred = _concern(leaves, created)
    concerns: Concerns = list(labels)
    for at, _, _ in deferred:
        concerns[at] = None
    return concerns, created


def _concern(
    leaves: Iterable[bytes], created: dict[str, str]
) -> tuple[list[tuple[str, ...]], list[tuple[int, list[str], list[str]]]]:
    """``concerned`` without the lookup: the labels as far as ``created`` and the run tell,
    and the (place, incidents so far, claims not found) of each event that names others."""
    labels: list[tuple[str, ...]] = []
    deferred: list[tuple[int, list[str], list[str]]] = []
    (decode, decode_error), append = _names_decoder(), labels.append
    for leaf in leaves:
        try:
            names = decode(leaf)
        except decode_error:  # not JSON, or not an event's object
            append(())
            continue
        aggregate, incident, claim = names.id, names.data.incident, names.data.claim
        if type(aggregate) is not str:
            append(())
            continue
        if type(incident) is not str:
            incident = None
        elif aggregate[:6] == "claim:" and names.version == 1:
            created[aggregate[6:]] = incident
            if claim is None:
                append((incident,))  # a claim: its own incident only
                continue
        kind, _, own = aggregate.partition(":")
        incidents = [own] if kind == "incident" else []
        if incident is not None:
            incidents.append(incident)
        unknown = []
        for named in ([own] if kind == "claim" else []) + ([claim] if type(claim) is str else []):
            found = created.get(named)
            if found is None:
                unknown.append(named)
            else:
                incidents.append(found)
        if unknown:
            deferred.append((len(labels), incidents, unknown))
        append(_label(incidents))
    return labels, deferred


@cache
def _names_decoder() -> tuple[Callable[[bytes], Any], type[Exception]]:
    """The decoding of what ``concerned`` reads of a leaf, and the error it raises.

    Decoding only these fields (msgspec skips the others without building them) is
    a third of the cost of decoding the whole leaf, and this runs for every event
    appended and verified. Made on first use: commands that only read the ledger
    need not load msgspec.
    """
    import msgspec

    data = msgspec.defstruct("DataNames", [("incident", Any, None), ("claim", Any, None)])
    names = msgspec.defstruct("Names", [("id", Any), ("data", data), ("version", Any, None)])
    return msgspec.json.Decoder(names).decode, msgspec.DecodeError


def _label(incidents: list[str]) -> tuple[str, ...]:
    return tuple(incidents) if len(incidents) < 2 else tuple(set(incidents))


class Chains:
    """Each incident's (count, head), extended event by event in log order."""

    def __init__(self, heads: Mapping[str, tuple[int, bytes]] | None = None) -> None:
        self.heads: dict[str, tuple[int, bytes]] = dict(heads or {})

    def add(self, labels: Iterable[tuple[str, ...]], digests: Iterable[bytes]) -> None:
        """Extend the chains by events (the incidents each concerns, and its leaf hash)."""
        heads, sha256, start = self.heads, _sha256, (0, START)
        for incidents, digest in zip(labels, digests, strict=True):
            for incident in incidents:
                count, head = heads.get(incident, start)
                heads[incident] = (count + 1, sha256(head + digest).digest())

    def entries(self) -> list[tuple[str, int, bytes]]:
        """(incident, count, head) of every incident, sorted by incident id."""
        return [(incident, *self.heads[incident]) for incident in sorted(self.heads)]


def entry_line(incident: str, count: int, head: bytes) -> bytes:
    """An incident's entry in the tree of chains: ``<incident>\\n<count>\\n<base64 head>\\n``."""
    return f"{incident}\n{count}\n{_b64(head)}\n".encode()


class ChainMap:
    """The RFC 9162 Merkle tree over every incident's entry, sorted by incident id.

    Built in memory: a tree of one leaf per incident (a second at a hundred thousand
    incidents; see docs/audit-trail.md).
    """

    def __init__(self, entries: Sequence[tuple[str, int, bytes]]) -> None:
        self.entries = list(entries)
        self.size = len(self.entries)
        self._position = {entry[0]: i for i, entry in enumerate(self.entries)}
        self._store = DictNodeStore()
        append_leaves(self._store, 0, [leaf_hash(entry_line(*entry)) for entry in self.entries])
        self.root = root_at(self._store, self.size)

    def extension(self) -> str:
        """The checkpoint extension line committing to these chains."""
        return f"{EXTENSION} {self.size} {_b64(self.root)}"

    def entry(self, incident: str) -> dict[str, Any] | None:
        """An incident's entry with its inclusion proof, as a bundle carries it; None if
        no event concerns the incident."""
        index = self._position.get(incident)
        if index is None:
            return None
        _, count, head = self.entries[index]
        return {
            "incident": incident,
            "count": count,
            "head": _b64(head),
            "index": index,
            "proof": [_b64(h) for h in inclusion_proof(self._store, index, self.size)],
        }


def parse_extension(lines: Sequence[str]) -> tuple[int, bytes] | None:
    """(number of incidents, root) from a checkpoint's extension lines; None without the
    line. Raises ValueError if the line is there but malformed."""
    for line in lines:
        word, _, rest = line.partition(" ")
        if word != EXTENSION:
            continue
        size, _, root = rest.partition(" ")
        try:
            digest = base64.b64decode(root, validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if not _COUNT.fullmatch(size) or len(digest) != 32 or _b64(digest) != root:
            raise ValueError(f"malformed {EXTENSION} line: {line!r}")
        return int(size), digest
    return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
