"""Tables of the accounts domain. Personal data lives only in `user_pii`, encrypted."""

from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String, literal_column, or_
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base


class Role(StrEnum):
    USER = "user"
    MODERATOR = "moderator"
    """Works the moderation queue; no other staff powers."""
    STAFF = "staff"
    ADMIN = "admin"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class ProfileVisibility(StrEnum):
    PUBLIC = "public"
    FOLLOWERS = "followers"
    PRIVATE = "private"


class MessagePolicy(StrEnum):
    EVERYONE = "everyone"
    FOLLOWERS = "followers"
    NOBODY = "nobody"


def effective_status(
    status: str, suspended_until: datetime | None, now: datetime | None = None
) -> str:
    """An account's status at `now` (the clock by default): a suspension whose end has passed
    is over at once, whatever `status` says until `moderation.lift_suspensions` tidies it."""
    if (
        status == AccountStatus.SUSPENDED
        and suspended_until is not None
        and suspended_until <= (now or datetime.now(UTC))
    ):
        return AccountStatus.ACTIVE
    return status


class User(Base):
    """A person's account and public profile; nothing here is personal data beyond the handle."""

    __tablename__ = "users"

    handle: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    bio: Mapped[str] = mapped_column(String(500), default="")
    avatar_url: Mapped[str] = mapped_column(String(500), default="")
    role: Mapped[str] = mapped_column(String(16), default=Role.USER)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    profile_visibility: Mapped[str] = mapped_column(String(16), default=ProfileVisibility.PUBLIC)
    message_policy: Mapped[str] = mapped_column(String(16), default=MessagePolicy.FOLLOWERS)
    discoverable: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    suspended_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    """When a suspension ends by itself; None while suspended means until lifted (a ban)."""

    def is_suspended(self, now: datetime | None = None) -> bool:
        """Suspended at `now` (the clock by default); see `effective_status`."""
        return effective_status(self.status, self.suspended_until, now) == AccountStatus.SUSPENDED

    @property
    def is_active(self) -> bool:
        return effective_status(self.status, self.suspended_until) == AccountStatus.ACTIVE


NOT_SHOWN = or_(
    User.status != literal_column(f"'{AccountStatus.ACTIVE.value}'"),
    User.discoverable.is_(False),
)
"""Accounts no one may be shown: not active, or not discoverable. The status is inline, not
bound, so that a prepared statement using this condition can use the partial index below."""
Index("ix_users_not_shown", User.id, postgresql_where=NOT_SHOWN, sqlite_where=NOT_SHOWN)
"""Those few accounts: matching subtracts them from every page of recommendations, and reads
them by this index instead of scanning every account."""


class UserPersonalData(Base):
    """Email, names, phone and birth data: one AES-GCM encrypted document per user."""

    __tablename__ = "user_pii"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    key_id: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    email_index: Mapped[str] = mapped_column(String(64), unique=True)


class AuthSession(Base):
    """One signed-in device: a family of refresh tokens, each used at most once."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_id", "user_id"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class RefreshToken(Base):
    """A refresh token, stored only as its SHA-256; `used_at` set when it was rotated."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_session_id", "session_id"),)

    session_id: Mapped[UUID] = mapped_column(ForeignKey("auth_sessions.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a secret


class AccountToken(Base):
    """A single-use, expiring email token (verification, password reset), stored hashed."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_id", "user_id"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
