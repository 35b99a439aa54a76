"""Tables of payments. Stripe is the source of truth; these rows are what SelfLink needs to
answer without asking it: whose customer is whose, each subscription's last known state, the
webhook events received (once each), and the append-only revenue ledger."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base

REVENUE_LEDGER_TABLE = "payments_revenue_ledger"


class StripeCustomer(Base):
    """One Stripe customer per account, created on the first checkout or portal visit.

    Kept after the account is deleted (`user_id` stays, the account itself is anonymised):
    invoices at Stripe name this customer, and accounting law keeps them."""

    __tablename__ = "payments_customers"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    customer_id: Mapped[str] = mapped_column(String(255), unique=True)


class Subscription(Base):
    """A Stripe subscription as last fetched or received; `stripe_seen` orders updates."""

    __tablename__ = "payments_subscriptions"
    __table_args__ = (Index("ix_payments_subscriptions_user", "user_id", "current_period_end"),)

    subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32))
    price_id: Mapped[str] = mapped_column(String(255), default="")
    plan_key: Mapped[str] = mapped_column(String(32), default="")
    current_period_start: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    current_period_end: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    stripe_seen: Mapped[int] = mapped_column(BigInteger, default=0)
    """Stripe's `created` (Unix seconds) of the newest event or fetch applied: an older event
    arriving later changes nothing."""


class EventStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


class StripeEvent(Base):
    """A verified webhook event, stored once by Stripe's event id; processed by a job. Its
    body names the customer (Checkout sends their email and address), so it is sealed with
    the personal-data cipher, bound to the event id (`services.event_context`)."""

    __tablename__ = "payments_stripe_events"
    __table_args__ = (
        Index("ix_payments_stripe_events_status", "status", "id"),
        CheckConstraint("status IN ('received', 'processed', 'ignored', 'failed')", name="status"),
    )

    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    stripe_created: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.RECEIVED)
    outcome: Mapped[str] = mapped_column(String(500), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class RevenueEntry(Base):
    """One Stripe balance transaction, in the settlement currency's minor units. Append-only:
    the database refuses UPDATE and DELETE (see `platform.appendonly`).

    `period` is the month it is booked in: the UTC month of Stripe's `created`, or, when that
    month's figures were already frozen by a rewards lock, the first month not frozen."""

    __tablename__ = REVENUE_LEDGER_TABLE
    __table_args__ = (Index("ix_payments_revenue_ledger_period", "period", "occurred_at"),)

    transaction_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    """Stripe's `type` (charge, refund, adjustment, stripe_fee, …)."""
    category: Mapped[str] = mapped_column(String(40))
    """Stripe's `reporting_category` (charge, refund, dispute, dispute_reversal, fee, …)."""
    source_id: Mapped[str] = mapped_column(String(255), default="")
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    period: Mapped[str] = mapped_column(String(7))
    recorded_by: Mapped[str] = mapped_column(String(16))
    """`webhook` or `reconcile`: which path found it first."""


class FrozenMonth(Base):
    """A month whose revenue figures a rewards lock froze: later rows book into a later month."""

    __tablename__ = "payments_frozen_months"

    period: Mapped[str] = mapped_column(String(7), unique=True)
    frozen_by: Mapped[str] = mapped_column(String(64))
