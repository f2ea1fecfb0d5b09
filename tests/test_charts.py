"""The one chart (``projections.charts``): fed by the sweep, equal to ``state`` at every
instant, capped to the top claimants with one "others" band, Arabic names kept as text."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.imports import importer
from incident_ledger.ledger.imports.importer import Entry
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.times import to_key
from incident_ledger.projections import charts
from incident_ledger.projections.charts import (
    MOST_STEPS,
    TOP,
    ChartData,
    Looks,
    collect,
    fact_charts,
    inline_svg,
    render,
    sampled,
    swept,
)
from incident_ledger.projections.exports import export_html
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.understanding import state
from incident_ledger.projections.views import Views
from tests.strategies import claim_operations
from tests.test_state_property import SOURCES, build, published, seeds

SVG = "{http://www.w3.org/2000/svg}"
# Ledgers about one numeric fact, so that most draw a chart of several steps.
numeric = st.lists(
    st.one_of(*claim_operations(["killed.a"], seeds, SOURCES, 30)), min_size=3, max_size=30
)
DAY0 = datetime(2022, 1, 1, tzinfo=UTC)


def _record(ledger: Ledger, records: list[dict[str, Any]]) -> None:
    importer.record(ledger, [Entry("t", validate_record(r, "t")) for r in records])


def crowded(sources: int, arabic: str | None = None) -> Iterator[dict[str, Any]]:
    """One incident where source ``n`` makes ``n + 1`` claims of ``killed``, a day apart,
    each saying ``10 * n + day``; source 0 may carry an Arabic name."""
    yield {"type": "incident", "id": "i", "title": "I", "timezone": "Asia/Damascus"}
    for n in range(sources):
        name = arabic if arabic and n == 0 else f"Source {n}"
        yield {"type": "source", "id": f"s{n}", "name": name, "kind": "outlet"}
    for n in range(sources):
        for day in range(n + 1):
            report = f"r{n}-{day}"
            published_at = (DAY0 + timedelta(days=day, hours=n)).isoformat()
            yield {"type": "report", "id": report, "source": f"s{n}", "published_at": published_at}
            yield {"type": "claim", "id": f"c{n}-{day}", "incident": "i", "fact": "killed",
                   "report": report, "claimant": f"s{n}", "value": 10 * n + day}  # fmt: skip


def chart_of(views: Views, known: str = "9999-12-31T23:59:59.999999Z") -> ChartData:
    chart = collect("killed", swept(views.connection, "i", "killed", known, "Asia/Damascus"))
    assert chart is not None
    return chart


@pytest.fixture
def crowd(ledger: Ledger, views: Views, projector: Projector) -> Callable[..., ChartData]:
    """Record ``crowded(sources, arabic)`` and chart its ``killed``."""

    def chart(sources: int, arabic: str | None = None) -> ChartData:
        _record(ledger, list(crowded(sources, arabic)))
        projector.catch_up()
        return chart_of(views)

    return chart


@pytest.mark.slow
def test_the_claimants_with_most_claims_get_lines_and_the_rest_one_band(
    crowd: Callable[..., ChartData],
) -> None:
    chart = crowd(TOP + 3)
    # Source n made n + 1 claims: the last TOP sources, most claims first.
    assert [s.name for s in chart.series] == [f"Source {n}" for n in range(TOP + 2, 2, -1)]
    assert chart.others is not None and chart.others.claimants == 3
    # At the end the others (sources 0, 1, 2) hold 0, 11 and 22.
    assert chart.others.spans[-1] == (0.0, 22.0)
    svg = render(chart, "svg").decode("utf-8")
    assert "others (3 claimants)" in svg


def test_a_small_incident_has_no_others_band(crowd: Callable[..., ChartData]) -> None:
    chart = crowd(3)
    assert [s.name for s in chart.series] == ["Source 2", "Source 1", "Source 0"]
    assert chart.others is None
    assert "others (" not in render(chart, "svg").decode("utf-8")


def test_arabic_names_are_text_isolated_in_the_svg_and_drawn_in_png(
    crowd: Callable[..., ChartData],
) -> None:
    name = "المرصد السوري لحقوق الإنسان"
    chart = crowd(2, arabic=name)
    root = ElementTree.fromstring(render(chart, "svg"))
    texts = [text.text or "" for text in root.iter(f"{SVG}text")]
    assert f"\u2068{name}\u2069" in texts  # as typed: the reader's browser joins the letters
    assert render(chart, "png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_charts_on_one_page_share_no_id(crowd: Callable[..., ChartData]) -> None:
    chart = crowd(3)
    page = inline_svg(chart, "a") + inline_svg(chart, "b")
    ids = re.findall(r' id="([^"]+)"', page)
    assert ids and len(ids) == len(set(ids))
    for target in re.findall(r'(?:url\(#|href="#)([^")]+)', page):
        assert target in ids  # every reference still finds its element


def test_the_report_never_computes_a_whole_state_per_instant(
    ledger: Ledger, views: Views, projector: Projector
) -> None:
    """The report's charts come from the sweep, which reads the fact's claims once: the
    queries the page runs do not grow with the instants its charts step through (here 55,
    the sources' claims being a day and an hour apart)."""
    _record(ledger, list(crowded(TOP + 3)))
    projector.catch_up()
    # The first read of an incident stores its positions in force, a fixed number of
    # statements whatever the instants: made before counting.
    export_html(views.connection, incident="i", at=None)
    statements: list[str] = []
    views.connection.set_trace_callback(statements.append)
    try:
        page = export_html(views.connection, incident="i", at=None)
    finally:
        views.connection.set_trace_callback(None)
    assert page.count("<svg ") == 1 and "others (3 claimants)" in page
    # A state per instant made 290 here; the page's own reads are a few dozen, fixed.
    assert len(statements) < 40, len(statements)


def test_many_instants_are_sampled_to_the_last_of_each_stretch() -> None:
    keys = [f"2022-01-01T{hour:02d}:00:00.000000Z" for hour in range(10)]
    assert sampled(keys, 10) == keys
    # Three stretches of 3 hours over 0:00–9:00: the last instant in each.
    assert sampled(keys, 3) == [keys[2], keys[5], keys[9]]


def _expected(db: Any, moment: datetime, shown: list[str]) -> tuple[Any, ...]:
    """What the chart should hold at ``moment``: each shown claimant's bounds, the others'
    span, and the range, as ``state`` answers."""
    fact = state(db, "i", moment)["facts"].get("killed.a")
    if fact is None:
        return (None,) * len(shown) + (None, None)
    held = {}
    for position in fact["positions"]:
        interval: Mapping[str, Any] = position.get("interval") or {}
        if isinstance(interval.get("min"), int):
            held[position.get("claimant_name") or position["claimant"]] = (
                float(interval["min"]),
                None if interval.get("max") is None else float(interval["max"]),
            )
    rest = [bounds for name, bounds in held.items() if name not in shown]
    span: Mapping[str, Any] = fact["range"] or {}
    low, high = span.get("min"), span.get("max")
    return (
        *(held.get(name) for name in shown),
        charts._span(rest),
        (float(low), None if high is None else float(high)) if isinstance(low, int) else None,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reports=st.lists(published, min_size=6, max_size=6),
    ops=numeric,
    gaps=st.lists(st.integers(1, 48), min_size=1, max_size=5),
    top=st.integers(1, 2),
    most=st.sampled_from([2, 3, MOST_STEPS]),
    samples=st.lists(st.integers(0, 9 * 24), max_size=6),
)
def test_the_chart_equals_state_at_every_step_and_between(
    reports: list[str], ops: list[Any], gaps: list[int], top: int, most: int, samples: list[int]
) -> None:
    """At each step drawn, and between steps unless instants were sampled (``most``)."""
    with tempfile.TemporaryDirectory() as workdir:
        ledger, _ = build(Path(workdir), None, ["killed.a"], reports, [None] * 4, ops, gaps)
        views = Views(Path(workdir) / "v.db")
        try:
            Projector(ledger, views).catch_up()
            db = views.connection
            steps = swept(db, "i", "killed.a", "9999-12-31T23:59:59.999999Z", None, most)
            chart = collect("killed.a", steps, top=top)
            if chart is None:
                return
            assert len(chart.times) <= most
            shown = [series.name for series in chart.series]
            between = [DAY0 + timedelta(hours=h) for h in samples] if most == MOST_STEPS else []
            moments = [*chart.times, *between]
            for moment in moments:
                index = max((i for i, t in enumerate(chart.times) if t <= moment), default=None)
                if index is None:
                    assert state(db, "i", moment)["facts"].get("killed.a") is None
                    continue
                drawn = (
                    *(series.points[index] for series in chart.series),
                    chart.others.spans[index] if chart.others else None,
                    chart.ranges[index],
                )
                assert drawn == _expected(db, moment, shown), to_key(moment)
        finally:
            views.close()
            ledger.close()


def test_the_others_band_is_hatched_unlike_the_range(crowd: Callable[..., ChartData]) -> None:
    svg = render(crowd(TOP + 3), "svg").decode("utf-8")
    assert svg.count("<pattern ") == 1  # the hatch, once: on the others' band and its key


def test_a_claimant_keeps_its_look_in_every_chart_of_a_page() -> None:
    """Looks go by claimant, not by rank: whatever the order claimants come in, each has
    one look, and the first 21 claimants of a page have 21 different ones."""
    looks, again = Looks(), Looks()
    names = [f"src-{n}" for n in range(30)]
    first = {name: looks.of(name) for name in names}
    assert {name: again.of(name) for name in reversed(names)}.keys() == first.keys()
    assert [looks.of(name) for name in reversed(names)] == [first[n] for n in reversed(names)]
    assert len({first[name] for name in names[:21]}) == 21
    assert Looks().of("src-7") == Looks().of("src-7")  # a stable hash: the same in any page


def test_the_charts_of_a_report_share_their_looks(
    ledger: Ledger, views: Views, projector: Projector
) -> None:
    """Two facts claimed by the same sources in opposite ranks: each source's line has the
    same colour and style in both charts."""
    records = list(crowded(3))
    records += [
        {
            "type": "claim",
            "id": f"w{n}",
            "incident": "i",
            "fact": "wounded",
            "report": f"r{n}-0",
            "claimant": f"s{n}",
            "value": 5 - n,
        }
        for n in range(3)
    ]
    _record(ledger, records)
    projector.catch_up()
    units = {"killed": "", "wounded": ""}
    charts = list(fact_charts(views.connection, "i", units, "9999-12-31T23:59:59.999999Z", None))
    assert len(charts) == 2 and charts[0].looks is charts[1].looks
    styles = [
        {
            series.name: _line_style(inline_svg(chart, f"c{n}"), series.name)
            for series in chart.series
        }
        for n, chart in enumerate(charts)
    ]
    assert [series.name for series in charts[0].series] != [s.name for s in charts[1].series]
    assert styles[0] == styles[1]


def _line_style(svg: str, name: str) -> str:
    """The stroke of the legend line next to ``name`` (its colour and dashes)."""
    before = svg[: svg.index(f"\u2068{name}\u2069</text>")]
    return str(re.findall(r'style="([^"]*stroke:[^"]*)"', before)[-1])
