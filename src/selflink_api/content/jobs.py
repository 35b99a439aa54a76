"""Content jobs: removing a deleted person's content, and proving the counts never drift."""

from uuid import UUID

import structlog

from selflink_api.content.services import forget_user_content, reconcile_counts
from selflink_api.platform.jobs import CronSchedule, JobContext, background_job

logger = structlog.get_logger("selflink.content")


@background_job("content.forget_user", timeout_seconds=300)
async def forget_user(context: JobContext, user_id: str) -> None:
    """Remove a deleted person's posts, comments and likes (subscribed to `account.deleted`)."""
    async with context.session() as session:
        await forget_user_content(session, UUID(user_id))


@background_job("content.reconcile_counts", timeout_seconds=900, attempts=2)
async def reconcile(context: JobContext) -> dict[str, int]:
    """Recount likes and comments; a drift is logged as an error (it means a bug) and repaired.
    Returns the rows repaired per `table.column`."""
    async with context.session() as session:
        drifts = await reconcile_counts(session)
    for drift in drifts:
        logger.error("content_count_drift", table=drift.table, column=drift.column, rows=drift.rows)
    return {f"{d.table}.{d.column}": d.rows for d in drifts}


JOBS = (forget_user, reconcile)
SCHEDULES = (CronSchedule(reconcile, "41 3 * * *"),)
