"""Running `selflink rewards …` in-process, with stdout and stderr kept apart."""

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from selflink_cli.main import app

Run = Callable[..., Result]


@pytest.fixture
def run() -> Run:
    runner = CliRunner()

    def invoke(*args: object) -> Result:
        return runner.invoke(app, ["rewards", *map(str, args)], catch_exceptions=False)

    return invoke


@pytest.fixture
def ledger(tmp_path: Path, run: Run) -> Path:
    """A small synthetic ledger over three months."""
    result = run(
        "ledger",
        "synth",
        "--events",
        300,
        "--contributors",
        12,
        "--periods",
        "2025-01..2025-03",
        "--seed",
        7,
    )
    assert result.exit_code == 0, result.stderr
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(result.stdout_bytes)
    return path
