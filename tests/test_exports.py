"""The audit exports: CSV, PROV-JSON, ClaimReview and the HTML report (in headless Chromium).

Over 400 lines: the four formats share their fixtures and expected rows.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import prov.model as pm
import pytest

from incident_ledger.ledger import samples
from incident_ledger.ledger.errors import NotFoundError
from incident_ledger.projections.exports import (
    RATINGS,
    export_claimreview,
    export_csv,
    export_html,
    export_prov,
)
from incident_ledger.projections.exports.common import Provenance
from incident_ledger.usecases import workspace, writing
from incident_ledger.usecases.desk_admin import default_member_id

Exporter = Callable[..., str]

CHROMIUM = Path("/usr/bin/chromium")
SCRIPT_QUOTE = "<script>document.title='pwned'</script>"
HOSTILE_NAME = "<img src=x onerror=\"document.title='pwned'\">"
ARABIC_QUOTE = "ما لا يقل عن 20"
ARCHIVE_URL = "https://web.archive.org/web/20220121/https://example.org/r1"


def day_end(day: str) -> datetime:
    """The last microsecond of a UTC day (the query convention)."""
    return datetime.fromisoformat(f"{day}T23:59:59.999999+00:00")


def claim(claim_id: str, fact: str, value: Any, report: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "claim",
        "id": claim_id,
        "incident": "g",
        "fact": fact,
        "value": value,
        "report": report,
    } | extra


# A retraction (c5), a correction (c4 → c4b), a superseded claim (c1 by c3),
# assessments, and text that must stay inert in HTML.
FIXTURE: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Test <b>incident</b>", "title_ar": "هجوم تجريبي"},
    {
        "type": "source",
        "id": "sohr",
        "name": "SOHR",
        "name_ar": "المرصد السوري",
        "kind": "monitor",
        "reliability": "C",
    },
    {"type": "source", "id": "sdf", "name": "SDF", "kind": "armed_group", "reliability": "C"},
    {"type": "source", "id": "afp", "name": "AFP", "kind": "agency", "reliability": "B"},
    {"type": "source", "id": "outlet", "name": HOSTILE_NAME, "kind": "outlet"},
    {"type": "source", "id": "blogger", "name": "A blogger", "kind": "social"},
    {
        "type": "report",
        "id": "r1",
        "source": "outlet",
        "published_at": "2022-01-21",
        "language": "ar",
        "title": "عنوان التقرير",
        "url": "https://example.org/r1?a=1&b=%22x%22",
        "archive_url": ARCHIVE_URL,
    },
    {"type": "report", "id": "r2", "source": "outlet", "published_at": "2022-01-22T10:00:00+03:00"},
    {"type": "report", "id": "r3", "source": "outlet", "published_at": "2022-01-23"},
    claim(
        "c1",
        "killed.security_forces",
        20,
        "r1",
        qualifier="at_least",
        unit="people",
        claimant="sohr",
        via=["afp"],
        quote=f"قال المرصد إن {ARABIC_QUOTE} من قوات الأمن قتلوا",
        translation="SOHR said at least 20 security forces were killed",
    ),
    claim(
        "c2",
        "killed.security_forces",
        7,
        "r1",
        unit="</text><script>document.title='pwned'</script>",
        quote=SCRIPT_QUOTE,
    ),
    claim("c3", "killed.security_forces", 25, "r2", unit="people", claimant="sohr"),
    claim("c4", "escaped", 89, "r1", claimant="sdf"),
    claim("c4b", "escaped", 90, "r2") | {"type": "correction", "claim": "c4"},
    claim("c5", "control", "SDF", "r1", claimant="sdf"),
    {"type": "retraction", "id": "x1", "claim": "c5", "report": "r3", "reason": "withdrawn"},
    claim("c6", "recaptured", 10, "r3", claimant="blogger"),
    {
        "type": "assessment",
        "id": "a1",
        "claim": "c2",
        "verdict": "false",
        "by": "Desk <One>",
        "published_at": "2022-01-24",
        "url": "https://check.example/a1",
    },
    {
        "type": "assessment",
        "id": "a2",
        "claim": "c1",
        "verdict": "unverifiable",
        "by": "Desk Two",
        "published_at": "2022-01-22",
    },
    {
        "type": "assessment",
        "id": "a3",
        "claim": "c6",
        "verdict": "mostly_true",
        "by": "Desk <One>",
        "published_at": "2022-02-02",
        "url": "https://check.example/a3",
        "note": "checked",
    },
]


def open_ledger(tmp: Path, lines: Path) -> Iterator[Any]:
    db = str(tmp / "ledger.db")
    writing.init(db)
    writing.append_file(db, str(lines))
    with workspace.open_workspace(db) as ws:
        yield ws.views.connection


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from open_ledger(tmp_path_factory.mktemp("sample"), samples.GHWAYRAN)


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("fixture")
    lines = tmp / "fixture.jsonl"
    lines.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in FIXTURE), encoding="utf-8"
    )
    yield from open_ledger(tmp, lines)


def sample_records() -> list[dict[str, Any]]:
    text = samples.GHWAYRAN.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def signed(note: str) -> Provenance:
    """A checkpoint note to export under, each record's leaf a stand-in (index seq - 1)."""
    return Provenance(
        note, "incident-ledger", 42, "root=", lambda wanted: {s: (s - 1, bytes(32)) for s in wanted}
    )


