"""``ledger add TYPE``: every record type from flags made from its model, checked as an
import line is, signed and attributed, and a proposal when a reporter adds it under
review; exact ``error:`` lines and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from incident_ledger.cli.add_commands import ADD_TYPES
from incident_ledger.cli.main import app
from incident_ledger.ledger.imports.text_fields import field_forms
from incident_ledger.ledger.records import records_by_type
from tests.desk_cli import Member, new_key

runner = CliRunner()


def ledger(db: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(store_url: str) -> str:
    assert ledger(store_url, "init")[0] == 0
    return store_url


@pytest.mark.slow
def test_every_record_type_is_added_from_flags_and_read_back(db: str) -> None:
    steps = [
        ("incident", "--id", "g", "--title", "Ghwayran", "--timezone", "Asia/Damascus",
         "--related", '[{"incident": "g", "relation": "same"}]'),
        ("source", "--id", "sohr", "--name", "SOHR", "--kind", "monitor", "--reliability", "C"),
        ("report", "--id", "r1", "--source", "sohr", "--published-at", "2022-01-21",
         "--url", "https://example.org/a", "--language", "ar"),
        ("fact", "--incident", "g", "--key", "killed", "--kind", "count", "--cumulative",
         "--tolerance", '{"absolute": 3}'),
    ]  # fmt: skip
    for step in steps:
        code, out, err = ledger(db, "add", *step)
        assert (code, err) == (0, ""), step
        assert out == f"added 1 record(s) (1 {step[0]}); 0 already present\n"
    assert ledger(db, "append", "claim", "--id", "c1", "--incident", "g", "--fact", "killed",
                  "--value", "20", "--report", "r1")[0] == 0  # fmt: skip
    assessment = ("--id", "a1", "--claim", "c1", "--verdict", "mixed", "--by", "Desk",
                  "--published-at", "2022-01-22")  # fmt: skip
    code, out, err = ledger(db, "add", "assessment", *assessment, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["added"] == {"assessment": 1}
    code, out, _ = ledger(db, "state", "g", "--at", "2022-01-22", "--json")
    killed = json.loads(out)["facts"]["killed"]
    assert (killed["value"], killed["cumulative"]) == ({"min": 20, "max": 20}, True)
    # The same record again is a no-op, as in an import.
    code, out, _ = ledger(db, "add", *steps[1])
    assert (code, out) == (0, "added 0 record(s); 1 already present\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("incident", "--title", "T"), "input: id: is required"),
        (
            (
                "report",
                "--id",
                "r",
                "--source",
                "s",
                "--published-at",
                "2022-01-21T10:00",
                "--url",
                "ftp://x",
                "--language",
                "1",
            ),
            "input: published_at: '2022-01-21T10:00' is not a date (YYYY-MM-DD) or a "
            "date-time with a UTC offset (YYYY-MM-DDTHH:MM:SSZ); url: must be an http:// or "
            "https:// address, without spaces; language: must be a language tag such as ar, "
            "en or en-GB",
        ),
        (
            (
                "fact",
                "--incident",
                "g",
                "--key",
                "k",
                "--kind",
                "text",
                "--cumulative",
                "--tolerance",
                '{"fraction":',
                "--label",
                "",
            ),
            "input: tolerance: invalid JSON: Expecting value; label: must not be empty",
        ),
        (
            ("source", "--id", "s", "--name", "S", "--kind", "blog"),
            "input: kind: must be 'outlet', 'monitor', 'armed_group', 'government', "
            "'agency', 'social' or 'other'",
        ),
        (
            ("assessment", "--id", "a"),
            "input: claim: is required; verdict: is required; by: is required; "
            "published_at: is required",
        ),
        (
            ("source", "--id", "s", "--name", "S", "--kind", "outlet", "--reliability", "Z"),
            "input: reliability: must be 'A', 'B', 'C', 'D', 'E' or 'F'",
        ),
    ],
)
def test_bad_flags_get_the_import_s_one_line_and_exit_2(
    db: str, args: tuple[str, ...], message: str
) -> None:
    code, out, err = ledger(db, "add", *args)
    assert (code, out, err) == (2, "", f"error: {message}\n")


def test_a_reference_the_ledger_lacks_and_a_reused_id_are_refused(db: str) -> None:
    code, _, err = ledger(db, "add", "report", "--id", "r", "--source", "nobody",
                          "--published-at", "2022-01-21")  # fmt: skip
    assert (code, err) == (2, "error: input: source: no source 'nobody' in the ledger or in "
                              "this input\n")  # fmt: skip
    assert ledger(db, "add", "source", "--id", "s", "--name", "S", "--kind", "outlet")[0] == 0
    code, _, err = ledger(db, "add", "source", "--id", "s", "--name", "T", "--kind", "outlet")
    assert (code, err) == (
        2,
        "error: input: id: 's' is already used by a different source record in the ledger\n",
    )


def test_every_field_of_every_model_is_a_flag() -> None:
    """A field added to a record is a flag by itself: the flags are the model's fields."""
    for kind in ("incident", "source", "report", "fact", "assessment"):
        code, out, _ = ledger("unused.db", "add", kind, "--help")
        assert code == 0
        model_fields = set(records_by_type()[kind].model_fields) - {"type"}
        assert {form.name for form in field_forms(kind)} == model_fields
        for name in model_fields:
            assert "--" + name.replace("_", "-") + " " in out, (kind, name)
        words = " ".join(out.split())
        assert "A record is never edited" in words
        assert "then link them ('ledger erratum RECORD --replaced-by NEW')" in words
    group = typer.main.get_command(app).commands["add"]  # type: ignore[attr-defined]
    made = [group.get_command(None, kind) for kind in group.list_commands(None)]
    assert [command.name for command in made] == list(ADD_TYPES)


