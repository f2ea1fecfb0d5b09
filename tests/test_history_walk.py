"""A fact's history walked once: relayed positions, the relays ``why`` names and their
order are ``state``'s at every instant (hypothesis), and the walk's work on them grows
with the steps, not with the steps times the relayed positions."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import incident_ledger.projections.why as why_module
from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.imports import importer
from incident_ledger.ledger.imports.importer import Entry
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.times import from_key
from incident_ledger.projections.history import history
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.sweep import Sweep
from incident_ledger.projections.understanding import Policy, state
from incident_ledger.projections.views import Views

SOURCES = [f"s{n}" for n in range(6)]


def _records(claims: list[tuple[int, int, list[str]]], ended: list[int]) -> list[dict[str, Any]]:
    """One fact's claims (day, claimant, via) and the retractions of some of them."""
    records: list[dict[str, Any]] = [{"type": "incident", "id": "i", "title": "I"}]
    records += [{"type": "source", "id": s, "name": s.upper(), "kind": "outlet"} for s in SOURCES]
    for n, (day, claimant, via) in enumerate(claims):
        # An outlet relays the claimant it quotes, named in ``via`` or not (odd days).
        outlet = "s0" if day % 2 else SOURCES[claimant]
        records.append({"type": "report", "id": f"r{n}", "source": outlet,
                        "published_at": f"2022-01-{day:02d}"})  # fmt: skip
        records.append({"type": "claim", "id": f"c{n}", "incident": "i", "fact": "killed",
                        "report": f"r{n}", "claimant": SOURCES[claimant], "via": via,
                        "value": 10 + n})  # fmt: skip
    for n in sorted({n % len(claims) for n in ended}):
        day = min(claims[n][0] + 2, 28)
        records.append({"type": "report", "id": f"x{n}", "source": "s0",
                        "published_at": f"2022-01-{day:02d}"})  # fmt: skip
        records.append({"type": "retraction", "id": f"y{n}", "claim": f"c{n}",
                        "report": f"x{n}"})  # fmt: skip
    return records


def _project(ledger: Ledger, views: Views, records: list[dict[str, Any]]) -> None:
    importer.record(ledger, [Entry("t", validate_record(r, "t")) for r in records])
    Projector(ledger, views).catch_up()


@settings(max_examples=25)
@given(
    claims=st.lists(
        st.tuples(
            st.integers(1, 20),
            st.integers(1, 5),
            st.lists(st.sampled_from(SOURCES[2:]), max_size=3, unique=True),
        ),
        min_size=1,
        max_size=14,
    ),
    ended=st.lists(st.integers(0, 13), max_size=4),
    policy=st.sampled_from(list(Policy)),
)
def test_every_step_of_a_relayed_walk_equals_state(
    claims: list[tuple[int, int, list[str]]], ended: list[int], policy: Policy
) -> None:
    """Claimants relayed by several relays, joining, changing and ending in any order:
    the walk's fact (``why.relays``, their order, the summary's words) is ``state``'s."""
    from incident_ledger.ledger.stores.location import locate
    from incident_ledger.usecases import writing

    with tempfile.TemporaryDirectory() as workdir:
        db = str(Path(workdir) / "l.db")
        writing.init(db)
        ledger = Ledger(locate(db).event_store_env())
        views = Views(locate(db).views_path)
        try:
            views.ensure_schema()
            _project(ledger, views, _records(claims, ended))
            conn = views.connection
            sweep = Sweep(conn, "i", None, fact="killed", policy=policy)
            instants = conn.execute(
                "SELECT published_at FROM claims UNION SELECT published_at FROM claim_ends"
                " ORDER BY 1"
            ).fetchall()
            for (instant,) in instants:
                sweep.advance(instant)
                expected = state(conn, "i", from_key(instant), None, policy)["facts"]
                assert sweep.fact("killed") == expected.get("killed")
        finally:
            views.close()
            ledger.close()


