"""The use case of ``ledger search``, apart from ``reading``: a search loads none of the
projections that work out an understanding (a fifth of its start-up)."""

from __future__ import annotations

from typing import Any

from incident_ledger.projections.search import DEFAULT_LIMIT, prepare
from incident_ledger.projections.search import search as search_index
from incident_ledger.usecases.workspace import read_model


def search(
    db: str | None, query: str, *, incident: str | None = None, limit: int = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Arabic-aware full-text search of quotes, translations, notes and titles.

    Returns ``{"query", "terms", "incident", "hits"}``; see
    :func:`projections.search.search` for the hits and their ranking.
    """
    prepare(query, limit)  # bad input is reported before the ledger is opened
    with read_model(db, incident) as conn:
        return search_index(conn, query, incident=incident, limit=limit)
