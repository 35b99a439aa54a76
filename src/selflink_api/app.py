"""The application factory: every plugin, middleware and domain is wired here and only here."""

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

import anyio
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from jinja2 import Environment, PackageLoader, PrefixLoader, StrictUndefined
from litestar import Litestar, Router
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.plugins.prometheus import PrometheusConfig
from litestar.plugins.structlog import StructlogPlugin
from litestar.stores.base import Store
from litestar.stores.registry import StoreRegistry
from litestar.template import TemplateConfig
from litestar.types import Receive, Scope, Send
from litestar_saq import CronJob, QueueConfig, SAQConfig, SAQPlugin
from redis.asyncio import Redis

from selflink_api.accounts.auth import ANONYMOUS_ALLOWED, build_jwt_auth
from selflink_api.domains import DOMAINS
from selflink_api.platform import jobs as jobs_platform
from selflink_api.platform.crypto import build_cipher
from selflink_api.platform.database import build_sqlalchemy_config, upgrade_schema
from selflink_api.platform.dependencies import SequentialDependencies
from selflink_api.platform.domains import (
    ClosingToolkit,
    Domain,
    all_jobs,
    all_schedules,
    api_controllers,
    build_shared,
    build_toolkits,
    root_controllers,
    template_packages,
)
from selflink_api.platform.event_stream import EventConsumer, EventStream, stream_key
from selflink_api.platform.events import EventBus
from selflink_api.platform.http import (
    RequestSessions,
    audited_reads_write_first,
    client_ip,
    serve_with_request_context,
)
from selflink_api.platform.jobs import (
    SAQ_CONTEXT_KEY,
    ApiProcessOnlyEnqueues,
    CronSchedule,
    InProcessJobRunner,
    JobContext,
    JobQueue,
    JobRunner,
    SaqJobRunner,
    saq_task,
)
from selflink_api.platform.logging import build_structlog_config
from selflink_api.platform.openapi import ApiContract, ClosedStructSchemas, build_openapi_config
from selflink_api.platform.pagination import provide_page_request
from selflink_api.platform.problems import EXCEPTION_HANDLERS
from selflink_api.platform.ratelimit import AttemptLimiter, RequestRateLimitConfig, WindowCounter
from selflink_api.platform.realtime import (
    LiveBackend,
    PubSubLiveEvents,
    Realtime,
    live_channel,
)
from selflink_api.platform.requests import RequestInputGuard
from selflink_api.platform.runtime import lower_priority, settle_garbage_collector
from selflink_api.platform.security import requires_admin
from selflink_api.platform.stores import shared_store
from selflink_api.settings import Settings, load_settings

if TYPE_CHECKING:
    from saq.queue.redis import RedisQueue
    from saq.types import PartialTimersDict

API_VERSION_PREFIX = "/api/v1"
OPERATOR_PATHS = ["/health", "/ready", "/metrics", "/schema"]
REDIS_CONNECT_TIMEOUT_SECONDS = 2.0
"""A Redis that does not answer fails a request's Redis call quickly instead of hanging it."""


