"""Background jobs: one interface for every domain, two runners (in-process and SAQ on Redis).

A domain declares a job with `@background_job(...)` and, optionally, a cron schedule with
`CronSchedule`. Handlers enqueue through the request's `JobQueue`; the jobs are handed to the
runner only after the response's transaction committed, so a job never sees data that was
rolled back. Job arguments are ids and other plain JSON values, never personal data: they are
stored in Redis and may appear in worker logs. Without `REDIS_URL` the same job functions run
in this process, with the same timeouts and retries; with it they run on SAQ workers
(`selflink-api workers run`).
"""

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from croniter import croniter
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from litestar_saq import SAQPlugin
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.platform.database import reading
from selflink_api.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterable
    from uuid import UUID

    from selflink_api.platform.event_stream import EventStream
    from selflink_api.platform.events import EventBus

logger = structlog.get_logger("selflink.jobs")

JobFunction = Callable[..., Awaitable[Any]]


def system_clock() -> datetime:
    return datetime.now(UTC)


class LiveEvents(Protocol):
    """Where a job sends live events to people (`platform/realtime.py`)."""

    async def send(self, user_ids: "Iterable[UUID | str]", event_type: str, data: Any) -> None: ...


@dataclass(frozen=True)
class JobContext:
    """What a job receives: settings, its own database sessions and a queue for follow-ups."""

    settings: Settings
    session_maker: Callable[[], AsyncSession]
    queue: "JobRunner"
    clock: Callable[[], datetime] = system_clock
    """The time jobs judge by (ages, what lies in the future); tests give a fixed one."""
    live: LiveEvents | None = None
    """Live events to people's open connections; None where the app wired none."""
    events: "EventBus | None" = None
    """The app's event bus, for facts a job establishes (`publish`)."""

    async def publish(self, event: str, **payload: Any) -> None:
        """Hand `event` to its subscribers; call it once the job's transaction committed."""
        if self.events is not None and self.events.subscribers_of(event):
            await self.queue.announce(event, payload)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block ends without an error."""
        async with self.session_maker() as session, session.begin():
            yield session

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session that only reads, as a GET's: on SQLite a reader beside the one writer
        (it never waits for a writer's turn), on PostgreSQL in autocommit."""
        with reading():
            async with self.session_maker() as session:
                yield session


@dataclass(frozen=True)
class JobDefinition:
    """A job function plus the limits every runner applies to it."""

    name: str
    function: JobFunction
    timeout_seconds: float
    attempts: int
    retry_delay_seconds: float

    async def __call__(self, context: JobContext, **kwargs: Any) -> Any:
        return await self.function(context, **kwargs)


def background_job(
    name: str, *, timeout_seconds: float = 60, attempts: int = 3, retry_delay_seconds: float = 2.0
) -> Callable[[JobFunction], JobDefinition]:
    """Declare `async def fn(context: JobContext, **kwargs)` as a job named `name`.

    `attempts` counts the first run; retries back off exponentially from `retry_delay_seconds`.
    """
    if attempts < 1 or timeout_seconds <= 0:
        msg = "a job needs at least one attempt and a positive timeout"
        raise ValueError(msg)

    def decorate(function: JobFunction) -> JobDefinition:
        return JobDefinition(name, function, timeout_seconds, attempts, retry_delay_seconds)

    return decorate


@dataclass(frozen=True)
class CronSchedule:
    """Run `job` (with no arguments) on a UTC cron expression such as `*/5 * * * *`."""

    job: JobDefinition
    cron: str

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.cron):
            msg = f"invalid cron expression {self.cron!r} for job {self.job.name}"
            raise ValueError(msg)


class JobRunner(Protocol):
    """Where committed work goes: this process, or SAQ's queue and the event stream."""

    async def submit(self, job: JobDefinition, kwargs: Mapping[str, Any]) -> None: ...

    async def announce(self, event: str, payload: Mapping[str, Any]) -> None:
        """Hand a domain event to its subscribers (each a job)."""
        ...


