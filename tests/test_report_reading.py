"""The HTML report as a reader sees it: instants in the incident's local time in one
format, chart axes that can be read, ids and dates never split, quotes given room
(measured in Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger import samples
from tests.test_web_pages import CHROMIUM, artefacts, require_browser

runner = CliRunner()
SVG = "{http://www.w3.org/2000/svg}"
WORDED = re.compile(
    r"^\d{1,2} [A-Z][a-z]{2} \d{4}(?: \d{2}:\d{2}(?::\d{2})? (?:[+-]\d{2}:\d{2}|UTC))?$"
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("report")
    db = str(folder / "ledger.db")
    assert runner.invoke(app, ["--db", db, "init"]).exit_code == 0
    assert (
        runner.invoke(app, ["--db", db, "append", "--file", str(samples.GHWAYRAN)]).exit_code == 0
    )
    out = folder / "report.html"
    args = ["--db", db, "export", "--format", "html", "--incident", "ghwayran-2022"]
    result = runner.invoke(app, [*args, "--at", "2022-02-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    yield out


@pytest.mark.slow
def test_every_instant_is_local_and_in_one_format(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    shown = html.unescape(re.sub(r"<[^>]+>", " ", page.split("<body>")[1]))
    assert not re.search(r"\d{4}-\d{2}-\d{2}", shown)  # no ISO date or instant
    whens = [html.unescape(w) for w in re.findall(r'class="when">([^<]*)<', page)]
    assert whens and all(WORDED.match(w) for w in whens), [w for w in whens if not WORDED.match(w)]
    assert "21 Jan 2022" in whens and "UTC" not in " ".join(whens)  # Asia/Damascus


def test_chart_ticks_are_local_days_that_do_not_overlap(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    charts = re.findall(r"<svg .*?</svg>", page, flags=re.DOTALL)
    assert charts
    for svg in charts:
        root = ElementTree.fromstring(svg)
        ticks = [
            (float(text.attrib["x"]), text.text or "")
            for group in root.iter(f"{SVG}g")
            if re.search(r"-xtick_\d+$", group.attrib.get("id", ""))
            for text in group.iter(f"{SVG}text")
        ]
        # Local days, with the clock time when the chart spans less than two days.
        shape = r"\d{1,2} [A-Z][a-z]{2}( \d{2}:\d{2})?"
        assert ticks and all(re.fullmatch(shape, label) for _, label in ticks)
        assert len({label for _, label in ticks}) == len(ticks)  # never the same label twice
        for (left, a), (right, b) in itertools.pairwise(ticks):
            assert right - left >= 6 * (len(a) + len(b)) / 2, (a, b)  # 10px labels apart
        assert "(Asia/Damascus)" in svg and "UTC" not in svg


@pytest.mark.slow
def test_ids_and_dates_stay_whole_and_quotes_have_room(report: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(report.as_uri())
            page.screenshot(path=str(artefacts() / "report.png"))
            split = page.evaluate(
                "() => Array.from(document.querySelectorAll('td code:not(.sha), .when'))"
                ".filter(e => e.getClientRects().length > 1).map(e => e.textContent)"
            )
            quotes = page.evaluate(
                "() => Array.from(document.querySelectorAll('table.claims td.quote'))"
                ".map(e => e.getBoundingClientRect().width)"
            )
            rows = page.evaluate(
                "() => Array.from(document.querySelectorAll('table.claims tbody tr'))"
                ".map(e => e.getBoundingClientRect().height)"
            )
            height = page.evaluate("document.documentElement.scrollHeight")
        finally:
            browser.close()
    assert split == []
    assert quotes and min(quotes) >= 300
    assert rows and max(rows) <= 400
    assert height <= 30_000
