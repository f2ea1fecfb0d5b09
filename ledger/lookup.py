"""Services behind ``ledger search`` and ``ledger sources``: read-side lookups.

Each opens the ledger named by ``--db``, brings the read model up to date and
returns plain data for the CLI to render.
"""

from __future__ import annotations

from typing import Any

from ledger.services import read_model
from projections.search import DEFAULT_LIMIT, prepare
from projections.search import search as search_index
from projections.sources import source_records


def search(
    db: str | None, query: str, *, incident: str | None = None, limit: int = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Arabic-aware full-text search of quotes, translations, notes and titles.

    Returns ``{"query", "terms", "incident", "hits"}``; see
    :func:`projections.search.search` for the hits and their ranking.
    """
    prepare(query, limit)  # bad input is reported before the ledger is opened
    with read_model(db) as conn:
        return search_index(conn, query, incident=incident, limit=limit)


def sources(db: str | None) -> list[dict[str, Any]]:
    """Every source with its grade, rating history and track record.

    See :mod:`projections.sources` for the exact definitions.
    """
    with read_model(db) as conn:
        return source_records(conn)
