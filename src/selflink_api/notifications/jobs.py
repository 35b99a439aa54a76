"""Notification jobs: one subscriber per event, the push sender and its sweep, the digest and
the retention of read notifications.

Every subscriber makes its notifications in a transaction it shares with the other
subscriber jobs of its batch (`batches`), then (committed) sends the rows its events went into
live as `notification` events and hands the pushes due now to `notifications.send_push`.
"""

import functools
from datetime import timedelta
from uuid import UUID

import msgspec
import structlog
from uuid_utils.compat import uuid7

from selflink_api.email.jobs import deliver_message
from selflink_api.messaging.services import members_told_of
from selflink_api.notifications import push
from selflink_api.notifications.batches import group_commit_for
from selflink_api.notifications.digest import send_digests
from selflink_api.notifications.models import NotificationKind as Kind
from selflink_api.notifications.services import (
    Event,
    Told,
    forget_devices,
    notify,
    remove_old_read,
)
from selflink_api.platform.crypto import build_cipher
from selflink_api.platform.jobs import CronSchedule, JobContext, background_job
from selflink_api.rewards.payouts import payout_recipient

logger = structlog.get_logger("selflink.notifications")

SWEEP_BATCH = 500
LIVE_EVENT = "notification"


async def _tell(context: JobContext, events: list[Event]) -> None:
    """Record the events (with other jobs' of this process, `batches`), then send them live and
    push what is due."""
    commit = functools.partial(_commit, context)
    told = await group_commit_for(context.session_maker).record(events, commit)
    for result in told:
        if context.live is not None and result.view is not None:
            data = {"notification": msgspec.to_builtins(result.view), "unread": result.unread}
            try:
                await context.live.send([result.recipient], LIVE_EVENT, data)
            except Exception as exc:  # best effort: the row is stored, a client lists it
                logger.warning("notification_not_sent_live", error=type(exc).__name__)
        for delivery_id in result.due_pushes:
            await context.queue.submit(send_push, {"delivery_id": str(delivery_id)})


async def _commit(context: JobContext, events: list[Event]) -> list[Told]:
    async with context.session() as session:
        return await notify(session, events, context.clock())


@background_job("notifications.on_followed", timeout_seconds=60)
async def on_followed(context: JobContext, follower_id: str, followee_id: str) -> None:
    await _tell(
        context,
        [Event(UUID(followee_id), Kind.FOLLOW, "follow", actor_id=UUID(follower_id))],
    )


@background_job("notifications.on_post_liked", timeout_seconds=60)
async def on_post_liked(context: JobContext, post_id: str, user_id: str, author_id: str) -> None:
    post = UUID(post_id)
    key = f"like:post:{post_id}"
    event = Event(UUID(author_id), Kind.LIKE, key, UUID(user_id), post, post, "post")
    await _tell(context, [event])


@background_job("notifications.on_comment_liked", timeout_seconds=60)
async def on_comment_liked(
    context: JobContext, comment_id: str, post_id: str, user_id: str, author_id: str
) -> None:
    key = f"like:comment:{comment_id}"
    event = Event(
        UUID(author_id), Kind.LIKE, key, UUID(user_id), UUID(comment_id), UUID(post_id), "comment"
    )
    await _tell(context, [event])


@background_job("notifications.on_comment", timeout_seconds=60)
async def on_comment(
    context: JobContext,
    comment_id: str,
    post_id: str,
    author_id: str,
    post_author_id: str,
    reply_to_author_id: str | None = None,
) -> None:
    """The post's author hears of a comment, the parent's author of a reply (once, as a reply,
    when they are the same person)."""
    del comment_id  # a collapsed row points at the post
    actor, post = UUID(author_id), UUID(post_id)
    events = []
    if reply_to_author_id is not None:
        reply_key = f"reply:post:{post_id}"
        events.append(Event(UUID(reply_to_author_id), Kind.REPLY, reply_key, actor, post, post))
    if reply_to_author_id != post_author_id:
        key = f"comment:post:{post_id}"
        events.append(Event(UUID(post_author_id), Kind.COMMENT, key, actor, post, post))
    await _tell(context, events)


@background_job("notifications.on_mention", timeout_seconds=60)
async def on_mention(
    context: JobContext, user_id: str, author_id: str, post_id: str, comment_id: str | None = None
) -> None:
    where = UUID(comment_id) if comment_id else UUID(post_id)
    event = Event(
        UUID(user_id), Kind.MENTION, f"mention:{where}", UUID(author_id), where, UUID(post_id)
    )
    await _tell(context, [event])


