"""Property: the understanding never depends on the order of an input's lines.

A valid file is imported as written and with its lines shuffled (the importer waits
for references further down, so any order is valid); ``state --json`` must be the same
byte for byte at every date and policy. The files put several claims of one claimant on
one fact in one report (one position, whatever their order), two reports of one
claimant at one instant, facts declared before or after their claims, relays,
retractions and corrections.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_ledger.usecases import reading, writing

SOURCES = ["s0", "s1", "s2"]
REPORTS = [("r0", "s0", "2022-01-01"), ("r1", "s1", "2022-01-01"), ("r2", "s0", "2022-01-02"),
           ("r3", "s2", "2022-01-02T10:00:00Z"), ("r4", "s1", "2022-01-03")]  # fmt: skip
FACTS: list[dict[str, Any]] = [
    {"type": "fact", "incident": "i", "key": "killed", "kind": "count", "cumulative": True},
    {"type": "fact", "incident": "i", "key": "fuel", "kind": "quantity"},
    {
        "type": "fact",
        "incident": "i",
        "key": "control",
        "kind": "choice",
        "choices": [{"value": "sdf", "aliases": ["qsd"]}, {"value": "isis"}],
    },
]

values = {
    "killed": st.one_of(
        st.tuples(st.integers(0, 9), st.sampled_from([None, "approx", "at_least", "more_than"])),
        st.tuples(st.integers(0, 9), st.just(None)).map(lambda t: ({"min": t[0], "max": 9}, None)),
    ),
    "fuel": st.tuples(
        st.sampled_from([Decimal("1.5"), Decimal("2.5"), Decimal("2.25")]),
        st.sampled_from([None, "approx"]),
    ),
    "control": st.tuples(st.sampled_from(["sdf", "qsd", "isis", "ISIS"]), st.just(None)),
    "started": st.tuples(
        st.sampled_from(["2022-01-01", "2022-01-02", "[2022-01-01,2022-01-02]"]), st.just(None)
    ),
}

claims = st.lists(
    st.tuples(
        st.sampled_from(sorted(values)),
        st.integers(0, len(REPORTS) - 1),
        st.sampled_from([None, *SOURCES]),
        st.sampled_from([None, ["s2"]]),
        st.data(),
    ),
    min_size=1,
    max_size=14,
)


def build(drawn: list[Any], ends: list[tuple[str, int, int]], declared: list[bool]) -> list[str]:
    records: list[dict[str, Any]] = [
        {"type": "incident", "id": "i", "title": "I", "timezone": "Asia/Damascus"}
    ]
    records += [{"type": "source", "id": s, "name": s, "kind": "outlet"} for s in SOURCES]
    records += [{"type": "report", "id": r, "source": s, "published_at": p} for r, s, p in REPORTS]
    records += [fact for fact, on in zip(FACTS, declared, strict=True) if on]
    ids = []
    for n, (fact, report, claimant, via, data) in enumerate(drawn):
        value, qualifier = data.draw(values[fact])
        claim = {"type": "claim", "id": f"c{n}", "incident": "i", "fact": fact, "value": value}
        claim |= {"report": REPORTS[report][0], "claimant": claimant, "via": via}
        claim["qualifier"] = qualifier
        records.append({k: v for k, v in claim.items() if v is not None})
        ids.append((f"c{n}", fact, report))
    ended: set[str] = set()
    for n, (how, target, drawn_report) in enumerate(ends):
        claim_id, fact, claim_report = ids[target % len(ids)]
        # Reports are in order of publication: an end comes from one no earlier.
        report = max(drawn_report, claim_report)
        if claim_id in ended:
            continue
        ended.add(claim_id)
        if how == "retract":
            records.append(
                {"type": "retraction", "id": f"x{n}", "claim": claim_id, "report": f"r{report}"}
            )
        elif fact == "killed":
            records.append(
                {"type": "correction", "id": f"k{n}", "claim": claim_id, "incident": "i"}
                | {"fact": fact, "value": 5, "report": f"r{report}"}
            )
    # Decimals as JSON numbers (1.5, 2.25: exact in binary, read back as exact decimals).
    return [json.dumps(r, default=float) for r in records]


def understood(lines: list[str], workdir: Path, name: str) -> list[str]:
    db = str(workdir / f"{name}.db")
    path = workdir / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    writing.init(db)
    writing.append_file(db, str(path))
    return [answer for day in DAYS for answer in understood_in(db, day)]


DAYS = ("2022-01-01", "2022-01-02", "2022-01-03")


def understood_in(db: str, day: str) -> list[str]:
    """``state --json`` of the corpus's incident on a day, by every policy."""
    answers = []
    for policy in ("range", "latest", "preferred"):
        result = reading.current_state(db, "i", at=day, policy=policy)
        answers.append(json.dumps(_without_recorded_at(result), sort_keys=True))
    return answers


def _without_recorded_at(result: Mapping[str, Any]) -> Mapping[str, Any]:
    """Each import has its own recorded time: everything else must be identical."""
    for fact in result["facts"].values():
        for position in fact["positions"]:
            position.pop("recorded_at", None)
    return result


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drawn=claims,
    ends=st.lists(
        st.tuples(
            st.sampled_from(["retract", "correct"]),
            st.integers(0, 30),
            st.integers(0, len(REPORTS) - 1),
        ),
        max_size=3,
    ),
    declared=st.lists(st.booleans(), min_size=len(FACTS), max_size=len(FACTS)),
    order=st.randoms(use_true_random=False),
)
def test_shuffled_lines_give_the_same_state(
    drawn: list[Any], ends: list[Any], declared: list[bool], order: Any
) -> None:
    lines = build(drawn, ends, declared)
    shuffled = list(lines)
    order.shuffle(shuffled)
    with tempfile.TemporaryDirectory() as name:
        workdir = Path(name)
        assert understood(lines, workdir, "as-written") == understood(shuffled, workdir, "shuffled")
