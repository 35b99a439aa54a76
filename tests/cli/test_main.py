"""The `selflink` entry point: light, versioned, and organised by domain."""

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from selflink_cli.main import app

runner = CliRunner()


def test_help_lists_the_domain_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "rewards" in result.stdout
    assert "astro" in result.stdout


def test_version_is_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"selflink {version('selflink')}"


def test_unknown_option_is_a_usage_error() -> None:
    result = runner.invoke(app, ["--no-such-flag"])
    assert result.exit_code == 2
    assert result.stderr == "error: no such option: --no-such-flag; see 'selflink --help'\n"


SYNTH = [
    "rewards",
    "ledger",
    "synth",
    "--events",
    "25000",  # written in three batches, each far more than a pipe holds
    "--contributors",
    "40",
    "--periods",
    "2025-01..2025-03",
    "--seed",
    "7",
]
CALCULATE = ["rewards", "calculate", "--ledger", "l.jsonl", "--period", "2025-01", "--out", "o"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [*CALCULATE, "--revenue-cents", "12.5"],
            "error: invalid value for '--revenue-cents': ",
        ),
        (["rewards", "calculate", "--period", "2025-01"], "error: missing option '--ledger'"),
        (["match", "score", "a.json"], "error: missing argument 'second'"),
        (["rewards", "verify", "b", "--frob"], "error: no such option: --frob"),
        (["rewards", "frob"], "error: no such command 'frob'"),
        (["astro", "numerology", "--date", "1990-05-17", "--year", "x"], "error: invalid value"),
    ],
)
def test_usage_errors_caught_by_the_parser_are_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.rstrip().endswith(" --help'")


def test_help_still_works_everywhere() -> None:
    for args in (["--help"], ["rewards", "--help"], ["rewards", "calculate", "--help"]):
        result = runner.invoke(app, args)
        assert (result.exit_code, result.stderr) == (0, "")
        assert "Usage:" in result.stdout
    bare = runner.invoke(app, ["rewards"])
    assert (bare.exit_code, bare.stderr) == (2, "")
    assert "Usage:" in bare.stdout


def _commands(path: list[str]) -> list[list[str]]:
    """`path` and every command and group below it, lazily loaded groups included."""
    command = typer.main.get_command(app)
    context = command.make_context("selflink", ["--help"], resilient_parsing=True)
    found = [path]
    for name in path:
        command = command.get_command(context, name)
    for name in getattr(command, "list_commands", lambda _context: [])(context):
        found.extend(_commands([*path, name]))
    return found


def test_dash_h_is_help_for_the_root_and_every_subcommand() -> None:
    commands = _commands([])
    assert ["astro", "synastry"] in commands
    assert ["rewards", "ledger", "synth"] in commands
    for args in commands:
        short = runner.invoke(app, [*args, "-h"])
        assert (short.exit_code, short.stderr) == (0, ""), args
        assert short.stdout == runner.invoke(app, [*args, "--help"]).stdout
        assert "-h" in short.stdout


@pytest.mark.parametrize(
    ("option", "suggestion"),
    [
        ("--bogus", None),
        ("--x", None),
        ("--ledgr", "--ledger"),
        ("--revenue-cent", "--revenue-cents"),
    ],
)
def test_an_unknown_option_suggests_only_close_names(option: str, suggestion: str | None) -> None:
    result = runner.invoke(app, ["rewards", "calculate", option])
    assert result.exit_code == 2
    hint = f" (Possible options: {suggestion})" if suggestion else ""
    assert result.stderr == (
        f"error: no such option: {option}{hint}; see 'selflink rewards calculate --help'\n"
    )


def test_the_installed_command_prints_one_error_line() -> None:
    command = Path(sys.executable).with_name("selflink")
    done = subprocess.run(
        [command, *CALCULATE, "--revenue-cents", "12.5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: invalid value for '--revenue-cents': ")
    assert len(done.stderr.splitlines()) == 1


def test_the_cli_never_loads_server_libraries() -> None:
    probe = (
        "import sys\n"
        "from selflink_cli.main import app\n"
        "heavy = {'litestar', 'sqlalchemy', 'advanced_alchemy', 'asyncpg', 'saq', 'redis', 'stripe'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert loaded == "[]"


def _into_a_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed command with stdout a pipe whose reader is already gone."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [Path(sys.executable).with_name("selflink"), *args],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(writer)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
@pytest.mark.parametrize(
    "args",
    [
        SYNTH,
        ["astro", "numerology", "--date", "1990-05-17", "--year", "2026"],  # a Rich table
        ["rewards", "calculate", "--help"],  # Typer's help screen
    ],
)
def test_a_closed_pipe_exits_141_quietly(args: list[str]) -> None:
    done = _into_a_closed_pipe(*args)
    assert (done.returncode, done.stderr) == (141, "")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
def test_piping_into_head_exits_141_quietly() -> None:
    with subprocess.Popen(
        [Path(sys.executable).with_name("selflink"), *SYNTH],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.readline().startswith(b'{"contributor":')
        process.stdout.close()  # what `| head -1` does after its line
        stderr = process.stderr.read()
        assert (process.wait(), stderr) == (141, b"")


@pytest.mark.parametrize(
    "args", [["--help"], ["rewards", "calculate", "--help"], ["astro", "chart", "--help"]]
)
def test_help_screens_give_flags_no_type(args: list[str]) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    assert re.search(r"--help +-h +Show this message and exit", result.stdout)
    if args[0] == "rewards":
        assert re.search(r"--json +Print one JSON object", result.stdout)
        assert re.search(r"--pool-bps +<int> ", result.stdout)  # options with values keep theirs
