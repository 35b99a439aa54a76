"""The `selflink` entry point: light, versioned, and organised by domain."""

import subprocess
import sys
from importlib.metadata import version

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