def csv_rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # UTF-8 with a byte-order mark
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


# --- shared selection -------------------------------------------------------


@pytest.mark.parametrize("exporter", [export_csv, export_prov, export_claimreview, export_html])
def test_unknown_incident_is_not_found(sample: Any, exporter: Exporter) -> None:
    with pytest.raises(NotFoundError, match="no incident 'nowhere'"):
        exporter(sample, incident="nowhere", at=None)


# --- CSV ----------------------------------------------------------------------


@pytest.mark.parametrize("day", ["2022-01-21", "2022-01-22", "2022-02-01"])
def test_csv_has_one_row_per_claim_known_at(sample: Any, day: str) -> None:
    records = sample_records()
    published = {r["id"]: r["published_at"] for r in records if r["type"] == "report"}
    expected = [
        r["id"]
        for r in records
        if r["type"] == "claim"
        and r["incident"] == "ghwayran-2022"
        and published[r["report"]] <= day
    ]
    text = export_csv(sample, incident="ghwayran-2022", at=day_end(day))
    assert text.endswith("\r\n")
    rows = csv_rows(text)
    assert [row["claim"] for row in rows] == expected  # ledger order


def test_csv_keeps_arabic_and_ranges(sample: Any) -> None:
    rows = {row["claim"]: row for row in csv_rows(export_csv(sample, incident=None, at=None))}
    assert len(rows) == 80
    row = rows["c-000-sohr-killed-sf"]
    assert ARABIC_QUOTE in row["quote"]
    assert (row["value"], row["qualifier"], row["low"], row["high"]) == ("20", "at_least", "20", "")
    assert (row["claimant"], row["via"], row["outlet"]) == ("sohr", "afp", "misryoum")
    # the report gave a date: its claims show that day (as the reports sheet does)
    assert row["published_at"] == "2022-01-21"
    ranged = [r for r in rows.values() if r["value"].startswith("{")]
    assert ranged, "the sample has a {min, max} claim"
    value = json.loads(ranged[0]["value"])
    assert (ranged[0]["low"], ranged[0]["high"]) == (str(value["min"]), str(value["max"]))


def test_csv_statuses_at_two_times(fixture: Any) -> None:
    early = {
        r["claim"]: r for r in csv_rows(export_csv(fixture, incident="g", at=day_end("2022-01-21")))
    }
    assert sorted(early) == ["c1", "c2", "c4", "c5"]
    assert {r["claim_status"] for r in early.values()} == {"active"}
    assert early["c1"]["fact_status"] == "contested"

    rows = {
        r["claim"]: r for r in csv_rows(export_csv(fixture, incident="g", at=day_end("2022-01-23")))
    }
    assert sorted(rows) == ["c1", "c2", "c3", "c4", "c4b", "c5", "c6"]
    statuses = {claim_id: row["claim_status"] for claim_id, row in rows.items()}
    assert statuses == {
        "c1": "superseded",
        "c2": "active",
        "c3": "active",
        "c4": "corrected",
        "c4b": "active",
        "c5": "retracted",
        "c6": "active",
    }
    assert rows["c4b"]["corrects"] == "c4"
    assert rows["c4b"]["published_at"] == "2022-01-22T07:00:00Z"
    assert rows["c5"]["fact_status"] == "withdrawn"
    assert rows["c1"]["fact_status"] == "contested"
    assert rows["c5"]["value"] == "SDF"
    assert rows["c2"]["quote"] == SCRIPT_QUOTE


