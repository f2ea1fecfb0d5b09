"""Property: the timeline read in order from the read model's index (``timeline_order``)
lists the same entries in the same order as sorting every known claim by the place
``_when`` gives it, as the timeline did before it was read in order; the undated and the
ended claims are the same too. Claims are dated by time values and valid times in every
EDTF form the importer accepts (``benchmarks.hot``: sets, intervals, open ends, date-times,
uncertain and unspecified dates), or undated."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.hot import time_value, valid_time
from incident_ledger.ledger.times import to_key
from incident_ledger.projections.timeline import _when, timeline
from incident_ledger.projections.timeline_order import TIMELINE_INDEX
from tests.projected import projected

_DAYS = ["2022-01-18", "2022-01-19", "2022-01-20", "2022-01-21T10:00:00Z", "2022-01-22"]

_KNOWN = """
SELECT c.*, (SELECT MIN(e.published_at) FROM claim_ends e
             WHERE e.claim = c.id AND e.published_at <= :known) AS ended
FROM claims c WHERE c.incident = 'i' AND c.published_at <= :known
ORDER BY c.published_at, c.id
"""


def _records(seed: int, count: int) -> list[dict[str, Any]]:
    """An incident with a time fact and a number fact, ``count`` claims on them, each
    dated by its value or valid time (or undated), some retracted or corrected."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = [
        {"type": "incident", "id": "i", "title": "I", "timezone": "Asia/Damascus"},
        {"type": "fact", "incident": "i", "key": "started", "kind": "time"},
        *({"type": "source", "id": f"s{n}", "name": f"S{n}", "kind": "outlet"} for n in range(3)),
        *(
            {"type": "report", "id": f"r{n}", "source": f"s{n % 3}", "published_at": day}
            for n, day in enumerate(_DAYS)
        ),
    ]
    claims = []
    for n in range(count):
        claim: dict[str, Any] = {"type": "claim", "id": f"c{n}", "incident": "i"}
        claim |= {"report": f"r{rng.randrange(len(_DAYS))}", "claimant": f"s{rng.randrange(3)}"}
        if rng.random() < 0.4:
            claim |= {"fact": "started", "value": time_value(rng)}
        else:
            claim |= {"fact": "killed", "value": rng.randrange(5, 40)}
            if rng.random() < 0.6:
                claim["valid_time"] = valid_time(rng)
        claims.append(claim)
    records += claims
    for n, claim in enumerate(rng.sample(claims, min(3, len(claims)))):
        records.append({"type": "retraction", "id": f"x{n}", "claim": claim["id"], "report": "r4"})
    return records


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    count=st.integers(0, 40),
    known=st.sampled_from(["2022-01-19", "2022-01-21", "2022-02-01"]),
)
def test_the_timeline_read_in_order_is_the_sorted_timeline(
    seed: int, count: int, known: str
) -> None:
    with projected(_records(seed, count)) as db:
        at = datetime.fromisoformat(f"{known}T23:59:59+00:00")
        read = timeline(db, "i", at)
        rows = db.execute(_KNOWN, {"known": to_key(at)})
        columns = [d[0] for d in rows.description]
        placed, undated, ended = [], [], []
        for values in rows:
            row = dict(zip(columns, values, strict=True))
            when = None if row["ended"] else _when(row, "Asia/Damascus")
            if row["ended"]:
                ended.append(row["id"])
            elif when is None:
                undated.append(row["id"])
            else:
                placed.append((when[0], row["id"], when[1]))
        placed.sort()
        assert [(e["claim"], e["when"]) for e in read["entries"]] == [
            (claim, when) for _, claim, when in placed
        ]
        assert read["undated"] == {"count": len(undated), "claims": undated}
        assert [e["claim"] for e in read["excluded_inactive"]] == ended


def test_the_timeline_reads_its_entries_in_the_index_order() -> None:
    """No sort: the plan walks the index of dated claims, in order, for the incident."""
    with projected(_records(7, 30)) as db:
        traced: list[str] = []
        db.set_trace_callback(traced.append)
        try:
            entries = timeline(db, "i", datetime(2022, 2, 1, tzinfo=UTC))["entries"]
        finally:
            db.set_trace_callback(None)
        assert entries
        dated = next(sql for sql in traced if "NOT EXISTS" in sql and "ORDER BY (CASE" in sql)
        plan = " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {dated}"))
    assert f"USING INDEX {TIMELINE_INDEX} (incident=?)" in plan
    assert "TEMP B-TREE" not in plan  # read in order, not sorted
    assert json.dumps(entries)  # plain data