def test_a_flag_s_help_says_the_field_s_format() -> None:
    """Taken from the models' field descriptions: a flag says what it takes."""
    _, out, _ = ledger("unused.db", "add", "report", "--help")
    words = " ".join(out.split())
    assert (
        "--published-at DATE|DATETIME Required. When it was published: a date (2022-01-21)" in words
    )
    assert "--language LANG Its language, a code such as ar or en." in words
    _, out, _ = ledger("unused.db", "add", "assessment", "--help")
    words = " ".join(out.split())
    assert "--by NAME Required. Who assessed it" in words
    _, out, _ = ledger("unused.db", "add", "incident", "--help")
    assert "--related JSON" in out and "--timezone ZONE" in out


def test_the_claim_flags_help_says_what_they_take() -> None:
    _, out, _ = ledger("unused.db", "correct", "--help")
    words = " ".join(out.split())
    assert "--claim CLAIM Required. The id of the claim it replaces." in words
    _, out, _ = ledger("unused.db", "append", "claim", "--help")
    words = " ".join(out.split())
    assert "A count refuses -5 and 20.5 (a quantity takes decimals)" in words
    assert "Refused with a hint: -5, 20.5" not in words


@pytest.mark.slow
def test_a_reporter_s_assessment_waits_for_review(store_url: str, tmp_path: Path) -> None:
    alice = Member(store_url)
    alice.ok("init", "--member", "alice", "--review", "required")
    key, public = new_key(tmp_path, "bob")
    alice.ok("member", "add", "bob", "--name", "Bob", "--role", "reporter", "--public-key", public)
    alice.ok("add", "incident", "--id", "g", "--title", "G")
    alice.ok("add", "source", "--id", "s", "--name", "S", "--kind", "outlet")
    alice.ok("add", "report", "--id", "r", "--source", "s", "--published-at", "2022-01-21")
    alice.ok("append", "claim", "--id", "c1", "--incident", "g", "--fact", "killed",
             "--value", "3", "--report", "r")  # fmt: skip
    bob = Member(store_url, key)
    said = bob.ok("add", "assessment", "--id", "a1", "--claim", "c1", "--verdict", "false",
                  "--by", "B", "--published-at", "2022-01-22")  # fmt: skip
    assert said == (
        "added 1 record(s) (1 assessment); 0 already present; proposed: it counts for "
        "reviewed views once an editor approves it (ledger queue)\n"
    )
    said = alice.ok("add", "assessment", "--id", "a2", "--claim", "c1", "--verdict", "false",
                    "--by", "B", "--published-at", "2022-01-22")  # fmt: skip
    assert said == "added 1 record(s) (1 assessment); 0 already present\n"
    assert [item["record"] for item in alice.json("queue")] == ["assessment:a1"]
    # Each add is a batch of its own, signed by whoever added it: init, review, bob,
    # three records, the claim, bob's assessment, alice's.
    assert alice.json("verify")["batches"] == 9