def test_csv_names_links_words_and_verdicts(fixture: Any) -> None:
    rows = {r["claim"]: r for r in csv_rows(export_csv(fixture, incident="g", at=None))}
    c1, c2 = rows["c1"], rows["c2"]
    assert (c1["claimant"], c1["claimant_name"]) == ("sohr", "SOHR")
    assert (c1["via"], c1["via_names"]) == ("afp", "AFP")
    assert (c1["outlet"], c1["outlet_name"]) == ("outlet", HOSTILE_NAME)
    assert c1["report_title"] == "عنوان التقرير"
    assert c1["report_url"] == "https://example.org/r1?a=1&b=%22x%22"
    assert c1["archive_url"] == ARCHIVE_URL
    assert rows["c3"]["archive_url"] == ""  # its report has no archived copy
    assert (c1["value"], c1["value_words"], c1["low"]) == ("20", "at least 20 people", "20")
    assert rows["c5"]["value_words"] == "SDF"
    assert c2["verdicts"] == "false (Desk <One>, 2022-01-24)"
    assert c1["verdicts"] == "unverifiable (Desk Two, 2022-01-22)"
    assert c1["recorded_by"] == default_member_id()  # the first admin, who imported it


# --- PROV ---------------------------------------------------------------------


def reload(text: str) -> pm.ProvDocument:
    document: pm.ProvDocument = pm.ProvDocument.deserialize(content=text, format="json")
    return document


def records_of(document: pm.ProvDocument, kind: type) -> list[Any]:
    return [record for record in document.get_records() if isinstance(record, kind)]


@pytest.mark.slow
def test_prov_round_trips_the_sample(sample: Any) -> None:
    text = export_prov(sample, incident=None, at=None, provenance=signed("tree head\n— sig"))
    document = reload(text)
    records = sample_records()
    reports = {r["id"]: r["source"] for r in records if r["type"] == "report"}
    claims = [r for r in records if r["type"] == "claim"]
    sources = set(reports.values())
    for c in claims:
        sources |= {c.get("claimant") or reports[c["report"]], *c.get("via", [])}
    # the export itself, 2 incidents, 5 reports, 60 claims
    assert len(records_of(document, pm.ProvEntity)) == 1 + 2 + len(reports) + len(claims)
    # the sources, and the desk's one member, who recorded every record
    assert len(records_of(document, pm.ProvAgent)) == len(sources) + 1
    assert len(records_of(document, pm.ProvDerivation)) == len(claims)
    said = len(reports) + len(claims)  # to a source; and each incident, report and claim
    assert len(records_of(document, pm.ProvAttribution)) == said + 2 + said  # to the member
    relays = sum(len(c.get("via", [])) for c in claims)
    assert not records_of(document, pm.ProvInfluence)
    relay_roles = [
        r
        for r in records_of(document, pm.ProvAssociation)
        if (pm.PROV_ROLE, document.valid_qualified_name("ledger:relay")) in r.attributes
    ]
    assert len(relay_roles) == relays > 0
    assert prov_problems(document) == []
    sohr = document.get_record("ledger:source-sohr")[0]
    attributes = {str(k): v for k, v in sohr.attributes}
    assert attributes["ledger:grade"] == "C"
    assert attributes["ledger:kind"] == "monitor"
    export = {str(k): v for k, v in document.get_record("ledger:export")[0].attributes}
    assert export["ledger:checkpoint"] == "tree head\n— sig"


