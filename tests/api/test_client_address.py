"""Behind no proxy, a client cannot choose its address: through a real server, in every mode.

Uvicorn believes `X-Forwarded-For` from 127.0.0.1 unless told otherwise; here the test client is
127.0.0.1, so only the app's own rule (TRUSTED_PROXIES, empty by default) stands between a client
rotating the header and fresh rate limits for each request.
"""

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import SELFLINK_API, free_port, wait_until_serving

RATE_LIMIT = 8
AUTH_ATTEMPTS = 3
COMMANDS = {
    "demo": ["demo"],
    "run": ["run"],
    "run-workers": ["run", "--wc", "2"],
}


@pytest.fixture(params=COMMANDS, ids=COMMANDS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`selflink-api <command>` on SQLite, with low limits and no trusted proxies."""
    port = free_port()
    log_path = tmp_path / "app.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "SELFLINK_", "LOG_", "FORWARDED_", "UVICORN_"))
    }
    env |= {
        "RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        "AUTH_ATTEMPTS_PER_IP": str(AUTH_ATTEMPTS),
        "AUTH_ATTEMPTS_PER_ACCOUNT": "1000",
        "TRUSTED_PROXIES": "",
        "FORWARDED_ALLOW_IPS": "*",  # what an operator may have set for uvicorn: overridden
        "LOG_FILE": str(log_path),
        "LOG_JSON": "true",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
    }
    command = COMMANDS[request.param]
    if command[0] == "run":
        subprocess.run(
            [SELFLINK_API, "database", "upgrade", "--no-prompt"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            check=True,
            timeout=120,
        )
        env["SELFLINK_MIGRATE_ON_STARTUP"] = "false"
    output = tmp_path / "server.out"
    with output.open("w") as out:
        process = subprocess.Popen(
            [SELFLINK_API, *command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base_url, process, output)
            yield base_url, log_path
        finally:
            # With workers, `run` starts uvicorn as a child process: stop the whole session.
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def test_a_rotated_forwarded_for_header_gets_429_and_never_reaches_the_logs(
    server: tuple[str, Path],
) -> None:
    base_url, log_path = server
    junk = ["not-an-ip", "x" * 6000, "198.51.100.1, 203.0.113.9"]
    with httpx.Client(base_url=base_url) as client:
        sign_ins = [
            client.post(
                "/api/v1/auth/login",
                json={"login": f"nobody_{n}", "password": "wrong password"},
                headers={"x-forwarded-for": f"198.51.100.{n}"},
            ).status_code
            for n in range(AUTH_ATTEMPTS + 1)
        ]
        requests = [
            client.get(
                "/api/v1/rewards/periods",
                headers={"x-forwarded-for": junk[n % len(junk)] if n < 3 else f"192.0.2.{n}"},
            ).status_code
            for n in range(3 * RATE_LIMIT)
        ]
    assert sign_ins == [401] * AUTH_ATTEMPTS + [429]
    assert requests[-1] == 429  # one kept-alive connection: one worker counts them all
    for _ in range(100):  # access lines are written just after each response
        if log_path.read_text().count('"event": "request"') >= len(sign_ins) + len(requests):
            break
        time.sleep(0.1)
    log = log_path.read_text()
    addresses = {
        json.loads(line)["client_ip"] for line in log.splitlines() if '"client_ip"' in line
    }
    assert addresses == {"127.0.0.1"}
    for text in ("not-an-ip", "xxxxxxxx", "198.51.100.", "192.0.2.", "203.0.113."):
        assert text not in log
