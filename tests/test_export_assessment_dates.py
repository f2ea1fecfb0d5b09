"""An assessment given only a date is read as a report given only a date is: known from the
end of that day in its incident's zone, and shown and exported as that day; one given as an
instant keeps it. Two incidents, east and west of UTC, put the end of 23 Jan on 23 and on
24 Jan in UTC."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import prov.model as pm
import pytest

from incident_ledger.projections.exports import (
    export_claimreview,
    export_csv,
    export_html,
    export_prov,
)
from incident_ledger.projections.exports.common import select
from incident_ledger.projections.exports.sheet_rows import other_tables
from incident_ledger.usecases import workspace, writing
from incident_ledger.usecases.datasette_site.plugins.ledger_pages import cell_words
from tests.test_cli import ledger as cli

EAST, WEST = "Asia/Damascus", "America/New_York"  # UTC+2 and UTC-5 in January 2022


def _assessment(ident: str, claim: str, published_at: str) -> dict[str, Any]:
    return {
        "type": "assessment",
        "id": ident,
        "claim": claim,
        "verdict": "false",
        "by": "Desk",
        "published_at": published_at,
        "url": f"https://check.example/{ident}",
        "summary": f"Claim {claim}.",
    }


RECORDS: list[dict[str, Any]] = [
    {"type": "incident", "id": "e", "title": "East", "timezone": EAST},
    {"type": "incident", "id": "w", "title": "West", "timezone": WEST},
    {"type": "source", "id": "s", "name": "S", "kind": "monitor"},
    {"type": "report", "id": "r", "source": "s", "published_at": "2022-01-21"},
    *(
        {
            "type": "claim",
            "id": claim,
            "incident": incident,
            "fact": "killed",
            "value": n,
            "report": "r",
        }
        for n, (claim, incident) in enumerate((("ce", "e"), ("ci", "e"), ("cw", "w")), 1)
    ),
    _assessment("a-east", "ce", "2022-01-23"),
    _assessment("a-west", "cw", "2022-01-23"),
    # an instant at midnight UTC, once taken for a date
    _assessment("a-instant", "ci", "2022-01-24T00:00:00Z"),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    tmp = tmp_path_factory.mktemp("assessment-dates")
    lines = tmp / "records.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    path = str(tmp / "ledger.db")
    writing.init(path)
    writing.append_file(path, str(lines))
    with workspace.open_workspace(path) as ws:
        yield ws.views.connection


def test_the_read_model_keeps_an_assessments_day_as_a_reports(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT id, published_at, published_precision FROM assessments").fetchall()
    assert sorted(rows) == [
        ("a-east", "2022-01-23T21:59:59.999999Z", "day"),  # the end of 23 Jan, UTC+2
        ("a-instant", "2022-01-24T00:00:00.000000Z", "instant"),
        ("a-west", "2022-01-24T04:59:59.999999Z", "day"),  # the end of 23 Jan, UTC-5
    ]


def test_a_date_only_assessment_is_known_from_the_end_of_its_day(db: sqlite3.Connection) -> None:
    def reviewed(at: str) -> list[str]:
        text = export_claimreview(db, incident="e", at=datetime.fromisoformat(at))
        return [review["url"].rsplit("/", 1)[1] for review in json.loads(text)]

    assert reviewed("2022-01-23T21:00:00+00:00") == []  # 23:00 in Damascus
    assert reviewed("2022-01-23T22:00:00+00:00") == ["a-east"]


def _html_published(page: str) -> dict[str, str]:
    """The Published cell of each row of the HTML report's assessments, by claim."""
    table = page.split('<table class="assessments">', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<td><code>([^<]+)</code>.*?<td class="when">([^<]+)</td>', table, re.S)
    return dict(cells)


def test_html_shows_a_date_only_assessment_as_its_day(db: sqlite3.Connection) -> None:
    assert _html_published(export_html(db, incident="e", at=None)) == {
        "ce": "23 Jan 2022",
        "ci": "24 Jan 2022 02:00 +02:00",
    }
    assert _html_published(export_html(db, incident="w", at=None)) == {"cw": "23 Jan 2022"}
    # All incidents, shown in UTC: each date-only assessment still shows its own day.
    assert _html_published(export_html(db, incident=None, at=None)) == {
        "ce": "23 Jan 2022",
        "ci": "24 Jan 2022 00:00 UTC",
        "cw": "23 Jan 2022",
    }


def test_prov_gives_a_date_only_assessment_the_end_of_its_day_and_its_precision(
    db: sqlite3.Connection,
) -> None:
    document = json.loads(export_prov(db, incident=None, at=None))
    entities = document["entity"]

    def published(ident: str) -> tuple[str, str | None]:
        entity = entities[f"ledger:assessment-{ident}"]
        return entity["schema:datePublished"]["$"], entity.get("ledger:publishedPrecision")

    # The end of 23 Jan in each incident's zone, with its offset: the day is its date.
    assert published("a-east") == ("2022-01-23T23:59:59.999999+02:00", "day")
    assert published("a-west") == ("2022-01-23T23:59:59.999999-05:00", "day")
    assert published("a-instant") == ("2022-01-24T00:00:00+00:00", None)
    reloaded = pm.ProvDocument.deserialize(content=json.dumps(document))
    assert len(list(reloaded.get_records(pm.ProvEntity))) == len(entities)


def test_claimreview_gives_a_date_only_assessment_its_day(db: sqlite3.Connection) -> None:
    reviews = json.loads(export_claimreview(db, incident=None, at=None))
    dates = {review["url"].rsplit("/", 1)[1]: review["datePublished"] for review in reviews}
    assert dates == {
        "a-east": "2022-01-23",
        "a-west": "2022-01-23",
        "a-instant": "2022-01-24T00:00:00Z",
    }


def test_the_spreadsheets_give_a_date_only_assessment_its_day(db: sqlite3.Connection) -> None:
    verdicts = {
        row["claim"]: row["verdicts"]
        for row in csv.DictReader(
            io.StringIO(export_csv(db, incident=None, at=None).lstrip("\ufeff"))
        )
    }
    assert verdicts == {
        "ce": "false (Desk, 2022-01-23)",
        "ci": "false (Desk, 2022-01-24T00:00:00Z)",
        "cw": "false (Desk, 2022-01-23)",
    }
    _, rows = other_tables(select(db, None, None))["assessments"]
    assert {row["assessment"]: row["published_at"] for row in rows} == {
        "a-east": "2022-01-23",
        "a-west": "2022-01-23",
        "a-instant": "2022-01-24T00:00:00Z",
    }


def test_datasette_shows_a_date_only_assessment_as_its_day(db: sqlite3.Connection) -> None:
    db.row_factory = sqlite3.Row
    try:
        row = db.execute("SELECT * FROM assessments WHERE id = 'a-west'").fetchone()
    finally:
        db.row_factory = None
    assert "23 Jan 2022" in str(cell_words(row, row["published_at"], "published_at", WEST))
    # Only the publication is a day: when the ledger recorded it keeps its time.
    recorded = str(cell_words(row, row["recorded_at"], "recorded_at", WEST))
    assert re.search(r"\d\d:\d\d", recorded), recorded


def test_a_reports_row_still_shows_its_day(tmp_path: Path) -> None:
    row = {"id": "r", "published_at": "2022-01-21T23:59:59.999999Z", "published_precision": "day"}
    assert "21 Jan 2022" in str(cell_words(row, row["published_at"], "published_at"))
    # Joined to a claim of an incident far east or west of UTC (custom SQL gives the row
    # that incident's zone), a report's day is still the day it gave: its key ends that
    # day in UTC, as every report's does.
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", EAST, WEST):
        assert "21 Jan 2022" in str(cell_words(row, row["published_at"], "published_at", zone))


def test_an_exports_date_is_the_end_of_that_day_in_its_incidents_zone(tmp_path: Path) -> None:
    lines = tmp_path / "records.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    path = str(tmp_path / "ledger.db")
    writing.init(path)
    writing.append_file(path, str(lines))
    # a-west is known from the end of 23 Jan in New York (04:59:59Z on the 24th), as a
    # date given to `state` would say; with no incident the date ends in UTC.
    code, out, err = cli(
        path, "export", "--format", "claimreview", "--incident", "w", "--at", "2022-01-23"
    )
    assert code == 0, err
    assert [review["url"].rsplit("/", 1)[1] for review in json.loads(out)] == ["a-west"]
    code, out, err = cli(path, "export", "--format", "claimreview", "--at", "2022-01-23")
    assert code == 0, err
    assert [review["url"].rsplit("/", 1)[1] for review in json.loads(out)] == ["a-east"]
