"""Tables of moderation. Decisions are append-only (database triggers): a correction, such as
an appeal's outcome, is a new row naming the decision it corrects."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base


class TargetKind(StrEnum):
    USER = "user"
    POST = "post"
    COMMENT = "comment"
    MESSAGE = "message"


class ReportStatus(StrEnum):
    OPEN = "open"
    IN_REVIEW = "in_review"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class Action(StrEnum):
    REMOVE_CONTENT = "remove_content"
    WARN = "warn"
    SUSPEND = "suspend"
    BAN = "ban"
    APPEAL_UPHELD = "appeal_upheld"
    APPEAL_OVERTURNED = "appeal_overturned"


class AppealStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


SYSTEM_REPORTER = "system"


class Report(Base):
    """One reporter's open complaint about one target, then its outcome.

    `open_slot` is True while the report is open or in review and NULL once closed, so the
    unique key allows one open report per reporter and target (NULLs never collide) and any
    number of closed ones. The sealed document holds the reporter's note and the target as it
    was when first reported (the snapshot), both personal text.
    """

    __tablename__ = "moderation_reports"
    __table_args__ = (
        Index(
            "uq_moderation_reports_open",
            "reporter",
            "target_kind",
            "target_id",
            "open_slot",
            unique=True,
        ),
        Index("ix_moderation_reports_status", "status", "id"),
        Index("ix_moderation_reports_subject_id", "subject_id"),
        Index("ix_moderation_reports_reporter_id", "reporter_id"),
    )

    reporter_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reporter: Mapped[str] = mapped_column(String(48))
    """`user:<id>`, or `system` for automatic flags: the key of "one open report each"."""
    target_kind: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[UUID]
    subject_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    """The person the target belongs to (the author, the sender, the reported account)."""
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.OPEN)
    open_slot: Mapped[bool | None] = mapped_column(Boolean, default=True)
    assignee_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    key_id: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class ReportNote(Base):
    """A staff member's note on a report, sealed (notes quote people)."""

    __tablename__ = "moderation_notes"
    __table_args__ = (Index("ix_moderation_notes_report_id", "report_id", "id"),)

    report_id: Mapped[UUID] = mapped_column(ForeignKey("moderation_reports.id", ondelete="CASCADE"))
    author_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    key_id: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class Decision(Base):
    """A decision about a person, never changed nor deleted (triggers refuse it): ids and
    codes only, no personal text, so it can outlive everything it points at."""

    __tablename__ = "moderation_decisions"
    __table_args__ = (
        Index("ix_moderation_decisions_subject_id", "subject_id", "id"),
        Index("ix_moderation_decisions_report_id", "report_id"),
    )

    subject_id: Mapped[UUID]
    decided_by: Mapped[UUID]
    action: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(32))
    report_id: Mapped[UUID | None]
    target_kind: Mapped[str | None] = mapped_column(String(8))
    target_id: Mapped[UUID | None]
    suspended_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    corrects_id: Mapped[UUID | None]
    """For an appeal's outcome: the decision appealed."""


class Appeal(Base):
    """The affected person's one appeal of a decision (unique per decision), sealed text."""

    __tablename__ = "moderation_appeals"
    __table_args__ = (
        Index("uq_moderation_appeals_decision_id", "decision_id", unique=True),
        Index("ix_moderation_appeals_status", "status", "id"),
        Index("ix_moderation_appeals_appellant_id", "appellant_id"),
    )

    decision_id: Mapped[UUID] = mapped_column(ForeignKey("moderation_decisions.id"))
    appellant_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=AppealStatus.OPEN)
    decided_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    key_id: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
