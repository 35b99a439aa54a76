"""Delivering the outbox, and forgetting a deleted person's messages."""

from uuid import UUID

from selflink_api.email import services
from selflink_api.email.models import OutboxMessage, OutboxStatus
from selflink_api.platform.crypto import build_cipher
from selflink_api.platform.jobs import JobContext, background_job

DELIVERY_ATTEMPTS = 5


@background_job(
    "email.deliver", timeout_seconds=60, attempts=DELIVERY_ATTEMPTS, retry_delay_seconds=30
)
async def deliver_message(context: JobContext, message_id: str) -> None:
    cipher = build_cipher(context.settings)
    try:
        async with context.session() as session:
            await services.deliver(session, cipher, context.settings, UUID(message_id))
    except Exception as exc:
        async with context.session() as session:
            message = await session.get(OutboxMessage, UUID(message_id))
            if message is not None:
                message.attempts += 1
                message.last_error = type(exc).__name__
                if message.attempts >= DELIVERY_ATTEMPTS:
                    message.status = OutboxStatus.FAILED
        raise


@background_job("email.forget_user", timeout_seconds=60)
async def forget_user(context: JobContext, user_id: str) -> None:
    async with context.session() as session:
        await services.forget_user_messages(session, UUID(user_id))


JOBS = (deliver_message, forget_user)
