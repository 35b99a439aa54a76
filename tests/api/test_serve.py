"""The README's first command, as a newcomer runs it: a real server on the embedded defaults."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets.sync.client

from selflink_api.demo import DEMO_PASSWORD
from tests.api.people import remember
from tests.servers import (
    SELFLINK_API,
    STARTUP_SECONDS,
    Server,
    demo_server,
    free_port,
    wait_until_serving,
)

SECRET_MARKERS = (
    "hunter2-password",
    "Bearer-token-s3cret",
    "session-cookie-s3cret",
    "ada@example.org",
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`selflink-api demo` in an empty folder."""
    with demo_server(tmp_path) as running:
        yield running


def websocket_extensions(base_url: str) -> str:
    """The extensions the server accepted for a client offering permessage-deflate."""
    url = base_url.replace("http://", "ws://", 1) + "/api/v1/realtime"
    with websockets.sync.client.connect(url, open_timeout=STARTUP_SECONDS) as ws:
        assert ws.response is not None
        return str(ws.response.headers.get("Sec-WebSocket-Extensions", ""))


def test_embedded_defaults_serve_health_ready_and_schema(server: Server) -> None:
    base_url = server.base_url
    assert httpx.get(f"{base_url}/health").json() == {"status": "ok"}
    assert websocket_extensions(base_url) == ""  # REALTIME_COMPRESSION is off by default
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
    session = signed_in.json()["session"]
    remember(session["access_token"], session["refresh_token"])
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    home = httpx.get(f"{base_url}/api/v1/feed/home", headers=headers).json()["items"]
    assert {post["author"]["handle"] for post in home} == {"ada", "bruno", "chiara", "devan"}
    commented = [post for post in home if post["comment_count"]]
    assert commented, "the demo seeds comments"
    comments = httpx.get(f"{base_url}/api/v1/posts/{commented[0]['id']}/comments").json()
    assert len(comments["items"]) == commented[0]["comment_count"]
    assert any(post["like_count"] for post in home)
    photos = [item for post in home for item in post["media"]]
    assert photos, "the demo seeds photos"
    for variant in ("original", "320"):
        url = photos[0]["urls"][variant]
        assert url.startswith(f"{base_url}/api/v1/media/"), "media URLs follow the demo's --port"
        photo = httpx.get(url, headers=headers)
        assert photo.status_code == 200, photo.text
        assert photo.content.startswith(b"\xff\xd8")  # a JPEG


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


def test_workers_share_the_port_and_stop_together(tmp_path: Path) -> None:
    """`run --workers 2`: two worker processes behind one port, serving WebSockets as the
    settings say; a SIGTERM to the process a service manager started stops them all (none is
    left running without a supervisor)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'workers.sqlite3'}"
    env["SELFLINK_MIGRATE_ON_STARTUP"] = "false"
    env["REALTIME_COMPRESSION"] = "true"
    subprocess.run(
        [SELFLINK_API, "database", "upgrade", "--no-prompt"],
        cwd=tmp_path, env=env, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [SELFLINK_API, "run", "--workers", "2", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", process, log_path)
        workers = worker_pids(process.pid)
        assert len(workers) == 2
        assert websocket_extensions(f"http://127.0.0.1:{port}").startswith("permessage-deflate")
        process.terminate()
        assert process.wait(timeout=60) == 0
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    finally:
        if process.poll() is None:
            process.kill()


def worker_pids(parent: int) -> list[int]:
    """The worker processes `parent` started (Linux's /proc; multiprocessing's resource
    tracker left out), once two have started."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        workers = [
            int(child)
            for child in children
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
        ]
        if len(workers) >= 2 or time.monotonic() > deadline:
            return workers
        time.sleep(0.1)
