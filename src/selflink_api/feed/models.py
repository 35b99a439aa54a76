"""Tables of the feed domain."""

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base, JsonDocument


class FeedSnapshot(Base):
    """A for-you ranking frozen when its first page was read, so later pages neither repeat
    nor skip a post while scores move. `pages` holds, per page, each post's id, score, signal
    values and reasons; posts are re-checked for visibility when a page is read."""

    __tablename__ = "feed_snapshots"
    __table_args__ = (
        Index("ix_feed_snapshots_user_id", "user_id"),
        Index("ix_feed_snapshots_expires_at", "expires_at"),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    page_size: Mapped[int] = mapped_column(SmallInteger)
    pages: Mapped[list[Any]] = mapped_column(JsonDocument)
