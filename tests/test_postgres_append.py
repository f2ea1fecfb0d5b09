"""PostgreSQL's append path: pages copied in (``PostgresLedgerRecorder.appending``) store
exactly what the library's insert path stores, and writers still append one at a time."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.domain import creation_event
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.merkle import leaf_hash, root_at
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.stores.recorder import Appender
from tests.conftest import NO_POSTGRES, POSTGRES_URL, Clock, drop_schema

pytestmark = pytest.mark.skipif(not POSTGRES_URL and not os.environ.get("CI"), reason=NO_POSTGRES)

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "incident", "id": "h", "title": "Hasakah"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
]


@contextmanager
def ledger_in_new_schema(clock: Clock) -> Iterator[Ledger]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    ledger = Ledger(locate(f"{POSTGRES_URL}?schema={schema}").event_store_env(create=True), clock)
    try:
        yield ledger
    finally:
        ledger.close()
        drop_schema(schema)


@contextmanager
def library_appending(recorder: Any) -> Iterator[Appender]:
    """The append path before pages were copied in: the library's insert of each page
    (lock, notification, composite array), its ids fetched to number the leaves."""
    from psycopg.rows import tuple_row

    recorder.datastore.register_type_adapters()  # as the library's insert_events does first
    with recorder.datastore.transaction(commit=True) as curs:
        recorder._lock_table(curs)
        cursor = curs.connection.cursor(row_factory=tuple_row)
        view = recorder._view(cursor)
        chains = recorder.chains.session(cursor, view, recorder.plain)

        def append(rows: Sequence[Any], leaves: Sequence[bytes]) -> None:
            stored = [StoredEvent(*row) for row in rows]
            recorder._insert_stored_events(curs, stored)
            recorder._fetch_ids_after_insert_events(
                curs, stored, merkle_leaves=leaves, chain_session=chains
            )

        yield Appender(view, append)
        chains.flush()


def dump(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the log's tables, in a fixed order."""
    recorder: Any = ledger.recorder
    tables = {
        recorder.events_table_name: "notification_id",
        "merkle_leaves": "idx",
        "merkle_nodes": "level, idx",
        "incident_chains": "incident",
    }
    with recorder.datastore.transaction(commit=False) as curs:
        found = {}
        for table, order in tables.items():
            curs.execute(f"SELECT * FROM {recorder.prefix}{table} ORDER BY {order}")  # type: ignore[arg-type,unused-ignore]
            found[table] = [tuple(row.values()) for row in curs.fetchall()]
    return found


def record_events(ledger: Ledger, transactions: list[list[int]]) -> None:
    """The setup in one transaction, then claims in pages of the given sizes, one list of
    pages a transaction; every third claim in the second incident."""
    ledger.actor = None
    setup = [creation_event(validate_record(r, "x"), ledger.clock()) for r in SETUP]
    with ledger.writing("test") as appender:
        ledger.append_events(appender, setup)
    number = 0
    for pages in transactions:
        with ledger.writing("test") as appender:
            for size in pages:
                claims = [
                    {
                        "type": "claim",
                        "id": f"c{number + n}",
                        "incident": "h" if (number + n) % 3 == 0 else "g",
                        "fact": "killed.total",
                        "value": number + n,
                        "report": "r1",
                    }
                    for n in range(size)
                ]
                number += size
                events = [creation_event(validate_record(c, "x"), ledger.clock()) for c in claims]
                ledger.append_events(appender, events)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=3),
        min_size=1,
        max_size=3,
    )
)
def test_copied_pages_store_what_the_library_inserts(transactions: list[list[int]]) -> None:
    clock = Clock()
    with ledger_in_new_schema(clock) as old, ledger_in_new_schema(clock) as new:
        old.recorder.appending = lambda: library_appending(old.recorder)  # type: ignore[attr-defined]
        record_events(old, transactions)
        record_events(new, transactions)
        expected, got = dump(old), dump(new)
        assert got == expected
        assert len(got["merkle_leaves"]) == len(SETUP) + sum(map(sum, transactions))
        with old.audit.reading() as before, new.audit.reading() as after:
            size = before.size()
            assert after.size() == size
            assert root_at(after.nodes, size) == root_at(before.nodes, size)
            # the root read from the tree's edge in one query, at sizes on and off tiles
            for smaller in [*range(1, size, 37), 255, 256, 257, 512, size]:
                if smaller <= size:
                    assert after.root_at(smaller) == root_at(after.nodes, smaller)


