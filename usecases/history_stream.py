"""A fact's history read a page of steps at a time, for a command that writes as it reads.

``reading.fact_history`` returns the whole history: on a hot fact that is thousands of
steps, each listing hundreds of positions in force, and nothing can be written before the
last step is read. :func:`history_pages` walks the same history (``HistoryWalk``) and
hands it over a page of steps at a time, each page's positions marked as
``fact_history`` marks them, so memory follows a page and the positions in force.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from incident_ledger.ledger.times import parse_instant
from incident_ledger.projections.citations import recorded_bound
from incident_ledger.projections.desk_projection import claims_recorded_by
from incident_ledger.projections.desk_rules import mark_proposals, mark_proposed_changes
from incident_ledger.projections.history import HistoryWalk
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.results import HistoryStep, PositionResult, position_claims
from incident_ledger.usecases.workspace import query_instant, read_model, unmapped

PAGE_STEPS = 100
"""Steps in a page: a page is read, marked and written before the next is read."""


@dataclass
class HistoryPages:
    """A history being read: ``head`` (its keys before the steps), ``pages`` of steps,
    ``recorded_by`` (who recorded each claim the positions of the pages read so far
    hold, when asked for), ``tail`` (its keys after the steps, once every page was read:
    ``recorded_by`` whole, for a writer that did not ask for it page by page) and
    ``desk`` (the ``desk`` key of ``tail`` alone)."""

    head: dict[str, Any]
    pages: Iterator[list[HistoryStep]]
    tail: Callable[[], dict[str, Any]]
    desk: Callable[[], list[dict[str, Any]]]
    recorded_by: dict[str, str] = field(default_factory=dict)


@contextmanager
def history_pages(
    db: str | None,
    incident: str,
    fact: str,
    *,
    as_recorded: str | None = None,
    reviewed_only: bool = False,
    size: int | None = None,
    by_page: bool = True,
) -> Iterator[HistoryPages]:
    """``reading.fact_history`` (without a chart) as pages of ``size`` steps (default
    ``PAGE_STEPS``), read while the ledger stays open (inside this context); ``by_page``:
    learn who recorded each page's claims as it is read (``recorded_by``), for a writer
    that shows it page by page rather than in ``tail()``."""
    if as_recorded:
        parse_instant(as_recorded)
    with read_model(db, incident) as conn:
        # A fact's claims lie scattered over the model: read through SQLite's own cache,
        # they cost the same CPU as mapped.
        unmapped(conn)
        recorded_at = query_instant(as_recorded, require_incident(conn, incident))
        walk = HistoryWalk(conn, incident, fact, recorded_at, reviewed_only=reviewed_only)
        marking = None if reviewed_only else recorded_bound(recorded_at)
        read = HistoryPages(walk.head, iter(()), walk.tail, walk.desk)
        learn = read.recorded_by if by_page else None
        read.pages = _pages(
            walk, size or PAGE_STEPS, lambda page, new: _mark(conn, page, new, marking, learn)
        )
        yield read


def _pages(
    walk: HistoryWalk,
    size: int,
    mark: Callable[[list[HistoryStep], list[PositionResult]], None],
) -> Iterator[list[HistoryStep]]:
    """The walk's steps in pages, each page's positions not seen on an earlier page given
    to ``mark`` first. A step's positions that the step before did not hold are among
    those the walk read again for it (``fresh``): a page's new positions are found among
    those, by identity, rather than among every position of every step (a hot fact's
    steps each hold hundreds); every position marked is kept, so that no later position
    can take its identity."""
    kept: dict[int, PositionResult] = {}
    page: list[HistoryStep] = []
    new: dict[int, PositionResult] = {}
    for step in walk.steps:
        page.append(step)
        new.update((id(p), p) for p in walk.fresh if id(p) not in kept)
        if len(page) < size:
            continue
        kept.update(new)
        mark(page, list(new.values()))
        yield page
        page, new = [], {}
    if page:
        mark(page, list(new.values()))
        yield page


def _mark(
    conn: Any,
    page: list[HistoryStep],
    new: list[PositionResult],
    marking: str | None,
    recorded_by: dict[str, str] | None,
) -> None:
    """Mark the proposals among a page's new positions and the changes only a proposal
    made (unless only reviewed records count), as ``reading.fact_history`` marks them,
    and learn who recorded the new positions' claims (into ``recorded_by``, if given)."""
    items: list[Any] = new
    if marking is not None:
        mark_proposals(conn, items, marking)
        changes = ((step["changes"], step["positions"]) for step in page)
        mark_proposed_changes(conn, changes, marking)
    if recorded_by is not None:
        claims = (claim for p in new for claim in position_claims(p))
        recorded_by.update(claims_recorded_by(conn, claims))
