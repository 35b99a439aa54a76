"""Mentor jobs: writing a queued reply, and purging conversations past their retention."""

from datetime import timedelta
from uuid import UUID

import structlog

from selflink_api.mentor.providers import build_provider
from selflink_api.mentor.replies import collect
from selflink_api.mentor.services import ReplyStore, purge_older_than
from selflink_api.platform.crypto import build_cipher
from selflink_api.platform.jobs import CronSchedule, JobContext, background_job

logger = structlog.get_logger("selflink.mentor")


@background_job("mentor.reply", timeout_seconds=600, attempts=1)
async def write_reply(context: JobContext, message_id: str) -> str:
    """Write a pending reply with the configured provider (the non-streaming variant; the
    client polls GET /api/v1/mentor/messages/{id}). One attempt: the provider client already
    retries, and a failure is recorded on the reply for the client to see. Returns the
    reply's status."""
    reply_id = UUID(message_id)
    cipher = build_cipher(context.settings)
    async with context.session() as session:
        request = await ReplyStore(session, cipher, context.settings).pending_request(reply_id)
    if request is None:
        return "gone"
    provider = build_provider(context.settings)
    try:
        outcome = await collect(
            provider, request, None, None, context.settings.mentor_reply_timeout_seconds
        )
    finally:
        await provider.close()
    async with context.session() as session:
        store = ReplyStore(session, cipher, context.settings)
        if isinstance(outcome, str):
            await store.fail(reply_id, outcome)
            return "failed"
        text, usage = outcome
        await store.finish(reply_id, text, usage, provider=provider.name, model=provider.model)
    return "complete"


@background_job("mentor.purge", timeout_seconds=900, attempts=2)
async def purge(context: JobContext) -> dict[str, int]:
    """Remove mentor messages older than `MENTOR_RETENTION_DAYS` (and what they leave
    empty); returns how many messages and sessions went."""
    cutoff = context.clock() - timedelta(days=context.settings.mentor_retention_days)
    async with context.session() as session:
        purged = await purge_older_than(session, cutoff)
    logger.info("mentor_purged", messages=purged.messages, sessions=purged.sessions)
    return {"messages": purged.messages, "sessions": purged.sessions}


JOBS = (write_reply,)
SCHEDULES = (CronSchedule(purge, "17 4 * * *"),)
