"""Notifications: made by jobs from other domains' events, read and configured by their person.

`notify` runs inside a subscriber job's transaction: it applies mutes, blocks and preferences,
upserts the collapsed row (unique `open_key` per person, so two concurrent jobs meet in one
row), records the actor and queues pushes (held through quiet hours). What it returns is sent
live and pushed once that transaction committed.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import msgspec
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.models import AccountStatus, User
from selflink_api.notifications import schemas
from selflink_api.notifications.models import (
    Notification,
    NotificationActor,
    NotificationKind,
    NotificationPreference,
    NotificationSettings,
    PushDelivery,
    PushDevice,
    PushStatus,
)
from selflink_api.notifications.rules import DEFAULTS, UNMUTABLE, Channels, quiet_until
from selflink_api.platform.crypto import PersonalDataCipher
from selflink_api.platform.pagination import PageRequest, paginate
from selflink_api.platform.problems import NOT_FOUND, ProblemError
from selflink_api.social.services import SocialService

SHOWN_ACTORS = 3


def _insert(session: AsyncSession) -> Any:
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


@dataclass(frozen=True)
class Event:
    """One thing to tell one person."""

    recipient: UUID
    kind: NotificationKind
    open_key: str
    actor_id: UUID | None = None
    subject_id: UUID | None = None
    post_id: UUID | None = None
    detail: str = ""


@dataclass
class Told:
    """What `notify` did: the row to show live, and the pushes due now (not held)."""

    recipient: UUID
    view: schemas.NotificationView
    unread: int
    due_pushes: list[UUID] = field(default_factory=list)


async def channels_of(session: AsyncSession, user_id: UUID) -> dict[str, Channels]:
    chosen = {
        row.kind: (row.in_app, row.push, row.email)
        for row in await session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        )
    }
    return {kind: chosen.get(kind, default) for kind, default in DEFAULTS.items()}


async def _settings_row(session: AsyncSession, user_id: UUID) -> NotificationSettings | None:
    return await session.scalar(
        select(NotificationSettings).where(NotificationSettings.user_id == user_id)
    )


def _clock(raw: str) -> time:
    return time.fromisoformat(raw)


async def held_until(session: AsyncSession, user: User, now: datetime) -> datetime | None:
    """When push and email may reach the person again, if `now` is in their quiet hours."""
    row = await _settings_row(session, user.id)
    if row is None or row.quiet_start is None or row.quiet_end is None:
        return None
    return quiet_until(now, user.timezone, _clock(row.quiet_start), _clock(row.quiet_end))


async def notify(session: AsyncSession, event: Event, now: datetime) -> Told | None:
    """Record `event` for its recipient, unless it is their own doing, they do not want it, or
    a mute or block stands between them and its actor."""
    if event.actor_id == event.recipient:
        return None
    recipient = await session.get(User, event.recipient)
    if recipient is None or recipient.status != AccountStatus.ACTIVE:
        return None
    if event.actor_id is not None and event.kind not in UNMUTABLE:
        between = await SocialService(session).relationship(event.recipient, event.actor_id)
        if between.blocked or between.muted:
            return None
    in_app, push, _email = (await channels_of(session, event.recipient))[event.kind]
    if not in_app:
        return None
    insert = _insert(session)
    statement = insert(Notification).values(
        user_id=event.recipient,
        kind=event.kind,
        subject_id=event.subject_id,
        post_id=event.post_id,
        detail=event.detail,
        open_key=event.open_key,
        unread=True,
        last_at=now,
        last_actor_id=event.actor_id,
        actor_count=0,
        event_count=1,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["user_id", "open_key"],
        set_={
            "last_at": now,
            "updated_at": now,
            "detail": event.detail,
            "last_actor_id": func.coalesce(
                statement.excluded.last_actor_id, Notification.last_actor_id
            ),
            "event_count": Notification.event_count + 1,
        },
    ).returning(Notification.id)
    notification_id = (await session.execute(statement)).scalar_one()
    if event.actor_id is not None:
        await session.execute(
            insert(NotificationActor)
            .values(notification_id=notification_id, actor_id=event.actor_id)
            .on_conflict_do_nothing(index_elements=["notification_id", "actor_id"])
        )
        await _recount(session, [notification_id])
    told = Told(
        recipient=event.recipient,
        view=(await views(session, [notification_id]))[0],
        unread=await unread_count(session, event.recipient),
    )
    if push:
        told.due_pushes = await _queue_pushes(session, recipient, notification_id, now)
    return told


async def _recount(session: AsyncSession, notification_ids: list[UUID]) -> None:
    counted = (
        select(func.count())
        .select_from(NotificationActor)
        .where(NotificationActor.notification_id == Notification.id)
        .scalar_subquery()
    )
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(notification_ids))
        .values(actor_count=counted)
        .execution_options(synchronize_session=False)
    )


async def _queue_pushes(
    session: AsyncSession, user: User, notification_id: UUID, now: datetime
) -> list[UUID]:
    """One pending delivery per device of the person (none added where one is still pending:
    it will carry the collapsed notification as it is when sent); returns those due now."""
    not_before = await held_until(session, user, now) or now
    devices = (
        await session.scalars(select(PushDevice.id).where(PushDevice.user_id == user.id))
    ).all()
    pending = set(
        (
            await session.scalars(
                select(PushDelivery.device_id).where(
                    PushDelivery.notification_id == notification_id,
                    PushDelivery.status == PushStatus.PENDING,
                )
            )
        ).all()
    )
    added = [
        PushDelivery(device_id=device_id, notification_id=notification_id, not_before=not_before)
        for device_id in devices
        if device_id not in pending
    ]
    session.add_all(added)
    await session.flush()
    return [delivery.id for delivery in added if not_before <= now]


# Reading ---------------------------------------------------------------------------------------


SENTENCES = {
    NotificationKind.FOLLOW: "{who} followed you",
    NotificationKind.LIKE: "{who} liked your {detail}",
    NotificationKind.COMMENT: "{who} commented on your post",
    NotificationKind.REPLY: "{who} replied to your comment",
    NotificationKind.MENTION: "{who} mentioned you",
    NotificationKind.MESSAGE: "{events} new message{plural} from {who}",
    NotificationKind.MATCH: "your match suggestions were updated",
    NotificationKind.PAYOUT: "your rewards payout is now {detail}",
    NotificationKind.MODERATION: "a moderation decision about you: {detail}",
}


def describe(
    kind: str, actors: list[schemas.Actor], actor_count: int, events: int, detail: str
) -> str:
    """The sentence shown in the app, in a push and in the digest."""
    who = f"@{actors[0].handle}" if actors else "someone"
    if actor_count > 1:
        others = actor_count - 1
        who += f" and {others} other{'s' if others > 1 else ''}"
    plural = "s" if events > 1 else ""
    return SENTENCES[NotificationKind(kind)].format(
        who=who, detail=detail, events=events, plural=plural
    )


async def views(session: AsyncSession, ids: list[UUID]) -> list[schemas.NotificationView]:
    """The views of these notifications, in the order given."""
    if not ids:
        return []
    rows = {
        n.id: n for n in await session.scalars(select(Notification).where(Notification.id.in_(ids)))
    }
    recent = (
        select(
            NotificationActor.notification_id,
            User,
            func.row_number()
            .over(
                partition_by=NotificationActor.notification_id,
                order_by=NotificationActor.id.desc(),
            )
            .label("rank"),
        )
        .join(User, User.id == NotificationActor.actor_id)
        .where(NotificationActor.notification_id.in_(ids))
        .subquery()
    )
    actors: dict[UUID, list[schemas.Actor]] = {}
    shown = select(recent).where(recent.c.rank <= SHOWN_ACTORS).order_by(recent.c.rank)
    for row in (await session.execute(shown)).mappings():
        actors.setdefault(row["notification_id"], []).append(
            schemas.Actor(id=row["id"], handle=row["handle"], display_name=row["display_name"])
        )
    result = []
    for notification_id in ids:
        n = rows[notification_id]
        people = actors.get(n.id, [])
        result.append(
            schemas.NotificationView(
                id=n.id,
                kind=n.kind,  # type: ignore[arg-type]
                text=describe(n.kind, people, n.actor_count, n.event_count, n.detail),
                actors=people,
                actor_count=n.actor_count,
                event_count=n.event_count,
                subject_id=n.subject_id,
                post_id=n.post_id,
                detail=n.detail,
                unread=n.unread,
                created_at=n.created_at,
                last_at=n.last_at,
            )
        )
    return result


async def unread_count(session: AsyncSession, user_id: UUID) -> int:
    counted = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.unread.is_(True))
    )
    return counted or 0


class NotificationService:
    """What a person does with their own notifications, preferences and devices."""

    def __init__(self, session: AsyncSession, vapid_public_key: str | None) -> None:
        self.session = session
        self.vapid_public_key = vapid_public_key

    async def page(
        self, user_id: UUID, order: schemas.Order, page: PageRequest
    ) -> tuple[list[schemas.NotificationView], str | None]:
        key = (
            [Notification.unread, Notification.last_at, Notification.id]
            if order == "unread"
            else [Notification.last_at, Notification.id]
        )
        found: list[Notification]
        found, cursor = await paginate(
            self.session,
            select(Notification).where(Notification.user_id == user_id),
            scope=f"notifications:{order}",
            order_by=key,
            page=page,
            descending=True,
        )
        return await views(self.session, [n.id for n in found]), cursor

    async def unread(self, user_id: UUID) -> int:
        return await unread_count(self.session, user_id)

    async def mark_read(self, user_id: UUID, notification_id: UUID) -> None:
        """Idempotent; someone else's notification is as unknown as a missing one."""
        found = await self.session.scalar(
            select(Notification.id).where(
                Notification.id == notification_id, Notification.user_id == user_id
            )
        )
        if found is None:
            raise ProblemError(NOT_FOUND, "No such notification.")
        await self._mark(Notification.id == notification_id)

    async def mark_all_read(self, user_id: UUID) -> int:
        return await self._mark(Notification.user_id == user_id)

    async def _mark(self, condition: Any) -> int:
        """Read rows leave their collapse key, so the next event opens a new notification."""
        now = datetime.now(UTC)
        result = await self.session.execute(
            update(Notification)
            .where(condition, Notification.unread.is_(True))
            .values(unread=False, read_at=now, open_key=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def preferences(self, user_id: UUID) -> schemas.Preferences:
        chosen = await channels_of(self.session, user_id)
        row = await _settings_row(self.session, user_id)
        user = await self.session.get(User, user_id)
        quiet = (
            schemas.QuietHours(start=row.quiet_start, end=row.quiet_end)
            if row is not None and row.quiet_start is not None and row.quiet_end is not None
            else None
        )
        return schemas.Preferences(
            kinds={
                kind: schemas.Channels(in_app=a, push=p, email=e)
                for kind, (a, p, e) in chosen.items()
            },
            quiet_hours=quiet,
            timezone=user.timezone if user else "UTC",
        )

    async def update_preferences(
        self, user_id: UUID, changes: schemas.PreferencesUpdate
    ) -> schemas.Preferences:
        if not isinstance(changes.kinds, msgspec.UnsetType):
            current = await channels_of(self.session, user_id)
            for kind, update_ in changes.kinds.changed().items():
                in_app, push, email = current[kind]
                values = {
                    "in_app": in_app if update_.in_app is msgspec.UNSET else update_.in_app,
                    "push": push if update_.push is msgspec.UNSET else update_.push,
                    "email": email if update_.email is msgspec.UNSET else update_.email,
                }
                insert = _insert(self.session)
                statement = insert(NotificationPreference).values(
                    user_id=user_id, kind=kind, **values
                )
                await self.session.execute(
                    statement.on_conflict_do_update(index_elements=["user_id", "kind"], set_=values)
                )
        if changes.quiet_hours is not msgspec.UNSET:
            row = await _settings_row(self.session, user_id)
            if row is None:
                row = NotificationSettings(user_id=user_id)
                self.session.add(row)
            quiet = changes.quiet_hours
            row.quiet_start = quiet.start if quiet is not None else None
            row.quiet_end = quiet.end if quiet is not None else None
        await self.session.flush()
        return await self.preferences(user_id)

    async def register_device(
        self, user_id: UUID, registration: schemas.DeviceRegistration
    ) -> schemas.DeviceView:
        """Upsert on the endpoint: a browser subscribing again (or a new person signing in on
        it) updates the one row, which now belongs to the caller."""
        insert = _insert(self.session)
        values = {
            "user_id": user_id,
            "endpoint": registration.endpoint,
            "p256dh": registration.keys.p256dh,
            "auth": registration.keys.auth,
        }
        statement = insert(PushDevice).values(**values)
        device_id = (
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["endpoint"],
                    set_={k: v for k, v in values.items() if k != "endpoint"},
                ).returning(PushDevice.id)
            )
        ).scalar_one()
        device = await self.session.get_one(PushDevice, device_id, populate_existing=True)
        return device_view(device)

    async def devices(self, user_id: UUID) -> list[schemas.DeviceView]:
        found = await self.session.scalars(
            select(PushDevice).where(PushDevice.user_id == user_id).order_by(PushDevice.id)
        )
        return [device_view(d) for d in found]

    async def remove_device(self, user_id: UUID, device_id: UUID) -> None:
        result = await self.session.execute(
            delete(PushDevice).where(PushDevice.id == device_id, PushDevice.user_id == user_id)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise ProblemError(NOT_FOUND, "No such device.")

    def push_key(self) -> schemas.PushKey:
        return schemas.PushKey(application_server_key=self.vapid_public_key)


def device_view(device: PushDevice) -> schemas.DeviceView:
    parts = urlsplit(device.endpoint)
    return schemas.DeviceView(
        id=device.id,
        endpoint_origin=f"{parts.scheme}://{parts.netloc}",
        created_at=device.created_at,
    )


async def forget_devices(session: AsyncSession, user_id: UUID) -> None:
    await session.execute(delete(PushDevice).where(PushDevice.user_id == user_id))


# Retention, export, deletion ---------------------------------------------------------------------


async def remove_old_read(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(
        delete(Notification).where(Notification.unread.is_(False), Notification.read_at < before)
    )
    await session.execute(
        delete(PushDelivery).where(
            PushDelivery.status != PushStatus.PENDING, PushDelivery.updated_at < before
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def export_for_user(
    session: AsyncSession, cipher: PersonalDataCipher, user_id: UUID
) -> dict[str, Any]:
    del cipher  # nothing here is encrypted
    ids = list(
        (
            await session.scalars(
                select(Notification.id)
                .where(Notification.user_id == user_id)
                .order_by(Notification.id)
            )
        ).all()
    )
    service = NotificationService(session, None)
    return {
        "notifications": [
            {
                "id": str(v.id),
                "kind": v.kind,
                "text": v.text,
                "unread": v.unread,
                "created_at": v.created_at,
                "last_at": v.last_at,
            }
            for v in await views(session, ids)
        ],
        "devices": [
            {"id": str(d.id), "endpoint": d.endpoint, "created_at": d.created_at}
            for d in await session.scalars(
                select(PushDevice).where(PushDevice.user_id == user_id).order_by(PushDevice.id)
            )
        ],
        "preferences": msgspec.to_builtins(await service.preferences(user_id)),
    }


async def erase_user_notifications(session: AsyncSession, user_id: UUID) -> None:
    """Their notifications, devices and choices go; they vanish from others' notifications."""
    touched = list(
        (
            await session.scalars(
                select(NotificationActor.notification_id).where(
                    NotificationActor.actor_id == user_id
                )
            )
        ).all()
    )
    await session.execute(delete(NotificationActor).where(NotificationActor.actor_id == user_id))
    if touched:
        await _recount(session, touched)
    await session.execute(
        update(Notification)
        .where(Notification.last_actor_id == user_id)
        .values(last_actor_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(Notification).where(Notification.user_id == user_id))
    await session.execute(delete(PushDevice).where(PushDevice.user_id == user_id))
    for table in (NotificationPreference, NotificationSettings):
        await session.execute(delete(table).where(table.user_id == user_id))
