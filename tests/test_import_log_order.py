"""An import stores each end of a claim just after the record that ends it.

A correction or retraction is recorded as its own creation followed by the event by
which it ends its claim (``Claim.Superseded`` or ``Claim.Retracted``). A page whose
claims give new facts their kinds holds ``Fact.Inferred`` events beside its records:
the end must still follow its own record, whatever those add before it, so that the
log never holds an end before the record that caused it.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.imports.importer import record_input
from incident_ledger.ledger.imports.streaming import input_pages
from incident_ledger.ledger.stores.location import locate


def _log(ledger: Ledger) -> list[tuple[str, str]]:
    """(aggregate id, topic's last part) of every stored event, in log order."""
    order: list[tuple[str, str]] = []
    with ledger.audit.reading() as view:
        after = 0
        while rows := view.event_rows(after, 1_000):
            order += [(str(row[1]), str(row[3]).rsplit("/", 1)[-1]) for row in rows]
            after = rows[-1][0]
    return order


def _records(new_facts: list[bool], ends: list[tuple[int, str]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"type": "incident", "id": "g", "title": "Ghwayran"},
        {"type": "source", "id": "s", "name": "SOHR", "kind": "monitor"},
        {"type": "report", "id": "r1", "source": "s", "published_at": "2022-01-21"},
        {"type": "report", "id": "r2", "source": "s", "published_at": "2022-01-22"},
    ]
    for i, new in enumerate(new_facts):
        fact = f"f{i}.total" if new else "killed.total"
        rows.append({"type": "claim", "id": f"c{i}", "incident": "g", "fact": fact,
                     "value": i, "report": "r1"})  # fmt: skip
    for n, (i, how) in enumerate(ends):
        claim = rows[4 + i]
        if how == "correction":
            rows.append({**claim, "type": "correction", "id": f"e{n}", "claim": claim["id"],
                         "report": "r2"})  # fmt: skip
        else:
            rows.append({"type": "retraction", "id": f"e{n}", "claim": claim["id"],
                         "report": "r2"})  # fmt: skip
    return rows


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=12).flatmap(
        lambda facts: st.tuples(
            st.just(facts),
            st.lists(
                st.tuples(
                    st.integers(0, len(facts) - 1), st.sampled_from(["correction", "retraction"])
                ),
                max_size=len(facts),
                unique_by=lambda end: end[0],
            ),
        )
    )
)
def test_each_end_follows_the_record_that_ends_it(
    tmp_path_factory: Any, case: tuple[list[bool], list[tuple[int, str]]]
) -> None:
    new_facts, ends = case
    folder = tmp_path_factory.mktemp("order")
    path = folder / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _records(new_facts, ends)), "utf-8")
    ledger = Ledger(locate(str(folder / "l.db")).event_store_env())
    try:
        pages, where_first = input_pages(path, iter(()), None)
        record_input(ledger, pages, locate=where_first)
        log = _log(ledger)
    finally:
        ledger.close()
    for n, (i, how) in enumerate(ends):
        topic = "Claim.Superseded" if how == "correction" else "Claim.Retracted"
        at = log.index((f"claim:c{i}", topic))
        assert log[at - 1][0] in (f"claim:e{n}", f"retraction:e{n}"), log
        assert log.index((f"claim:c{i}", "Claim.Recorded")) < at
