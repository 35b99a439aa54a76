"""Tables of the rewards domain. Events, snapshot versions, their rows and payout transitions
are append-only, enforced by database triggers (see migrations 0003 and 0011)."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base


class RewardContributor(Base):
    """A contributor key (`github:<id>`), optionally linked to a SelfLink account."""

    __tablename__ = "reward_contributors"

    key: Mapped[str] = mapped_column(String(200), unique=True)
    github_login: Mapped[str] = mapped_column(String(100), default="")
    user_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    linked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class RewardEvent(Base):
    """One format-1 ledger line: its fields, and the exact line bytes the core sealed."""

    __tablename__ = "reward_events"
    __table_args__ = (
        Index("ix_reward_events_period_seq", "period", "seq"),
        Index("ix_reward_events_contributor", "contributor"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    period: Mapped[str] = mapped_column(String(7))
    occurred_at: Mapped[str] = mapped_column(String(20))
    contributor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int]
    rules: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(500))
    source_sha256: Mapped[str] = mapped_column(String(64))
    reverses: Mapped[str] = mapped_column(String(200), index=True)
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    line: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(String(500), default="")
    appended_by: Mapped[str] = mapped_column(String(64))


class PeriodState(StrEnum):
    OPEN = "open"
    DISPUTING = "disputing"
    LOCKED = "locked"


class RewardPeriod(Base):
    """A month's state: open (no snapshot yet), disputing (a version awaits disputes), locked."""

    __tablename__ = "reward_periods"

    period: Mapped[str] = mapped_column(String(7), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=PeriodState.OPEN)
    current_version: Mapped[int] = mapped_column(default=0)
    dispute_ends_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    locked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class RewardSnapshot(Base):
    """One committed version of a month's bundle: the four files, byte for byte.

    The files are deferred: a row loads as its period, version and root, and a query names the
    file columns it needs (`undefer`, or selecting the column), so serving the 806-byte manifest
    never reads the 40 MB events file of a million-event month.
    """

    __tablename__ = "reward_snapshots"
    __table_args__ = (UniqueConstraint("period", "version"),)

    period: Mapped[str] = mapped_column(String(7))
    version: Mapped[int]
    root: Mapped[str] = mapped_column(String(64))
    events_jsonl: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    manifest_json: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    payouts_csv: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256sums: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    committed_by: Mapped[str] = mapped_column(String(64))


class RewardBundleRow(Base):
    """One row of a committed version's `payouts.csv`, written with the version: a
    contributor's months and a month's rows are read by index, without parsing any bundle.

    `position` is the row's 1-based place in `payouts.csv`.
    """

    __tablename__ = "reward_bundle_rows"
    __table_args__ = (
        UniqueConstraint("contributor", "period", "version"),
        UniqueConstraint("period", "version", "position"),
    )

    period: Mapped[str] = mapped_column(String(7))
    version: Mapped[int]
    position: Mapped[int]
    contributor: Mapped[str] = mapped_column(String(200))
    period_points: Mapped[int] = mapped_column(BigInteger)
    points_carry_in: Mapped[int] = mapped_column(BigInteger)
    eligible_points: Mapped[int] = mapped_column(BigInteger)
    share_cents: Mapped[int] = mapped_column(BigInteger)
    carry_in_cents: Mapped[int] = mapped_column(BigInteger)
    payout_cents: Mapped[int] = mapped_column(BigInteger)
    carry_out_cents: Mapped[int] = mapped_column(BigInteger)
    points_carry_out: Mapped[int] = mapped_column(BigInteger)


class DisputeState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class RewardDispute(Base):
    __tablename__ = "reward_disputes"
    __table_args__ = (Index("ix_reward_disputes_period", "period"),)

    period: Mapped[str] = mapped_column(String(7))
    version: Mapped[int]
    contributor: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(2000))
    event_id: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default=DisputeState.OPEN)
    resolution_note: Mapped[str] = mapped_column(String(2000), default="")
    resolved_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class RewardPayout(Base):
    """What a locked month owes one contributor; its state changes only through transitions."""

    __tablename__ = "reward_payouts"
    __table_args__ = (UniqueConstraint("period", "contributor"),)

    period: Mapped[str] = mapped_column(String(7))
    contributor: Mapped[str] = mapped_column(String(200), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(64), default="")
    external_ref: Mapped[str] = mapped_column(String(200), default="")


class RewardPayoutTransition(Base):
    __tablename__ = "reward_payout_transitions"
    __table_args__ = (Index("ix_reward_payout_transitions_payout_id", "payout_id"),)

    payout_id: Mapped[UUID] = mapped_column(ForeignKey("reward_payouts.id"))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(64), default="")
    external_ref: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(500), default="")


class DeliveryStatus(StrEnum):
    RECEIVED = "received"
    APPENDED = "appended"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"
    FAILED = "failed"


class GithubDelivery(Base):
    """A webhook delivery as received; the payload is kept until a job has scored it."""

    __tablename__ = "github_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(100), unique=True)
    event_type: Mapped[str] = mapped_column(String(50))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.RECEIVED)
    outcome: Mapped[str] = mapped_column(String(500), default="")
    event_seq: Mapped[int | None] = mapped_column(BigInteger)


class LinkState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ContributorLinkRequest(Base):
    """A signed-in person's claim to a GitHub account, approved or rejected by staff."""

    __tablename__ = "reward_link_requests"
    __table_args__ = (Index("ix_reward_link_requests_user_id", "user_id"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contributor: Mapped[str] = mapped_column(String(200))
    github_login: Mapped[str] = mapped_column(String(100), default="")
    evidence: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(16), default=LinkState.PENDING)
    decided_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    note: Mapped[str] = mapped_column(String(500), default="")
