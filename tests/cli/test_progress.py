"""Progress bars on stderr: drawn on a terminal for long runs, never in pipes or with --quiet."""

from pathlib import Path

import pytest

from selflink_cli import rewards_output
from tests.cli.conftest import Run

_SYNTH = ["ledger", "synth", "--events", 300, "--contributors", 12]
_SYNTH += ["--periods", "2025-01..2025-03", "--seed", 7]


@pytest.fixture(autouse=True)
def _every_run_is_long(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small test inputs count as long work, and stderr is a terminal only when a test says so."""
    monkeypatch.setitem(rewards_output.PROGRESS_FROM, "bytes", 1)
    monkeypatch.setitem(rewards_output.PROGRESS_FROM, "events", 1)
    for name in ("TTY_COMPATIBLE", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)


def _commands(ledger: Path, out: Path) -> dict[str, tuple[list[object], str]]:
    """Each command that reads or writes a whole ledger, with its bar's label."""
    return {
        "synth": (_SYNTH, "writing ledger"),
        "ledger verify": (["ledger", "verify", ledger], "checking ledger"),
        "calculate": (
            ["calculate", "--ledger", ledger, "--period", "2025-02", "--out", out],
            "checking ledger",
        ),
        "verify --ledger": (["verify", out, "--ledger", ledger], "checking ledger"),
    }


@pytest.mark.parametrize("command", ["synth", "ledger verify", "calculate", "verify --ledger"])
@pytest.mark.parametrize("terminal", [True, False])
@pytest.mark.parametrize("quiet", [[], ["--quiet"], ["-q"]])
def test_a_bar_only_on_a_terminal_and_never_with_quiet(
    run: Run,
    ledger: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    terminal: bool,
    quiet: list[str],
) -> None:
    out = tmp_path / "bundle"
    if command == "verify --ledger":
        run("calculate", "--ledger", ledger, "--period", "2025-02", "--out", out)
    args, label = _commands(ledger, out)[command]
    if terminal:
        monkeypatch.setenv("TTY_COMPATIBLE", "1")  # what Rich takes for a terminal
    result = run(*args, *quiet)
    assert result.exit_code == 0, result.stderr
    if terminal and not quiet:
        assert label in result.stderr
        assert "\x1b[" in result.stderr  # drawn, then erased
    else:
        assert result.stderr == ""


def test_the_bar_never_touches_stdout(run: Run, ledger: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    result = run(*_SYNTH)
    assert "writing ledger" in result.stderr
    assert result.stdout_bytes == ledger.read_bytes()
