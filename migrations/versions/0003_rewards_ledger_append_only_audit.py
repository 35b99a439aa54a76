"""rewards ledger, append-only tables, chained audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 08:43:54.740152
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

from selflink_api.platform.appendonly import AUDIT_LOG, REWARDS_LEDGER, ZERO_HASH, make_append_only

sa.GUID = GUID  # type: ignore[attr-defined]
sa.DateTimeUTC = DateTimeUTC  # type: ignore[attr-defined]

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "append_heads",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_append_heads")),
        sa.UniqueConstraint("chain", name=op.f("uq_append_heads_chain")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("prev", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_log_seq")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_subject", ["subject"], unique=False)

    op.create_table(
        "github_deliveries",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=500), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_github_deliveries")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_github_deliveries_delivery_id")),
    )
    op.create_table(
        "reward_events",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("occurred_at", sa.String(length=20), nullable=False),
        sa.Column("contributor", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("rules", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=500), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("reverses", sa.String(length=200), nullable=False),
        sa.Column("prev", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("line", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("appended_by", sa.String(length=64), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_reward_events_event_id")),
        sa.UniqueConstraint("seq", name=op.f("uq_reward_events_seq")),
    )
    with op.batch_alter_table("reward_events", schema=None) as batch_op:
        batch_op.create_index("ix_reward_events_contributor", ["contributor"], unique=False)
        batch_op.create_index("ix_reward_events_period_seq", ["period", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_reward_events_reverses"), ["reverses"], unique=False)

    op.create_table(
        "reward_payouts",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("contributor", sa.String(length=200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_payouts")),
        sa.UniqueConstraint("period", "contributor", name=op.f("uq_reward_payouts_period")),
    )
    with op.batch_alter_table("reward_payouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reward_payouts_contributor"), ["contributor"], unique=False
        )

    op.create_table(
        "reward_periods",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("dispute_ends_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("locked_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_periods")),
        sa.UniqueConstraint("period", name=op.f("uq_reward_periods_period")),
    )
    op.create_table(
        "reward_snapshots",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("events_jsonl", sa.LargeBinary(), nullable=False),
        sa.Column("manifest_json", sa.LargeBinary(), nullable=False),
        sa.Column("payouts_csv", sa.LargeBinary(), nullable=False),
        sa.Column("sha256sums", sa.LargeBinary(), nullable=False),
        sa.Column("committed_by", sa.String(length=64), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_snapshots")),
        sa.UniqueConstraint("period", "version", name=op.f("uq_reward_snapshots_period")),
    )
    op.create_table(
        "reward_contributors",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("github_login", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=True),
        sa.Column("linked_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reward_contributors_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_contributors")),
        sa.UniqueConstraint("key", name=op.f("uq_reward_contributors_key")),
    )
    with op.batch_alter_table("reward_contributors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reward_contributors_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "reward_disputes",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("contributor", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=True),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("resolution_note", sa.String(length=2000), nullable=False),
        sa.Column("resolved_by", sa.GUID(length=16), nullable=True),
        sa.Column("resolved_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["users.id"],
            name=op.f("fk_reward_disputes_resolved_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reward_disputes_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_disputes")),
    )
    with op.batch_alter_table("reward_disputes", schema=None) as batch_op:
        batch_op.create_index("ix_reward_disputes_period", ["period"], unique=False)

    op.create_table(
        "reward_link_requests",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=False),
        sa.Column("contributor", sa.String(length=200), nullable=False),
        sa.Column("github_login", sa.String(length=100), nullable=False),
        sa.Column("evidence", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.GUID(length=16), nullable=True),
        sa.Column("decided_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_reward_link_requests_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reward_link_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_link_requests")),
    )
    with op.batch_alter_table("reward_link_requests", schema=None) as batch_op:
        batch_op.create_index("ix_reward_link_requests_user_id", ["user_id"], unique=False)

    op.create_table(
        "reward_payout_transitions",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("payout_id", sa.GUID(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payout_id"],
            ["reward_payouts.id"],
            name=op.f("fk_reward_payout_transitions_payout_id_reward_payouts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_payout_transitions")),
    )
    with op.batch_alter_table("reward_payout_transitions", schema=None) as batch_op:
        batch_op.create_index("ix_reward_payout_transitions_payout_id", ["payout_id"], unique=False)

    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_records_subject"))

    op.drop_table("audit_records")

    now = datetime.now(UTC)
    heads = sa.table(
        "append_heads",
        sa.column("id", GUID(length=16)),
        sa.column("chain", sa.String),
        sa.column("seq", sa.Integer),
        sa.column("hash", sa.String),
        sa.column("created_at", DateTimeUTC(timezone=True)),
        sa.column("updated_at", DateTimeUTC(timezone=True)),
    )
    op.bulk_insert(
        heads,
        [
            {
                "id": uuid.uuid4(),
                "chain": chain,
                "seq": 0,
                "hash": ZERO_HASH,
                "created_at": now,
                "updated_at": now,
            }
            for chain in (REWARDS_LEDGER, AUDIT_LOG)
        ],
    )
    make_append_only("reward_events", "reward_snapshots", "reward_payout_transitions", "audit_log")


def downgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("id", sa.NUMERIC(precision=16), nullable=False),
        sa.Column("actor_id", sa.NUMERIC(precision=16), nullable=True),
        sa.Column("action", sa.VARCHAR(length=64), nullable=False),
        sa.Column("subject", sa.VARCHAR(length=200), nullable=False),
        sa.Column("details", sqlite.JSON(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.INTEGER(), nullable=True),
        sa.Column("created_at", sa.DATETIME(), nullable=False),
        sa.Column("updated_at", sa.DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_records_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
    )
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_records_subject"), ["subject"], unique=False)

    with op.batch_alter_table("reward_payout_transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_reward_payout_transitions_payout_id")

    op.drop_table("reward_payout_transitions")
    with op.batch_alter_table("reward_link_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_reward_link_requests_user_id")

    op.drop_table("reward_link_requests")
    with op.batch_alter_table("reward_disputes", schema=None) as batch_op:
        batch_op.drop_index("ix_reward_disputes_period")

    op.drop_table("reward_disputes")
    with op.batch_alter_table("reward_contributors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reward_contributors_user_id"))

    op.drop_table("reward_contributors")
    op.drop_table("reward_snapshots")
    op.drop_table("reward_periods")
    with op.batch_alter_table("reward_payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reward_payouts_contributor"))

    op.drop_table("reward_payouts")
    with op.batch_alter_table("reward_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reward_events_reverses"))
        batch_op.drop_index("ix_reward_events_period_seq")
        batch_op.drop_index("ix_reward_events_contributor")

    op.drop_table("reward_events")
    op.drop_table("github_deliveries")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_subject")

    op.drop_table("audit_log")
    op.drop_table("append_heads")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS selflink_forbid_change()")
