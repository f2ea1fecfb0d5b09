"""The import writes the same bytes whatever is done to make it faster.

A fixed input (the sample, then 3,160 records of the hot-incident generator with some
reports moved to the end, so that claims citing them wait) is imported at fixed
recorded times; the digest of every stored event (id, version, topic, stored state) and
of every Merkle leaf hash must be the one the import wrote before any of its speed-ups.
The digest changes only when an event's stored form changes on purpose (a new event
version): then it is computed again and the change says why.
"""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from incident_ledger.ledger import samples
from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.imports.importer import record_input
from incident_ledger.ledger.imports.streaming import input_pages
from incident_ledger.ledger.stores.location import locate

DATA = Path(__file__).parent / "data" / "golden_import.jsonl.gz"

GOLDEN = "8df37b1972f90eb9123c65772400a4dc84f53af5789dcc009238eb2772a738f5"
"""sha256 of the stored events and leaf hashes, as written before the speed-ups; computed
again when claims' events gained their valid-time bounds (class versions 2 and 3)."""


def _import(ledger: Ledger, path: Path) -> None:
    pages, where_first = input_pages(path, iter(()), None)
    record_input(ledger, pages, locate=where_first)


def stored_digest(ledger: Ledger) -> str:
    """sha256 over every stored event (id, version, topic, state) in log order, then every
    leaf hash."""
    digest = hashlib.sha256()
    with ledger.audit.reading() as view:
        size = view.size()
        after = 0
        while rows := view.event_rows(after, 1_000):
            for _, originator_id, version, topic, state in rows:
                for part in (originator_id, str(version), topic):
                    digest.update(part.encode() + b"\x00")
                digest.update(bytes(state) + b"\x01")
            after = rows[-1][0]
        for start in range(0, size, 1_000):
            digest.update(b"".join(view.node_hashes(0, start, min(1_000, size - start))))
    return digest.hexdigest()


def test_an_import_stores_the_same_bytes(tmp_path: Path) -> None:
    file = tmp_path / "golden.jsonl"
    file.write_bytes(gzip.decompress(DATA.read_bytes()))
    times = iter(
        [datetime(2022, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), datetime(2022, 3, 2, tzinfo=UTC)]
    )
    now = [next(times)]
    ledger = Ledger(locate(str(tmp_path / "l.db")).event_store_env(), clock=lambda: now[0])
    try:
        _import(ledger, samples.GHWAYRAN)
        now[0] = next(times)
        _import(ledger, file)
        assert stored_digest(ledger) == GOLDEN
    finally:
        ledger.close()
