"""A deterministic synthetic ledger in the import format, for benchmarks.

    python -m benchmarks.synthetic 100000 > claims.jsonl

Many incidents, sources and reports; claims of every value kind (counts with
every qualifier, ranges, EDTF dates, status text, booleans); about 2% of claims
retracted and 2% corrected. The same count always gives the same file.

Each incident is covered as a real one is: by its own reports (about 25), from a
pool of ten outlets, with claims attributed to those outlets or to ten other
sources. So an incident has about twenty claimants whatever the ledger's size,
and a larger ledger has more incidents, not larger ones: a point-in-time answer
weighs the same at every size, and its latency shows what the ledger's growth
costs. (Before, every claim drew its report and claimant from the whole ledger:
an incident at a million claims had 500 possible claimants, one at 10,000 had
20, and ``state`` answers at 1M held 1.8 times the positions.)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Iterator
from typing import Any

FACTS_NUMBER = [
    "killed.security_forces",
    "killed.isis",
    "killed.civilians",
    "escaped",
    "recaptured",
    "injured",
    "displaced",
]
QUALIFIERS = [None, None, None, "approx", "at_least", "more_than", "at_most", "less_than"]
STATUS_FACTS = ["control", "curfew.full", "escape.foiled"]
STATUS_FACT_OF: dict[object, str] = {
    "sdf": "control",
    "isis": "control",
    "lifted": "curfew.full",
    True: "escape.foiled",
    False: "escape.foiled",
}
KINDS = ["outlet", "monitor", "armed_group", "government", "agency", "social", "other"]


POOL = 10
"""Outlets publishing an incident's reports, and other sources its claims name."""


def _covering(incident: int, member: int, sources: int) -> str:
    """Member ``member`` (< 2 * POOL) of the sources covering an incident: outlets first."""
    return f"src-{(incident * 2 * POOL + member) % sources}"


def source(number: int) -> dict[str, Any]:
    """The source record ``src-NUMBER``: its kind and grade cycle through every value."""
    return {
        "type": "source",
        "id": f"src-{number}",
        "name": f"Source {number}",
        "kind": KINDS[number % len(KINDS)],
        "reliability": "ABCDEF"[number % 6],
    }


# Over 60 lines: one generator whose order of random draws fixes the file's bytes, which
# every benchmark figure was measured on; split, the draws would have to stay in order.
def records(claims: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Yield incidents, sources, reports, then claims, retractions and corrections."""
    rng = random.Random(seed)
    incidents = max(10, claims // 500)
    sources = max(20, claims // 2_000)
    reports = max(50, claims // 20)
    for i in range(incidents):
        yield {
            "type": "incident",
            "id": f"inc-{i}",
            "title": f"Incident {i}",
            "place": f"Place {i % 97}",
        }
    for s in range(sources):
        yield source(s)
    per_incident = reports // incidents
    published: list[str] = []
    for r in range(reports):
        day = 1 + r % 28
        hour = rng.randrange(24)
        published.append(f"2022-{1 + r % 12:02d}-{day:02d}T{hour:02d}:{r % 60:02d}:00Z")
        yield {
            "type": "report",
            "id": f"rep-{r}",
            "source": _covering(r // per_incident, rng.randrange(POOL), sources),
            "published_at": published[-1],
            "language": "ar" if r % 2 else "en",
        }
    written: list[int] = []
    incident_of: dict[int, int] = {}
    said_in: dict[int, tuple[str, str]] = {}  # each claim's report and fact

    def ending(drawn: int, target: int) -> str:
        """The report that ends a claim: the one drawn, or the claim's own when the drawn
        one was published before it (a claim is ended by a later report)."""
        own = said_in[target][0]
        return own if published[drawn] < published[int(own[4:])] else f"rep-{drawn}"

    for c in range(claims):
        roll = rng.random()
        incident = rng.randrange(incidents)
        drawn = (incident * per_incident + rng.randrange(per_incident)) % reports
        report = f"rep-{drawn}"
        if written and roll < 0.02:
            # A claim is ended once: retracted, it is corrected or retracted no more (the
            # same draw as choosing it, so the file is the same otherwise).
            target = written.pop(rng.randrange(len(written)))
            yield {
                "type": "retraction",
                "id": f"ret-{c}",
                "claim": f"clm-{target}",
                "report": ending(drawn, target),
            }
            continue
        record: dict[str, Any] = {
            "type": "claim",
            "id": f"clm-{c}",
            "incident": f"inc-{incident}",
            "report": report,
        }
        kind = rng.random()
        if kind < 0.7:
            record["fact"] = rng.choice(FACTS_NUMBER)
            record["value"] = rng.randrange(1, 500)
            qualifier = rng.choice(QUALIFIERS)
            if qualifier:
                record["qualifier"] = qualifier
        elif kind < 0.8:
            low = rng.randrange(1, 400)
            record["fact"] = "detained"
            record["value"] = {"min": low, "max": low + rng.randrange(0, 100)}
        elif kind < 0.9:
            record["fact"] = "attack.started"
            record["value"] = f"2022-01-{rng.randrange(10, 28)}"
        else:
            rng.choice(STATUS_FACTS)  # drawn as before, so the file is the same otherwise
            record["value"] = rng.choice(["sdf", "isis", "lifted", True, False])
            # A fact takes one kind of value: the value decides which status fact it is.
            record["fact"] = STATUS_FACT_OF[record["value"]]
        if rng.random() < 0.5:
            record["claimant"] = _covering(incident, POOL + rng.randrange(POOL), sources)
        if rng.random() < 0.2:
            record["quote"] = "قالت المصادر إن عدد القتلى ارتفع"
        if written and roll > 0.98:
            target = written.pop(rng.randrange(len(written)))
            record = {
                **record,
                "type": "correction",
                "id": f"cor-{c}",
                "claim": f"clm-{target}",
                "incident": f"inc-{incident_of[target]}",  # a correction never moves a claim
                "report": ending(drawn, target),
            }
            if record["fact"] != said_in[target][1]:
                record["change_fact"] = True  # its value was drawn for its own fact
        else:
            written.append(c)
            incident_of[c] = incident
            said_in[c] = (report, record["fact"])
        yield record


def write_records(
    argv: list[str], module: str, doc: str, made: Callable[[int, int], Iterator[dict[str, Any]]]
) -> int:
    """The command line of a generator (``module``: its name, ``doc`` its docstring):
    ``COUNT`` claims' worth of ``made(count, seed)``, one JSON line each, on standard
    output."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=doc.split("\n\n", maxsplit=1)[0],
    )
    parser.add_argument(
        "count", nargs="?", type=int, default=10_000, help="claims to generate (default 10000)"
    )
    parser.add_argument("--seed", type=int, default=7, help="the harness's is 7 (the default)")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("count must be 0 or more")
    out = sys.stdout
    for record in made(args.count, args.seed):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


def main(argv: list[str]) -> int:
    return write_records(argv, "benchmarks.synthetic", __doc__ or "", records)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
