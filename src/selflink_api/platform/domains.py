"""How a domain declares itself: one `Domain` per package, read by every entry point.

`selflink_api.domains.DOMAINS` lists them in order. The app factory takes controllers, jobs,
schedules, event subscriptions and toolkits from there; the migration environment takes
models; `pii rotate-key` takes encrypted stores; the account
export and deletion take their per-domain parts. Nothing here names a domain: the platform
serves them all without knowing any.

A domain's operator commands are not declared here but in its own `commands` module, as
`COMMANDS`: `selflink-api` lists and runs them without importing the domain's models,
controllers or this module (see `selflink_api.platform.commands`).
"""

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from litestar import Controller
from litestar.stores.base import Store
from redis.asyncio import Redis
from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.platform.crypto import EncryptedStore, PersonalDataCipher
from selflink_api.platform.events import EventBus
from selflink_api.platform.jobs import CronSchedule, JobDefinition
from selflink_api.platform.ratelimit import AttemptLimiter
from selflink_api.platform.realtime import Realtime, RealtimeState
from selflink_api.platform.stores import shared_store
from selflink_api.settings import Settings

ExportSection = Callable[[AsyncSession, PersonalDataCipher, UUID], Awaitable[Any]]
"""A domain's part of `GET /users/me/export`: JSON-ready data about one person."""

Eraser = Callable[[AsyncSession, UUID], Awaitable[None]]
"""Removes what must vanish inside the account-deletion transaction itself (what may wait
for a job subscribes to `account.deleted` instead)."""


@dataclass(frozen=True)
class AccountPart:
    """A domain's part of a person's own account (`GET /users/me`), read in the account's own
    statement, so the page costs one round trip to the database, not one per domain.

    `extend(statement, user_id)` adds the part's columns (and any outer join they need) to the
    account's SELECT, whose `user_id` is the account's id column; each column's label starts
    with the domain's name, so parts never collide (the account refuses to start otherwise),
    and a join must keep the account at one row. `shape(settings, row, now)` turns those
    columns of the row into the part's JSON-ready value."""

    extend: Callable[[Select[*tuple[Any, ...]], ColumnElement[UUID]], Select[*tuple[Any, ...]]]
    shape: Callable[[Settings, Any, datetime], Mapping[str, Any]]


@runtime_checkable
class ClosingToolkit(Protocol):
    """A toolkit holding connections or tasks: the app awaits `aclose()` when it stops."""

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Shared:
    """The long-lived pieces every domain's toolkit is built from, once per app."""

    settings: Settings
    cipher: PersonalDataCipher
    limiter: AttemptLimiter
    events: EventBus
    redis: Redis | None
    realtime: Realtime
    realtime_state: RealtimeState
    export_sections: Mapping[str, ExportSection]
    erasers: tuple[Eraser, ...]
    counts: tuple[AccountPart, ...]
    plan: AccountPart | None = None

    def store(self, name: str) -> Store:
        """A store every API process shares when Redis is configured (see platform/stores.py);
        call it once, when building a toolkit."""
        return shared_store(self.redis, name)


