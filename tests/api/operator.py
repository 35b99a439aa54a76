"""Running `selflink-api` commands in tests, through its real command line, in-process."""

import os
from dataclasses import dataclass

from click.testing import CliRunner

from selflink_api.cli import selflink_api as selflink_api_group
from tests.api.conftest import SUITE_LOG, TEST_SECRET_KEY


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def selflink_api(database_url: str, *args: str, **env: str) -> Outcome:
    """`selflink-api ARGS` with a clean environment naming the test database."""
    names = [k for k in os.environ if k.startswith(("DATABASE_", "REDIS_", "PII_", "SELFLINK_"))]
    environment: dict[str, str | None] = dict.fromkeys(names)
    environment |= {
        "LITESTAR_APP": "selflink_api.app:create_app",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "LOG_FILE": str(SUITE_LOG),
    }
    environment |= env
    result = CliRunner().invoke(
        selflink_api_group, list(args), env=environment, catch_exceptions=False
    )
    return Outcome(result.exit_code, result.stdout, result.stderr)
