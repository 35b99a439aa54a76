"""Feed jobs: forgetting for-you rankings nobody can page through any more."""

from selflink_api.feed.services import forget_expired_snapshots
from selflink_api.platform.jobs import CronSchedule, JobContext, background_job


@background_job("feed.forget_expired_snapshots", timeout_seconds=300, attempts=2)
async def forget_snapshots(context: JobContext) -> int:
    """Delete expired for-you snapshots; returns how many."""
    async with context.session() as session:
        return await forget_expired_snapshots(session, context.clock())


JOBS = (forget_snapshots,)
SCHEDULES = (CronSchedule(forget_snapshots, "17 * * * *"),)
