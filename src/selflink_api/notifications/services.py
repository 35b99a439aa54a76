"""Notifications: made by jobs from other domains' events, read and configured by their person.

`notify` runs inside the transaction of a batch of subscriber jobs (`batches`): it applies
mutes, blocks and preferences, upserts the collapsed row (unique `open_key` per person, so two
concurrent jobs meet in one row), records the actor and queues pushes (held through quiet
hours). What it returns is sent live and pushed once that transaction committed.
"""

from collections.abc import Collection, Mapping, Sequence
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
from selflink_api.platform.database import dialect_insert, one_of
from selflink_api.platform.driver_reads import DriverRead
from selflink_api.platform.pagination import PageRequest, paginate
from selflink_api.platform.problems import NOT_FOUND, ProblemError
from selflink_api.social.services import shielded_pairs

SHOWN_ACTORS = 3


# Built once at import, as `_RECORDING` below: `notify` runs each of these for every batch, and
# building a statement (and its cache key) costs more than running it. Their lists are `one_of`
# parameters: one array on PostgreSQL, so each is prepared once whatever the batch's size. The
# reads run on the driver (`DriverRead`): through the session they cost a batch about 13% more.
_ACTIVE = DriverRead(
    select(User.id, User.timezone).where(
        one_of(User.id, "ids"), User.status == AccountStatus.ACTIVE
    )
)
_PREFERENCES = DriverRead(
    select(
        NotificationPreference.user_id,
        NotificationPreference.kind,
        NotificationPreference.in_app,
        NotificationPreference.push,
        NotificationPreference.email,
    ).where(one_of(NotificationPreference.user_id, "user_ids"))
)
_SETTINGS = DriverRead(
    select(
        NotificationSettings.user_id,
        NotificationSettings.quiet_start,
        NotificationSettings.quiet_end,
    ).where(one_of(NotificationSettings.user_id, "user_ids"))
)
_RECOUNT = (
    update(Notification)
    .where(one_of(Notification.id, "ids"))
    .values(
        actor_count=select(func.count())
        .select_from(NotificationActor)
        .where(NotificationActor.notification_id == Notification.id)
        .scalar_subquery()
    )
    .execution_options(synchronize_session=False)
)
_DEVICES = DriverRead(
    select(PushDevice.id, PushDevice.user_id).where(one_of(PushDevice.user_id, "user_ids"))
)
_PENDING = DriverRead(
    select(PushDelivery.notification_id, PushDelivery.device_id).where(
        one_of(PushDelivery.notification_id, "ids"),
        PushDelivery.status == PushStatus.PENDING,
    )
)
_NOTIFICATIONS = DriverRead(
    select(
        Notification.id,
        Notification.kind,
        Notification.actor_count,
        Notification.event_count,
        Notification.subject_id,
        Notification.post_id,
        Notification.detail,
        Notification.unread,
        Notification.created_at,
        Notification.last_at,
    ).where(one_of(Notification.id, "ids"))
)
_RANKED_ACTORS = (
    select(
        NotificationActor.notification_id,
        User.id,
        User.handle,
        User.display_name,
        func.row_number()
        .over(partition_by=NotificationActor.notification_id, order_by=NotificationActor.id.desc())
        .label("rank"),
    )
    .join(User, User.id == NotificationActor.actor_id)
    .where(one_of(NotificationActor.notification_id, "ids"))
    .subquery()
)
_LATEST_ACTORS = DriverRead(
    select(
        _RANKED_ACTORS.c.notification_id,
        _RANKED_ACTORS.c.id,
        _RANKED_ACTORS.c.handle,
        _RANKED_ACTORS.c.display_name,
    )
    .where(_RANKED_ACTORS.c.rank <= SHOWN_ACTORS)
    .order_by(_RANKED_ACTORS.c.rank)
)
_UNREAD_COUNTS = DriverRead(
    select(Notification.user_id, func.count().label("unread"))
    .where(
        one_of(Notification.user_id, "user_ids"),
        Notification.unread.is_(True),
    )
    .group_by(Notification.user_id)
)


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
    """What `notify` did to one row: what to show live, and the pushes due now (not held)."""

    recipient: UUID
    notification_id: UUID
    open_key: str
    view: schemas.NotificationView | None
    """The row to send live; None for a message collapsing into one already unread (below)."""
    unread: int = 0
    due_pushes: list[UUID] = field(default_factory=list)


QUIET_WHEN_COLLAPSING = frozenset({NotificationKind.MESSAGE})
"""Kinds not sent live again when an event collapses into a row that was already unread: the
message itself reached the person's sockets as `message.created`, and their unread count did
not change. Without this, every message in a busy group made two frames per member. A row
that this very batch started is sent (once, however many events it holds)."""


async def channels_of(session: AsyncSession, user_id: UUID) -> dict[str, Channels]:
    return (await _channels_of_all(session, [user_id]))[user_id]


