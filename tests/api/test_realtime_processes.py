"""Two API processes on one PostgreSQL and one Redis, as behind a load balancer: events,
typing and rate limits cross processes, and a process killed mid-stream loses no message."""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import TEST_SECRET_KEY
from tests.api.people import PASSWORD, Person, person_from, unique_email
from tests.api.realtime_helpers import connected, next_frame
from tests.api.services import (
    create_postgres_database,
    drop_postgres_database,
    postgres_dsn,
    require_redis,
)
from tests.servers import SELFLINK_API, free_port, wait_until_serving

pytestmark = pytest.mark.anyio
MESSAGES_PER_MINUTE = 10


@contextlib.contextmanager
def api_processes(folder: Path, database: str, count: int = 2) -> Iterator[list[Any]]:
    """`count` processes of `selflink-api run`, sharing the database and Redis; yields (url, process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SELFLINK_"))}
    env |= {
        "DATABASE_URL": postgres_dsn(database),
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SELFLINK_JOB_QUEUE": f"selflink-test-{uuid.uuid4().hex[:8]}",
        "SECRET_KEY": TEST_SECRET_KEY,
        "SELFLINK_MIGRATE_ON_STARTUP": "false",
        "SELFLINK_RUN_SCHEDULES": "false",
        "RATE_LIMIT_PER_MINUTE": "100000",
        "AUTH_ATTEMPTS_PER_IP": "10000",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        "MESSAGING_MESSAGES_PER_MINUTE": str(MESSAGES_PER_MINUTE),
        "MEDIA_STORAGE_URL": (folder / "media").as_uri(),
    }
    started = []
    try:
        for index in range(count):
            port = free_port()
            log = folder / f"api-{index}.log"
            process = subprocess.Popen(
                [SELFLINK_API, "run", "--host", "127.0.0.1", "--port", str(port)],
                cwd=folder,
                env=env | {"LOG_FILE": str(log)},
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            started.append((f"http://127.0.0.1:{port}", process, log))
        for url, process, log in started:
            wait_until_serving(url, process, log)
        yield started
    finally:
        for _, process, _ in started:
            if process.poll() is None:
                process.terminate()
            process.wait(timeout=30)


async def join(http: httpx.AsyncClient, url: str, handle: str) -> Person:
    email = unique_email(handle)
    answer = await http.post(
        f"{url}/api/v1/auth/register", json={"email": email, "password": PASSWORD, "handle": handle}
    )
    assert answer.status_code == 201, answer.text
    return person_from(answer.json(), email, PASSWORD)


async def post_message(
    http: httpx.AsyncClient, url: str, who: Person, thread_id: str, client_id: str
) -> httpx.Response:
    return await http.post(
        f"{url}/api/v1/threads/{thread_id}/messages",
        json={"client_id": client_id, "text": f"text of {client_id}"},
        headers=who.headers,
    )


@pytest.fixture
def database(postgres_template: str) -> Iterator[str]:
    require_redis()
    name = create_postgres_database(template=postgres_template)
    yield name
    drop_postgres_database(name)


async def test_two_processes_share_events_typing_limits_and_lose_no_message(
    tmp_path: Path, database: str
) -> None:
    with api_processes(tmp_path, database) as processes:
        (a, process_a, log_a), (b, _, log_b) = processes
        async with httpx.AsyncClient(timeout=10) as http:
            ana, ben = await join(http, a, "ana"), await join(http, b, "ben")
            opened = await http.post(
                f"{b}/api/v1/threads/direct", json={"handle": "ben"}, headers=ana.headers
            )
            thread_id = opened.json()["id"]

            # A message sent through A reaches a socket on B; typing on A shows on B.
            async with connected(b, ben) as ben_on_b, connected(a, ana) as ana_on_a:
                # `selflink-api run` declines permessage-deflate by default.
                assert ben_on_b.response is not None
                assert "Sec-WebSocket-Extensions" not in ben_on_b.response.headers
                sent = await post_message(http, a, ana, thread_id, "through-a")
                assert sent.status_code == 201
                heard = await next_frame(ben_on_b, "message.created")
                assert heard["data"]["id"] == sent.json()["id"]
                await ana_on_a.send(json.dumps({"type": "typing", "thread_id": thread_id}))
                typing = await next_frame(ben_on_b, "typing")
                assert typing["data"]["handle"] == "ana"
                detail = await http.get(f"{b}/api/v1/threads/{thread_id}", headers=ben.headers)
                assert detail.json()["typing"] == ["ana"]

            # One rate limit for both processes: alternating, the limit still holds.
            statuses = await alternate_until_limited(http, [a, b])
            assert statuses.count(201) == MESSAGES_PER_MINUTE
            assert statuses[-1] == 429

            # A is killed with requests in flight: every message ben meant to send is stored
            # exactly once, once he retries what was never acknowledged through B.
            async with connected(b, ana) as ana_on_b:
                wanted = [f"k{i}" for i in range(4)]  # a lost attempt still used up its slot
                acknowledged: dict[str, str] = {}
                first_answer = asyncio.Event()

                async def attempt(client_id: str) -> None:
                    with contextlib.suppress(httpx.TransportError):
                        answer = await post_message(http, a, ben, thread_id, client_id)
                        assert answer.status_code == 201, answer.text
                        acknowledged[client_id] = answer.json()["id"]
                    first_answer.set()

                attempts = [asyncio.create_task(attempt(client_id)) for client_id in wanted]
                await first_answer.wait()
                process_a.send_signal(signal.SIGKILL)
                await asyncio.gather(*attempts)
                assert 0 < len(acknowledged) < len(wanted)  # some were in flight
                retried: set[str] = set()
                for client_id in wanted:
                    if client_id not in acknowledged:
                        answer = await post_message(http, b, ben, thread_id, client_id)
                        assert answer.status_code == 201, answer.text
                        acknowledged[client_id] = answer.json()["id"]
                        retried.add(answer.json()["id"])
                # B announces what it stored or found stored (A may have died before its own
                # announcement: the socket's client catches up with /changes instead).
                heard_ids: set[str] = set()
                while not retried <= heard_ids:
                    heard_ids.add((await next_frame(ana_on_b, "message.created"))["data"]["id"])
            changes = await http.get(
                f"{b}/api/v1/threads/{thread_id}/changes?since=0&limit=100", headers=ana.headers
            )
            caught_up = {m["id"] for m in changes.json()["items"]}
            assert set(acknowledged.values()) <= caught_up
            history = await http.get(
                f"{b}/api/v1/threads/{thread_id}/messages?limit=100", headers=ana.headers
            )
            ours = [m for m in history.json()["items"] if m["client_id"].startswith("k")]
            assert sorted(m["client_id"] for m in ours) == sorted(wanted)
            assert {m["id"] for m in ours} == set(acknowledged.values())
        for log in (log_a, log_b):
            text = log.read_text()
            assert ana.access_token not in text
            assert ben.access_token not in text


async def alternate_until_limited(http: httpx.AsyncClient, urls: list[str]) -> list[int]:
    """A new sender writes through each process in turn until one answers 429; started again
    with another sender if a minute (the limiter's window) turned meanwhile."""
    while True:
        window = int(time.time() // 60)
        sender = await join(http, urls[0], f"s{uuid.uuid4().hex[:8]}")
        friend = await join(http, urls[1], f"f{uuid.uuid4().hex[:8]}")
        opened = await http.post(
            f"{urls[0]}/api/v1/threads/direct",
            json={"handle": friend.handle},
            headers=sender.headers,
        )
        statuses: list[int] = []
        for index in range(2 * MESSAGES_PER_MINUTE):
            answer = await post_message(
                http, urls[index % len(urls)], sender, opened.json()["id"], uuid.uuid4().hex
            )
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                break
        if int(time.time() // 60) == window:
            return statuses
