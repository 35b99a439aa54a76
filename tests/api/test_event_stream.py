"""The event stream: with Redis, domain events reach their subscribers through one consumer
group that every worker reads, at least once, each failed subscriber retried alone on SAQ."""

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar_saq import SAQPlugin
from redis.asyncio import Redis
from saq import Worker
from saq.queue.redis import RedisQueue
from sqlalchemy import select

from selflink_api.app import create_app
from selflink_api.notifications.models import Notification
from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.event_stream import (
    GROUP,
    EventConsumer,
    EventStream,
    consumer_name,
    stream_key,
)
from selflink_api.platform.events import EventBus
from selflink_api.platform.jobs import JobContext, SaqJobRunner, background_job
from selflink_api.settings import Settings
from tests.api.conftest import app_client, make_settings
from tests.api.content_helpers import relate
from tests.api.people import register
from tests.api.test_jobs import _delete_queue_keys

pytestmark = pytest.mark.anyio

HAPPENED = "test.happened"


@dataclass
class Stream:
    """A fresh stream and SAQ queue on the real Redis, and two subscribers that record runs."""

    redis: Any
    queue: RedisQueue
    stream: EventStream
    runner: SaqJobRunner
    context: JobContext
    runs: list[tuple[str, int]]
    failing: set[int]

    def consumer(self, name: str, **overrides: Any) -> EventConsumer:
        subscribers = EventBus({HAPPENED: (self.recorded, self.refused)})
        values: dict[str, Any] = {
            "concurrency": 4,
            "heartbeat_seconds": 30,
            "name": name,
            "read_block_ms": 10,
        }
        values.update(overrides)
        return EventConsumer(self.stream, subscribers, self.context, self.runner, **values)

    @property
    def recorded(self) -> Any:
        @background_job("test.recorded", attempts=3)
        async def recorded(_context: JobContext, n: int) -> None:
            self.runs.append(("recorded", n))

        return recorded

    @property
    def refused(self) -> Any:
        @background_job("test.refused", attempts=3, retry_delay_seconds=5)
        async def refused(_context: JobContext, n: int) -> None:
            self.runs.append(("refused", n))
            if n in self.failing:
                msg = "refused"
                raise LookupError(msg)

        return refused

    async def pending(self) -> list[dict[str, Any]]:
        pending: list[dict[str, Any]] = await self.redis.xpending_range(
            self.stream.key, GROUP, "-", "+", 100
        )
        return pending


@pytest.fixture
async def events(database_url: str, redis_url: str) -> AsyncIterator[Stream]:
    name = f"selflink-test-{uuid.uuid4().hex[:12]}"
    settings = make_settings(database_url, REDIS_URL=redis_url, SELFLINK_JOB_QUEUE=name)
    redis: Any = Redis.from_url(redis_url)
    queue = RedisQueue.from_url(redis_url, name=name)
    await queue.connect()
    stream = EventStream(redis, stream_key(name))
    runner = SaqJobRunner(queue, 30, stream)
    session_maker = build_sqlalchemy_config(settings).create_session_maker()
    context = JobContext(settings, session_maker, runner)
    try:
        yield Stream(redis, queue, stream, runner, context, [], set())
    finally:
        await redis.delete(stream.key)
        await queue.disconnect()
        await redis.aclose()
        await _delete_queue_keys(redis_url, name)


async def test_each_event_reaches_every_subscriber_once_and_leaves_the_stream(
    events: Stream,
) -> None:
    consumer = events.consumer("one")
    for n in (1, 2, 3):
        await events.stream.append(HAPPENED, {"n": n})
    await consumer.create_group()
    await consumer.deliver(await consumer.read())
    assert sorted(events.runs) == [(name, n) for name in ("recorded", "refused") for n in (1, 2, 3)]
    assert await events.redis.xlen(events.stream.key) == 0
    assert await events.pending() == []
    assert await consumer.read() == []  # nothing is delivered twice


async def test_events_appended_before_any_worker_started_are_delivered(events: Stream) -> None:
    await events.stream.append(HAPPENED, {"n": 1})
    consumer = events.consumer("late")
    assert await consumer.read() == []  # the first read creates the group, from the start
    await consumer.deliver(await consumer.read())
    assert sorted(events.runs) == [("recorded", 1), ("refused", 1)]


async def test_a_failed_subscriber_is_retried_alone_as_a_saq_job(events: Stream) -> None:
    events.failing.add(2)
    consumer = events.consumer("one")
    for n in (1, 2):
        await events.stream.append(HAPPENED, {"n": n})
    await consumer.create_group()
    before = time.time()
    await consumer.deliver(await consumer.read())
    assert sorted(events.runs) == [("recorded", 1), ("recorded", 2), ("refused", 1), ("refused", 2)]
    assert await events.redis.xlen(events.stream.key) == 0  # both events are done with
    queued = await events.redis.zrange(f"saq:{events.queue.name}:incomplete", 0, -1)
    assert len(queued) == 1
    job = events.queue.deserialize(await events.redis.get(queued[0]))
    assert job is not None
    assert (job.function, job.kwargs, job.retries) == ("test.refused", {"n": 2}, 2)
    assert job.scheduled >= before + 5  # after the first back-off, like SAQ's own retries


