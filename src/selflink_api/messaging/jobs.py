"""Messaging jobs: groups nobody is in any more go, and so does what a deleted person left."""

from uuid import UUID

from selflink_api.messaging.services import tidy_groups
from selflink_api.platform.jobs import CronSchedule, JobContext, background_job


@background_job("messaging.remove_empty_thread")
async def remove_empty_thread(context: JobContext, thread_id: str) -> int:
    """Delete a group its last member left (if still nobody is in it); returns 1 or 0."""
    async with context.session() as session:
        return await tidy_groups(session, [UUID(thread_id)])


@background_job("messaging.tidy_groups", timeout_seconds=600, attempts=2)
async def tidy(context: JobContext, user_id: str | None = None) -> int:
    """Delete every empty group and give headless groups an admin (after an account
    deletion, and daily); returns how many groups went."""
    del user_id  # the deletion's own memberships are already gone; every group is checked
    async with context.session() as session:
        return await tidy_groups(session)


JOBS = (remove_empty_thread, tidy)
SCHEDULES = (CronSchedule(tidy, "17 4 * * *"),)
