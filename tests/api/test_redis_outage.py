"""While Redis is unreachable: stores, request and attempt counters answer from memory, and jobs
and events wait in the API process until Redis takes them (test_scale_out.py shows it with
processes)."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from structlog.testing import capture_logs

from selflink_api.app import create_app
from selflink_api.platform.event_stream import EventStream
from selflink_api.platform.jobs import JobDefinition, SaqJobRunner, background_job
from selflink_api.platform.ratelimit import AttemptLimiter, RequestRateLimitConfig, WindowCounter
from selflink_api.platform.stores import RedisOrMemoryStore, shared_store
from tests.api.conftest import make_settings
from tests.servers import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
async def unreachable_redis() -> AsyncIterator[Redis]:
    """A client of a port nothing listens on."""
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    yield client
    await client.aclose()


async def test_a_store_answers_from_memory_while_redis_is_unreachable(
    unreachable_redis: Redis,
) -> None:
    store = shared_store(unreachable_redis, "outage")
    assert isinstance(store, RedisOrMemoryStore)
    await store.set("k", b"v", expires_in=60)
    assert await store.get("k") == b"v"
    assert await store.exists("k")
    await store.delete("k")
    assert await store.get("k") is None


async def test_attempts_are_counted_in_memory_while_redis_is_unreachable(
    unreachable_redis: Redis,
) -> None:
    limiter = AttemptLimiter(unreachable_redis)
    await limiter.hit("someone", limit=2, window_seconds=60)
    await limiter.hit("someone", limit=2, window_seconds=60)
    with pytest.raises(Exception, match="Too many attempts"):
        await limiter.hit("someone", limit=2, window_seconds=60)


async def test_requests_are_counted_in_memory_while_redis_is_unreachable(
    unreachable_redis: Redis,
) -> None:
    counter = WindowCounter(unreachable_redis)
    with capture_logs() as logs:
        assert [(await counter.count("203.0.113.7", 60))[0] for _ in range(3)] == [1, 2, 3]
    assert [log["event"] for log in logs] == ["requests_counted_in_memory"]  # once, not thrice
    count, reset_in = await counter.count("198.51.100.1", 60)
    assert count == 1
    assert 0 < reset_in <= 60


async def test_requests_waiting_for_a_failed_lease_claim_count_in_memory(
    unreachable_redis: Redis,
) -> None:
    """A burst of one client's requests waits for one claim of a lease; when it fails, they
    all count in memory at once instead of trying Redis one after another."""
    counter = WindowCounter(unreachable_redis)
    with capture_logs() as logs:
        counted = await asyncio.gather(*(counter.count("203.0.113.8", 60, 640) for _ in range(5)))
    assert sorted(count for count, _ in counted) == [1, 2, 3, 4, 5]
    assert [log["event"] for log in logs] == ["requests_counted_in_memory"]


async def test_one_window_of_requests_is_shared_through_redis(redis_url: str) -> None:
    """Two processes' counters (two clients) count into one window, which ends at once for
    both."""
    namespace = f"test-requests-{uuid.uuid4().hex}"
    one, other = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        first, second = WindowCounter(one, namespace), WindowCounter(other, namespace)
        counts = [(await counter.count("client", 60))[0] for counter in (first, second) * 3]
        assert counts == [1, 2, 3, 4, 5, 6]
        _, reset_in = await second.count("client", 60)
        assert 55 <= reset_in <= 60
    finally:
        await one.aclose()
        await other.aclose()


def test_with_redis_every_store_an_api_process_keeps_is_shared() -> None:
    settings = make_settings("sqlite+aiosqlite:///:memory:", REDIS_URL="redis://127.0.0.1:1/0")
    app = create_app(settings)
    configs = [getattr(m, "kwargs", {}).get("config") for m in app.middleware]
    limits = [config for config in configs if isinstance(config, RequestRateLimitConfig)]
    assert [config.counter._redis for config in limits] == [app.state.redis]
    assert isinstance(app.state.feed.readings, RedisOrMemoryStore)
    assert app.state.shared.limiter._count_attempt.registered_client is app.state.redis
    assert app.state.shared.realtime_state._redis is app.state.redis


@background_job("test.noop")
async def noop(_context: Any) -> None:
    """Never run: only enqueued."""


class FlakyQueue:
    """A SAQ queue, and the Redis its event stream is on, both down until `up` is set."""

    def __init__(self) -> None:
        self.up = False
        self.handed_over: list[Mapping[str, Any]] = []

    async def enqueue(self, name: str, **kwargs: Any) -> None:
        if not self.up:
            raise RedisConnectionError("Connection refused")
        self.handed_over.append({"name": name, **kwargs})

    async def xadd(self, key: str, fields: Mapping[str, str]) -> None:
        if not self.up:
            raise RedisConnectionError("Connection refused")
        self.handed_over.append({"stream": key, **json.loads(fields["payload"])})

    async def disconnect(self) -> None:
        return None


async def test_jobs_and_events_wait_in_order_while_redis_is_down_and_go_when_it_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("selflink_api.platform.jobs.ENQUEUE_RETRY_SECONDS", 0.01)
    queue = FlakyQueue()
    runner = SaqJobRunner(queue, 30, EventStream(cast("Redis", queue), "events"))
    job: JobDefinition = noop
    await runner.submit(job, {"n": 1})
    await runner.announce("post.created", {"n": 2})
    assert runner.waiting == 2
    queue.up = True
    await runner.submit(job, {"n": 3})  # behind the two waiting
    await runner.disconnect()  # also gives the waiting work a last chance
    assert [entry["n"] for entry in queue.handed_over] == [1, 2, 3]
    assert queue.handed_over[1]["stream"] == "events"
    assert {entry.get("heartbeat") for entry in queue.handed_over} == {30, None}
    assert runner.waiting == 0
