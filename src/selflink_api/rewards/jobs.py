"""Background work of the rewards domain."""

from uuid import UUID

import structlog

from selflink_api.platform.jobs import CronSchedule, JobContext, background_job
from selflink_api.platform.problems import ProblemError
from selflink_api.rewards.github import process_delivery
from selflink_api.rewards.links import LinkService
from selflink_api.rewards.snapshots import SnapshotService, utc_now

logger = structlog.get_logger("selflink.rewards")


@background_job("rewards.process_delivery", timeout_seconds=60, attempts=5, retry_delay_seconds=5)
async def score_delivery(context: JobContext, delivery_id: str) -> None:
    """Score a recorded GitHub delivery and append its event (idempotent)."""
    async with context.session() as session:
        delivery = await process_delivery(session, UUID(delivery_id), now=context.clock())
    if delivery is not None:
        logger.info("github_delivery_processed", status=delivery.status, seq=delivery.event_seq)


@background_job("rewards.lock_due_periods", timeout_seconds=300, attempts=3)
async def lock_due_periods(context: JobContext) -> None:
    """Lock every month whose dispute window has ended, oldest first. A month whose latest
    version misses some of its events waits (with a warning each run) for an operator to
    commit a new version, and so do the months after it."""
    now = utc_now()
    async with context.session() as session:
        due = await SnapshotService(session).due_for_lock(now)
    for period in due:
        try:
            async with context.session() as session:
                payouts = await SnapshotService(session).lock(period, actor="system", now=now)
        except ProblemError as refused:
            logger.warning("rewards_period_not_locked", period=period, reason=refused.detail)
            return
        logger.info("rewards_period_locked", period=period, payouts=len(payouts))


@background_job("rewards.forget_user", timeout_seconds=60)
async def forget_user(context: JobContext, user_id: str) -> None:
    """An account was deleted: unlink its contributors; their events stay in the ledger."""
    async with context.session() as session:
        await LinkService(session).forget_user(UUID(user_id))


JOBS = (score_delivery, lock_due_periods, forget_user)
SCHEDULES = (CronSchedule(lock_due_periods, "7 * * * *"),)