def _relayed_names(ledger: Ledger, views: Views, claims: int) -> int:
    """The claimants' names the walk of ``claims`` relayed claims puts into relays' words:
    each claim a new claimant's, relayed by one of relays of three claimants each."""
    records: list[dict[str, Any]] = [{"type": "incident", "id": "i", "title": "I"}]
    for n in range(claims):
        records.append({"type": "source", "id": f"c-{n}", "name": f"C{n}", "kind": "outlet"})
        if n % 3 == 0:
            records.append({"type": "source", "id": f"relay-{n // 3}", "name": "R",
                            "kind": "outlet"})  # fmt: skip
        records.append({"type": "report", "id": f"r{n}", "source": f"c-{n}",
                        "published_at": f"2022-01-01T{n // 60:02d}:{n % 60:02d}:00Z"})  # fmt: skip
        records.append({"type": "claim", "id": f"k{n}", "incident": "i", "fact": "killed",
                        "report": f"r{n}", "claimant": f"c-{n}", "via": [f"relay-{n // 3}"],
                        "value": n})  # fmt: skip
    _project(ledger, views, records)
    named = [0]
    joined = why_module._and

    def counted(names: list[str]) -> str:
        named[0] += len(names)
        return joined(names)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(why_module, "_and", counted)
        steps = history(views.connection, "i", "killed")["steps"]
    assert len(steps) == claims and len(steps[-1]["why"]["relays"]) == (claims + 2) // 3
    return named[0]


def test_relays_words_are_made_again_only_for_the_relay_that_changed(
    tmp_path: Path,
) -> None:
    """Four times the relayed claims: under five times the names put into words (every
    relay's words made again at every step made sixteen times as many)."""
    from incident_ledger.ledger.stores.location import locate
    from incident_ledger.usecases import writing

    counts = []
    for claims in (60, 240):
        db = str(tmp_path / f"{claims}.db")
        writing.init(db)
        ledger = Ledger(locate(db).event_store_env())
        views = Views(locate(db).views_path)
        try:
            views.ensure_schema()
            counts.append(_relayed_names(ledger, views, claims))
        finally:
            views.close()
            ledger.close()
    assert counts[1] < 5 * counts[0], counts


@pytest.mark.parametrize("extra", [[], ["--all-positions"]])
def test_the_history_json_written_a_step_at_a_time_is_the_whole_result(
    sample_db: str, monkeypatch: pytest.MonkeyPatch, extra: list[str]
) -> None:
    """Pages of one step: the JSON is the text of the whole history, as read at once."""
    from typer.testing import CliRunner

    import incident_ledger.usecases.history_stream as stream_module
    from incident_ledger.cli import render
    from incident_ledger.cli.main import app
    from incident_ledger.projections.history import changed_positions
    from incident_ledger.usecases.reading import fact_history

    monkeypatch.setattr(stream_module, "PAGE_STEPS", 1)
    whole = fact_history(sample_db, "ghwayran-2022", "attack.started")
    steps = whole["steps"] if extra else list(changed_positions(whole["steps"]))
    expected = render._json_text({**whole, "steps": steps}) + "\n"
    args = ["--db", sample_db, "history", "ghwayran-2022", "attack.started", "--json"]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    assert len(whole["steps"]) > 3 and result.stdout == expected