@pytest.mark.parametrize(
    "transactions",
    [[[260, 1], [300]], [[251], [1], [1, 255], [2]], [[300, 212], [1]]],
    ids=["over-a-tile", "onto-tile-ends", "two-tiles-then-one"],
)
def test_pages_around_the_stored_levels(transactions: list[list[int]]) -> None:
    """Pages that end on, before and after the tiles of the stored levels (256 leaves;
    the setup adds four)."""
    test_copied_pages_store_what_the_library_inserts.hypothesis.inner_test(transactions)  # type: ignore[attr-defined]


def test_a_writer_waits_for_the_one_appending_and_goes_after_it() -> None:
    clock = Clock()
    with ledger_in_new_schema(clock) as first:
        record_events(first, [])
        second = Ledger(first.env, clock)
        events = [
            creation_event(validate_record(claim, "x"), clock())
            for claim in (
                {"type": "claim", "id": f"c{n}", "incident": "g", "fact": "killed.total"}
                | {"value": n, "report": "r1"}
                for n in range(4)
            )
        ]
        entered = threading.Event()
        order: list[str] = []

        def other_writer() -> None:
            with second.writing("test") as appender:
                entered.set()
                order.append("second")
                second.append_events(appender, events[2:])

        try:
            with first.writing("test") as appender:
                first.append_events(appender, events[:1])
                thread = threading.Thread(target=other_writer)
                thread.start()
                assert not entered.wait(1.0)  # held back by the table lock
                first.append_events(appender, events[1:2])
                order.append("first")
            thread.join(30)
            assert order == ["first", "second"]
            with first.audit.reading() as view:
                ids = [row[1] for row in view.event_rows(0, 100)]
                assert view.size() == len(ids)
            assert ids[-4:] == ["claim:c0", "claim:c1", "claim:c2", "claim:c3"]
        finally:
            second.close()


def test_a_page_is_three_round_trips_whatever_the_log_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Copy the events, copy the nodes, number the leaves: no node is read back, at any
    size (the tree's edge is read once, when the transaction begins)."""
    import psycopg

    calls: list[str] = []
    for name in ("execute", "copy"):
        original = getattr(psycopg.Cursor, name)

        def counted(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            calls.append(_original.__name__)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, name, counted)
    clock = Clock()
    with ledger_in_new_schema(clock) as ledger:
        record_events(ledger, [])
        per_page = []
        with ledger.writing("test") as appender:
            for number, size in enumerate([1, 300, 7, 255, 1, 2, 513]):
                events = [
                    creation_event(validate_record(claim, "x"), clock())
                    for claim in (
                        {"type": "claim", "id": f"c{number}-{n}", "incident": "g"}
                        | {"fact": "killed.total", "value": n, "report": "r1"}
                        for n in range(size)
                    )
                ]
                rows = [ledger.leaf_mapper.row_with_leaf(event) for event in events]
                calls.clear()
                appender.append([r for r, _ in rows], [leaf_hash(leaf) for _, leaf in rows])
                per_page.append(sorted(calls))
        # and, on the first page, the read of the incident's chain
        assert (
            per_page == [["copy", "copy", "execute", "execute"]] + [["copy", "copy", "execute"]] * 6
        )


def test_a_read_inside_a_read_gets_a_second_connection() -> None:
    """The pool keeps one connection, opened before it is asked for; a read made while
    another is open (the read model's check looks up a retracted claim so) gets another
    at once instead of waiting for the first."""
    with ledger_in_new_schema(Clock()) as ledger:
        record_events(ledger, [[3]])
        with ledger.audit.reading() as outer, ledger.audit.reading() as inner:
            assert inner.size() == outer.size() == len(SETUP) + 3
        assert ledger.recorder.datastore.pool.get_stats()["connections_num"] == 2  # type: ignore[attr-defined]