def create_app(settings: Settings | None = None, domains: Sequence[Domain] = DOMAINS) -> Litestar:
    """Build the SelfLink API; `settings` defaults to the environment (and `.env`). Tests may
    add `domains` (a probe job for the scale-out tests); production serves `DOMAINS`."""
    settings = settings or load_settings()
    database = build_sqlalchemy_config(settings)
    request_sessions = RequestSessions(database.session_scope_key)
    database.before_send_handler = request_sessions.before_send
    redis = (
        Redis.from_url(settings.redis_url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS)
        if settings.redis_url
        else None
    )
    channels = ChannelsPlugin(
        backend=LiveBackend(redis=redis) if redis else MemoryChannelsBackend(),
        arbitrary_channels_allowed=True,
    )
    shared = build_shared(
        domains,
        settings=settings,
        cipher=build_cipher(settings),
        limiter=AttemptLimiter(redis),
        redis=redis,
        realtime=Realtime(channels, redis, live_channel(settings.job_queue_name)),
    )
    toolkits = build_toolkits(domains, shared)
    jwt_auth = build_jwt_auth(
        settings,
        database.create_session_maker(),
        lambda connection: database.provide_session(connection.app.state, connection.scope),
    )
    plugins: list[Any] = [
        SQLAlchemyPlugin(config=database),
        StructlogPlugin(config=build_structlog_config(settings)),
        channels,
    ]
    runner: JobRunner
    if redis is not None:
        saq = SAQPlugin(config=_saq_config(settings, database, domains, redis, shared.events))
        plugins.extend([saq, ApiProcessOnlyEnqueues(saq)])
        queue = cast("RedisQueue", saq.get_queue(settings.job_queue_name))
        runner = SaqJobRunner(
            queue,
            settings.job_heartbeat_seconds,
            EventStream(queue.redis, stream_key(settings.job_queue_name)),
        )
    else:
        runner = InProcessJobRunner(
            settings, database.create_session_maker(), live=shared.realtime, events=shared.events
        )
    prometheus = PrometheusConfig(app_name="selflink", prefix="selflink", group_path=True)
    rate_limit = RequestRateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        identifier_for_request=client_ip,
        exclude=OPERATOR_PATHS,
        counter=WindowCounter(redis),
    )
    plugins += [
        ApiContract(jwt_auth, rate_limit, anonymous_opt_key=ANONYMOUS_ALLOWED),
        ClosedStructSchemas(),
        SequentialDependencies(),
    ]
    return SelflinkApp(
        route_handlers=[
            *root_controllers(domains),
            ApiRouter(API_VERSION_PREFIX, route_handlers=list(api_controllers(domains))),
        ],
        plugins=plugins,
        middleware=[
            prometheus.middleware,
            rate_limit.middleware,
            RequestInputGuard(),
        ],
        dependencies={
            "jobs": Provide(provide_job_queue, sync_to_thread=False),
            "page": Provide(provide_page_request, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        stores=StoreRegistry(default_factory=_store_factory(redis)),
        openapi_config=build_openapi_config(),
        cors_config=CORSConfig(allow_origins=list(settings.cors_allow_origins))
        if settings.cors_allow_origins
        else None,
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(templates(domains))
        ),
        request_max_body_size=settings.max_request_body_bytes,
        lifespan=[
            _lifespan(
                settings, database, runner, redis, toolkits, shared.realtime, all_schedules(domains)
            )
        ],
        on_app_init=[jwt_auth.on_app_init, audited_reads_write_first],
        state=State(
            {
                "settings": settings,
                "shared": shared,
                "job_runner": runner,
                "request_sessions": request_sessions,
                "redis": redis,
                "session_maker": database.create_session_maker(),
                **toolkits,
            }
        ),
        debug=settings.debug,
    )


class ApiRouter(Router):
    """The `/api/v1` router, built afresh for each app. Litestar deep-copies a router it
    registers, in case another app shares it; this one is never shared, and copying its 280
    handlers took about a quarter of building an app (which every API test does)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> "ApiRouter":
        return self


class SelflinkApp(Litestar):
    """Litestar, with every HTTP request served inside SelfLink's request context."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        await serve_with_request_context(
            super().__call__,
            scope,
            receive,
            send,
            trusted_proxies=self.state.settings.trusted_proxies,
            job_runner=self.state.job_runner,
            request_sessions=self.state.request_sessions,
        )


def templates(domains: Sequence[Domain] = DOMAINS) -> Environment:
    """Every domain's templates as `<domain>/<file>`; escaped, and a missing value is an error."""
    loaders = {name: PackageLoader(package) for name, package in template_packages(domains).items()}
    return Environment(
        loader=PrefixLoader(loaders), autoescape=True, undefined=StrictUndefined, auto_reload=False
    )