def test_a_long_history_is_one_table_written_a_row_at_a_time(
    sample_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of two steps read from the walk leave the table as it was; a history longer
    than a long table's first page (two rows here) is written a row at a time: the title
    and the header once, then every step in order, the box straight."""
    from rich.cells import cell_len
    from typer.testing import CliRunner

    import incident_ledger.usecases.history_stream as stream_module
    from incident_ledger.cli import long_table
    from incident_ledger.cli.main import app
    from incident_ledger.usecases.reading import fact_history

    whole = fact_history(sample_db, "ghwayran-2022", "attack.started")
    args = ["--db", sample_db, "history", "ghwayran-2022", "attack.started"]
    one = CliRunner().invoke(app, args).stdout
    monkeypatch.setattr(stream_module, "PAGE_STEPS", 2)
    assert CliRunner().invoke(app, args).stdout == one
    monkeypatch.setattr(long_table, "PAGE", 2)
    streamed = CliRunner().invoke(app, args).stdout
    title = "attack.started in ghwayran-2022 — history by known time"
    assert one.count(title) == streamed.count(title) == 1
    assert one.count("known at") == streamed.count("known at") == 1
    days = [str(step["at"])[8:10].lstrip("0") + " Jan 2022" for step in whole["steps"]]
    at = [streamed.index(day) for day in dict.fromkeys(days)]
    assert at == sorted(at) and len(whole["steps"]) > 2
    boxed = [line for line in streamed.splitlines() if line[:1] in "┏┃┡│├└"]
    assert {cell_len(line) for line in boxed} == {cell_len(boxed[0])}


def _desk_steps(tmp_path: Path, claims: int) -> int:
    """SQLite's steps in reading what the desk said of a fact of ``claims`` claims, on
    which the desk said nothing."""
    from incident_ledger.ledger.stores.location import locate
    from incident_ledger.projections.desk_projection import desk_on_fact
    from incident_ledger.usecases import writing

    db = str(tmp_path / f"{claims}.db")
    writing.init(db)
    ledger = Ledger(locate(db).event_store_env())
    views = Views(locate(db).views_path)
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0

    try:
        views.ensure_schema()
        _project(ledger, views, _records([(1 + n % 20, n % 6, []) for n in range(claims)], []))
        views.connection.set_progress_handler(step, 1)
        params = {"incident": "i", "fact": "killed", "recorded": "~"}
        assert desk_on_fact(views.connection, params) == []
    finally:
        views.close()
        ledger.close()
    return steps[0]


def test_a_desk_that_said_nothing_costs_a_history_nothing_per_claim(tmp_path: Path) -> None:
    """The desk's words on a fact were found by listing its claims once per desk table,
    even with no desk table holding a row (0.3 s for a hot fact's 25,000 claims)."""
    assert _desk_steps(tmp_path, 20) == _desk_steps(tmp_path, 160)


def test_a_history_reads_its_fact_s_claims_and_their_ends_once(
    ledger: Ledger, views: Views
) -> None:
    """The walk, the steps' reports and how each claim was ended share one read of the
    fact's claims and one of their ends (three reads of a hot fact's claims and ends took
    a quarter of a second)."""
    _project(ledger, views, _records([(1 + n % 20, n % 6, []) for n in range(30)], [1, 2, 3]))
    seen: list[str] = []
    views.connection.set_trace_callback(seen.append)
    steps = history(views.connection, "i", "killed")["steps"]
    views.connection.set_trace_callback(None)
    ends = [change["end"] for step in steps for change in step["changes"] if "end" in change]
    assert ends and {end["how"] for end in ends} == {"retracted"}
    # The claims' rows (not the claimants named, DISTINCT, nor who recorded them).
    claims = [s for s in seen if "FROM claims" in s and "fact = " in s and "DISTINCT" not in s]
    assert len(claims) == 1, claims
    assert len([s for s in seen if "FROM claim_ends" in s]) == 1


def test_the_relays_order_is_kept_as_namings_come_and_go(
    ledger: Ledger, views: Views, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relays ``why`` lists, in the order they are first named, are kept in order as
    positions naming them come and go: never sorted again, all of them, at each step (a
    hot fact's walk sorted its relays at most of its 13,835 steps). The order itself is
    held to ``state`` by the property test above."""
    import incident_ledger.projections.fact_walk as walk_module

    claims = [
        (1 + n % 20, n % 6, [SOURCES[2 + n % 4], SOURCES[2 + (n + 1) % 4]]) for n in range(40)
    ]
    _project(ledger, views, _records(claims, [3, 9, 17]))
    sorted_items = [0]

    def counted(items: Any, **options: Any) -> list[Any]:
        listed = list(items)
        sorted_items[0] += len(listed)
        return sorted(listed, **options)

    monkeypatch.setattr(walk_module, "sorted", counted, raising=False)
    steps = history(views.connection, "i", "killed")["steps"]
    assert len(steps) > 10 and steps[-1]["why"]["relays"]
    assert sorted_items[0] == 0
