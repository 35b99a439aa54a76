"""payments: customers, subscriptions, Stripe events, the append-only revenue ledger

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 10:17:31.662498
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

from selflink_api.platform.appendonly import make_append_only

sa.GUID = GUID  # type: ignore[attr-defined]
sa.DateTimeUTC = DateTimeUTC  # type: ignore[attr-defined]

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payments_frozen_months",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("frozen_by", sa.String(length=64), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_frozen_months")),
        sa.UniqueConstraint("period", name=op.f("uq_payments_frozen_months_period")),
    )
    op.create_table(
        "payments_revenue_ledger",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("occurred_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("recorded_by", sa.String(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_revenue_ledger")),
        sa.UniqueConstraint(
            "transaction_id", name=op.f("uq_payments_revenue_ledger_transaction_id")
        ),
    )
    with op.batch_alter_table("payments_revenue_ledger", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payments_revenue_ledger_period", ["period", "occurred_at"], unique=False
        )

    op.create_table(
        "payments_stripe_events",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("stripe_created", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('received', 'processed', 'ignored', 'failed')",
            name=op.f("ck_payments_stripe_events_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_stripe_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_payments_stripe_events_event_id")),
    )
    with op.batch_alter_table("payments_stripe_events", schema=None) as batch_op:
        batch_op.create_index("ix_payments_stripe_events_status", ["status", "id"], unique=False)

    op.create_table(
        "payments_customers",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payments_customers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_customers")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_payments_customers_customer_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_payments_customers_user_id")),
    )
    op.create_table(
        "payments_subscriptions",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("subscription_id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("price_id", sa.String(length=255), nullable=False),
        sa.Column("plan_key", sa.String(length=32), nullable=False),
        sa.Column("current_period_start", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("current_period_end", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("stripe_seen", sa.BigInteger(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payments_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_subscriptions")),
        sa.UniqueConstraint(
            "subscription_id", name=op.f("uq_payments_subscriptions_subscription_id")
        ),
    )
    with op.batch_alter_table("payments_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payments_subscriptions_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_payments_subscriptions_user", ["user_id", "current_period_end"], unique=False
        )

    make_append_only("payments_revenue_ledger")


def downgrade() -> None:
    with op.batch_alter_table("payments_subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_subscriptions_user")
        batch_op.drop_index(batch_op.f("ix_payments_subscriptions_customer_id"))

    op.drop_table("payments_subscriptions")
    op.drop_table("payments_customers")
    with op.batch_alter_table("payments_stripe_events", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_stripe_events_status")

    op.drop_table("payments_stripe_events")
    with op.batch_alter_table("payments_revenue_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_revenue_ledger_period")

    op.drop_table("payments_revenue_ledger")
    op.drop_table("payments_frozen_months")