async def _channels_of_all(
    session: AsyncSession, user_ids: Collection[UUID]
) -> dict[UUID, dict[str, Channels]]:
    chosen: dict[UUID, dict[str, Channels]] = {user_id: dict(DEFAULTS) for user_id in user_ids}
    for row in await _PREFERENCES.all(session, user_ids=list(user_ids)):
        chosen[row.user_id][row.kind] = (row.in_app, row.push, row.email)
    return chosen


async def _settings_row(session: AsyncSession, user_id: UUID) -> NotificationSettings | None:
    return await session.scalar(
        select(NotificationSettings).where(NotificationSettings.user_id == user_id)
    )


def _clock(raw: str) -> time:
    return time.fromisoformat(raw)


async def held_until(session: AsyncSession, user: User, now: datetime) -> datetime | None:
    """When push and email may reach the person again, if `now` is in their quiet hours."""
    return (await _held_until_all(session, {user.id: user.timezone}, now))[user.id]


async def _held_until_all(
    session: AsyncSession, zones: Mapping[UUID, str], now: datetime
) -> dict[UUID, datetime | None]:
    """`zones`: each person's time zone."""
    held: dict[UUID, datetime | None] = dict.fromkeys(zones, None)
    for row in await _SETTINGS.all(session, user_ids=list(zones)):
        if row.quiet_start is not None and row.quiet_end is not None:
            start, end = _clock(row.quiet_start), _clock(row.quiet_end)
            held[row.user_id] = quiet_until(now, zones[row.user_id], start, end)
    return held


async def notify(session: AsyncSession, events: Sequence[Event], now: datetime) -> list[Told]:
    """Record each event for its recipient, unless it is their own doing, they do not want it,
    or a mute or block stands between them and its actor.

    The statements are per batch, not per event: a message to a group of fifty costs what one
    to a pair costs. Events meeting in one collapsed row (same recipient and `open_key`) are
    merged into one row of the upsert first, since one upsert cannot touch a row twice."""
    wanted = [event for event in events if event.actor_id != event.recipient]
    if not wanted:
        return []
    recipients = list({event.recipient for event in wanted})
    people = {row.id: row.timezone for row in await _ACTIVE.all(session, ids=recipients)}
    actors = {e.actor_id for e in wanted if e.actor_id is not None and e.kind not in UNMUTABLE}
    shielded = await shielded_pairs(session, people, actors) if actors and people else set()
    channels = await _channels_of_all(session, people)
    wanted = [
        event
        for event in wanted
        if event.recipient in people
        and (event.kind in UNMUTABLE or (event.recipient, event.actor_id) not in shielded)
        and channels[event.recipient][event.kind][0]
    ]
    collapsing: dict[tuple[UUID, str], list[Event]] = {}
    for event in wanted:
        collapsing.setdefault((event.recipient, event.open_key), []).append(event)
    if not collapsing:
        return []
    # In one order everywhere, so two jobs upserting the same rows never deadlock.
    rows = [collapsing[key] for key in sorted(collapsing)]
    recorded = await _upsert(session, rows, now)
    told = [
        Told(row[0].recipient, notification_id, row[0].open_key, view=None)
        for row, (notification_id, _) in zip(rows, recorded, strict=True)
    ]
    # Views and unread counts only for the rows that go live.
    live = {
        result.notification_id: result
        for result, row, (_, event_count) in zip(told, rows, recorded, strict=True)
        if row[0].kind not in QUIET_WHEN_COLLAPSING or event_count == len(row)
    }
    if live:
        unread = await _unread_counts(session, {result.recipient for result in live.values()})
        for view in await views(session, list(live)):
            result = live[view.id]
            result.view, result.unread = view, unread.get(result.recipient, 0)
    pushed = [t for t, row in zip(told, rows, strict=True) if channels[t.recipient][row[0].kind][1]]
    if pushed:
        zones = {t.recipient: people[t.recipient] for t in pushed}
        due = await _queue_pushes(session, zones, pushed, now)
        for result in pushed:
            result.due_pushes = due.get(result.notification_id, [])
    return told


def _recording(insert: Any) -> tuple[Any, Any]:
    """`_upsert`'s statements in one dialect: the collapsed rows' upsert and the actors' insert.

    Built once and run with a parameter set per row, so each is compiled once: SQLAlchemy
    never caches a statement carrying its rows in a multi-row `values()`, and compiling that
    for every batch cost more than running it. The rows go in their order, the upsert's as one
    multi-row statement (SQLAlchemy's "insertmanyvalues", pages of 1000), the actors' as the
    driver's executemany. Built on the Core tables: given a list of parameter sets, an insert
    of the ORM classes takes the ORM's bulk path, which leaves out None values and splits the
    rows by the columns they fill."""
    notifications, actors = Notification.__table__, NotificationActor.__table__
    upsert = insert(notifications)
    upsert = upsert.on_conflict_do_update(
        index_elements=["user_id", "open_key"],
        set_={
            "last_at": upsert.excluded.last_at,
            "updated_at": upsert.excluded.last_at,  # the batch's `now`, as every row's last_at
            "detail": upsert.excluded.detail,
            "last_actor_id": func.coalesce(
                upsert.excluded.last_actor_id, notifications.c.last_actor_id
            ),
            "event_count": notifications.c.event_count + upsert.excluded.event_count,
        },
    ).returning(
        notifications.c.id,
        notifications.c.user_id,
        notifications.c.open_key,
        notifications.c.event_count,
    )
    add_actors = insert(actors).on_conflict_do_nothing(
        index_elements=["notification_id", "actor_id"]
    )
    return upsert, add_actors


