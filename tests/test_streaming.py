"""A large file validated in chunks by two helpers equals one pass: pages, errors and
line numbers too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger import forking, samples
from incident_ledger.ledger.domain import creation_leaf
from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.imports import streaming
from incident_ledger.ledger.imports.stamps import Stamps
from incident_ledger.ledger.imports.streaming import file_pages, line_pages
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.usecases import writing
from tests.events import stored_events

runner = CliRunner()
SAMPLE = samples.GHWAYRAN.read_text("utf-8").splitlines()
RECORDED = "2026-01-01T00:00:00.000000Z"


@pytest.fixture(autouse=True)
def chunk_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hand every file to the helpers, in chunks of a few records (the real sizes are
    megabytes and hundreds of kilobytes)."""
    monkeypatch.setattr(streaming, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 4_000)


def write(tmp_path: Path, lines: list[str], newline: str = "\n") -> Path:
    path = tmp_path / "input.jsonl"
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
    return path


def records(pages: Iterator[streaming.ValidatedPage]) -> list[tuple[Any, ...]]:
    """Every record of the pages as its spool row, leaf and hash."""
    rows = []
    for unstamped in pages:
        page = unstamped.stamped(RECORDED)
        start = 0
        for i, end in enumerate(page.ends):
            leaf, digest = page.leaves[start:end], page.digests[32 * i : 32 * i + 32]
            rows.append((*page.row(i), page.topics[i], leaf, digest))
            start = end
    return rows


def one_pass(path: Path) -> list[tuple[Any, ...]]:
    with path.open(encoding="utf-8") as handle:
        return records(line_pages(handle))


def test_the_sample_in_chunks_gives_the_records_of_one_pass(
    tmp_path: Path, started_helpers: Any
) -> None:
    helpers = started_helpers(streaming, "Producer")
    path = write(tmp_path, [*SAMPLE[:40], "", *SAMPLE[40:]])  # a blank line: numbering holds
    chunked = records(file_pages(path))
    assert len(chunked) == len(SAMPLE)
    assert chunked == one_pass(path)
    assert len(helpers) == 2
    assert len(list(streaming._chunks(path))) > 4


@pytest.mark.parametrize("bad", [5, 75], ids=["first chunk", "a later chunk"])
def test_a_bad_line_is_named_by_its_line_in_the_file(tmp_path: Path, bad: int) -> None:
    lines = list(SAMPLE)
    record = json.loads(lines[bad - 1])
    record["surprise"] = 1
    lines[bad - 1] = json.dumps(record, ensure_ascii=False)
    path = write(tmp_path, lines)
    with pytest.raises(BadInputError) as raised:
        list(file_pages(path))
    assert str(raised.value) == f"line {bad}: surprise: is not a field of this record type"


def test_with_bad_lines_in_both_helpers_chunks_the_first_is_reported(tmp_path: Path) -> None:
    lines = list(SAMPLE)
    lines[79] = "{not json either"
    lines[9] = "{not json"
    path = write(tmp_path, lines)
    with pytest.raises(BadInputError, match=r"^line 10: "):
        list(file_pages(path))


def test_text_that_is_not_utf8_in_a_later_chunk_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE)
    data = bytearray(path.read_bytes())
    data[len(data) - 20] = 0xFF
    path.write_bytes(bytes(data))
    line = data[: len(data) - 20].count(b"\n") + 1
    db = str(tmp_path / "l.db")
    writing.init(db)
    result = runner.invoke(app, ["--db", db, "append", "--file", str(path)])
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: line {line}: is not UTF-8 text (byte 0xFF)\n",
    )
    assert stored_events(db) == []


