"""Moderation jobs: new posts, comments and messages checked against the word list and the
rate limit, and ended suspensions tidied."""

from datetime import timedelta
from uuid import UUID

from selflink_api.content.services import posts_and_comments_since
from selflink_api.messaging.services import messages_sent_since
from selflink_api.moderation.models import TargetKind
from selflink_api.moderation.services import (
    flag_item,
    flag_rate,
    has_listed_words,
    lift_ended_suspensions,
    words_of,
)
from selflink_api.platform.crypto import build_cipher
from selflink_api.platform.jobs import CronSchedule, JobContext, background_job


async def _check(context: JobContext, kind: str, item_id: str, author_id: str) -> bool:
    """Flag the item for its words and its author for their rate; True if anything was filed.

    The checks read in a reading session; only a finding opens a write transaction (on SQLite
    a writer's turn per post, comment and message would queue behind every other writer)."""
    settings = context.settings
    cipher = build_cipher(settings)
    words = words_of(settings)
    since = context.clock() - timedelta(seconds=settings.moderation_rate_window_seconds)
    person, item = UUID(author_id), UUID(item_id)
    written_since = messages_sent_since if kind == TargetKind.MESSAGE else posts_and_comments_since
    async with context.reading() as session:
        listed = await has_listed_words(session, cipher, words, kind, item)
        count = await written_since(session, person, since)
    if not listed and count < settings.moderation_rate_limit:
        return False
    async with context.session() as session:
        flagged = listed and await flag_item(session, cipher, words, kind, item)
        rated = await flag_rate(session, cipher, person, count, settings.moderation_rate_limit)
    return flagged or rated


@background_job("moderation.check_post")
async def check_post(context: JobContext, post_id: str, author_id: str) -> bool:
    return await _check(context, TargetKind.POST, post_id, author_id)


@background_job("moderation.check_comment")
async def check_comment(
    context: JobContext,
    comment_id: str,
    author_id: str,
    post_id: str | None = None,
    post_author_id: str | None = None,
    reply_to_author_id: str | None = None,
) -> bool:
    del post_id, post_author_id, reply_to_author_id  # the event's other facts
    return await _check(context, TargetKind.COMMENT, comment_id, author_id)


@background_job("moderation.check_message")
async def check_message(
    context: JobContext,
    message_id: str,
    sender_id: str,
    thread_id: str | None = None,
    recipient_ids: list[str] | None = None,
) -> bool:
    del thread_id, recipient_ids  # the event's other facts
    return await _check(context, TargetKind.MESSAGE, message_id, sender_id)


@background_job("moderation.lift_suspensions", timeout_seconds=300, attempts=2)
async def lift_suspensions(context: JobContext) -> int:
    """Every minute: people whose suspension ended are active again; returns how many."""
    async with context.session() as session:
        return await lift_ended_suspensions(session, context.clock())


JOBS = (check_post, check_comment, check_message, lift_suspensions)
SCHEDULES = (CronSchedule(lift_suspensions, "* * * * *"),)
