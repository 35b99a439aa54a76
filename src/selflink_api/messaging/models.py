"""Tables of the messaging domain.

Each thread numbers its changes: `threads.last_seq` grows by one for every message sent,
edited, deleted or reacted to, and the changed message records that number as `change_seq`.
A message also keeps the number it was sent with (`seq`, never changing), which orders a
thread and is what read and delivered pointers point at. A client that was offline asks for
the changes after the last `change_seq` it saw and catches up exactly.
"""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base


class DmPolicy(StrEnum):
    """Who may open a direct thread with a person (or add them to a group)."""

    EVERYONE = "everyone"
    FOLLOWING = "following"
    """People this person follows."""
    MATCHES = "matches"
    """People matching would recommend to this person."""
    NOBODY = "nobody"


class ThreadKind(StrEnum):
    DIRECT = "direct"
    GROUP = "group"


class MemberRole(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class MessagingSettings(Base):
    """A person's messaging choices; no row means the documented defaults."""

    __tablename__ = "messaging_settings"
    __table_args__ = (
        Index("uq_messaging_settings_user_id", "user_id", unique=True),
        CheckConstraint(
            "dm_policy IN ('everyone', 'following', 'matches', 'nobody')", name="dm_policy"
        ),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    dm_policy: Mapped[str] = mapped_column(String(16), default=DmPolicy.EVERYONE)


class Thread(Base):
    """A conversation. A direct thread has exactly two members and a `direct_key` naming the
    pair (the smaller id first), unique, so a pair can never get two threads."""

    __tablename__ = "threads"
    __table_args__ = (
        Index("uq_threads_direct_key", "direct_key", unique=True),
        CheckConstraint("kind IN ('direct', 'group')", name="kind"),
        CheckConstraint("last_seq >= last_message_seq AND last_message_seq >= 0", name="seqs"),
    )

    kind: Mapped[str] = mapped_column(String(8))
    title: Mapped[str | None] = mapped_column(String(400))
    direct_key: Mapped[str | None] = mapped_column(String(80))
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    """The latest change number of the thread (messages sent, edited, deleted, reacted to)."""
    last_message_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    """The `seq` of the newest message, 0 while there is none."""
    last_activity_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When the thread was created or last got a message: the order of `GET /threads`."""


class ThreadMember(Base):
    """A person in a thread, with their receipts: pointers (message `seq`s) that only move
    forward. `joined_seq` is the thread's last message when they joined: a member sees the
    messages after it, never the history before they were added."""

    __tablename__ = "thread_members"
    __table_args__ = (
        Index("uq_thread_members_thread_user", "thread_id", "user_id", unique=True),
        Index("ix_thread_members_user_id", "user_id"),
        CheckConstraint("role IN ('admin', 'member')", name="role"),
        CheckConstraint("read_seq >= 0 AND delivered_seq >= 0 AND joined_seq >= 0", name="seqs"),
    )

    thread_id: Mapped[UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(8), default=MemberRole.MEMBER)
    joined_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Message(Base):
    """A message. Its text is personal data, sealed with the personal-data cipher and bound to
    the message's id; deleting it empties the ciphertext and keeps the row as a tombstone, so
    replies still point somewhere. `sender_id` becomes null when the sender's account is
    deleted."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("uq_messages_thread_seq", "thread_id", "seq", unique=True),
        Index("ix_messages_thread_change", "thread_id", "change_seq"),
        Index("uq_messages_client_id", "thread_id", "sender_id", "client_id", unique=True),
        # By sender and time: moderation counts a sender's recent messages after each one.
        Index("ix_messages_sender_created", "sender_id", "created_at"),
        CheckConstraint("seq >= 1 AND change_seq >= seq", name="seqs"),
    )

    thread_id: Mapped[UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    sender_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    change_seq: Mapped[int] = mapped_column(BigInteger)
    reply_to_id: Mapped[UUID | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    key_id: Mapped[str | None] = mapped_column(String(32))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    edited_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    media_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    """How many uploads it was sent with (`message_media`); a page of messages without any
    never looks there."""


class MessageMedia(Base):
    """An upload a message was sent with, held for it by the content domain (`hold_media`),
    in the order the sender gave. Deleting the message releases the media; removing their
    files deletes these rows."""

    __tablename__ = "message_media"
    __table_args__ = (
        Index("uq_message_media_media_id", "media_id", unique=True),
        Index("ix_message_media_message_id", "message_id", "position"),
    )

    message_id: Mapped[UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    media_id: Mapped[UUID] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)


class MessageReaction(Base):
    __tablename__ = "message_reactions"
    __table_args__ = (
        Index("uq_message_reactions", "message_id", "user_id", "emoji", unique=True),
        Index("ix_message_reactions_user_id", "user_id"),
    )

    message_id: Mapped[UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    emoji: Mapped[str] = mapped_column(String(32))
