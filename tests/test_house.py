"""The house rules, checked on the whole tree.

- a module past 400 lines says why in its docstring (``Over 400 lines: …``);
- a function past 60 lines outside the tests says why in a comment just above it
  (``# Over 60 lines: …``; a hand-inlined hot loop names its benchmark figure);
- no two modules share a name, whatever their package;
- the package is imported by its one name, ``incident_ledger``: never ``ledger``,
  ``projections``, ``cli`` or ``usecases`` at the top level;
- every command and subcommand of ``ledger``, and every option, has help text;
- the import contracts, ruff, ruff's formatting and mypy pass.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import typer

ROOT = Path(__file__).resolve().parent.parent
CODE = ("ledger", "projections", "usecases", "cli", "benchmarks")
LAYERS = {"ledger", "projections", "usecases", "cli"}
MODULE_LINES = 400
FUNCTION_LINES = 60
MODULE_REASON = "over 400 lines"  # in the docstring, any case: "Over 400 lines: …"
FUNCTION_REASON = "# Over 60 lines:"
NAMES_ANY_PACKAGE_MAY_USE = {"__init__.py", "__main__.py", "conftest.py"}


def python_files(*folders: str) -> list[Path]:
    """The tree's Python files below these folders (``tasks.py`` with the code)."""
    files = [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]
    return files + ([ROOT / "tasks.py"] if "tests" not in folders else [])


def long_modules(files: list[Path], root: Path = ROOT) -> list[str]:
    """Modules past ``MODULE_LINES`` whose docstring does not say why."""
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        docstring = (ast.get_docstring(ast.parse(text)) or "").lower()
        if lines > MODULE_LINES and MODULE_REASON not in docstring:
            found.append(f"{path.relative_to(root)}: {lines} lines")
    return found


def long_functions(files: list[Path], root: Path = ROOT) -> list[str]:
    """Functions past ``FUNCTION_LINES`` without the reason in a comment just above them."""
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            above = []
            for line in reversed(lines[: first - 1]):
                if not line.strip().startswith("#"):
                    break
                above.append(line.strip())
            if length > FUNCTION_LINES and not any(c.startswith(FUNCTION_REASON) for c in above):
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {length} lines")
    return found


def shared_names(files: list[Path], root: Path = ROOT) -> dict[str, list[str]]:
    """Module names held by more than one file."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in files:
        if path.name not in NAMES_ANY_PACKAGE_MAY_USE:
            by_name[path.name].append(str(path.relative_to(root)))
    return {name: paths for name, paths in by_name.items() if len(paths) > 1}


def bare_layer_imports(files: list[Path], root: Path = ROOT) -> list[str]:
    """Imports of a layer by its folder's name rather than through ``incident_ledger``."""
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [
                f"{path.relative_to(root)}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] in LAYERS
            ]
    return found


def commands_without_help(command: Any, path: str = "ledger") -> list[str]:
    """Commands, subcommands and options of a click command (typer's) with no help text."""
    missing = [] if (command.help or "").strip() else [path]
    missing += [
        f"{path} {param.opts[0]}"
        for param in command.params
        if param.param_type_name == "option" and not (getattr(param, "help", "") or "").strip()
    ]
    # A group's commands made when asked for (``LedgerGroup.lazy``) are listed by it.
    for name in command.list_commands(None) if hasattr(command, "list_commands") else ():
        missing += commands_without_help(command.get_command(None, name), f"{path} {name}")
    return missing


# --- the tree ----------------------------------------------------------------------


@pytest.mark.slow
def test_every_long_module_says_why() -> None:
    assert long_modules(python_files(*CODE, "tests")) == []


def test_every_long_function_outside_the_tests_says_why() -> None:
    assert long_functions(python_files(*CODE)) == []


def test_no_database_is_in_the_tree() -> None:
    """No file git tracks is a SQLite database: a ledger a test or a command wrote into the
    working folder (one named ``sqlite``, at the root) was once committed with the code."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    databases = []
    for name in filter(None, listed.stdout.decode().split("\0")):
        path = ROOT / name
        if path.is_file() and path.open("rb").read(16) == b"SQLite format 3\0":
            databases.append(name)
    assert databases == []


def test_no_two_modules_share_a_name() -> None:
    assert shared_names(python_files(*CODE, "tests")) == {}


@pytest.mark.slow
def test_the_layers_are_imported_only_through_incident_ledger() -> None:
    assert bare_layer_imports(python_files(*CODE, "tests")) == []


def test_every_command_and_option_has_help() -> None:
    from incident_ledger.cli.main import app

    assert commands_without_help(typer.main.get_command(app)) == []


def _tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / name
    return subprocess.run([str(tool), *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.slow
def test_the_import_contracts_are_kept() -> None:
    run = _tool("lint-imports")
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_finds_nothing() -> None:
    run = _tool("ruff", "check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_formatting_holds() -> None:
    run = _tool("ruff", "format", "--check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.slow
def test_mypy_strict_passes() -> None:
    run = _tool("mypy")
    assert run.returncode == 0, run.stdout + run.stderr


# --- the checks find what they look for ----------------------------------------------


def test_the_checks_find_each_breach(tmp_path: Path) -> None:
    """Each check reports a file that breaks its rule, and passes one that keeps it."""
    long_body = "".join(f"    x = {n}\n" for n in range(FUNCTION_LINES))
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""A module."""\nimport ledger.domain\nfrom cli import main\n\n'
        f"def f():\n{long_body}" + "\n" * MODULE_LINES,
        encoding="utf-8",
    )
    good = tmp_path / "sub" / "good.py"
    good.parent.mkdir()
    good.write_text(
        f'"""A module.\n\nOver 400 lines: it must."""\nimport incident_ledger.ledger\n\n\n'
        f"{FUNCTION_REASON} it must.\ndef f():\n{long_body}" + "\n" * MODULE_LINES,
        encoding="utf-8",
    )
    twin = tmp_path / "sub" / "bad.py"
    twin.write_text("", encoding="utf-8")
    files = [bad, good]
    assert [line.split(":")[0] for line in long_modules(files, tmp_path)] == ["bad.py"]
    assert [line.split(":")[0] for line in long_functions(files, tmp_path)] == ["bad.py"]
    assert bare_layer_imports(files, tmp_path) == ["bad.py:2 ledger.domain", "bad.py:3 cli"]
    assert shared_names([*files, twin], tmp_path) == {"bad.py": ["bad.py", "sub/bad.py"]}