@pytest.mark.slow
def test_a_reporter_is_told_which_writes_wait_for_review(store_url: str, tmp_path: Path) -> None:
    """Claims, ends and assessments a reporter appends from a file are proposals, and the
    command says so; a report, source or incident is never reviewed, and is not."""
    alice = Member(store_url)
    alice.ok("init", "--member", "alice", "--review", "required")
    key, public = new_key(tmp_path, "bob")
    alice.ok("member", "add", "bob", "--name", "Bob", "--role", "reporter", "--public-key", public)
    bob = Member(store_url, key)
    for kind, *fields in (
        ("incident", "--id", "g", "--title", "G"),
        ("source", "--id", "s", "--name", "S", "--kind", "outlet"),
        ("report", "--id", "r", "--source", "s", "--published-at", "2022-01-21"),
    ):
        assert bob.ok("add", kind, *fields) == f"added 1 record(s) (1 {kind}); 0 already present\n"
    lines = (
        '{"type": "report", "id": "r2", "source": "s", "published_at": "2022-01-22"}\n'
        '{"type": "claim", "id": "c1", "incident": "g", "fact": "killed", "value": 3, '
        '"report": "r"}\n'
    )
    assert bob.ok("append", "--file", "-", stdin=lines) == (
        "added 2 record(s) (1 claim, 1 report); 0 already present; proposed: its claims, "
        "ends and assessments count for reviewed views once an editor approves them "
        "(ledger queue)\n"
    )
    table = tmp_path / "more.csv"
    table.write_text("type,id,incident,fact,value,report\nclaim,c2,g,killed,4,r2\n")
    said = json.loads(bob.ok("append", "--file", str(table), "--json"))
    assert (said["added"], said.get("proposed")) == ({"claim": 1}, True)
    sources = tmp_path / "sources.csv"
    sources.write_text("type,id,name,kind\nsource,t,T,outlet\n")
    said = json.loads(bob.ok("append", "--file", str(sources), "--json"))
    assert (said["added"], "proposed" in said) == ({"source": 1}, False)
    assert [item["record"] for item in alice.json("queue")] == ["claim:c1", "claim:c2"]


@pytest.mark.slow
def test_a_whole_number_takes_arabic_indic_digits_as_a_value_does(db: str) -> None:
    steps = (
        ("incident", "--id", "g", "--title", "G"),
        ("source", "--id", "s", "--name", "S", "--kind", "outlet"),
        ("report", "--id", "r", "--source", "s", "--published-at", "2022-01-21"),
    )
    for step in steps:
        assert ledger(db, "add", *step)[0] == 0
    claim = ("append", "claim", "--id", "c1", "--incident", "g", "--fact", "killed",
             "--value", "٣٠", "--report", "r")  # fmt: skip
    assert ledger(db, *claim, "--credibility", "٣")[:2] == (
        0,
        "added 1 record(s) (1 claim); 0 already present\n",
    )
    # The very record credibility 3 makes.
    assert ledger(db, *claim[:-4], "--value", "30", "--report", "r", "--credibility", "3")[:2] == (
        0,
        "added 0 record(s); 1 already present\n",
    )
