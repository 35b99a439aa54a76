"""The daily email digest, for people who turned `email` on for a kind: one email a day at most,
through the email outbox, never during their quiet hours."""

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.models import AccountStatus, User
from selflink_api.accounts.services import PersonalDataStore
from selflink_api.email import services as outbox
from selflink_api.notifications.models import (
    Notification,
    NotificationPreference,
    NotificationSettings,
)
from selflink_api.notifications.services import channels_of, held_until, views
from selflink_api.platform.crypto import PersonalDataCipher

DIGEST_EVERY = timedelta(hours=23)
"""A little under a day, so an hourly sweep sends at about the same hour each day."""
DIGEST_LINES = 20


async def send_digests(
    session: AsyncSession, cipher: PersonalDataCipher, now: datetime
) -> list[UUID]:
    """Add the digests that are due to the outbox; returns their outbox message ids (the caller
    enqueues their delivery after the commit)."""
    opted_in = (
        await session.scalars(
            select(NotificationPreference.user_id)
            .where(NotificationPreference.email.is_(True))
            .distinct()
        )
    ).all()
    messages = []
    for user_id in opted_in:
        message_id = await _digest_for(session, cipher, user_id, now)
        if message_id is not None:
            messages.append(message_id)
    return messages


async def _digest_for(
    session: AsyncSession, cipher: PersonalDataCipher, user_id: UUID, now: datetime
) -> UUID | None:
    user = await session.get(User, user_id)
    if user is None or user.status != AccountStatus.ACTIVE:
        return None
    row = await session.scalar(
        select(NotificationSettings).where(NotificationSettings.user_id == user_id)
    )
    if (
        row is not None
        and row.digest_sent_at is not None
        and now - row.digest_sent_at < DIGEST_EVERY
    ):
        return None
    if await held_until(session, user, now) is not None:
        return None  # quiet hours: the next hourly sweep after they end sends it
    wanted = [
        kind for kind, (_, _, email) in (await channels_of(session, user_id)).items() if email
    ]
    since = (
        row.digest_sent_at if row is not None and row.digest_sent_at else now - timedelta(days=1)
    )
    ids = list(
        (
            await session.scalars(
                select(Notification.id)
                .where(
                    Notification.user_id == user_id,
                    Notification.unread.is_(True),
                    Notification.kind.in_(wanted),
                    Notification.last_at > since,
                )
                .order_by(Notification.last_at.desc(), Notification.id.desc())
                .limit(DIGEST_LINES + 1)
            )
        ).all()
    )
    if row is None:
        row = NotificationSettings(user_id=user_id)
        session.add(row)
    row.digest_sent_at = now
    personal = await PersonalDataStore(session, cipher).load(user_id)
    if not ids or personal is None or not personal.email:
        await session.flush()
        return None
    lines = [f"- {view.text}" for view in await views(session, ids[:DIGEST_LINES])]
    if len(ids) > DIGEST_LINES:
        lines.append("- and more in the app")
    body = f"Hello @{user.handle},\n\nSince your last digest:\n\n" + "\n".join(lines)
    body += "\n\nChange what you receive in the app's notification settings.\n"
    message = await outbox.add_email(
        session,
        cipher,
        user_id=user_id,
        kind="digest",
        email=outbox.Email(to=personal.email, subject="Your SelfLink digest", body=body),
    )
    return message.id
