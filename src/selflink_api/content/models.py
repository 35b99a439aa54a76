"""Tables of the content domain. Counters live beside what they count and change in the same
transaction as the like or comment; `content.reconcile_counts` proves they never drifted."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base


class PostVisibility(StrEnum):
    PUBLIC = "public"
    FOLLOWERS = "followers"
    PRIVATE = "private"


class Post(Base):
    """A post; deleting it leaves a tombstone (text emptied, `deleted_at` set) so replies and
    links to it still resolve to "deleted" rather than to nothing."""

    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_author_created", "author_id", "created_at", "id"),
        Index("ix_posts_created", "created_at", "id"),
        CheckConstraint("like_count >= 0 AND comment_count >= 0", name="counts"),
    )

    author_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(35))
    visibility: Mapped[str] = mapped_column(String(16), default=PostVisibility.PUBLIC)
    edited_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    removed_for: Mapped[str | None] = mapped_column(String(32))
    """Set when moderation removed it (the reason): its author still sees it, nobody else."""
    like_count: Mapped[int] = mapped_column(Integer, default=0)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)


class Comment(Base):
    """A comment on a post, or a reply to one of its comments (`depth` 1 or 2)."""

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_post_created", "post_id", "created_at", "id"),
        # By author and time: moderation counts an author's recent comments after each one.
        Index("ix_comments_author_created", "author_id", "created_at"),
        Index("ix_comments_parent_id", "parent_id"),
        CheckConstraint("depth IN (1, 2)", name="depth"),
        CheckConstraint("like_count >= 0", name="like_count"),
    )

    post_id: Mapped[UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    parent_id: Mapped[UUID | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    depth: Mapped[int] = mapped_column(SmallInteger, default=1)
    text: Mapped[str] = mapped_column(Text, default="")
    edited_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    removed_for: Mapped[str | None] = mapped_column(String(32))
    """Set when moderation removed it (the reason): its author still sees it, nobody else."""
    like_count: Mapped[int] = mapped_column(Integer, default=0)


class PostLike(Base):
    __tablename__ = "post_likes"
    __table_args__ = (
        Index("uq_post_likes_post_user", "post_id", "user_id", unique=True),
        Index("ix_post_likes_user_id", "user_id"),
    )

    post_id: Mapped[UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class CommentLike(Base):
    __tablename__ = "comment_likes"
    __table_args__ = (
        Index("uq_comment_likes_comment_user", "comment_id", "user_id", unique=True),
        Index("ix_comment_likes_user_id", "user_id"),
    )

    comment_id: Mapped[UUID] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class Mention(Base):
    """An `@handle` in a post or comment that named an existing person."""

    __tablename__ = "mentions"
    __table_args__ = (
        Index("ix_mentions_user_id", "user_id"),
        Index("ix_mentions_post_id", "post_id"),
        Index("ix_mentions_comment_id", "comment_id"),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    post_id: Mapped[UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    comment_id: Mapped[UUID | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class Media(Base):
    """A photo or video its uploader may attach to one post of theirs. The files live in the
    media storage under `<id>/<variant>.<extension>`; once `removed_at` is set the media is
    hidden everywhere and `content.remove_media` deletes the files, then the row."""

    __tablename__ = "media"
    __table_args__ = (
        Index("ix_media_owner_id", "owner_id"),
        Index("ix_media_post_id", "post_id", "position"),
        CheckConstraint("kind IN ('image', 'video')", name="kind"),
        CheckConstraint("position >= 0 AND size_bytes >= 0", name="position_size"),
    )

    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    post_id: Mapped[UUID | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    """None until a post takes it; a post deleted outright (account deletion) leaves it None,
    its files still to remove."""
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    kind: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    """Pixels of the stored original; None for videos, which are stored as sent."""
    thumbnails: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether `content.make_thumbnails` has stored the smaller variants."""
    held_by: Mapped[str | None] = mapped_column(String(16))
    """The domain that took the upload for something other than a post (`messaging`: a
    message's media); None while on a post or unattached. Held media are never swept and
    never go on a post."""
    removed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
