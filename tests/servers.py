"""Real server processes for the tests: a free loopback port, a start awaited, a clean stop."""

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
from typing import Any

import httpx
import pytest

SELFLINK_API = str(Path(sys.executable).with_name("selflink-api"))
STARTUP_SECONDS = 120


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
def demo_server(folder: Path, **settings: str) -> Iterator[Server]:
    """`selflink-api demo` in `folder`, with no configuration but the given `settings`
    (environment variables): its public address (PUBLIC_BASE_URL) follows the `--port`."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = folder / "server.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "SELFLINK_", "PUBLIC_BASE_URL"))
    }
    env.update(settings)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [SELFLINK_API, "demo", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        running = Server(base_url, folder, log_path, process)
        try:
            wait_until_serving(base_url, process, log_path)
            yield running
        finally:
            running.stop()


def wait_until_serving(base_url: str, process: "subprocess.Popen[bytes]", log_path: Path) -> None:
    """Return once `/health` answers 200; fail with the server's log if it exits or never does."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"server did not start:\n{log_path.read_text()}")
        time.sleep(0.1)


@dataclass
class ChatServer:
    """A running `tests.chat_completions` process: an OpenAI-compatible server."""

    base_url: str
    requests_log: Path
    process: "subprocess.Popen[bytes]"

    def requests(self) -> list[dict[str, Any]]:
        """Every request it received so far: {"headers": …, "body": …}."""
        if not self.requests_log.exists():
            return []
        return [json.loads(line) for line in self.requests_log.read_text().splitlines()]


@contextmanager
def chat_completions_server(
    folder: Path, *, chunk_delay: float = 0.0, first_token_delay: float = 0.0
) -> Iterator[ChatServer]:
    """`tests/chat_completions.py` on a free port; its base URL ends in `/v1` like OpenAI's."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    requests_log = folder / "chat-requests.jsonl"
    log_path = folder / "chat-server.log"
    command = [sys.executable, "-m", "tests.chat_completions", "--port", str(port)]
    command += ["--log", str(requests_log), "--chunk-delay", str(chunk_delay)]
    command += ["--first-token-delay", str(first_token_delay)]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=Path(__file__).parents[1], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_serving(root, process, log_path)
            yield ChatServer(f"{root}/v1", requests_log, process)
        finally:
            process.terminate()
            process.wait(timeout=30)


@dataclass
class PushEndpoint:
    """A running `tests.push_endpoint` process: a Web Push service and browser in one."""

    base_url: str
    log: Path
    process: "subprocess.Popen[bytes]"

    def subscribe(self, name: str) -> dict[str, Any]:
        """A new subscription named `name` (its name steers the answers: see the module)."""
        response = httpx.post(f"{self.base_url}/subscribe/{name}")
        response.raise_for_status()
        return dict(response.json())

    def received(self) -> list[dict[str, Any]]:
        """Every push it received so far, accepted (`payload`) or refused (`refused`)."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@contextmanager
def push_endpoint(folder: Path) -> Iterator[PushEndpoint]:
    """`tests/push_endpoint.py` on a free port."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    log_path = folder / "push-endpoint.log"
    pushes = folder / "pushes.jsonl"
    command = [
        sys.executable,
        "-m",
        "tests.push_endpoint",
        "--port",
        str(port),
        "--log",
        str(pushes),
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=Path(__file__).parents[1], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_serving(root, process, log_path)
            yield PushEndpoint(root, pushes, process)
        finally:
            process.terminate()
            process.wait(timeout=30)