def test_when_a_helper_fails_this_process_validates_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = streaming._chunk_pages

    def odd_one_fails(path: Path, first: int, step: int) -> Any:
        pages = original(path, first, step)
        if (first, step) == (1, 2):
            yield next(pages)
            raise RuntimeError("the helper fell over")
        yield from pages

    monkeypatch.setattr(streaming, "_chunk_pages", odd_one_fails)
    path = write(tmp_path, SAMPLE)
    assert records(file_pages(path)) == one_pass(path)
    lines = list(SAMPLE)
    lines[74] = "{not json"
    path = write(tmp_path, lines)
    with pytest.raises(BadInputError, match=r"^line 75: "):
        list(file_pages(path))


def test_carriage_returns_end_lines_as_in_one_pass(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE, newline="\r\n")
    assert records(file_pages(path)) == one_pass(path)
    lines = list(SAMPLE)
    lines[70] = "{not json"
    path = write(tmp_path, lines, newline="\r\n")
    with pytest.raises(BadInputError, match=r"^line 71: "):
        list(file_pages(path))


@pytest.mark.parametrize("posted_after", [0, 3])
def test_pages_the_helpers_stamp_hold_what_this_process_would_make(
    tmp_path: Path, posted_after: int
) -> None:
    """Once the recorded time is posted, the helpers stamp the pages they make after:
    the same leaves and hashes as pages stamped here, which stamping again leaves as
    they are."""
    path = write(tmp_path, SAMPLE)
    stamps = Stamps()
    if not posted_after:
        stamps.share()
        stamps.post(RECORDED)
    pages = []
    for n, page in enumerate(file_pages(path, stamps)):
        pages.append(page)
        if n + 1 == posted_after:
            stamps.post(RECORDED)
    stamped_there = [bool(page.stamp) for page in pages]
    assert not any(stamped_there[:posted_after])  # made before the time was posted
    if not posted_after:  # posted before the helpers began: every page (later, some)
        assert all(stamped_there)
    assert [page.stamped(RECORDED) for page in pages if page.stamp] == [
        page for page in pages if page.stamp
    ]
    assert records(iter(pages)) == one_pass(path)


def test_a_page_stamped_at_another_time_is_made_afresh() -> None:
    """A page stamped already is stamped at another time from its records, not by
    putting one time in place of the other (which its records' text might hold)."""
    (page,) = list(line_pages(SAMPLE))
    other = "2027-01-01T00:00:00.000000Z"
    assert page.stamped(other).stamped(RECORDED) == page.stamped(RECORDED)


@pytest.mark.slow
def test_a_chunked_import_records_what_one_pass_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, SAMPLE)
    chunked_db, single_db = str(tmp_path / "chunked.db"), str(tmp_path / "single.db")
    writing.init(chunked_db)
    writing.init(single_db)
    chunked = runner.invoke(app, ["--db", chunked_db, "append", "--file", str(path)])
    monkeypatch.setattr(streaming, "SPLIT_MIN_BYTES", 10**12)
    single = runner.invoke(app, ["--db", single_db, "append", "--file", str(path)])
    assert (chunked.exit_code, chunked.stdout) == (single.exit_code, single.stdout)
    assert chunked.stdout.startswith(f"added {len(SAMPLE)} record(s)")
    assert stored_events(chunked_db) == stored_events(single_db)


@pytest.mark.slow
def test_a_record_the_ledger_refuses_waits_for_every_line_to_be_validated(
    tmp_path: Path,
) -> None:
    """An id reused early and a bad line late: the bad line is what is reported."""
    first = next(i for i, line in enumerate(SAMPLE) if '"c-000-sohr-killed-sf-20"' in line)
    lines = [*SAMPLE, SAMPLE[first].replace('"value": 20', '"value": 21')]
    db = str(tmp_path / "l.db")
    writing.init(db)
    refused = runner.invoke(app, ["--db", db, "append", "--file", str(write(tmp_path, lines))])
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"error: line {len(lines)}: id: 'c-000-sohr-killed-sf-20' is already used by a "
        f"different claim record (line {first + 1})\n"
    )
    lines.append("{not json")
    bad = runner.invoke(app, ["--db", db, "append", "--file", str(write(tmp_path, lines))])
    assert bad.exit_code == 2
    assert bad.stderr.startswith(f"error: line {len(lines)}: invalid JSON")
    assert stored_events(db) == []


