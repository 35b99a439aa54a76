"""Tables of the mentor. Every word of a conversation is sealed with the personal-data
cipher (`ciphertext`), bound to its row and owner; rows older than `MENTOR_RETENTION_DAYS`
are purged by `mentor.purge`."""

import datetime as dt
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


class Status(StrEnum):
    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"


class MentorSession(Base):
    """One conversation per person, mode and subject (the other person of a match, else "")."""

    __tablename__ = "mentor_sessions"
    __table_args__ = (
        Index(
            "uq_mentor_sessions_user_mode_subject", "user_id", "mode", "subject_key", unique=True
        ),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(8))
    subject_key: Mapped[str] = mapped_column(String(36), default="")
    subject_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    last_active_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class MentorMessage(Base):
    """A question or a reply. A pending reply holds, sealed, the request for the provider, so
    the queued job needs nothing but the row's id; the request is dropped once it completes."""

    __tablename__ = "mentor_messages"
    __table_args__ = (
        Index("ix_mentor_messages_session", "session_id", "id"),
        Index("ix_mentor_messages_user_created", "user_id", "created_at"),
        Index("uq_mentor_messages_daily", "user_id", "daily_on", unique=True),
        CheckConstraint("role IN ('user', 'assistant')", name="role"),
        CheckConstraint("status IN ('pending', 'complete', 'failed')", name="status"),
        CheckConstraint("prompt_tokens >= 0 AND completion_tokens >= 0", name="tokens"),
    )

    session_id: Mapped[UUID] = mapped_column(ForeignKey("mentor_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=Status.COMPLETE)
    language: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str] = mapped_column(String(16), default="general")
    key_id: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    provider: Mapped[str] = mapped_column(String(32), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    safety: Mapped[str] = mapped_column(String(200), default="")
    """Safety findings, comma-separated: `crisis`, or the policy rules a reply broke."""
    safety_action: Mapped[str] = mapped_column(String(10), default="")
    """`resources` (crisis answer), `annotate` or `replace` (policy), or ""."""
    error: Mapped[str] = mapped_column(String(16), default="")
    """Why a reply failed: `upstream` or `timeout`."""
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    daily_on: Mapped[dt.date | None] = mapped_column(Date)
    """The person's local day of a `daily` note (one per day); None otherwise."""
    completed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class MentorMemory(Base):
    """The rolling summary kept per person: topics of questions that left the history."""

    __tablename__ = "mentor_memories"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    key_id: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class MentorUsage(Base):
    """Requests, tokens and cost per person and UTC day: the quota's count and staff's view."""

    __tablename__ = "mentor_usage"
    __table_args__ = (
        Index("uq_mentor_usage_user_day", "user_id", "day", unique=True),
        Index("ix_mentor_usage_day", "day"),
        CheckConstraint(
            "requests >= 0 AND prompt_tokens >= 0 AND completion_tokens >= 0 "
            "AND cost_micros >= 0 AND crisis >= 0 AND flagged >= 0",
            name="counts",
        ),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_micros: Mapped[int] = mapped_column(Integer, default=0)
    """Millionths of the currency unit, at `MENTOR_COST_MICROS_PER_1K_TOKENS`."""
    crisis: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
