"""The Datasette plugin of ``ledger serve``: values in words, links, an incident page.

- ``render_cell``: a claimed value (a ``value`` column, stored as JSON) in the command
  line's words (``at least 20``, ``20 or 21 Jan 2022``, ``yes``); 0/1 flags as no/yes;
  URLs (a report's, its archived copy's, a fact-check's) as links; lists stored as JSON
  (``via``) as names; a ``valid_time`` (EDTF) and every instant in words, instants in
  the incident's local time (UTC where a row has no incident), the stored value kept
  in the cell's ``title``. The ``.json`` API keeps the stored values.
- ``/<database>/-/incident/<id>?at=DATE&policy=…``: the incident's state at that date
  and policy, contested facts first with why, its timeline, and its reports with links.
- The home page lists the incidents, each linking to its page.
"""

from __future__ import annotations

import json
import re
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from incident_ledger.ledger.times import local_words, zone_or_none
from incident_ledger.projections.exports.common import published_date
from incident_ledger.projections.timewords import describe
from incident_ledger.projections.words import value_words
from incident_ledger.usecases.datasette_site.pages import incident_page

_FLAGS = frozenset({"inconsistent", "declared", "cumulative"})
_LINKS = frozenset({"url", "archive_url", "report_url"})
_TIME_TEXT = re.compile(r"^[0-9X?~%{\[.]")
_INSTANT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z$")


def cell_words(row: Any, value: Any, column: str, zone: str | None = None) -> str | Markup | None:
    """What a cell shows instead of its stored value, instants in ``zone`` (None: UTC);
    None: the value as it is."""
    keys = set(row.keys()) if hasattr(row, "keys") else set()
    if isinstance(value, str) and (column == "valid_time" or _INSTANT.match(value)):
        return _titled(_time_words(row, keys, value, column, zone), value)
    if isinstance(value, str) and value.startswith("[") and column != "value":
        names = _json_names(value)
        if names is not None:
            return ", ".join(names)
    if column == "value" and isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        qualifier = row["qualifier"] if "qualifier" in keys else None
        kind = row["kind"] if "kind" in keys and row["kind"] in ("number", "time") else None
        if kind is None:
            text_time = isinstance(parsed, str) and _TIME_TEXT.match(parsed)
            kind = "number" if isinstance(parsed, int) else "time" if text_time else "text"
        return value_words(parsed, qualifier, kind)
    if column in _FLAGS and value in (0, 1):
        return "yes" if value else "no"
    if column in _LINKS and isinstance(value, str) and value.startswith(("https://", "http://")):
        return Markup(f'<a href="{escape(value)}" rel="nofollow noopener">{escape(value)}</a>')
    return None


_UTC_DAY_END = "T23:59:59.999999Z"
"""How the key of the end of a day in UTC ends (``ledger.times``' fixed-width keys)."""


def _time_words(row: Any, keys: set[str], value: str, column: str, zone: str | None) -> str:
    if column == "valid_time":
        return describe(value)
    # A report or assessment dated to the day shows that day, as it gave its date. A
    # report's key ends its day in UTC, whatever incident a query joins it to; an
    # assessment's ends it in its incident's zone, the row's (the same key when at UTC).
    if (
        column == "published_at"
        and "published_precision" in keys
        and row["published_precision"] == "day"
    ):
        utc_day = value.endswith(_UTC_DAY_END)
        return describe(value[:10] if utc_day else published_date(value, "day", zone))
    return local_words(value, zone_or_none(zone))


def _titled(words: str, stored: str) -> Markup:
    """Words, with the stored value a hover away."""
    return Markup(f'<span title="{escape(stored)}">{escape(words)}</span>')


def _json_names(value: str) -> list[str] | None:
    """A JSON list of names (``["afp"]``) as its names; None if it is not one."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
        return parsed
    return None


_ZONES: dict[tuple[str, str, str], str | None] = {}
"""An incident's or a claim's time zone by (database, key, id): they never change."""


async def _row_zone(datasette: Any, database: str, row: Any) -> str | None:
    """The time zone of the incident a row is about: its ``incident``, else its claim's."""
    keys = set(row.keys()) if hasattr(row, "keys") else set()
    for key, sql in (
        ("incident", "SELECT timezone FROM incidents WHERE id = ?"),
        ("claim", "SELECT i.timezone FROM claims AS c JOIN incidents AS i ON i.id = c.incident "
                  "WHERE c.id = ?"),
    ):  # fmt: skip
        if key in keys and isinstance(row[key], str):
            cached = (database, key, row[key])
            if cached not in _ZONES:
                found = await datasette.get_database(database).execute(sql, (row[key],))
                first = found.first()
                _ZONES[cached] = first[0] if first else None
            return _ZONES[cached]
    return None


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Any:
    if isinstance(value, str) and _INSTANT.match(value):

        async def in_local_time() -> str | Markup | None:
            zone = await _row_zone(datasette, database, row)
            return cell_words(row, value, column, zone)

        return in_local_time
    return cell_words(row, value, column)


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/(?P<database>[^/]+)/-/incident/(?P<incident>[^/]+)$", incident_view)]


async def incident_view(datasette: Any, request: Any) -> Response:
    name = request.url_vars["database"]
    incident = request.url_vars["incident"]
    at = request.args.get("at", "").strip()
    policy = request.args.get("policy", "range").strip()
    database = datasette.get_database(name)
    page = await database.execute_fn(lambda conn: incident_page(conn, incident, at, policy))
    html = await datasette.render_template(
        "incident.html", page | {"database": name}, request=request
    )
    return Response.html(html, status=404 if "problem" in page else 200)


@hookimpl
def extra_template_vars(template: str, database: str | None, datasette: Any) -> Any:
    if template != "index.html":
        return None

    async def incidents() -> dict[str, Any]:
        found = []
        for name, db in datasette.databases.items():
            if name.startswith("_") or "incidents" not in await db.table_names():
                continue
            rows = await db.execute(
                "SELECT i.id, i.title, i.title_ar, COUNT(c.id) AS claims, MAX(c.published_at) "
                "AS latest FROM incidents AS i LEFT JOIN claims AS c ON c.incident = i.id "
                "GROUP BY i.id ORDER BY latest DESC, i.id"
            )
            found += [dict(row) | {"database": name} for row in rows]
        return {"ledger_incidents": found}

    return incidents