AfterCommit = Callable[[], Awaitable[None]]
"""Work that must only happen once the request's transaction committed (e.g. a live event)."""


class JobQueue:
    """The request-scoped handle domains enqueue with; nothing leaves before the commit."""

    def __init__(self, runner: JobRunner) -> None:
        self._runner = runner
        self._pending: list[tuple[JobDefinition, dict[str, Any]]] = []
        self._announced: list[tuple[str, dict[str, Any]]] = []
        self._after_commit: list[AfterCommit] = []

    async def enqueue(self, job: JobDefinition, /, **kwargs: Any) -> None:
        self._pending.append((job, kwargs))

    def announce(self, event: str, payload: dict[str, Any]) -> None:
        """Hand `event` to its subscribers once the transaction committed (`EventBus.publish`)."""
        self._announced.append((event, payload))

    def after_commit(self, work: AfterCommit) -> None:
        """Run `work` in this process once the transaction committed; never after a rollback."""
        self._after_commit.append(work)

    async def flush(self) -> None:
        """Hand the pending jobs to the runner and run the after-commit work; called once the
        transaction committed."""
        pending, self._pending = self._pending, []
        announced, self._announced = self._announced, []
        after, self._after_commit = self._after_commit, []
        for work in after:
            await work()
        for job, kwargs in pending:
            await self._runner.submit(job, kwargs)
        for event, payload in announced:
            await self._runner.announce(event, payload)

    def discard(self) -> None:
        self._pending.clear()
        self._announced.clear()
        self._after_commit.clear()


current_job_queue: ContextVar[JobQueue | None] = ContextVar("current_job_queue", default=None)


def backoff_delay(job: JobDefinition, failed_attempt: int) -> float:
    """Seconds to wait after the `failed_attempt`-th failure (1-based), doubling each time."""
    return float(job.retry_delay_seconds * (2 ** (failed_attempt - 1)))