async def test_a_worker_gathers_the_events_appended_while_it_waits(events: Stream) -> None:
    consumer = events.consumer("one", gather_ms=1)
    await events.stream.append(HAPPENED, {"n": 1})
    await consumer.create_group()
    first = await consumer.read()
    await events.stream.append(HAPPENED, {"n": 2})  # while the worker waits for more
    gathered = await consumer.gather(first)
    assert [payload["n"] for _, _, payload in gathered] == [1, 2]
    consumer.stopping.set()  # a stopping worker does not wait: it takes what is there
    await events.stream.append(HAPPENED, {"n": 3})
    assert [payload["n"] for _, _, payload in await consumer.gather(first)] == [1, 3]


async def test_events_a_dead_worker_read_are_claimed_and_delivered_by_another(
    events: Stream,
) -> None:
    dead, alive = events.consumer("dead"), events.consumer("alive", claim_idle_ms=0)
    for n in (1, 2):
        await events.stream.append(HAPPENED, {"n": n})
    await dead.create_group()
    assert len(await dead.read()) == 2  # read, then never acknowledged
    assert await alive.read() == []  # new reads do not see another consumer's entries
    await alive.deliver(await alive.claim_abandoned())
    assert sorted(events.runs) == [("recorded", 1), ("recorded", 2), ("refused", 1), ("refused", 2)]
    assert await events.pending() == []


async def test_a_working_consumer_keeps_its_entries_from_being_claimed(events: Stream) -> None:
    working = events.consumer("working")
    other = events.consumer("other", claim_idle_ms=60_000)
    await events.stream.append(HAPPENED, {"n": 1})
    await working.create_group()
    (entry_id, _, _), *_ = await working.read()
    await events.redis.xclaim(  # as if the entry had been untouched for two minutes
        events.stream.key, GROUP, "working", 0, [entry_id], idle=120_000, justid=True
    )
    await working.touch([entry_id])
    assert await other.claim_abandoned() == []
    (pending,) = await events.pending()
    assert pending["consumer"] == b"working"
    assert pending["time_since_delivered"] < 60_000


async def test_an_unreadable_entry_is_acknowledged_not_read_forever(events: Stream) -> None:
    consumer = events.consumer("one")
    await events.redis.xadd(events.stream.key, {"event": HAPPENED, "payload": "not json"})
    await consumer.create_group()
    entries = await consumer.read()
    assert [event for _, event, _ in entries] == [""]
    await consumer.deliver(entries)
    assert events.runs == []
    assert await events.redis.xlen(events.stream.key) == 0


def test_a_consumer_is_named_by_its_host_and_process() -> None:
    assert consumer_name().endswith(f":{os.getpid()}")


async def test_a_follow_reaches_its_notification_through_the_stream_and_a_worker(
    database_url: str, redis_url: str
) -> None:
    """End to end: the API appends `person.followed` and runs no job itself; a SAQ worker's
    consumer runs the notification subscriber."""
    name = f"selflink-test-{uuid.uuid4().hex[:12]}"
    settings = make_settings(database_url, REDIS_URL=redis_url, SELFLINK_JOB_QUEUE=name)
    app = create_app(settings)
    redis: Any = Redis.from_url(redis_url)
    try:
        async with app_client(app) as client:
            ada, lena = await register(client, "ada"), await register(client, "lena")
            await relate(client, ada, "follow", lena)
        assert await redis.xlen(stream_key(name)) == 1  # waiting for a worker
        assert await _notifications_of(settings, lena.id) == 0

        # The worker's own app, as in its own process: the served app's connections belong to
        # the test client's event loop.
        plugin = create_app(settings).plugins.get(SAQPlugin)
        queue_config = next(iter(plugin.config.queue_configs))
        worker = Worker(
            plugin.get_queue(name), functions=queue_config.tasks, startup=queue_config.startup
        )
        working = asyncio.create_task(worker.start())
        for _ in range(600):  # polling: up to 30 s for the notification and the acknowledgement
            if await _notifications_of(settings, lena.id) and not await redis.xlen(
                stream_key(name)
            ):
                break
            await asyncio.sleep(0.05)
        await worker.stop()
        await working
        assert await _notifications_of(settings, lena.id) == 1
        assert await redis.xlen(stream_key(name)) == 0
        assert await redis.xpending(stream_key(name), GROUP) == {
            "pending": 0,
            "min": None,
            "max": None,
            "consumers": [],
        }
    finally:
        await redis.delete(stream_key(name))
        await redis.aclose()
        await _delete_queue_keys(redis_url, name)


async def _notifications_of(settings: Settings, user_id: str) -> int:
    session_maker = build_sqlalchemy_config(settings).create_session_maker()
    async with session_maker() as session:
        rows = await session.scalars(
            select(Notification).where(Notification.user_id == uuid.UUID(user_id))
        )
        return len(rows.all())
