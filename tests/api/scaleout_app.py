"""SelfLink plus a probe domain, served by `selflink-api run` and `workers run` in the
scale-out tests (LITESTAR_APP=tests.api.scaleout_app:create_app).

The probe's jobs write to two tables the test creates (`probe_runs`: every start of a job, with
the process that ran it; `probe_effects`: a job's effect, once per key), so a test can tell how
often a job ran, where, and whether its effect happened once. `POST /api/v1/probe/events`
publishes `probe.happened`, to which the same job subscribes (through the event stream).
`GET /api/v1/probe/slow` is a request that takes its time, for graceful shutdown.
"""

import asyncio
import os
from typing import Any

from litestar import Controller, Litestar, Request, get, post
from litestar.params import FromQuery
from sqlalchemy import text

from selflink_api.app import create_app as create_selflink_app
from selflink_api.domains import DOMAINS
from selflink_api.platform.domains import Domain
from selflink_api.platform.jobs import CronSchedule, JobContext, JobQueue, background_job
from selflink_api.settings import load_settings

HAPPENED = "probe.happened"
PROBE_TABLES = (
    "CREATE TABLE probe_runs (job text NOT NULL, key text, pid integer NOT NULL, "
    "at timestamptz NOT NULL DEFAULT clock_timestamp())",
    "CREATE TABLE probe_effects (key text PRIMARY KEY, pid integer NOT NULL)",
)


async def _started(context: JobContext, job: str, key: str | None) -> None:
    async with context.session() as session:
        await session.execute(
            text("INSERT INTO probe_runs (job, key, pid) VALUES (:job, :key, :pid)"),
            {"job": job, "key": key, "pid": os.getpid()},
        )


@background_job("probe.record", timeout_seconds=60, attempts=3, retry_delay_seconds=0.1)
async def record(context: JobContext, name: str, seconds: float = 0.0) -> None:
    """Start, take `seconds`, then have its effect: once per name, however often it runs.
    (Not `key`: SAQ takes that argument as the job's own key.)"""
    await _started(context, "record", name)
    await asyncio.sleep(seconds)
    async with context.session() as session:
        await session.execute(
            text("INSERT INTO probe_effects (key, pid) VALUES (:key, :pid) ON CONFLICT DO NOTHING"),
            {"key": name, "pid": os.getpid()},
        )


@background_job("probe.tick", timeout_seconds=30, attempts=1)
async def tick(context: JobContext) -> None:
    await _started(context, "tick", None)


class ProbeController(Controller):
    path = "/probe"

    @post("/jobs", status_code=202, opt={"anonymous_allowed": True})
    async def enqueue(
        self, jobs: JobQueue, name: FromQuery[str], seconds: FromQuery[float] = 0.0
    ) -> None:
        await jobs.enqueue(record, name=name, seconds=seconds)

    @post("/events", status_code=202, opt={"anonymous_allowed": True})
    async def publish(
        self,
        request: Request[Any, Any, Any],
        jobs: JobQueue,
        name: FromQuery[str],
        seconds: FromQuery[float] = 0.0,
    ) -> None:
        events = request.app.state.shared.events
        await events.publish(jobs, HAPPENED, name=name, seconds=seconds)

    @get("/slow", opt={"anonymous_allowed": True})
    async def slow(self, seconds: FromQuery[float]) -> dict[str, float]:
        await asyncio.sleep(seconds)
        return {"slept": seconds}


PROBE = Domain(
    name="probe",
    controllers=(ProbeController,),
    jobs=(record,),
    schedules=(CronSchedule(tick, "* * * * * */2"),),  # every 2 seconds
    subscriptions={HAPPENED: (record,)},
)


def create_app() -> Litestar:
    return create_selflink_app(load_settings(), (*DOMAINS, PROBE))