@dataclass
class InProcessJobRunner:
    """Runs jobs as tasks of this event loop, after the response, with timeouts and retries.

    A failed attempt is logged and never reaches the request that enqueued the job. Tests give
    the runner a `failures` list to also keep each failed attempt's error (with a note naming
    the job and attempt); `drain` and `raise_failures` then raise them, so a failing job fails
    the test that caused it instead of a later, puzzling assertion.
    """

    settings: Settings
    session_maker: Callable[[], AsyncSession]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], datetime] = system_clock
    failures: list[Exception] | None = None
    live: LiveEvents | None = None
    events: "EventBus | None" = None
    _tasks: set["asyncio.Task[None]"] = field(default_factory=set)
    _cron_tasks: set["asyncio.Task[None]"] = field(default_factory=set)

    @property
    def context(self) -> JobContext:
        return JobContext(
            self.settings, self.session_maker, self, self.clock, live=self.live, events=self.events
        )

    async def announce(self, event: str, payload: Mapping[str, Any]) -> None:
        if self.events is not None:
            for job in self.events.subscribers_of(event):
                await self.submit(job, payload)

    async def submit(self, job: JobDefinition, kwargs: Mapping[str, Any]) -> None:
        task = asyncio.create_task(self._run(job, dict(kwargs)), name=f"job:{job.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: JobDefinition, kwargs: dict[str, Any]) -> None:
        for attempt in range(1, job.attempts + 1):
            try:
                async with asyncio.timeout(job.timeout_seconds):
                    await job(self.context, **kwargs)
            except Exception as exc:  # a job's failure must never take the process down
                retrying = attempt < job.attempts
                if self.failures is not None:
                    exc.add_note(f"in background job {job.name}, attempt {attempt}/{job.attempts}")
                    self.failures.append(exc)
                logger.warning(
                    "job_failed",
                    job=job.name,
                    attempt=attempt,
                    retrying=retrying,
                    error=type(exc).__name__,
                    exc_info=not retrying,
                )
                if not retrying:
                    return
                await self.sleep(backoff_delay(job, attempt))
            else:
                logger.info("job_done", job=job.name, attempt=attempt)
                return

    async def drain(self) -> None:
        """Wait until every submitted job (and the jobs they submit) has finished, then raise
        the failures recorded meanwhile (see `raise_failures`)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self.raise_failures()

    def raise_failures(self) -> None:
        """Raise the recorded failed attempts as one `ExceptionGroup`, and forget them."""
        if self.failures:
            failures = list(self.failures)
            self.failures.clear()
            msg = f"{len(failures)} background job attempt(s) failed"
            raise ExceptionGroup(msg, failures)

    def start_cron(self, schedules: Sequence[CronSchedule]) -> None:
        for schedule in schedules:
            task = asyncio.create_task(self._cron_loop(schedule), name=f"cron:{schedule.job.name}")
            self._cron_tasks.add(task)

    async def _cron_loop(self, schedule: CronSchedule) -> None:
        times = croniter(schedule.cron, datetime.now(UTC))
        while True:
            next_run: datetime = times.get_next(datetime)
            await self.sleep(max(0.0, (next_run - datetime.now(UTC)).total_seconds()))
            await self.submit(schedule.job, {})

    async def shutdown(self) -> None:
        """Stop cron loops and give running jobs `SELFLINK_SHUTDOWN_GRACE_SECONDS` to finish."""
        for task in self._cron_tasks:
            task.cancel()
        await asyncio.gather(*self._cron_tasks, return_exceptions=True)
        self._cron_tasks.clear()
        if self._tasks:
            grace = self.settings.shutdown_grace_seconds
            _, still_running = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in still_running:
                task.cancel()


ENQUEUE_RETRY_SECONDS = 1.0
ENQUEUE_BUFFER_LIMIT = 10_000


class SaqJobRunner:
    """Enqueues onto a SAQ queue and appends events to the event stream; the worker applies
    each job's own timeout and attempts.

    Jobs carry a heartbeat: a worker touches its running job (see `saq_task`), so a job whose
    worker died is retried by another one after `SELFLINK_JOB_HEARTBEAT_SECONDS` instead of
    after its whole timeout. While Redis is unreachable, committed jobs and events wait in this
    process and are handed over once it answers again (oldest first), so a request that
    succeeded never loses its work to an outage that this process outlives.
    """

    def __init__(self, queue: Any, heartbeat_seconds: int, stream: "EventStream") -> None:
        self._queue = queue
        self._heartbeat_seconds = heartbeat_seconds
        self._stream = stream
        self._waiting: deque[tuple[str, Callable[[], Awaitable[None]]]] = deque()
        self._retrying: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        try:
            await self._queue.connect()
        except (RedisError, OSError) as exc:  # serve anyway; jobs wait until Redis is back
            logger.warning("job_queue_unreachable", error=type(exc).__name__)

    async def disconnect(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            await asyncio.gather(self._retrying, return_exceptions=True)
            await self._hand_over_waiting()
        if self._waiting:
            logger.error("jobs_not_enqueued", jobs=[name for name, _ in self._waiting])
        try:
            await self._queue.disconnect()
        except Exception as exc:  # Redis already gone at shutdown: nothing left to release
            logger.warning("job_queue_disconnect_failed", error=type(exc).__name__)

    @property
    def waiting(self) -> int:
        """Jobs and events committed but not yet handed to Redis."""
        return len(self._waiting)

    async def submit(self, job: JobDefinition, kwargs: Mapping[str, Any]) -> None:
        arguments = dict(kwargs)
        await self._hand_over(job.name, lambda: self._enqueue(job, arguments))

    async def announce(self, event: str, payload: Mapping[str, Any]) -> None:
        arguments = dict(payload)
        await self._hand_over(event, lambda: self._stream.append(event, arguments))

    async def retry(self, job: JobDefinition, kwargs: Mapping[str, Any]) -> None:
        """Enqueue a subscriber whose first attempt (from the event stream) failed, with the
        attempts it has left, after the first back-off; raises if Redis cannot take it."""
        await self._enqueue(
            job,
            kwargs,
            attempts=job.attempts - 1,
            scheduled=math.ceil(time.time() + backoff_delay(job, 1)),
        )

    async def _hand_over(self, name: str, send: Callable[[], Awaitable[None]]) -> None:
        if self._waiting:  # keep the order: behind the work already waiting
            self._wait(name, send)
            return
        try:
            await send()
        except (RedisError, OSError) as exc:
            logger.warning("job_enqueue_deferred", job=name, error=type(exc).__name__)
            self._wait(name, send)

    async def _enqueue(
        self, job: JobDefinition, kwargs: Mapping[str, Any], attempts: int = 0, scheduled: int = 0
    ) -> None:
        await self._queue.enqueue(
            job.name,
            timeout=math.ceil(job.timeout_seconds),
            heartbeat=self._heartbeat_seconds,
            retries=attempts or job.attempts,
            retry_delay=job.retry_delay_seconds,
            retry_backoff=True,
            scheduled=scheduled,
            **kwargs,
        )

    def _wait(self, name: str, send: Callable[[], Awaitable[None]]) -> None:
        if len(self._waiting) >= ENQUEUE_BUFFER_LIMIT:
            dropped, _ = self._waiting.popleft()
            logger.error("job_dropped", job=dropped, reason="enqueue buffer full")
        self._waiting.append((name, send))
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.create_task(self._retry_waiting(), name="jobs:enqueue-retry")

    async def _retry_waiting(self) -> None:
        while self._waiting:
            await asyncio.sleep(ENQUEUE_RETRY_SECONDS)
            await self._hand_over_waiting()

    async def _hand_over_waiting(self) -> None:
        while self._waiting:
            name, send = self._waiting[0]
            try:
                await send()
            except (RedisError, OSError):
                return
            self._waiting.popleft()
            logger.info("job_enqueued_late", job=name)


class ApiProcessOnlyEnqueues(InitPluginProtocol):
    """Keeps SAQ workers out of API processes, which only enqueue.

    The SAQ plugin attaches each worker's start-up hooks to the web app, starting a heartbeat
    thread in every API process for workers that only run under `selflink-api workers run`.
    Listed after the SAQ plugin, this removes those hooks again.
    """

    def __init__(self, saq: SAQPlugin) -> None:
        self.saq = saq

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        workers = self.saq.get_workers().values()
        worker_hooks = [w.on_app_startup for w in workers] + [w.on_app_shutdown for w in workers]
        app_config.on_startup = [h for h in app_config.on_startup if h not in worker_hooks]
        app_config.on_shutdown = [h for h in app_config.on_shutdown if h not in worker_hooks]
        return app_config


SAQ_CONTEXT_KEY = "selflink"


def saq_task(job: JobDefinition) -> tuple[str, Callable[..., Awaitable[Any]]]:
    """Adapt a job to SAQ's `fn(ctx, **kwargs)` calling convention, under the job's name;
    while it runs, the job is touched every third of its heartbeat (see `SaqJobRunner`)."""

    async def run(saq_context: dict[str, Any], **kwargs: Any) -> Any:
        saq_job = saq_context.get("job")
        beating = asyncio.create_task(_heartbeat(saq_job)) if saq_job is not None else None
        try:
            return await job(saq_context[SAQ_CONTEXT_KEY], **kwargs)
        finally:
            if beating is not None:
                beating.cancel()
                await asyncio.gather(beating, return_exceptions=True)

    run.__qualname__ = run.__name__ = job.name
    return job.name, run


async def _heartbeat(saq_job: Any) -> None:
    """Touch a running SAQ job so the sweep knows its worker is alive."""
    if not saq_job.heartbeat:
        return
    while True:
        await asyncio.sleep(saq_job.heartbeat / 3)
        try:
            await saq_job.update()
        except (RedisError, OSError) as exc:  # Redis away for a moment: try again next beat
            logger.warning("job_heartbeat_failed", job=saq_job.function, error=type(exc).__name__)