@pytest.mark.slow
def test_prov_models_corrections_retractions_and_assessments(fixture: Any) -> None:
    document = reload(export_prov(fixture, incident="g", at=day_end("2022-02-03")))
    revisions = [
        r
        for r in records_of(document, pm.ProvDerivation)
        if pm.PROV["Revision"] in r.get_asserted_types()
    ]
    assert [(str(r.args[0]), str(r.args[1])) for r in revisions] == [
        ("ledger:claim-c4b", "ledger:claim-c4")
    ]
    invalidated = {
        (str(r.args[0]), str(r.args[1])) for r in records_of(document, pm.ProvInvalidation)
    }
    assert invalidated == {
        ("ledger:claim-c5", "ledger:retraction-x1"),
        ("ledger:claim-c4", "ledger:correction-c4b"),
    }
    retraction = records_of(document, pm.ProvInvalidation)
    times = {str(r.args[0]): r.args[2] for r in retraction}
    # r3 gave only a date: the retraction is known from the end of that day (v2)
    assert times["ledger:claim-c5"] == datetime(2022, 1, 23, 23, 59, 59, 999999, tzinfo=UTC)
    used = {(str(r.args[0]), str(r.args[1])) for r in records_of(document, pm.ProvUsage)}
    assert ("ledger:retraction-x1", "ledger:report-r3") in used
    # 1 export, 1 incident, 3 reports, 7 claims, 3 assessments
    assert len(records_of(document, pm.ProvEntity)) == 15
    # 5 sources, 2 assessing desks and the member who recorded everything
    assert len(records_of(document, pm.ProvAgent)) == 8
    # a relaying of c1, a correction and a retraction
    assert len(records_of(document, pm.ProvActivity)) == 3
    associations = {
        (str(r.args[0]), str(r.args[1]), str(dict(r.attributes).get(pm.PROV_ROLE)))
        for r in records_of(document, pm.ProvAssociation)
    }
    assert associations == {
        ("ledger:relaying-c1", "ledger:source-afp", "ledger:relay"),
        ("ledger:correction-c4b", "ledger:source-outlet", "ledger:corrector"),
        ("ledger:retraction-x1", "ledger:source-outlet", "None"),
        ("ledger:retraction-x1", "ledger:member-root", "ledger:recorder"),
    }
    assert prov_problems(document) == []


def prov_problems(document: pm.ProvDocument) -> list[str]:
    """What ``prov`` lets through but PROV-DM forbids: ids naming two kinds of record
    (``unified`` raises), roles on relations that take none, entities generated or
    invalidated twice."""
    from collections import Counter

    from prov.constants import (
        PROV_ASSOCIATION,
        PROV_ATTR_ENTITY,
        PROV_END,
        PROV_GENERATION,
        PROV_INVALIDATION,
        PROV_ROLE,
        PROV_START,
        PROV_USAGE,
    )

    document.unified()
    allowed = {PROV_USAGE, PROV_GENERATION, PROV_INVALIDATION, PROV_ASSOCIATION, PROV_START}
    records = list(document.get_records())
    found = [
        f"prov:role on {r.get_type().localpart}"
        for r in records
        if r.is_relation()
        and any(k == PROV_ROLE for k, _ in r.attributes)
        and r.get_type() not in allowed | {PROV_END}
    ]
    for kind in (PROV_GENERATION, PROV_INVALIDATION):
        counts = Counter(
            next(iter(r.get_attribute(PROV_ATTR_ENTITY))) for r in records if r.get_type() == kind
        )
        found += [f"{e} has {n} {kind.localpart} records" for e, n in counts.items() if n > 1]
    return found


@pytest.mark.slow
def test_prov_names_its_records_in_the_ledger_namespace(fixture: Any) -> None:
    store = fixture.execute("SELECT store_id FROM tracking").fetchone()[0]
    default = json.loads(export_prov(fixture, incident="g", at=None))
    assert default["prefix"]["ledger"] == f"urn:incident-ledger:{store}:"
    base = "https://desk.example/ledger/"
    given = json.loads(export_prov(fixture, incident="g", at=None, namespace=base))
    assert given["prefix"]["ledger"] == base
    assert reload(json.dumps(given)).get_record(
        pm.QualifiedName(pm.Namespace("ledger", base), "claim-c1")
    )


