"""Births on the command line and a runner, shared by the astro and match CLI tests."""

from typer.testing import CliRunner

from selflink_cli.main import app

runner = CliRunner()
BERLIN = [
    "--date",
    "1990-05-17",
    "--time",
    "14:30",
    "--tz",
    "Europe/Berlin",
    "--lat",
    "52.52",
    "--lon",
    "13.405",
]


def in_berlin(date: str, time: str) -> list[str]:
    """A birth at a Berlin wall-clock time, e.g. one a daylight-saving change skipped."""
    return [
        "--date",
        date,
        "--time",
        time,
        "--tz",
        "Europe/Berlin",
        "--lat",
        "52.5",
        "--lon",
        "13.4",
    ]


def outcome(group: str, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `selflink <group> <args>`."""
    result = runner.invoke(app, [group, *args])
    return result.exit_code, result.stdout, result.stderr