_RECORDING = {"postgresql": _recording(postgresql_insert), "sqlite": _recording(sqlite_insert)}


async def _upsert(
    session: AsyncSession, rows: Sequence[Sequence[Event]], now: datetime
) -> list[tuple[UUID, int]]:
    """One collapsed row per group of events (no two groups share a row), their actors
    recorded; each row's id and event count after it. A group counts as many events as it
    holds, and leaves the row as its events one after the other would: the first one's
    subject, the last one's detail and the last actor named."""
    upsert, add_actors = _RECORDING[session.get_bind().dialect.name]
    values = []
    for events in rows:
        first, named = events[0], [e.actor_id for e in events if e.actor_id is not None]
        values.append(
            {
                "user_id": first.recipient,
                "kind": first.kind,
                "subject_id": first.subject_id,
                "post_id": first.post_id,
                "detail": events[-1].detail,
                "open_key": first.open_key,
                "unread": True,
                "last_at": now,
                "last_actor_id": named[-1] if named else None,
                "actor_count": 0,
                "event_count": len(events),
            }
        )
    found = {
        (row.user_id, row.open_key): (row.id, row.event_count)
        for row in await session.execute(upsert, values)
    }
    recorded = [found[(events[0].recipient, events[0].open_key)] for events in rows]
    acted = [
        {"notification_id": notification_id, "actor_id": actor_id}
        for (notification_id, _), events in zip(recorded, rows, strict=True)
        for actor_id in dict.fromkeys(e.actor_id for e in events if e.actor_id is not None)
    ]
    if acted:
        await session.execute(add_actors, acted)
        await _recount(session, list(dict.fromkeys(row["notification_id"] for row in acted)))
    return recorded


async def _recount(session: AsyncSession, notification_ids: list[UUID]) -> None:
    await session.execute(_RECOUNT, {"ids": notification_ids})


async def _queue_pushes(
    session: AsyncSession, zones: Mapping[UUID, str], told: Sequence[Told], now: datetime
) -> dict[UUID, list[UUID]]:
    """One pending delivery per device of each person told (none added where one is still
    pending: it will carry the collapsed notification as it is when sent); returns, per
    notification, the deliveries due now (not held by quiet hours)."""
    held = await _held_until_all(session, zones, now)
    devices: dict[UUID, list[UUID]] = {}
    for device_id, user_id in await _DEVICES.all(session, user_ids=list(held)):
        devices.setdefault(user_id, []).append(device_id)
    if not devices:
        return {}
    notification_ids = [result.notification_id for result in told]
    pending = {
        (notification_id, device_id)
        for notification_id, device_id in await _PENDING.all(session, ids=notification_ids)
    }
    added: dict[UUID, list[PushDelivery]] = {}
    for result in told:
        not_before = held[result.recipient] or now
        added[result.notification_id] = [
            PushDelivery(
                device_id=device_id, notification_id=result.notification_id, not_before=not_before
            )
            for device_id in devices.get(result.recipient, [])
            if (result.notification_id, device_id) not in pending
        ]
    session.add_all([delivery for deliveries in added.values() for delivery in deliveries])
    await session.flush()
    return {
        notification_id: [d.id for d in deliveries if d.not_before <= now]
        for notification_id, deliveries in added.items()
    }


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
    rows = {n.id: n for n in await _NOTIFICATIONS.all(session, ids=ids)}
    actors: dict[UUID, list[schemas.Actor]] = {}
    for row in await _LATEST_ACTORS.all(session, ids=ids):
        actors.setdefault(row.notification_id, []).append(
            schemas.Actor(id=row.id, handle=row.handle, display_name=row.display_name)
        )
    result = []
    for notification_id in ids:
        n = rows[notification_id]
        people = actors.get(n.id, [])
        result.append(
            schemas.NotificationView(
                id=n.id,
                kind=n.kind,
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


async def _unread_counts(session: AsyncSession, user_ids: Collection[UUID]) -> dict[UUID, int]:
    counted = await _UNREAD_COUNTS.all(session, user_ids=list(user_ids))
    return {row.user_id: row.unread for row in counted}


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
                insert = dialect_insert(self.session)
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
        insert = dialect_insert(self.session)
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