def test_prov_checks_catch_roles_on_influence_and_doubled_ids() -> None:
    document = pm.ProvDocument()
    ns = document.add_namespace("ledger", "urn:x:")
    document.entity(ns["c"])
    document.agent(ns["a"])
    document.wasInfluencedBy(ns["c"], ns["a"], other_attributes={pm.PROV_ROLE: ns["relay"]})
    assert prov_problems(document) == ["prov:role on Influence"]
    document.activity(ns["c"])
    with pytest.raises(pm.ProvException):
        prov_problems(document)


@pytest.mark.slow
def test_prov_respects_known_time(fixture: Any) -> None:
    document = reload(export_prov(fixture, incident="g", at=day_end("2022-01-21")))
    assert not records_of(document, pm.ProvInvalidation)
    claims = [
        e
        for e in records_of(document, pm.ProvEntity)
        if str(e.identifier).startswith("ledger:claim-")
    ]
    assert len(claims) == 4


# --- ClaimReview --------------------------------------------------------------


def test_claimreview_objects(fixture: Any) -> None:
    text = export_claimreview(fixture, incident="g", at=day_end("2022-02-03"))
    assert "<" not in text  # safe to embed in a <script type="application/ld+json">
    reviews = json.loads(text)
    assert len(reviews) == 2  # a2 has no url: left out
    for review in reviews:
        assert review["@context"] == "https://schema.org"
        assert review["@type"] == "ClaimReview"
        assert review["claimReviewed"]
        rating = review["reviewRating"]
        assert rating["@type"] == "Rating"
        assert (rating["bestRating"], rating["worstRating"]) == (5, 1)
        assert {"ratingValue", "alternateName"} <= rating.keys()
        assert review["author"] == {
            "@type": "Organization",
            "name": "Desk <One>",
            "url": "https://check.example/",
        }
        assert review["datePublished"]
        item = review["itemReviewed"]
        assert item["@type"] == "Claim"
        assert {"author", "datePublished", "appearance", "firstAppearance"} <= item.keys()
    false, mostly = reviews
    assert false["claimReviewed"] == SCRIPT_QUOTE
    assert false["reviewRating"]["ratingValue"] == 1
    assert false["reviewRating"]["alternateName"] == "False"
    assert false["url"] == "https://check.example/a1"
    assert false["datePublished"] == "2022-01-24"
    assert false["itemReviewed"]["author"]["name"] == HOSTILE_NAME
    [appearance] = false["itemReviewed"]["appearance"]
    assert appearance["headline"] == "عنوان التقرير"
    assert appearance["url"] == "https://example.org/r1?a=1&b=%22x%22"
    assert appearance["archivedAt"] == ARCHIVE_URL
    assert mostly["claimReviewed"] == "A blogger: 10 recaptured."
    assert mostly["reviewRating"]["ratingValue"] == 4
    assert mostly["reviewRating"]["ratingExplanation"] == "checked"
    assert mostly["itemReviewed"]["author"] == {"@type": "Person", "name": "A blogger"}


def test_claimreview_respects_known_time(fixture: Any) -> None:
    reviews = json.loads(export_claimreview(fixture, incident=None, at=day_end("2022-01-24")))
    assert [r["reviewRating"]["alternateName"] for r in reviews] == ["False"]


def test_rating_scale() -> None:
    assert {verdict: value for verdict, (value, _) in RATINGS.items()} == {
        "true": 5,
        "mostly_true": 4,
        "mixed": 3,
        "misleading": 2,
        "false": 1,
        "unverifiable": None,
    }


# --- HTML ---------------------------------------------------------------------


