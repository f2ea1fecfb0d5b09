"""The use case that rebuilds a read model from the events: ``ledger replay``.

A rebuild makes the new model beside the old one and renames it over it once complete, one
rebuild of a model at a time (``model_files.rebuild_lock``); it never writes into the event
store, nor over a file that is not a read model this command may replace.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import BadInputError, ConflictError, StoreError
from incident_ledger.ledger.scratch import alone
from incident_ledger.ledger.stores.location import StoreLocation
from incident_ledger.projections.binding import snapshot_id
from incident_ledger.projections.model_files import (
    SIDE_FILES,
    build_path,
    model_kind,
    rebuild_lock,
    remove_model_files,
    swap_in,
)
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.views import schema_of
from incident_ledger.usecases.model_glance import open_views, require_folder
from incident_ledger.usecases.outputs import output_file
from incident_ledger.usecases.workspace import Progress, open_ledger, query_instant


def replay(
    db: str | None,
    *,
    until: str | None = None,
    out: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Rebuild the read model from the events (into ``out`` when given).

    The model is disposable and is made afresh, whatever state it was in (damaged,
    not SQLite at all, half-written, another store's), unless the file is not a read
    model that is this command's to replace (``_check_target``). It is built beside the
    old one (``model_files.build_path``) and renamed over it once complete
    (``swap_in``): the old model answers until then, and stays if the rebuild fails.
    """
    until_at = query_instant(until)
    if until_at is not None and out is None:
        raise BadInputError(
            "{until} needs {out}: the live read model always follows the whole ledger",
            arguments=("until", "out"),
        )
    # A folder that exists, not a folder itself; what a database there holds: below.
    checked = output_file(out, model=True) if out is not None else None
    with open_ledger(db) as (location, ledger):
        target = checked or location.views_path
        kind = _check_target(location, target, explicit=out is not None)
        _check_folder(target)
        with alone(rebuild_lock(target)) as mine:
            if not mine:
                raise ConflictError(
                    f"another rebuild of the read model {target} is under way: "
                    "nothing was done; run it again once that one ends"
                )
            return _rebuild(ledger, target, kind, (until, until_at), progress)


def _rebuild(
    ledger: Ledger,
    target: Path,
    kind: str,
    cut: tuple[str | None, datetime | None],
    progress: Progress | None,
) -> dict[str, Any]:
    """``replay``'s work, once no other rebuild of ``target`` runs: a new model built
    beside it and renamed over it (``cut``: ``--until`` as given and as an instant)."""
    until, until_at = cut
    schema = schema_of(target) if kind == "model" else None
    if kind not in ("absent", "model"):  # (a model answers until the new one is in)
        remove_model_files(target)
    build = build_path(target)
    views = open_views(build)
    views.make_private()  # (no other process opens it before ``swap_in``)
    try:
        if schema is None:
            views.ensure_schema()
        else:  # the model's own statements, checked, without loading sqlite-utils
            views.create(*schema)
        applied = Projector(ledger, views).catch_up(until=until_at, progress=progress)
        if until_at is not None:  # events after it were passed over: it cannot follow on
            views.mark_snapshot(snapshot_id(ledger.audit.store_id(), until_at))
        result = {
            "views": str(target),
            "events": applied,
            "position": views.position(),
            "until": until,
            "unprojectable": views.set_aside_events(),
        }
        views.make_shared()
    except BaseException:
        views.close()
        remove_model_files(build)
        raise
    views.close()
    swap_in(build, target)
    return result


def _check_folder(target: Path) -> None:
    """Refuse a rebuild whose folder does not exist or cannot be written: the new model,
    and the lock a rebuild holds, are made beside the old (``StoreError``)."""
    require_folder(target)
    folder = target.parent
    if not os.access(folder, os.W_OK):
        raise StoreError(
            f"cannot rebuild the read model {target}: its folder {folder} is read-only; "
            "set LEDGER_VIEWS to a file that can be written"
        )


_REPLACEABLE = {
    # what is at the path: may a rebuild replace it, for the store's own model beside it,
    # for a model named by LEDGER_VIEWS, for a file named by --out?
    "absent": (True, True, True),
    "empty": (True, True, True),
    "model": (True, True, True),
    "damaged": (True, True, False),
    "other": (True, False, False),
}


def _check_target(location: StoreLocation, target: Path, *, explicit: bool) -> str:
    """Refuse to rebuild into the event store, or over a file that is not a read model
    this command may replace (see ``_REPLACEABLE``; a model is disposable, nothing else is);
    what the file is (``model_kind``)."""
    store = location.sqlite_path
    if store is not None and _same_file(target, store):
        raise BadInputError(f"{target} is the event store: a read model cannot be written there")
    kind = model_kind(target)
    if kind == "store":
        raise BadInputError(f"{target} is an event store: a read model cannot be written there")
    own = location.views_are_own and not explicit
    allowed = _REPLACEABLE.get(kind, (False, False, False))[0 if own else 2 if explicit else 1]
    if not allowed:
        what = {"directory": "a directory", "foreign": "a SQLite database of something else"}
        raise BadInputError(
            f"{target} is {what.get(kind, 'not a read model')}: refusing to overwrite it"
        )
    return kind


def _same_file(path: Path, store: Path) -> bool:
    """Whether ``path`` is the store or one of the files SQLite keeps beside it."""
    names = [store.with_name(store.name + suffix) for suffix in ("", *SIDE_FILES)]
    try:
        resolved = path.resolve()
        return any(resolved == name.resolve() for name in names) or (
            path.exists() and store.exists() and path.samefile(store)
        )
    except OSError:
        return False
