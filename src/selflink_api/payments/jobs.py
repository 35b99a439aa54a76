"""Payments jobs: processing a stored webhook event, the daily reconciliation of the revenue
ledger with Stripe's balance transactions, and cancelling a deleted account's subscription."""

from datetime import timedelta
from uuid import UUID

import structlog

from selflink_api.payments.gateway import StripeGateway
from selflink_api.payments.ledger import month_of, reconcile_month
from selflink_api.payments.services import (
    EventProcessor,
    Outcome,
    mark_failed,
    process_stored_event,
    subscriptions_to_cancel,
)
from selflink_api.platform.crypto import build_cipher
from selflink_api.platform.jobs import CronSchedule, JobContext, background_job
from selflink_api.platform.problems import ProblemError

logger = structlog.get_logger("selflink.payments")


class StripeUnavailableError(RuntimeError):
    """Stripe failed while processing; the event is marked failed and the job retries."""


@background_job("payments.process_event", timeout_seconds=120, attempts=4, retry_delay_seconds=10)
async def process_event(context: JobContext, event_row_id: str) -> str:
    """Apply a stored Stripe event. When Stripe fails meanwhile, the event is recorded as
    `failed` (staff see it in GET /payments/events) and the job retries; a later success
    marks it processed. Returns the event's status."""
    row_id = UUID(event_row_id)
    gateway = StripeGateway(context.settings)
    try:
        try:
            async with context.session() as session:
                row = await process_stored_event(
                    session, context.settings, build_cipher(context.settings), gateway, row_id
                )
                status = row.status if row is not None else "gone"
        except ProblemError as failure:
            async with context.session() as session:
                await mark_failed(session, row_id, failure.detail)
            raise StripeUnavailableError(failure.detail) from None
    finally:
        await gateway.aclose()
    logger.info("stripe_event_processed", status=status)
    return status


@background_job("payments.reconcile", timeout_seconds=900, attempts=3, retry_delay_seconds=60)
async def reconcile(context: JobContext, period: str | None = None) -> dict[str, int]:
    """Book the balance transactions of `period` (by default this month and, in the first
    days of a month, the one before) that no webhook brought."""
    now = context.clock()
    periods = [period] if period else sorted({month_of(now - timedelta(days=3)), month_of(now)})
    gateway = StripeGateway(context.settings)
    listed = booked = 0
    try:
        for month in periods:
            async with context.session() as session:
                found, new = await reconcile_month(session, gateway, month)
            listed, booked = listed + found, booked + new
    finally:
        await gateway.aclose()
    if booked:
        logger.warning("revenue_reconciled_missing", booked=booked, listed=listed)
    logger.info("revenue_reconciled", listed=listed, booked=booked)
    return {"listed": listed, "booked": booked}


@background_job("payments.cancel_for_deleted_account", timeout_seconds=120, attempts=5)
async def cancel_for_deleted_account(context: JobContext, user_id: str) -> int:
    """An account was deleted: cancel its subscriptions at Stripe now (subscribed to
    `account.deleted`). The customer, subscriptions and ledger rows stay: see
    docs/data-retention.md. Returns how many were canceled."""
    gateway = StripeGateway(context.settings)
    try:
        async with context.session() as session:
            ids = await subscriptions_to_cancel(session, UUID(user_id))
        for subscription_id in ids:
            await gateway.cancel_subscription(subscription_id)
            async with context.session() as session:
                processor = EventProcessor(session, context.settings, gateway)
                await processor.sync_subscription(
                    subscription_id, int(context.clock().timestamp()), Outcome()
                )
    finally:
        await gateway.aclose()
    return len(ids)


JOBS = (process_event, reconcile, cancel_for_deleted_account)
SCHEDULES = (CronSchedule(reconcile, "41 3 * * *"),)
