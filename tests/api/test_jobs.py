"""Background jobs: submitted after the commit, retried, timed out, failing the test that
enqueued them when they fail; the same job on SAQ."""

import asyncio
import uuid
from typing import Any

import pytest
from litestar import Litestar, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.testing import AsyncTestClient
from litestar_saq import SAQPlugin
from redis.asyncio import Redis
from saq import Worker
from sqlalchemy import select

from selflink_api.app import create_app
from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.event_stream import stream_key
from selflink_api.platform.jobs import InProcessJobRunner, JobContext, JobQueue, background_job
from selflink_api.platform.problems import CONFLICT, ProblemError
from selflink_api.settings import Settings
from selflink_api.system.jobs import heartbeat
from selflink_api.system.models import WorkerHeartbeat
from tests.api.conftest import app_client, drain_jobs, make_settings

pytestmark = pytest.mark.anyio


@post("/api/v1/probe/heartbeats/{runner:str}", status_code=202, exclude_from_auth=True)
async def request_heartbeat(runner: FromPath[str], jobs: NamedDependency[JobQueue]) -> None:
    await jobs.enqueue(heartbeat, runner=runner)
    if runner == "rolled-back":
        raise ProblemError(CONFLICT, "the transaction is rolled back, so is the job")


@background_job("probe.refusing", attempts=1)
async def refusing(_context: JobContext) -> None:
    raise LookupError("the probe job refuses")


@post("/api/v1/probe/refusals", status_code=202, exclude_from_auth=True)
async def request_refusal(jobs: NamedDependency[JobQueue]) -> None:
    await jobs.enqueue(refusing)


@pytest.fixture
def app(app: Litestar) -> Litestar:
    app.register(request_heartbeat)
    app.register(request_refusal)
    return app


async def beats_of(settings: Settings, runner: str) -> int:
    config = build_sqlalchemy_config(settings)
    try:
        async with config.get_session() as session:
            row = await session.scalar(
                select(WorkerHeartbeat).where(WorkerHeartbeat.runner == runner)
            )
            return row.beats if row else 0
    finally:
        await config.get_engine().dispose()


async def test_job_enqueued_by_a_request_runs_after_the_response(
    client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    response = await client.post("/api/v1/probe/heartbeats/in-process")
    assert response.status_code == 202
    await drain_jobs(client)
    assert await beats_of(settings, "in-process") == 1


async def test_job_of_a_failed_request_never_runs(
    client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    response = await client.post("/api/v1/probe/heartbeats/rolled-back")
    assert response.status_code == 409
    await drain_jobs(client)
    assert await beats_of(settings, "rolled-back") == 0


def refused() -> pytest.RaisesExc[LookupError]:
    """The probe job's error, noted with the job and attempt it came from."""
    return pytest.RaisesExc(
        LookupError, check=lambda error: "probe.refusing, attempt 1/1" in error.__notes__[0]
    )


async def test_a_failed_job_fails_the_test_whose_request_enqueued_it(
    client: AsyncTestClient[Litestar],
) -> None:
    assert (await client.post("/api/v1/probe/refusals")).status_code == 202
    with pytest.RaisesGroup(refused()):
        await drain_jobs(client)
    await drain_jobs(client)  # raised once, then forgotten


async def test_a_failed_job_nobody_drained_fails_the_test_when_its_client_closes(
    app: Litestar,
) -> None:
    with pytest.RaisesGroup(refused()):
        async with app_client(app) as client:
            assert (await client.post("/api/v1/probe/refusals")).status_code == 202


def make_runner(delays: list[float], failures: list[Exception] | None = None) -> InProcessJobRunner:
    """A runner whose back-off waits are recorded instead of slept; these jobs use no database.
    Without `failures` it only logs failed attempts, as in production."""

    async def record_delay(seconds: float) -> None:
        delays.append(seconds)

    settings = make_settings("sqlite+aiosqlite:///:memory:")
    config = build_sqlalchemy_config(settings)
    return InProcessJobRunner(
        settings, config.create_session_maker(), sleep=record_delay, failures=failures
    )


async def test_failing_job_is_retried_with_backoff_until_it_succeeds() -> None:
    calls: list[int] = []

    @background_job("probe.flaky", attempts=3, retry_delay_seconds=0.5)
    async def flaky(_context: JobContext, fail_times: int) -> None:
        calls.append(len(calls) + 1)
        if len(calls) <= fail_times:
            raise ConnectionError("transient")

    delays: list[float] = []
    runner = make_runner(delays, failures=[])
    await runner.submit(flaky, {"fail_times": 2})
    with pytest.RaisesGroup(ConnectionError, ConnectionError):  # in tests, retried ones count
        await runner.drain()
    assert calls == [1, 2, 3]
    assert delays == [0.5, 1.0]


async def test_job_gives_up_after_its_attempts() -> None:
    calls: list[int] = []

    @background_job("probe.broken", attempts=2, retry_delay_seconds=0)
    async def broken(_context: JobContext) -> None:
        calls.append(1)
        raise ValueError("permanent")

    runner = make_runner([])
    await runner.submit(broken, {})
    await runner.drain()
    assert len(calls) == 2


async def test_job_exceeding_its_timeout_is_cancelled_and_retried() -> None:
    started: list[int] = []

    @background_job("probe.stuck", attempts=2, timeout_seconds=0.01, retry_delay_seconds=0)
    async def stuck(_context: JobContext) -> None:
        started.append(1)
        await asyncio.Event().wait()

    runner = make_runner([])
    await runner.submit(stuck, {})
    await runner.drain()
    assert len(started) == 2


async def test_the_same_job_runs_end_to_end_on_redis_and_saq(
    database_url: str, redis_url: str
) -> None:
    queue_name = f"selflink-test-{uuid.uuid4().hex[:12]}"
    settings = make_settings(database_url, REDIS_URL=redis_url, SELFLINK_JOB_QUEUE=queue_name)
    app = create_app(settings)
    app.register(request_heartbeat)
    try:
        async with app_client(app) as client:
            response = await client.post("/api/v1/probe/heartbeats/saq")
            assert response.status_code == 202
            assert await beats_of(settings, "saq") == 0  # queued in Redis, not run in-process

        plugin = app.plugins.get(SAQPlugin)
        queue_config = next(iter(plugin.config.queue_configs))
        queue = plugin.get_queue(queue_name)
        worker = Worker(
            queue,
            functions=queue_config.tasks,
            startup=queue_config.startup,
            burst=True,
            dequeue_timeout=0.5,
        )
        await worker.start()
        assert await beats_of(settings, "saq") == 1
    finally:
        await _delete_queue_keys(redis_url, queue_name)


async def _delete_queue_keys(redis_url: str, queue_name: str) -> None:
    redis: Any = Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"saq:*{queue_name}*")]
        keys.append(stream_key(queue_name))  # a worker's reader creates it
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def test_the_saq_monitor_is_for_admins_only(database_url: str, redis_url: str) -> None:
    app = create_app(make_settings(database_url, REDIS_URL=redis_url))
    async with app_client(app) as client:
        for path in ("/saq", "/saq/api/queues"):
            response = await client.get(path)
            assert response.status_code == 401, path
            assert response.headers["content-type"] == "application/problem+json"
