"""Request and response bodies of the notifications API (the live frame is `NotificationView`)."""

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

KindName = Literal[
    "follow", "like", "comment", "reply", "mention", "message", "match", "payout", "moderation"
]
Order = Literal["newest", "unread"]
ClockTime = Annotated[
    str,
    Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["22:00"], description="HH:MM"),
]


class Struct(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know."""


class Actor(msgspec.Struct, kw_only=True):
    id: UUID
    handle: str
    display_name: str


class NotificationView(msgspec.Struct, kw_only=True):
    id: UUID
    kind: KindName
    text: Annotated[str, Meta(examples=["ana and 4 others liked your post"])]
    actors: list[Actor]
    """The most recent people behind it (up to 3); `actor_count` counts them all."""
    actor_count: int
    event_count: int
    """How many events were collapsed into it (messages in a thread, likes, …)."""
    subject_id: UUID | None
    post_id: UUID | None
    detail: str
    unread: bool
    created_at: dt.datetime
    last_at: dt.datetime


class UnreadCount(msgspec.Struct, kw_only=True):
    unread: int


class MarkedRead(msgspec.Struct, kw_only=True):
    marked: int


class Channels(msgspec.Struct, kw_only=True):
    in_app: bool
    push: bool
    email: bool
    """Included in the daily email digest."""


class ChannelsUpdate(Struct):
    in_app: bool | msgspec.UnsetType = msgspec.UNSET
    push: bool | msgspec.UnsetType = msgspec.UNSET
    email: bool | msgspec.UnsetType = msgspec.UNSET


class QuietHours(Struct):
    start: ClockTime
    end: ClockTime


class Preferences(msgspec.Struct, kw_only=True):
    kinds: dict[str, Channels]
    quiet_hours: QuietHours | None
    timezone: str
    """The person's own zone (`PATCH /users/me`), in which quiet hours are read."""


class KindsUpdate(Struct):
    """The kinds to change, each with the channels to change."""

    follow: ChannelsUpdate | msgspec.UnsetType = msgspec.UNSET
    like: ChannelsUpdate | msgspec.UnsetType = msgspec.UNSET
    comment: ChannelsUpdate | msgspec.UnsetType = msgspec.UNSET
    reply: ChannelsUpdate | msgspec.UnsetType = msgspec.UNSET
    mention: ChannelsUpdate | msgspec.UnsetType = msgspec.UNSET
    message: ChannelsUpdate | msgspec.UnsetType = msgspec.UNSET
    match: ChannelsUpdate | msgspec.UnsetType = msgspec.UNSET
    payout: ChannelsUpdate | msgspec.UnsetType = msgspec.UNSET
    moderation: ChannelsUpdate | msgspec.UnsetType = msgspec.UNSET

    def changed(self) -> dict[str, ChannelsUpdate]:
        return {
            name: value
            for name in self.__struct_fields__
            if isinstance(value := getattr(self, name), ChannelsUpdate)
        }


class PreferencesUpdate(Struct):
    kinds: KindsUpdate | msgspec.UnsetType = msgspec.UNSET
    quiet_hours: QuietHours | msgspec.UnsetType | None = msgspec.UNSET
    """`null` removes them."""


class SubscriptionKeys(Struct):
    p256dh: Annotated[str, Meta(min_length=80, max_length=128, pattern=r"^[A-Za-z0-9_-]+=*$")]
    auth: Annotated[str, Meta(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+=*$")]


class DeviceRegistration(Struct):
    """A browser's `PushSubscription.toJSON()`."""

    endpoint: Annotated[
        str,
        Meta(
            min_length=12,
            max_length=1024,
            pattern=r"^https?://[^\s]+$",
            examples=["https://fcm.googleapis.com/fcm/send/abc"],
        ),
    ]
    keys: SubscriptionKeys


class DeviceView(msgspec.Struct, kw_only=True):
    id: UUID
    endpoint_origin: str
    created_at: dt.datetime


class PushKey(msgspec.Struct, kw_only=True):
    application_server_key: str | None
    """The VAPID public key (base64url, uncompressed point) for `pushManager.subscribe`; null
    when this server sends no push."""