def test_a_command_without_help_is_found() -> None:
    app = typer.Typer()

    @app.command()
    def undocumented(flag: bool = typer.Option(False, "--flag")) -> None:
        pass

    @app.command()
    def documented() -> None:
        """Does a thing."""

    group = typer.main.get_command(app)
    assert commands_without_help(group, "x") == ["x", "x undocumented", "x undocumented --flag"]


# --- errors speak of arguments, not flags --------------------------------------------

FLAG_WORD = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
ARGUMENT_WORD = re.compile(r"\{([a-z_]+)\}")


def error_wording(files: list[Path], root: Path = ROOT) -> list[str]:
    """Errors raised below the command line whose message names a flag (``--policy``), or
    names an argument (``{policy}``) it does not list in ``arguments``."""
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and _called(node).endswith("Error")):
                continue
            text = "".join(
                part.value
                for arg in node.args[:1]
                for part in ast.walk(arg)
                if isinstance(part, ast.Constant) and isinstance(part.value, str)
            )
            listed = {
                element.value
                for keyword in node.keywords
                if keyword.arg == "arguments"
                for element in ast.walk(keyword.value)
                if isinstance(element, ast.Constant)
            }
            where = f"{path.relative_to(root)}:{node.lineno}"
            found += [f"{where} flag {flag}" for flag in FLAG_WORD.findall(text)]
            found += [
                f"{where} argument {name} not listed"
                for name in ARGUMENT_WORD.findall(text)
                if name not in listed
            ]
    return found


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


@pytest.mark.slow
def test_errors_below_the_command_line_name_arguments_not_flags() -> None:
    assert error_wording(python_files("ledger", "projections", "usecases")[:-1]) == []


def test_the_error_check_finds_a_flag_and_an_unlisted_argument(tmp_path: Path) -> None:
    source = tmp_path / "errors.py"
    source.write_text(
        'raise BadInputError("--policy must be one of a, b")\n'
        'raise BadInputError(f"{{policy}} ({x}) must be one of a, b")\n'
        'raise BadInputError("{policy} must be one of a, b", arguments=("policy",))\n',
        encoding="utf-8",
    )
    assert error_wording([source], tmp_path) == [
        "errors.py:1 flag --policy",
        "errors.py:2 argument policy not listed",
    ]


def test_closed_choices_are_enums_the_help_lists() -> None:
    from typer.testing import CliRunner

    from incident_ledger.cli.main import app

    runner = CliRunner()
    state_help = runner.invoke(app, ["state", "--help"], env={"COLUMNS": "120"}).output
    export_help = runner.invoke(app, ["export", "--help"], env={"COLUMNS": "120"}).output
    assert "--policy [range|conservative|latest|preferred]" in state_help
    assert "--format [jsonl|csv|xlsx|prov|claimreview|html]" in export_help
    types = "incident|source|fact|report|claim|correction|retraction|assessment"
    append_help = runner.invoke(app, ["append", "--help"], env={"COLUMNS": "120"}).output
    template_help = runner.invoke(app, ["template", "--help"], env={"COLUMNS": "120"}).output
    assert f"--type [{types}]" in append_help
    assert f"one of {types.replace('|', ', ')}." in " ".join(template_help.split())


def options_named_by_type(command: Any, path: str = "ledger") -> list[str]:
    """Options whose help shows a Python type (``--note <str>``) instead of a name for
    what they take (``--note TEXT``)."""
    import click

    context = click.Context(command, info_name=path)
    shown = [
        f"{path} {param.opts[0]} {param.make_metavar(context)}"
        for param in command.params
        if param.param_type_name == "option" and not param.is_flag
    ]
    named = [line for line in shown if line.split()[-1].startswith("<")]
    for name in command.list_commands(None) if hasattr(command, "list_commands") else ():
        named += options_named_by_type(command.get_command(None, name), f"{path} {name}")
    return named


def test_every_option_names_what_it_takes() -> None:
    from incident_ledger.cli.main import app

    assert options_named_by_type(typer.main.get_command(app)) == []