@dataclass(frozen=True)
class Domain:
    """Everything the platform needs to know about one domain package.

    `jobs` lists the jobs a domain enqueues directly; scheduled and subscribed jobs are
    registered from `schedules` and `subscriptions` as well, so no job can be forgotten by the
    Redis workers. `controllers` are served under `/api/v1`; `root_controllers` at the root,
    for operators (`/health`) and pages people read (`/transparency`). `templates` says the
    package has a `templates/` folder, whose Jinja files handlers name `<domain>/<file>`.
    `toolkit` builds the domain's long-lived helpers, kept on the
    app's state under the domain's name. `migration_only` names what the domain's migrations
    build that no model can declare (generated columns as `table.column`, indexes, tables such
    as SQLite's full-text ones); the migrations-vs-models comparison skips exactly these.
    """

    name: str
    models: tuple[ModuleType, ...] = ()
    controllers: tuple[type[Controller], ...] = ()
    root_controllers: tuple[type[Controller], ...] = ()
    jobs: tuple[JobDefinition, ...] = ()
    schedules: tuple[CronSchedule, ...] = ()
    subscriptions: Mapping[str, tuple[JobDefinition, ...]] = field(default_factory=dict)
    export: ExportSection | None = None
    erase: Eraser | None = None
    counts: AccountPart | None = None
    """Numbers shown on a person's own account (e.g. followers), by name."""
    plan: AccountPart | None = None
    """The plan a person is on now: `plan`, `tier`, `status`, `current_period_end`,
    `cancel_at_period_end` and `entitlements` (name → number). Declared by the billing domain,
    so accounts show it without importing billing; at most one domain declares it, and
    without one the account shows no plan."""
    encrypted_stores: tuple[EncryptedStore[Any], ...] = ()
    toolkit: Callable[[Shared], object] | None = None
    templates: bool = False
    migration_only: frozenset[str] = frozenset()


def all_jobs(domains: Iterable[Domain]) -> tuple[JobDefinition, ...]:
    """Every job of every domain, each once, refusing two jobs that share a name."""
    found: dict[str, JobDefinition] = {}
    for domain in domains:
        subscribed = [job for jobs in domain.subscriptions.values() for job in jobs]
        scheduled = [schedule.job for schedule in domain.schedules]
        for job in (*domain.jobs, *scheduled, *subscribed):
            if found.setdefault(job.name, job) is not job:
                msg = f"two jobs are named {job.name!r}"
                raise ValueError(msg)
    return tuple(found.values())


def all_schedules(domains: Iterable[Domain]) -> tuple[CronSchedule, ...]:
    return tuple(schedule for domain in domains for schedule in domain.schedules)


def all_subscriptions(domains: Iterable[Domain]) -> dict[str, tuple[JobDefinition, ...]]:
    """Each event's subscribers, in domain order."""
    merged: dict[str, tuple[JobDefinition, ...]] = {}
    for domain in domains:
        for event, jobs in domain.subscriptions.items():
            merged[event] = (*merged.get(event, ()), *jobs)
    return merged


def api_controllers(domains: Iterable[Domain]) -> tuple[type[Controller], ...]:
    return tuple(controller for domain in domains for controller in domain.controllers)


def root_controllers(domains: Iterable[Domain]) -> tuple[type[Controller], ...]:
    return tuple(controller for domain in domains for controller in domain.root_controllers)


def template_packages(domains: Iterable[Domain]) -> dict[str, str]:
    """Each domain with templates: its name, the prefix of its template names, and package."""
    return {d.name: f"selflink_api.{d.name}" for d in domains if d.templates}


def all_encrypted_stores(domains: Iterable[Domain]) -> tuple[EncryptedStore[Any], ...]:
    return tuple(store for domain in domains for store in domain.encrypted_stores)


def build_shared(
    domains: Iterable[Domain],
    *,
    settings: Settings,
    cipher: PersonalDataCipher,
    limiter: AttemptLimiter,
    redis: Redis | None,
    realtime: Realtime,
) -> Shared:
    domains = tuple(domains)
    plans = [d.plan for d in domains if d.plan is not None]
    if len(plans) > 1:
        msg = "more than one domain declares the account's plan"
        raise ValueError(msg)
    return Shared(
        settings=settings,
        cipher=cipher,
        limiter=limiter,
        events=EventBus(all_subscriptions(domains)),
        redis=redis,
        realtime=realtime,
        realtime_state=RealtimeState(redis),
        export_sections={d.name: d.export for d in domains if d.export is not None},
        erasers=tuple(d.erase for d in domains if d.erase is not None),
        counts=tuple(d.counts for d in domains if d.counts is not None),
        plan=plans[0] if plans else None,
    )


def build_toolkits(domains: Iterable[Domain], shared: Shared) -> dict[str, object]:
    """Each domain's toolkit, by domain name, for the app's state."""
    return {d.name: d.toolkit(shared) for d in domains if d.toolkit is not None}
