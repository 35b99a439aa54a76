"""`selflink-api` behaves like `selflink`: its own help and version, errors as one line."""

import os
import socket
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from selflink_api.platform.logging import logs_as_json
from tests.api.conftest import make_settings
from tests.api.operator import selflink_api


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a person types it, on the embedded defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    executable = Path(sys.executable).with_name("selflink-api")
    return subprocess.run(
        [str(executable), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_version_and_usage_errors_of_the_console_script(tmp_path: Path) -> None:
    helped = run("-h", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "SelfLink's server" in helped.stdout
    assert "automatically discovered" not in helped.stdout
    commands = {line.split()[1] for line in helped.stdout.splitlines() if line.startswith("│ ")}
    assert {"sessions", "version", "info"}.isdisjoint(commands)
    assert {"run", "database", "workers", "routes", "schema", "demo", "rewards"} <= commands
    shown = run("--version", cwd=tmp_path)
    assert (shown.returncode, shown.stdout) == (0, f"selflink-api {version('selflink')}\n")
    wrong = run("--nope", cwd=tmp_path)
    assert wrong.returncode == 2
    assert wrong.stderr == "error: no such option '--nope'; see 'selflink-api --help'\n"


def test_usage_errors_of_subcommands_are_one_line(database_url: str) -> None:
    unknown = selflink_api(database_url, "rewards", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr == "error: no such command 'nope'; see 'selflink-api rewards --help'\n"
    bad = selflink_api(database_url, "demo", "--port", "abc")
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "error: invalid value for '--port': 'abc' is not a valid integer; "
        "see 'selflink-api demo --help'"
    ]


def test_demo_on_a_busy_port_fails_before_seeding(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = selflink_api(database_url, "demo", "--port", str(port))
    assert refused.returncode == 2
    assert refused.stderr == f"error: port {port} is in use on 127.0.0.1; pass --port\n"
    assert refused.stdout == ""


@pytest.mark.parametrize(
    ("terminal", "log_file", "log_json", "expected"),
    [
        (True, "", None, False),  # a person reads the console
        (False, "", None, True),  # a pipe: a machine reads it
        (True, "server.log", None, True),  # a file is always JSON unless told
        (True, "", True, True),
        (False, "", False, False),
    ],
)
def test_logs_are_json_unless_a_person_reads_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
    terminal: bool,
    log_file: str,
    log_json: bool | None,
    expected: bool,
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    overrides: dict[str, object] = {"LOG_FILE": log_file}
    if log_json is not None:
        overrides["LOG_JSON"] = log_json
    assert logs_as_json(make_settings("sqlite+aiosqlite:///:memory:", **overrides)) is expected


@pytest.mark.parametrize(
    "args",
    [("--help",), ("--version",), ("rewards", "snapshot", "--help"), ("audit", "verify", "--help")],
)
def test_help_and_version_import_neither_litestar_nor_the_app_nor_a_domain(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    """`selflink-api` starts in a fraction of a second because these never load."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    script = Path(sys.executable).with_name("selflink-api")
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert traced.returncode == 0, traced.stderr
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in traced.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "selflink_api.cli" in imported
    heavy = {
        module
        for module in imported
        if module.split(".")[0] in {"litestar", "sqlalchemy", "advanced_alchemy", "saq"}
        or module in {"selflink_api.app", "selflink_api.domains.DOMAINS"}
        or module.rsplit(".", 1)[-1] in {"domain", "models", "controllers", "services"}
    }
    assert heavy == set()


def test_litestar_and_plugin_commands_still_run(database_url: str) -> None:
    """`database` (advanced-alchemy's) and `routes` (Litestar's) are imported when run and get
    the app as Litestar's own group would hand it."""
    revision = selflink_api(database_url, "database", "show-current-revision")
    assert revision.returncode == 0, revision.stderr
    assert "current revision" in revision.stdout
    routes = selflink_api(database_url, "routes")
    assert routes.returncode == 0, routes.stderr
    assert "/api/v1/rewards/periods" in routes.stdout
