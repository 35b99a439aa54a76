"""Matching jobs: computing a person's features when their preferences or birth data change,
forgetting a deleted person, and recomputing stale features in batches."""

from uuid import UUID

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.birth import ephemeris_source
from selflink_api.matching.services import FeatureStore
from selflink_api.platform.crypto import build_cipher
from selflink_api.platform.events import MATCH_FEATURES_READY
from selflink_api.platform.jobs import CronSchedule, JobContext, background_job

logger = structlog.get_logger("selflink.matching")

STALE_BATCH_SIZE = 200
STALE_BATCHES_AT_ONCE = 3


def _store(context: JobContext, session: AsyncSession) -> FeatureStore:
    settings = context.settings
    return FeatureStore(session, build_cipher(settings), ephemeris_source(settings))


@background_job("matching.refresh_features", timeout_seconds=60)
async def refresh_features(context: JobContext, user_id: str) -> None:
    """Recompute one person's features (after PATCH /matching/preferences; subscribed to
    `birth_data.changed`)."""
    async with context.session() as session:
        await _store(context, session).refresh([UUID(user_id)])
    await context.publish(MATCH_FEATURES_READY, user_id=user_id)


@background_job("matching.forget_user", timeout_seconds=60)
async def forget_user(context: JobContext, user_id: str) -> None:
    """Delete a person's matching preferences and features (subscribed to `account.deleted`)."""
    async with context.session() as session:
        await _store(context, session).forget(UUID(user_id))


@background_job("matching.refresh_stale_features", timeout_seconds=900, attempts=2)
async def refresh_stale_features(context: JobContext, batch_size: int = STALE_BATCH_SIZE) -> int:
    """Bring every stale person up to date, one committed batch at a time (see
    `FeatureStore.stale_user_ids`); returns how many people were looked at.

    `STALE_BATCHES_AT_ONCE` batches are in flight together, each in its own transaction, so
    one batch's computing overlaps another's database round trips (on PostgreSQL; SQLite's
    one writer takes them in turn)."""
    after: UUID | None = None
    refreshed = 0
    slots = anyio.Semaphore(STALE_BATCHES_AT_ONCE)

    async def refresh(batch: list[UUID]) -> None:
        try:
            async with context.session() as session:
                await _store(context, session).refresh(batch)
        finally:
            slots.release()

    async with anyio.create_task_group() as batches:
        while True:
            await slots.acquire()
            async with context.session() as session:
                batch = await _store(context, session).stale_user_ids(after, batch_size)
            if not batch:
                slots.release()
                break
            batches.start_soon(refresh, batch)
            refreshed += len(batch)
            if len(batch) < batch_size:
                break
            after = batch[-1]
    if refreshed:
        logger.info("matching_features_refreshed", people=refreshed)
    return refreshed


JOBS = (refresh_features, forget_user, refresh_stale_features)
SCHEDULES = (CronSchedule(refresh_stale_features, "23 * * * *"),)
