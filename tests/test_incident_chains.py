"""Which incidents an event concerns: the fast rule agrees with the documented one."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.incident_chains import START, ChainMap, Chains, concerned
from incident_ledger.ledger.leaves import canonical_json
from incident_ledger.ledger.merkle import inclusion_proof, leaf_hash, verify_inclusion

names = st.sampled_from(["a", "b", "c", "d"])
kinds = st.sampled_from(["incident", "claim", "retraction", "assessment", "source", "fact"])
odd = st.one_of(st.integers(), st.none(), st.lists(names, max_size=2), st.booleans())
data = st.fixed_dictionaries(
    {},
    optional={
        "incident": st.one_of(names, odd),
        "claim": st.one_of(names, odd),
        "by": names,
        "related": st.lists(st.fixed_dictionaries({"incident": names}), max_size=2),
        "value": st.one_of(st.integers(), st.fixed_dictionaries({"incident": names})),
        "note": st.sampled_from(['"incident":"x"', "{[", "\\"]),
    },
)
events = st.builds(
    lambda kind, own, version, fields: {
        "data": fields,
        "id": f"{kind}:{own}",
        "recorded_at": "2022-01-20T19:00:00.000000Z",
        "topic": f"t/{kind}",
        "version": version,
    },
    kinds,
    names,
    st.sampled_from([1, 1, 2]),
    data,
)
leaves = st.one_of(
    events.map(canonical_json),
    st.sampled_from([b"not json", b"[1, 2]", b'{"id": 5, "data": {}}', b'{"id": "claim:a"}']),
)


def documented(runs: list[bytes], store: list[bytes]) -> list[set[str]]:
    """The rule as docs/audit-trail.md states it, on whole parsed events."""
    parsed: list[Any] = []
    for leaf in runs:
        try:
            event = json.loads(leaf)
            ok = isinstance(event, dict) and isinstance(event.get("id"), str)
            parsed.append(event if ok and isinstance(event.get("data"), dict) else None)
        except ValueError:
            parsed.append(None)
    claims: dict[str, str] = {}
    for event in [json.loads(leaf) for leaf in store] + [e for e in parsed if e]:
        incident = event["data"].get("incident")
        own = event["id"]
        if own.startswith("claim:") and event["version"] == 1 and isinstance(incident, str):
            claims.setdefault(own[6:], incident)
    result: list[Any] = []
    for event in parsed:
        if event is None:
            result.append(set())
            continue
        kind, _, own = event["id"].partition(":")
        incident, claim = event["data"].get("incident"), event["data"].get("claim")
        named = {own} if kind == "incident" else set()
        named.add(incident if isinstance(incident, str) else None)
        for name in [own] * (kind == "claim") + [claim if isinstance(claim, str) else None]:
            named.add(claims.get(name) if name is not None else None)
        result.append(named - {None})
    return result


def once(leaves: list[bytes], seen: set[tuple[str, int]]) -> list[bytes]:
    """The leaves without a second event of one id and version (the store refuses one)."""
    kept = []
    for leaf in leaves:
        if leaf.startswith(b'{"data"'):
            event = json.loads(leaf)
            if (event["id"], event["version"]) in seen:
                continue
            seen.add((event["id"], event["version"]))
        kept.append(leaf)
    return kept


@settings(max_examples=500)
@given(st.lists(leaves, max_size=12), st.lists(events.map(canonical_json), max_size=6))
def test_concerned_follows_the_documented_rule(run: list[bytes], store: list[bytes]) -> None:
    seen: set[tuple[str, int]] = set()
    store = once(store, seen)
    run = once(run, seen)
    known = {  # what a store holding these events and the run's answers
        event["id"][6:]: event["data"]["incident"]
        for event in (json.loads(leaf) for leaf in store + run if leaf.startswith(b'{"data"'))
        if event["id"].startswith("claim:")
        and event["version"] == 1
        and isinstance(event["data"].get("incident"), str)
    }

    def lookup(wanted: Any) -> dict[str, str]:
        return {claim: known[claim] for claim in wanted if claim in known}

    assert [set(label) for label in concerned(run, lookup)] == documented(run, store)


def test_the_tree_of_chains_proves_each_incidents_entry() -> None:
    chains = Chains()
    digests = [leaf_hash(bytes([n])) for n in range(5)]
    chains.add([("b",), ("a", "b"), (), ("a",), ("c",)], digests)
    assert chains.heads["b"][0] == 2
    assert chains.heads.get("z", (0, START)) == (0, START)
    tree = ChainMap(chains.entries())
    assert tree.extension().startswith("incident-chains 3 ")
    for name in ("a", "b", "c"):
        entry = tree.entry(name)
        assert entry is not None
        count = chains.heads[name][0]
        line = f"{name}\n{count}\n{entry['head']}\n".encode()
        proof = inclusion_proof(tree._store, entry["index"], tree.size)
        verify_inclusion(leaf_hash(line), entry["index"], tree.size, proof, tree.root)
    assert tree.entry("z") is None