def provide_job_queue() -> JobQueue:
    queue = jobs_platform.current_job_queue.get()
    if queue is None:  # only reachable outside HTTP requests, which have no handlers to call
        msg = "jobs can only be enqueued from a request"
        raise RuntimeError(msg)
    return queue


def _store_factory(redis: Redis | None) -> Any:
    def factory(name: str) -> Store:
        return shared_store(redis, name)

    return factory


def _lifespan(
    settings: Settings,
    database: SQLAlchemyAsyncConfig,
    runner: JobRunner,
    redis: Redis | None,
    toolkits: dict[str, object],
    realtime: Realtime,
    schedules: Sequence[CronSchedule],
) -> Any:
    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        if settings.should_migrate_on_startup:
            await anyio.to_thread.run_sync(upgrade_schema, database)
        if isinstance(runner, InProcessJobRunner) and settings.should_run_schedules:
            runner.start_cron(schedules)
        if isinstance(runner, SaqJobRunner):
            await runner.connect()
        await realtime.listen()
        settle_garbage_collector()
        try:
            yield
        finally:
            await realtime.stop_listening()
            for toolkit in toolkits.values():
                if isinstance(toolkit, ClosingToolkit):
                    await toolkit.aclose()
            if isinstance(runner, InProcessJobRunner):
                await runner.shutdown()
            if isinstance(runner, SaqJobRunner):
                await runner.disconnect()
            if redis is not None:
                await redis.aclose()

    return lifespan


def _saq_config(
    settings: Settings,
    database: SQLAlchemyAsyncConfig,
    domains: Sequence[Domain],
    redis: Redis,
    events: EventBus,
) -> SAQConfig:
    """SAQ on Redis: the same job functions, run by `selflink-api workers run`.

    A worker sweeps for jobs whose worker died every heartbeat, and on SIGTERM lets running
    jobs finish for `SELFLINK_SHUTDOWN_GRACE_SECONDS` before cancelling them.
    """
    heartbeat = settings.job_heartbeat_seconds

    async def provide_job_context(saq_context: dict[str, Any]) -> None:
        """Each worker's job context, and its reader of the event stream, which the worker
        stops (and waits for, like its jobs) when it stops."""
        settle_garbage_collector()
        lower_priority(settings.worker_niceness)
        worker = saq_context["worker"]
        stream = EventStream(worker.queue.redis, stream_key(settings.job_queue_name))
        runner = SaqJobRunner(worker.queue, heartbeat, stream)
        context = JobContext(
            settings,
            database.create_session_maker(),
            runner,
            live=PubSubLiveEvents(redis, live_channel(settings.job_queue_name)),
            events=events,
        )
        saq_context[SAQ_CONTEXT_KEY] = context
        consumer = EventConsumer(
            stream,
            events,
            context,
            runner,
            concurrency=settings.worker_concurrency,
            heartbeat_seconds=heartbeat,
            stopping=worker.event,
            gather_ms=settings.event_gather_ms,
        )
        worker.tasks.add(asyncio.create_task(consumer.run(), name="events:consume"))

    return SAQConfig(
        queue_configs=[
            QueueConfig(
                dsn=settings.redis_url,
                name=settings.job_queue_name,
                tasks=[saq_task(job) for job in all_jobs(domains)],
                scheduled_tasks=[
                    CronJob(
                        function=saq_task(schedule.job)[1],
                        cron=schedule.cron,
                        timeout=math.ceil(schedule.job.timeout_seconds),
                        heartbeat=heartbeat,
                        retries=schedule.job.attempts,
                    )
                    for schedule in all_schedules(domains)
                ],
                startup=[provide_job_context],  # type: ignore[list-item]
                concurrency=settings.worker_concurrency,
                # SAQ's PartialTimersDict inherits its parent's required keys: cast, not built.
                timers=cast("PartialTimersDict", {"sweep": heartbeat}),
                shutdown_grace_period_s=settings.shutdown_grace_seconds,
            )
        ],
        web_enabled=True,
        web_path="/saq",
        web_guards=[requires_admin],
        use_server_lifespan=False,
    )
