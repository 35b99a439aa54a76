"""System jobs: a heartbeat that shows whether background work really runs."""

from datetime import UTC, datetime

from sqlalchemy import select

from selflink_api.platform.jobs import CronSchedule, JobContext, background_job
from selflink_api.system.models import WorkerHeartbeat


@background_job("system.heartbeat", timeout_seconds=30, attempts=1)
async def heartbeat(context: JobContext, runner: str = "scheduled") -> None:
    """Record that `runner` executed a job; `/ready` reports the age of the last beat."""
    async with context.session() as session:
        row = await session.scalar(select(WorkerHeartbeat).where(WorkerHeartbeat.runner == runner))
        if row is None:
            row = WorkerHeartbeat(runner=runner, beat_at=datetime.now(UTC), beats=0)
            session.add(row)
        row.beat_at = datetime.now(UTC)
        row.beats += 1


JOBS = (heartbeat,)
SCHEDULES = (CronSchedule(heartbeat, "* * * * *"),)