def test_pages_validated_here_each_say_how_much_input_they_cover(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each page reports the input read since the one before (the progress bar's steps)."""
    monkeypatch.setattr(streaming, "PAGE", 10)
    lines = [*SAMPLE[:40], "", *SAMPLE[40:]]
    sizes = [page.size for page in line_pages(lines)]
    assert len(sizes) == -(-len(SAMPLE) // 10)
    assert all(sizes)
    assert sum(sizes) == sum(len(line.encode("utf-8")) + 1 for line in lines if line)  # bytes


def _count_up(limit: int) -> Iterator[int]:
    yield from range(limit)


def test_a_helper_may_send_a_page_ahead() -> None:
    """The helpers' pipes hold a whole page (about 0.9 MB pickled for 256 KB of input),
    so a helper goes on validating while this process records, where Linux allows it."""
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("pipe sizes are fixed on this platform")
    with forking.Producer(_count_up, 3) as producer:
        size = fcntl.fcntl(producer._receiver.fileno(), fcntl.F_GETPIPE_SZ)
        assert list(producer) == [0, 1, 2]
    assert size == forking.PIPE_BYTES


CLAIM = {"type": "claim", "id": "c", "incident": "g", "fact": "killed", "value": 7, "report": "r"}
REFERENCES = [
    (CLAIM, "incident:g;report:r", "incident;report"),
    (
        {**CLAIM, "claimant": "sohr", "via": ["afp", "ap"]},
        "incident:g;report:r;source:sohr;source:afp;source:ap",
        "incident;report;claimant;via;via",
    ),
    ({**CLAIM, "type": "correction", "claim": "c0"}, "incident:g;report:r;claim:c0",
     "incident;report;claim"),
    ({"type": "report", "id": "r", "source": "s", "published_at": "2022-01-21"}, "source:s",
     "source"),
    ({"type": "incident", "id": "g", "title": "G"}, "", ""),
    (
        {"type": "incident", "id": "g", "title": "G", "related": [
            {"incident": "d", "relation": "simultaneous"},
            {"incident": "e", "relation": "same_actor"},
        ]},
        "incident:d;incident:e",
        "related.incident;related.incident",
    ),
    ({"type": "retraction", "id": "x", "claim": "c", "report": "r"}, "claim:c;report:r",
     "claim;report"),
    ({"type": "assessment", "id": "a", "claim": "c", "verdict": "false", "by": "desk",
      "published_at": "2022-02-01"}, "claim:c", "claim"),
]  # fmt: skip


@pytest.mark.parametrize(("record", "ref_ids", "ref_fields"), REFERENCES)
def test_a_spool_row_names_every_reference_and_its_field(
    record: dict[str, Any], ref_ids: str, ref_fields: str
) -> None:
    from incident_ledger.ledger.imports.parsing import validate_record
    from incident_ledger.ledger.imports.spool import spool_row

    row = spool_row("line 1", validate_record(record, "line 1"))
    assert (row[6], row[7]) == (ref_ids, ref_fields)


@pytest.mark.parametrize("recorded", [RECORDED, "999-01-01T00:00:00.000000Z"])
def test_a_stamped_page_holds_the_leaves_made_at_its_time(recorded: str) -> None:
    """Stamping fills in the recorded time each leaf was made without; a time of another
    length (no clock gives one) makes the leaves afresh."""
    (page,) = list(line_pages(SAMPLE))
    assert page.digests == b""
    stamped = page.stamped(recorded)
    starts = [0, *stamped.ends]
    for i in range(len(stamped)):
        _, topic, leaf = creation_leaf(
            stamped.kinds[i], stamped.record_ids[i], stamped.datas[i], recorded
        )
        assert (stamped.topics[i], stamped.leaves[starts[i] : stamped.ends[i]]) == (topic, leaf)
        assert stamped.digests[32 * i : 32 * i + 32] == leaf_hash(leaf)