class DomReader(HTMLParser):
    """Collects tags, attributes and text nodes with their ancestors' attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[tuple[str, list[tuple[str, dict[str, str | None]]]]] = []
        self.title = ""

    _VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "area", "source", "wbr"})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self._VOID:
            self.stack.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.texts.append((data, list(self.stack)))
        if [tag for tag, _ in self.stack[-2:]] == ["head", "title"]:
            self.title += data

    def ancestors_of(self, needle: str) -> list[list[tuple[str, dict[str, str | None]]]]:
        return [stack for text, stack in self.texts if needle in text]


def read_dom(html: str) -> DomReader:
    reader = DomReader()
    reader.feed(html)
    reader.close()
    return reader


def test_html_is_self_contained_and_escaped_as_written(fixture: Any) -> None:
    page = export_html(fixture, incident="g", at=day_end("2022-02-03"))
    assert page.startswith("<!DOCTYPE html>")
    dom = read_dom(page)
    assert ("html", {"lang": "en"}) in dom.tags
    assert ("meta", {"charset": "utf-8"}) in dom.tags
    csp = [a["content"] for t, a in dom.tags if t == "meta" and "http-equiv" in a]
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'; img-src data:"]
    assert not [t for t, _ in dom.tags if t in ("script", "img", "link", "iframe", "object")]
    assert not [name for _, attrs in dom.tags for name in attrs if name.startswith("on")]
    assert not [name for _, attrs in dom.tags for name in attrs if name == "src"]
    # The only links are the reports' (and their archived copies') and assessments' http(s)
    # addresses.
    links = [attrs for tag, attrs in dom.tags if "href" in attrs]
    assert [a["href"] for a in links] == [
        "https://example.org/r1?a=1&b=%22x%22",
        ARCHIVE_URL,
        "https://check.example/a1",
        "https://check.example/a3",
    ]
    assert all(a["rel"] == "noopener noreferrer nofollow" for a in links)
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in page
    assert "No checkpoint was supplied" in page
    assert dom.title == "Incident ledger report: \u2068Test <b>incident</b>\u2069"


def test_html_reads_as_words_and_ends_with_a_recipe(fixture: Any) -> None:
    provenance = signed("incident-ledger\n42\nroot=\n\n— incident-ledger <sig>\n")
    provenance = Provenance(
        provenance.note, provenance.origin, provenance.size, provenance.root,
        provenance.locate, "incident-ledger+1234abcd+KEY",
    )  # fmt: skip
    page = export_html(fixture, incident="g", at=day_end("2022-02-03"), provenance=provenance)
    assert "overflow-wrap: anywhere" not in page and "break-all" not in page
    assert "word-break: normal" in page
    assert f'<a href="{ARCHIVE_URL}"' in page and "archived copy</a>" in page
    assert "Verifier key: <code>incident-ledger+1234abcd+KEY</code>" in page
    assert "ledger verify --export bundle --key 'incident-ledger+1234abcd+KEY'" in page
    assert (
        "at least 20 people" in page and "true" not in page.split("<style>")[1].split("Sources")[0]
    )
    # contested facts first, the full list of claims last, as an appendix
    assert page.index("<h3>Contested facts</h3>") < page.index("<h3>State at")
    assert page.index("Appendix: every claim") > page.index("<h2>Reports</h2>")


def test_html_shows_checkpoint_in_pre(fixture: Any) -> None:
    checkpoint = "incident-ledger\n42\nroot=\n\n— incident-ledger <sig>\n"
    dom = read_dom(export_html(fixture, incident=None, at=None, provenance=signed(checkpoint)))
    assert [stack[-1][0] for stack in dom.ancestors_of("— incident-ledger <sig>")] == ["pre"]


@pytest.mark.slow
def test_html_charts_each_numeric_fact(sample: Any) -> None:
    page = export_html(sample, incident="ghwayran-2022", at=day_end("2022-02-01"))
    numeric = {
        r["fact"]
        for r in sample_records()
        if r["type"] == "claim"
        and r["incident"] == "ghwayran-2022"
        and (isinstance(r["value"], dict) or type(r["value"]) is int)
    }
    assert page.count("<svg ") == len(numeric)
    assert page.count("range (min–max)") == len(numeric)  # each chart's legend


@pytest.mark.slow
def test_html_is_written_as_it_is_made(
    sample: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page comes in parts: the first before any chart is drawn or any row of the
    claims' appendix made, each made once; the file written holds the page exactly."""
    from incident_ledger.projections import charts
    from incident_ledger.projections.exports import html_export

    made: list[str] = []

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            made.append(name)
            return real(*args)

        return call

    monkeypatch.setattr(html_export, "_claim", counted("row", html_export._claim))
    monkeypatch.setattr(html_export, "inline_svg", counted("chart", charts.inline_svg))
    at = day_end("2022-02-01")
    parts = html_export.html_parts(sample, incident="ghwayran-2022", at=at)
    first = next(parts)
    assert first.startswith("<!DOCTYPE html>") and made == []
    page = first + "".join(parts)
    claims = page.split('<table class="claims">')[1].count("<tr class=")
    assert made.count("row") == claims and made.count("chart") == page.count("<svg ")
    path = tmp_path / "report.html"
    html_export.write_html(sample, path, incident="ghwayran-2022", at=at)
    assert path.read_text(encoding="utf-8") == page


