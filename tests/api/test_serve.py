"""The README's first command, as a newcomer runs it: a real server on the embedded defaults."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from selflink_api.demo import DEMO_PASSWORD
from tests.api.people import remember

SECRET_MARKERS = (
    "hunter2-password",
    "Bearer-token-s3cret",
    "session-cookie-s3cret",
    "ada@example.org",
)
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    base_url: str
    folder: Path
    log_path: Path
    process: "subprocess.Popen[bytes]"

    def stop(self) -> str:
        """Stop the server and return its whole log.

        Uvicorn finishes the requests in flight before it exits, so every access line (written
        just after its response was sent) is in the log by then.
        """
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)
        return self.log_path.read_text()


@contextmanager
def demo_server(folder: Path) -> Iterator[Server]:
    """`selflink-api demo` in `folder`, with no configuration but its public address."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = folder / "server.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "SELFLINK_"))
    }
    env["PUBLIC_BASE_URL"] = base_url
    executable = Path(sys.executable).with_name("selflink-api")
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(executable), "demo", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        running = Server(base_url, folder, log_path, process)
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                try:
                    if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start:\n{log_path.read_text()}")
                time.sleep(0.1)
            yield running
        finally:
            running.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`selflink-api demo` in an empty folder."""
    with demo_server(tmp_path) as running:
        yield running


def test_embedded_defaults_serve_health_ready_and_schema(server: Server) -> None:
    base_url = server.base_url
    assert httpx.get(f"{base_url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{base_url}/ready").json() == {
        "status": "ready",
        "checks": {"database": "ok"},
    }
    assert httpx.get(f"{base_url}/schema/openapi.json").json()["info"]["title"] == "SelfLink API"
    assert (server.folder / "var" / "selflink.sqlite3").is_file()
    signed_in = httpx.post(
        f"{base_url}/api/v1/auth/login", json={"login": "ada", "password": DEMO_PASSWORD}
    )
    assert signed_in.status_code == 200
    remember(
        signed_in.json()["session"]["access_token"], signed_in.json()["session"]["refresh_token"]
    )


def test_logs_are_json_and_never_hold_bodies_or_credentials(server: Server) -> None:
    """The access lines are found by the responses' request ids: the fixture's own health
    checks are logged too, and only stopping the server makes sure every line was written."""
    base_url = server.base_url
    secrets = {
        "headers": {
            "authorization": SECRET_MARKERS[1],
            "cookie": f"session={SECRET_MARKERS[2]}",
            "content-type": "application/json",
        },
        "content": json.dumps({"password": SECRET_MARKERS[0], "email": SECRET_MARKERS[3]}),
    }
    responses = [
        httpx.post(f"{base_url}/api/v1/nowhere?token={SECRET_MARKERS[1]}", **secrets),  # type: ignore[arg-type]
        httpx.post(f"{base_url}/health", **secrets),  # type: ignore[arg-type]
        httpx.get(f"{base_url}/health", headers=secrets["headers"]),  # type: ignore[arg-type]
    ]
    assert [r.status_code for r in responses] == [404, 405, 200]
    assert all(r.headers["content-type"] == "application/problem+json" for r in responses[:2])
    log = server.stop()
    request_lines = [json.loads(line) for line in log.splitlines() if '"event": "request"' in line]
    assert all(line["request_id"] for line in request_lines)
    status_of = {line["request_id"]: line["status"] for line in request_lines}
    assert [status_of.get(r.headers["x-request-id"]) for r in responses] == [404, 405, 200]
    for marker in SECRET_MARKERS:
        assert marker not in log


def test_unsafe_production_settings_refuse_to_start_in_one_line_each(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "SECRET_", "SELFLINK_", "PII_"))
    }
    env["SELFLINK_PROFILE"] = "production"
    executable = Path(sys.executable).with_name("selflink-api")
    refused = subprocess.run(
        [str(executable), "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "error: refusing to start in production: SECRET_KEY is missing or the development default; "
        "DATABASE_URL must point at PostgreSQL, not SQLite; PII_KEYS and PII_INDEX_KEY must be set"
    ]
