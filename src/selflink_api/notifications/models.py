"""Tables of the notifications domain.

A notification is one row per thing to tell, collapsed while unread: "Ana and 4 others liked
your post" is one row whose `open_key` (`like:post:<id>`) is unique per person, so concurrent
jobs upsert the same row instead of making two; marking it read clears `open_key`, and the next
like opens a new row. The people behind it are `notification_actors` (one row each, counted
into `actor_count`). Pushes go through `push_deliveries`, an outbox claimed with a lease.
"""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base


class NotificationKind(StrEnum):
    FOLLOW = "follow"
    LIKE = "like"
    COMMENT = "comment"
    REPLY = "reply"
    MENTION = "mention"
    MESSAGE = "message"
    MATCH = "match"
    PAYOUT = "payout"
    MODERATION = "moderation"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "open_key"),
        Index("ix_notifications_user_id_last_at", "user_id", "last_at"),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[UUID | None]
    """The post, comment, thread, payout or decision it is about."""
    post_id: Mapped[UUID | None]
    """The post a client opens (for likes of comments, comments and mentions)."""
    detail: Mapped[str] = mapped_column(String(32), default="")
    """A payout's new state or a moderation decision's action."""
    open_key: Mapped[str | None] = mapped_column(String(200))
    """What later events collapse into while unread; NULL once read."""
    unread: Mapped[bool] = mapped_column(default=True)
    read_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    last_actor_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_count: Mapped[int] = mapped_column(default=0)
    event_count: Mapped[int] = mapped_column(default=1)


class NotificationActor(Base):
    __tablename__ = "notification_actors"
    __table_args__ = (UniqueConstraint("notification_id", "actor_id"),)

    notification_id: Mapped[UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE")
    )
    actor_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class NotificationPreference(Base):
    """A person's choice for one kind; kinds without a row use the documented defaults."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    in_app: Mapped[bool]
    push: Mapped[bool]
    email: Mapped[bool]


class NotificationSettings(Base):
    __tablename__ = "notification_settings"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    """"HH:MM" in the person's own time zone (`users.timezone`)."""
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    digest_sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class PushDevice(Base):
    """A browser's Web Push subscription; its endpoint is the token (unique)."""

    __tablename__ = "push_devices"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1024), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))


class PushStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class PushDelivery(Base):
    """One push of one notification to one device: claimed with a lease, marked once sent."""

    __tablename__ = "push_deliveries"
    __table_args__ = (Index("ix_push_deliveries_status_not_before", "status", "not_before"),)

    device_id: Mapped[UUID] = mapped_column(
        ForeignKey("push_devices.id", ondelete="CASCADE"), index=True
    )
    notification_id: Mapped[UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=PushStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """Held until then: quiet hours, or the back-off after a failed attempt."""
    lease_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    lease_owner: Mapped[UUID | None]
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))