def require_chromium() -> None:
    """Skip when Chromium is absent, except in CI, which must have it (.ci/run installs it)."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run should install Debian's chromium")
    pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` to run the browser tests")


def rendered_dom(page: str, tmp_path: Path) -> str:
    """The DOM headless Chromium builds from the page, serialized."""
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--dump-dom",
                path.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout


def is_rtl_arabic(stack: list[tuple[str, dict[str, str | None]]]) -> bool:
    return any(attrs.get("dir") == "rtl" and attrs.get("lang") == "ar" for _, attrs in stack)


@pytest.mark.slow
def test_html_in_chromium_renders_arabic_right_to_left(sample: Any, tmp_path: Path) -> None:
    require_chromium()
    page = export_html(sample, incident="ghwayran-2022", at=None)
    dom = read_dom(rendered_dom(page, tmp_path))
    places = dom.ancestors_of(ARABIC_QUOTE)
    assert places, "the Arabic quote is in the rendered page"
    assert all(is_rtl_arabic(stack) for stack in places)
    title_ar = dom.ancestors_of("هجوم داعش على سجن غويران")
    assert title_ar and all(is_rtl_arabic(stack) for stack in title_ar)
    assert ("html", {"lang": "en"}) in dom.tags


@pytest.mark.slow
def test_html_in_chromium_keeps_hostile_text_inert(fixture: Any, tmp_path: Path) -> None:
    require_chromium()
    page = export_html(fixture, incident="g", at=None, provenance=signed("head\n" + SCRIPT_QUOTE))
    dom = read_dom(rendered_dom(page, tmp_path))
    assert dom.ancestors_of(SCRIPT_QUOTE), "the script quote shows as text"
    assert dom.ancestors_of(HOSTILE_NAME), "the hostile source name shows as text"
    assert not [tag for tag, _ in dom.tags if tag in ("script", "img")]
    assert dom.title == "Incident ledger report: \u2068Test <b>incident</b>\u2069"
    assert "pwned" not in dom.title
    assert all(is_rtl_arabic(stack) for stack in dom.ancestors_of(ARABIC_QUOTE))


@pytest.mark.slow
def test_source_grade_is_the_one_in_force_at_the_known_time(tmp_path: Path) -> None:
    lines = tmp_path / "fixture.jsonl"
    lines.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in FIXTURE), encoding="utf-8"
    )
    db = str(tmp_path / "ledger.db")
    writing.init(db)
    writing.append_file(db, str(lines))
    writing.rate(db, "sohr", "A", reason="track record", effective_from="2022-01-25")
    with workspace.open_workspace(db) as ws:
        for day, grade in (("2022-01-22", "C"), ("2022-01-26", "A")):
            text = export_prov(ws.views.connection, incident="g", at=day_end(day))
            sohr = reload(text).get_record("ledger:source-sohr")[0]
            assert {str(k): v for k, v in sohr.attributes}["ledger:grade"] == grade


@pytest.mark.slow
def test_html_shows_instants_in_the_incidents_local_time(sample: Any) -> None:
    """The HTML report reads as the incident's editors think: Ghwayran in Asia/Damascus
    (UTC+2 in January 2022), its dates the incident's days, its instants with the offset."""
    known = datetime.fromisoformat("2022-01-21T21:59:59.999999+00:00")  # the end of 21 Jan there
    page = export_html(sample, incident="ghwayran-2022", at=known)
    assert (
        "Understanding as known at <strong>the end of 21 Jan 2022 (Asia/Damascus)</strong>" in page
    )
    assert "20–21 Jan 2022" in page  # attack.started: days of Damascus, not of UTC
    assert "2022-01-19T22:00:00Z" not in page
