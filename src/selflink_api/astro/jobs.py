"""Astro jobs: caching a chart a read computed, forgetting a deleted person's charts, and
recomputing charts made under older rules, another ephemeris or a retired encryption key."""

from uuid import UUID

import structlog

from selflink_api.accounts.birth import ephemeris_source
from selflink_api.astro import services
from selflink_api.platform.crypto import build_cipher
from selflink_api.platform.jobs import CronSchedule, JobContext, background_job

logger = structlog.get_logger("selflink.astro")

REFRESH_BATCH_SIZE = 200


@background_job("astro.forget_charts", timeout_seconds=60)
async def forget_charts(context: JobContext, user_id: str) -> None:
    """Delete a person's cached charts that their birth data no longer gives: their account
    was deleted or their birth data changed (subscribed to `account.deleted` and
    `birth_data.changed`; the astro endpoints also delete them at once, PATCH /users/me relies
    on this). Charts cached since from the current birth data stay."""
    settings = context.settings
    async with context.session() as session:
        cache = services.ChartCache(session, build_cipher(settings), ephemeris_source(settings))
        await cache.forget_stale(UUID(user_id))


@background_job("astro.cache_chart", timeout_seconds=60)
async def cache_chart(context: JobContext, user_id: str, options: str) -> None:
    """Cache the natal chart a read computed under `options` (an options key): reads never
    write on the request path, so the first view of a chart stores it from here."""
    settings = context.settings
    async with context.session() as session:
        cache = services.ChartCache(session, build_cipher(settings), ephemeris_source(settings))
        await cache.store_current(UUID(user_id), options)


@background_job("astro.refresh_stale_charts", timeout_seconds=900, attempts=2)
async def refresh_stale_charts(context: JobContext, batch_size: int = REFRESH_BATCH_SIZE) -> None:
    """Recompute stale cached charts, one committed batch at a time, until none is left."""
    cipher = build_cipher(context.settings)
    ephemeris = ephemeris_source(context.settings)
    refreshed = 0
    while True:
        async with context.session() as session:
            cache = services.ChartCache(session, cipher, ephemeris)
            looked_at = await cache.refresh_stale(batch_size)
        refreshed += looked_at
        if looked_at < batch_size:
            break
    if refreshed:
        logger.info("astro_charts_refreshed", rows=refreshed)


JOBS = (cache_chart, forget_charts, refresh_stale_charts)
SCHEDULES = (CronSchedule(refresh_stale_charts, "17 * * * *"),)
