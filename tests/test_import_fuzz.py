"""Whatever the input, an import answers 0 or 2: arbitrary bytes, arbitrary JSON values and
records whose fields hold arbitrary values, fed to ``ledger append --file``. On 2, exactly
one ``error:`` line and the event store as it was; on 0, every event it stored projects."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger.stores.location import locate
from tests.events import log_state

pytestmark = pytest.mark.slow

runner = CliRunner()
SETUP = Path(__file__).parent / "data" / "bad" / "setup.jsonl"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = str(tmp_path_factory.mktemp("fuzz") / "ledger.db")
    assert runner.invoke(app, ["--db", path, "init"]).exit_code == 0
    assert runner.invoke(app, ["--db", path, "append", "--file", str(SETUP)]).exit_code == 0
    yield path


def imported(db: str, data: bytes, stdin: bool) -> None:
    """Feed ``data`` to an import and check the answer: 0 or 2, one line, nothing
    half-written."""
    before = log_state(db)
    if stdin:
        result = runner.invoke(app, ["--db", db, "append", "--file", "-"], input=data)
    else:
        path = Path(db).with_name("input.jsonl")
        path.write_bytes(data)
        result = runner.invoke(app, ["--db", db, "append", "--file", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    event(f"exit {result.exit_code}")  # --hypothesis-show-statistics: how many went in
    if result.exit_code == 1:
        # The one refusal that is not bad input: ending (correcting or retracting) a claim
        # the ledger holds as ended already (an arbitrary "claim" may name one), a
        # conflict by contract.
        ended = (" was already corrected by ", " was corrected by ", " retracted by ")
        assert any(words in result.stderr for words in ended), result.stderr
    else:
        assert result.exit_code in (0, 2), result.stderr
    if result.exit_code != 0:
        assert result.stderr.startswith("error: ")
        assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
        assert log_state(db) == before
        return
    assert result.stderr == ""
    views = sqlite3.connect(locate(db).views_path)
    try:
        assert views.execute("SELECT * FROM unprojectable").fetchall() == []
    finally:
        views.close()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["2022-01-21", "0000", "1,000", "about 20", "٢٠", "{2020,2021}"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8,
)  # fmt: skip

BASES: dict[str, dict[str, Any]] = {
    "incident": {"type": "incident", "id": "i", "title": "t"},
    "source": {"type": "source", "id": "s", "name": "n", "kind": "outlet"},
    "report": {"type": "report", "id": "r", "source": "outlet", "published_at": "2022-01-23"},
    "claim": {"type": "claim", "id": "c", "incident": "g", "fact": "escaped", "value": 5,
              "report": "r1"},
    "correction": {"type": "correction", "id": "k", "claim": "c1", "incident": "g",
                   "fact": "killed.security_forces", "value": 21, "report": "r2"},
    "retraction": {"type": "retraction", "id": "x", "claim": "c1", "report": "r2"},
    "assessment": {"type": "assessment", "id": "a", "claim": "c4", "verdict": "false",
                   "by": "desk", "published_at": "2022-01-26"},
}  # fmt: skip
MORE_FIELDS = {"qualifier", "valid_time", "via", "claimant", "credibility", "related", "url"}
FIELDS = sorted({key for base in BASES.values() for key in base} | MORE_FIELDS | {"colour"})


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record with a few of its fields (or others) set to arbitrary values, under a
    fresh id most of the time, so that some go in."""
    record = dict(draw(st.sampled_from(list(BASES.values()))))
    suffix = draw(st.text("abcdefghij0123456789", min_size=1, max_size=8))
    record["id"] += suffix
    if record["type"] == "correction":  # its own claim: one claim is corrected once
        record["claim"] = f"c{suffix}"
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(FIELDS) | st.text(max_size=6))
        record[key] = draw(json_values)
    return record


@FUZZ
@given(data=st.binary(max_size=400), stdin=st.booleans())
def test_arbitrary_bytes_are_imported_or_refused_in_one_line(
    db: str, data: bytes, stdin: bool
) -> None:
    imported(db, data, stdin)


@FUZZ
@given(values=st.lists(json_values, min_size=1, max_size=4), stdin=st.booleans())
def test_arbitrary_json_values_are_imported_or_refused_in_one_line(
    db: str, values: list[Any], stdin: bool
) -> None:
    lines = "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in values)
    imported(db, lines.encode("utf-8", "surrogatepass"), stdin)


@FUZZ
@given(lines=st.lists(records(), min_size=1, max_size=4), stdin=st.booleans())
def test_records_with_arbitrary_fields_are_imported_or_refused_in_one_line(
    db: str, lines: list[dict[str, Any]], stdin: bool
) -> None:
    claims = [
        BASES["claim"] | {"id": r["claim"]}
        for r in lines
        if r.get("type") == "correction" and isinstance(r.get("claim"), str)
    ]
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [*claims, *lines])
    imported(db, text.encode("utf-8", "surrogatepass"), stdin)
