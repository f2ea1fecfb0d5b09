"""The library's own recorder test cases, run against the ledger's recorders.

The recorders extend eventsourcing's to keep the Merkle log in the insert
transaction; everything the library promises of an application recorder must
still hold. The tests insert raw stored events, so the recorder is given a
leaf function (a hash of the stored state) in place of the application's leaves.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import ApplicationRecorderTestCase

from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.ledger.stores.sqlite import SQLiteLedgerRecorder


def leaf_of(event: StoredEvent) -> bytes:
    return leaf_hash(event.topic.encode() + b"\n" + event.state)


class TestSQLiteLedgerRecorderContract(ApplicationRecorderTestCase[SQLiteLedgerRecorder]):
    db_uri = ":memory:"

    def create_recorder(self) -> SQLiteLedgerRecorder:
        recorder = SQLiteLedgerRecorder(SQLiteDatastore(db_name=self.db_uri, pool_size=100))
        recorder.leaf_of = leaf_of  # type: ignore[attr-defined]
        recorder.create_table()
        return recorder

    def test_concurrent_no_conflicts(self, *args: Any, **kwargs: Any) -> None:
        self.db_uri = str(Path(self.tmp()) / "contract.db")
        super().test_concurrent_no_conflicts(*args, **kwargs)

    def test_concurrent_throughput(self) -> None:
        self.db_uri = str(Path(self.tmp()) / "contract.db")
        super().test_concurrent_throughput()

    def tmp(self) -> str:
        import tempfile

        directory = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__("shutil").rmtree(directory, ignore_errors=True))
        return directory

    def test_merkle_log_follows_the_inserts(self) -> None:
        from incident_ledger.ledger.merkle import root_at, root_from_leaf_hashes

        recorder = self.create_recorder()
        events = [
            StoredEvent(
                originator_id=uuid.uuid4(), originator_version=1, topic="t", state=f"s{n}".encode()
            )
            for n in range(5)
        ]
        recorder.insert_events(events[:2])
        recorder.insert_events(events[2:])
        with recorder.reading() as view:
            assert view.size() == 5
            assert root_at(view.nodes, 5) == root_from_leaf_hashes([leaf_of(e) for e in events])


POSTGRES_URL = os.environ.get("LEDGER_TEST_POSTGRES")


@pytest.mark.skipif(
    not POSTGRES_URL and not os.environ.get("CI"),
    reason="PostgreSQL half skipped: LEDGER_TEST_POSTGRES is not set",
)
class TestPostgresLedgerRecorderContract(ApplicationRecorderTestCase[Any]):
    EXPECT_CONTIGUOUS_NOTIFICATION_IDS = False

    def setUp(self) -> None:
        from eventsourcing.postgres import PostgresDatastore

        if not POSTGRES_URL:
            self.fail("CI must run the PostgreSQL half: LEDGER_TEST_POSTGRES is not set")
        url = urlparse(POSTGRES_URL)
        self.schema = f"contract_{uuid.uuid4().hex[:10]}"
        self.datastore = PostgresDatastore(
            dbname=url.path.lstrip("/"),
            host=url.hostname or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password or "",
            schema=self.schema,
            pool_size=4,
            max_overflow=10,
            originator_id_type="uuid",
        )

    def tearDown(self) -> None:
        import psycopg

        self.datastore.close()
        assert POSTGRES_URL is not None
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')  # type: ignore[arg-type,unused-ignore]

    def create_recorder(self) -> Any:
        from incident_ledger.ledger.stores.postgres import PostgresLedgerRecorder

        recorder = PostgresLedgerRecorder(self.datastore)
        recorder.leaf_of = leaf_of  # type: ignore[attr-defined]
        recorder.create_table()
        return recorder
