"""Edges of the social graph; each pair appears at most once per kind."""

from uuid import UUID

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("follower_id", "followee_id"),
        Index("ix_follows_followee_id", "followee_id"),
    )

    follower_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    followee_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class Block(Base):
    __tablename__ = "blocks"
    __table_args__ = (
        UniqueConstraint("blocker_id", "blocked_id"),
        Index("ix_blocks_blocked_id", "blocked_id"),
    )

    blocker_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    blocked_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class Mute(Base):
    __tablename__ = "mutes"
    __table_args__ = (UniqueConstraint("muter_id", "muted_id"),)

    muter_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    muted_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
