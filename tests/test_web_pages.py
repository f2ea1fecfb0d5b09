"""``ledger serve`` for people: the pages in a real browser (Debian's chromium driven by
Playwright), values in words, the incident page, and the read model following appends.

Screenshots of the home page, an incident page and ``state_at`` at 1280×900 are written
to ``$LEDGER_TEST_ARTIFACTS`` (default ``test-artifacts/`` in the repository, ignored by
git), which CI keeps as artefacts."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from incident_ledger.ledger import samples
from incident_ledger.usecases import capturing, writing
from incident_ledger.usecases.datasette_site import PLUGINS, TEMPLATES
from incident_ledger.usecases.desk_admin import default_member_id

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
INCIDENT = "ghwayran-2022"
FIRST_SCREEN: ViewportSize = {"width": 1280, "height": 900}
LINKED = [
    {"type": "report", "id": "r-linked", "source": "sohr", "published_at": "2022-01-26",
     "url": "https://news.example/r-linked", "title": "Later toll", "language": "en",
     "archive_url": "https://web.archive.org/web/2022/https://news.example/r-linked"},
    {"type": "claim", "id": "c-linked", "incident": INCIDENT, "fact": "recaptured",
     "value": 30, "qualifier": "at_least", "unit": "people", "report": "r-linked"},
]  # fmt: skip
LATER = {"type": "claim", "id": "c-later", "incident": INCIDENT, "fact": "killed.security_forces",
         "value": 31, "qualifier": "at_least", "unit": "people", "report": "r-linked"}  # fmt: skip


def artefacts() -> Path:
    folder = Path(os.environ.get("LEDGER_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


class Served:
    def __init__(self, db: str, base: str) -> None:
        self.db, self.base = db, base

    def rows(self, query: str, **params: str) -> list[dict[str, Any]]:
        arguments = "&".join(f"{k}={v}" for k, v in params.items())
        status, body = get(f"{self.base}/ledger/{query}.json?_shape=array&{arguments}")
        assert status == 200, body
        rows: list[dict[str, Any]] = json.loads(body)
        return rows


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``ledger serve`` on the sample and a linked report, in its own process."""
    folder = tmp_path_factory.mktemp("served")
    db = str(folder / "ledger.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    linked = folder / "linked.jsonl"
    linked.write_text("".join(json.dumps(r) + "\n" for r in LINKED), encoding="utf-8")
    writing.append_file(db, str(linked))
    page = folder / "r-linked.html"
    page.write_text("<!DOCTYPE html><p>Later toll</p>", encoding="utf-8")
    capturing.capture(db, "r-linked", str(page), None)
    with serving(db) as base:
        yield Served(db, base)


@contextmanager
def serving(db: str) -> Iterator[str]:
    """``ledger serve`` on a ledger, in its own process, until the block ends: its URL."""
    port = free_port()
    ledger = Path(sys.executable).with_name("ledger")
    server = subprocess.Popen(
        [str(ledger), "--db", db, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if server.poll() is not None:
            pytest.fail(
                f"ledger serve stopped: {server.stderr.read().decode() if server.stderr else ''}"
            )
        try:
            urllib.request.urlopen(f"{base}/-/versions.json", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield base
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.slow
def test_values_are_words_and_sql_stays_hidden(served: Served) -> None:
    status, page = get(f"{served.base}/ledger/state_at?incident={INCIDENT}&at=2022-01-25")
    assert status == 200
    title = page.split("<title>")[1].split("</title>")[0]
    assert title == "State of an incident at a date"
    assert "SELECT" not in page.split('<div id="answer">')[0]
    assert "sql-query" not in page
    assert "at least 20" in page  # SOHR's toll, in words
    assert "param-help" in page and "the incidents table lists them" in page


def test_a_wrong_question_gets_one_row_saying_why(served: Served) -> None:
    [row] = served.rows("state_at", incident="nope", at="2022-01-25")
    assert row["fact"] == "Unknown incident: nope (the incidents table lists them)."
    [row] = served.rows("state_at", incident=INCIDENT, at="21-01-2022")
    assert row["fact"].startswith("Not a date: 21-01-2022")


def test_the_incident_page_puts_contested_facts_first_with_why(served: Served) -> None:
    status, page = get(f"{served.base}/ledger/-/incident/{INCIDENT}?at=2022-01-25")
    assert status == 200
    answer = page.split('<div id="answer">')[1].split("</div>")[0]
    statuses = [cell.split("</td>")[0] for cell in answer.split('class="status-')[1:]]
    first_other = next(i for i, s in enumerate(statuses) if not s.startswith("contested"))
    assert first_other > 0 and all(not s.startswith("contested") for s in statuses[first_other:])
    assert " vs " in answer or "says" in answer  # the reason each is contested
    assert "r-linked" not in page  # published on 26 Jan
    status, page = get(f"{served.base}/ledger/-/incident/{INCIDENT}?at=2022-01-26")
    assert '<a href="https://news.example/r-linked"' in page
    assert (
        '<a href="https://web.archive.org/web/2022/https://news.example/r-linked"'
        ' rel="nofollow noopener">archived copy</a>'
    ) in page
    assert '<a href="/ledger/captures?report=r-linked">captured copies (1)</a>' in page
    # Who recorded each timeline entry: the first admin, who imported everything here.
    assert f'<td class="recorded-by">{default_member_id()}</td>' in page
    status, page = get(f"{served.base}/ledger/-/incident/nope")
    assert status == 404 and "no incident &#39;nope&#39; in the ledger" in page


def _value_cells(page: str) -> dict[str, str]:
    """Each fact's value cell on an incident page, tags out."""
    import re

    answer = page.split('<div id="answer">')[1].split("</div>", maxsplit=1)[0]
    rows = re.findall(r"<tr><td>([^<]+)</td>.*?<td class=\"value\">(.*?)</td>", answer, re.S)
    return {fact: re.sub(r"<[^>]+>", "", cell) for fact, cell in rows}


def test_the_incident_page_shows_the_value_each_policy_chooses(served: Served) -> None:
    url = f"{served.base}/ledger/-/incident/{INCIDENT}?at=2022-01-31&policy="
    chosen = {policy: _value_cells(get(url + policy)[1]) for policy in ("range", "preferred")}
    assert chosen["range"]["killed.security_forces"] == "7–∞"
    assert chosen["preferred"]["killed.security_forces"] == (
        "121–∞from Syrian Democratic Forces (report-004, c-004-sdf-killed-sf)"
    )
    assert "<th>value (preferred)</th>" in get(url + "preferred")[1]


def test_the_incident_page_before_anything_was_known(served: Served) -> None:
    status, page = get(f"{served.base}/ledger/-/incident/{INCIDENT}?at=1990-01-01")
    assert status == 200
    answer = page.split('<div id="answer">')[1].split("</div>")[0]
    assert "Nothing was known about it then." in answer
    assert "<li>" not in page.split("<h2>Reports</h2>")[1]  # nothing published yet
    status, page = get(f"{served.base}/ledger/-/incident/{INCIDENT}?at=2022-01-21")
    reports = page.split("<h2>Reports</h2>")[1]
    assert "report-000" in reports and "report-001" not in reports  # published 22 Jan
    assert "21 Jan 2022" in reports and "2022-01-21" not in reports


def _shown(page: str) -> str:
    """A page's table as a reader sees it: tags (and their attributes) out."""
    import html
    import re

    table = page.split("<table", 1)[1].split("</table>", maxsplit=1)[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", table))


@pytest.mark.parametrize(
    "path",
    [
        f"state_at?incident={INCIDENT}&at=2022-01-25",
        f"fact_history?incident={INCIDENT}&fact=killed.security_forces",
        "claims_by_source?source=sohr",
        "claims?_sort=id",
    ],
)
def test_pages_show_words_not_stored_values(served: Served, path: str) -> None:
    status, page = get(f"{served.base}/ledger/{path}")
    assert status == 200, page
    shown = _shown(page)
    assert '["' not in shown  # no JSON list (via)
    assert not re.search(r"[0-9]T[0-9]{2}:[0-9]{2}", shown), shown  # no raw instant
    assert "21 Jan 2022" in shown
    if path.startswith(("state_at", "claims_by")):
        assert " afp " in shown  # SOHR's figure came via AFP


def test_valid_time_and_instants_in_words_with_the_stored_value_kept() -> None:
    from incident_ledger.usecases.datasette_site.plugins.ledger_pages import cell_words

    edtf = "[2022-01-20,2022-01-21]"
    assert str(cell_words({}, edtf, "valid_time")) == (
        f'<span title="{edtf}">20 or 21 Jan 2022</span>'
    )
    stored = "2022-01-21T21:59:59.999999Z"
    assert str(cell_words({}, stored, "published_at", "Asia/Damascus")) == (
        f'<span title="{stored}">21 Jan 2022</span>'
    )
    assert "21 Jan 2022 21:59:59 UTC" in str(cell_words({}, stored, "published_at"))
    assert cell_words({}, '["afp", "ap"]', "via") == "afp, ap"


def test_the_claims_table_has_facets(served: Served) -> None:
    status, body = get(f"{served.base}/ledger/claims.json?_size=1")
    assert status == 200
    assert {"fact", "claimant"} <= set(json.loads(body)["facet_results"])


@pytest.mark.slow
def test_serve_follows_appends_made_without_projection(served: Served) -> None:
    appended = Path(served.db).with_name("later.jsonl")
    appended.write_text(json.dumps(LATER) + "\n", encoding="utf-8")
    ledger = Path(sys.executable).with_name("ledger")
    done = subprocess.run(
        [str(ledger), "--db", served.db, "append", "--file", str(appended), "--defer-projection"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for _ in range(150):  # serve catches up every few seconds
        claims = {row["claim"] for row in served.rows("state_at", incident=INCIDENT, at="")}
        if "c-later" in claims:
            return
        time.sleep(0.2)
    pytest.fail("the served read model never showed the appended claim")


def test_the_cells_use_the_command_lines_words() -> None:
    from incident_ledger.usecases.datasette_site.plugins.ledger_pages import cell_words

    row = {"qualifier": "at_least", "value": "20"}
    assert cell_words(row, "20", "value") == "at least 20"
    assert cell_words({}, '"[2022-01-20,2022-01-21]"', "value") == "20 or 21 Jan 2022"
    assert cell_words({}, "true", "value") == "yes"
    assert cell_words({}, 1, "inconsistent") == "yes"
    assert str(cell_words({}, "https://a.example/?x=<b>", "url")) == (
        '<a href="https://a.example/?x=&lt;b&gt;" rel="nofollow noopener">'
        "https://a.example/?x=&lt;b&gt;</a>"
    )
    assert PLUGINS.is_dir() and (TEMPLATES / "query.html").is_file()


def require_browser() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` to run the browser tests")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "path", "answer"),
    [
        ("home", "/", "#answer li"),
        ("incident", f"/ledger/-/incident/{INCIDENT}?at=2022-01-25", "#answer tbody tr"),
        ("state_at", f"/ledger/state_at?incident={INCIDENT}&at=2022-01-25", "#answer tbody tr"),
    ],
)
def test_the_answer_is_on_the_first_screen(
    served: Served, name: str, path: str, answer: str
) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport=FIRST_SCREEN)
            page.goto(served.base + path)
            first = page.locator(answer).first
            box = first.bounding_box()
            page.screenshot(path=str(artefacts() / f"{name}.png"))
            assert first.is_visible()
            assert box is not None and box["y"] + box["height"] <= FIRST_SCREEN["height"]
        finally:
            browser.close()