@background_job("notifications.on_message", timeout_seconds=60)
async def on_message(
    context: JobContext,
    message_id: str,
    thread_id: str,
    sender_id: str,
    recipient_ids: list[str] | None = None,
) -> None:
    """Messages collapse per thread: "3 new messages from ana" until the person reads it.

    Told are the members the message was sent to: named by the event (`recipient_ids`), or,
    for a large group's event (and one appended by an older API process), read: those in
    the thread now who had joined before it was sent."""
    if recipient_ids is not None:
        members = [UUID(user_id) for user_id in recipient_ids]
    else:
        async with context.reading() as session:
            members = await members_told_of(session, UUID(message_id))
    thread, sender = UUID(thread_id), UUID(sender_id)
    key = f"message:thread:{thread_id}"
    await _tell(context, [Event(m, Kind.MESSAGE, key, sender, thread) for m in members])


@background_job("notifications.on_match", timeout_seconds=60)
async def on_match(context: JobContext, user_id: str) -> None:
    await _tell(context, [Event(UUID(user_id), Kind.MATCH, "match")])


@background_job("notifications.on_payout", timeout_seconds=60)
async def on_payout(context: JobContext, payout_id: str, state: str) -> None:
    async with context.reading() as session:
        recipient = await payout_recipient(session, UUID(payout_id))
    if recipient is not None:
        key = f"payout:{payout_id}"
        event = Event(recipient, Kind.PAYOUT, key, subject_id=UUID(payout_id), detail=state)
        await _tell(context, [event])


@background_job("notifications.on_moderation", timeout_seconds=60)
async def on_moderation(
    context: JobContext, decision_id: str, user_id: str, action: str, reason: str = ""
) -> None:
    del reason  # shown by moderation's own pages, not copied here
    key = f"moderation:{decision_id}"
    event = Event(
        UUID(user_id), Kind.MODERATION, key, subject_id=UUID(decision_id), detail=action[:32]
    )
    await _tell(context, [event])


@background_job("notifications.forget_devices", timeout_seconds=60)
async def forget_devices_of(context: JobContext, user_id: str) -> None:
    """Signed out everywhere: no device of theirs is pushed to any more."""
    async with context.session() as session:
        await forget_devices(session, UUID(user_id))


@background_job("notifications.send_push", timeout_seconds=60, attempts=1)
async def send_push(context: JobContext, delivery_id: str) -> str:
    """Claim, send, settle (see `push`); failures are retried by the sweep, with back-off.
    Returns what happened: "sent", "gone", "retry" or "skipped" (not ours to send now)."""
    owner = uuid7()
    async with context.session() as session:
        claimed = await push.claim(
            session, UUID(delivery_id), owner, context.clock(), context.settings.push_lease_seconds
        )
    if claimed is None:
        return "skipped"
    outcome, error = await push.send(context.settings, claimed)
    async with context.session() as session:
        await push.settle(
            session, claimed, owner, outcome, error, context.clock(), context.settings
        )
    if outcome is not push.Outcome.SENT:
        logger.info("push_not_sent", outcome=outcome.value, attempt=claimed.attempts, error=error)
    return outcome.value


@background_job("notifications.sweep_pushes", timeout_seconds=300, attempts=1)
async def sweep_pushes(context: JobContext) -> int:
    """Every minute: pushes whose quiet hours or back-off ended, or whose sender died."""
    async with context.session() as session:
        found = await push.due(session, context.clock(), SWEEP_BATCH)
    for delivery_id in found:
        await context.queue.submit(send_push, {"delivery_id": str(delivery_id)})
    return len(found)


@background_job("notifications.send_digests", timeout_seconds=600, attempts=2)
async def send_daily_digests(context: JobContext) -> int:
    async with context.session() as session:
        messages = await send_digests(session, build_cipher(context.settings), context.clock())
    for message_id in messages:
        await context.queue.submit(deliver_message, {"message_id": str(message_id)})
    return len(messages)


@background_job("notifications.remove_old_read", timeout_seconds=600, attempts=2)
async def remove_old_read_notifications(context: JobContext) -> int:
    """Read notifications older than NOTIFICATION_RETENTION_DAYS go (docs/data-retention.md)."""
    kept = timedelta(days=context.settings.notification_retention_days)
    async with context.session() as session:
        return await remove_old_read(session, context.clock() - kept)


JOBS = (send_push,)
SCHEDULES = (
    CronSchedule(sweep_pushes, "* * * * *"),
    CronSchedule(send_daily_digests, "5 * * * *"),
    CronSchedule(remove_old_read_notifications, "41 3 * * *"),
)
