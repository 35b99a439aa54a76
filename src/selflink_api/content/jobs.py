"""Content jobs: removing a deleted person's content, proving the counts never drift, and the
work on media files (thumbnails, removal, the sweep of forgotten uploads)."""

from uuid import UUID

import structlog

from selflink_api.content.media import media_backend
from selflink_api.content.media_services import (
    make_thumbnails_for,
    media_to_sweep,
    remove_media_files,
)
from selflink_api.content.services import forget_user_content, reconcile_counts
from selflink_api.platform.jobs import CronSchedule, JobContext, background_job

logger = structlog.get_logger("selflink.content")


@background_job("content.remove_media", timeout_seconds=300)
async def remove_media(context: JobContext, media_ids: list[str]) -> int:
    """Delete the files of removed media, then their rows (enqueued when a post or an account
    is deleted); returns how many went."""
    async with context.session() as session:
        return await remove_media_files(
            session, media_backend(context.settings), [UUID(i) for i in media_ids]
        )


@background_job("content.forget_user", timeout_seconds=300)
async def forget_user(context: JobContext, user_id: str) -> None:
    """Remove a deleted person's posts, comments, likes and media (subscribed to
    `account.deleted`); the media files go in `content.remove_media`."""
    async with context.session() as session:
        media_ids = await forget_user_content(session, UUID(user_id))
    if media_ids:
        await context.queue.submit(remove_media, {"media_ids": [str(i) for i in media_ids]})


@background_job("content.make_thumbnails", timeout_seconds=120)
async def make_thumbnails(context: JobContext, media_id: str) -> bool:
    """Store the 320 and 1080 px thumbnails of an uploaded image."""
    async with context.session() as session:
        return await make_thumbnails_for(session, media_backend(context.settings), UUID(media_id))


@background_job("content.sweep_media", timeout_seconds=600, attempts=2)
async def sweep_media(context: JobContext) -> int:
    """Remove uploads no post took within a day, and finish removals that failed; returns
    how many media went."""
    async with context.session() as session:
        swept = await media_to_sweep(session, context.clock())
        return await remove_media_files(session, media_backend(context.settings), swept)


@background_job("content.reconcile_counts", timeout_seconds=900, attempts=2)
async def reconcile(context: JobContext) -> dict[str, int]:
    """Recount likes and comments; a drift is logged as an error (it means a bug) and repaired.
    Returns the rows repaired per `table.column`."""
    async with context.session() as session:
        drifts = await reconcile_counts(session)
    for drift in drifts:
        logger.error("content_count_drift", table=drift.table, column=drift.column, rows=drift.rows)
    return {f"{d.table}.{d.column}": d.rows for d in drifts}


JOBS = (forget_user, reconcile, make_thumbnails, remove_media)
SCHEDULES = (CronSchedule(reconcile, "41 3 * * *"), CronSchedule(sweep_media, "23 * * * *"))
