"""mentor: sessions, sealed messages, memory, usage

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 07:06:39.595627
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

sa.GUID = GUID  # type: ignore[attr-defined]
sa.DateTimeUTC = DateTimeUTC  # type: ignore[attr-defined]

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mentor_memories",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mentor_memories_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_memories")),
        sa.UniqueConstraint("user_id", name=op.f("uq_mentor_memories_user_id")),
    )
    op.create_table(
        "mentor_sessions",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("subject_key", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.GUID(length=16), nullable=True),
        sa.Column("last_active_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["users.id"],
            name=op.f("fk_mentor_sessions_subject_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mentor_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_sessions")),
    )
    with op.batch_alter_table("mentor_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "uq_mentor_sessions_user_mode_subject", ["user_id", "mode", "subject_key"], unique=True
        )

    op.create_table(
        "mentor_usage",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_micros", sa.Integer(), nullable=False),
        sa.Column("crisis", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "requests >= 0 AND prompt_tokens >= 0 AND completion_tokens >= 0 "
            "AND cost_micros >= 0 AND crisis >= 0 AND flagged >= 0",
            name=op.f("ck_mentor_usage_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mentor_usage_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_usage")),
    )
    with op.batch_alter_table("mentor_usage", schema=None) as batch_op:
        batch_op.create_index("ix_mentor_usage_day", ["day"], unique=False)
        batch_op.create_index("uq_mentor_usage_user_day", ["user_id", "day"], unique=True)

    op.create_table(
        "mentor_messages",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("session_id", sa.GUID(length=16), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("topic", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("safety", sa.String(length=200), nullable=False),
        sa.Column("safety_action", sa.String(length=10), nullable=False),
        sa.Column("error", sa.String(length=16), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("daily_on", sa.Date(), nullable=True),
        sa.Column("completed_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('user', 'assistant')", name=op.f("ck_mentor_messages_role")),
        sa.CheckConstraint(
            "status IN ('pending', 'complete', 'failed')", name=op.f("ck_mentor_messages_status")
        ),
        sa.CheckConstraint(
            "prompt_tokens >= 0 AND completion_tokens >= 0", name=op.f("ck_mentor_messages_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["mentor_sessions.id"],
            name=op.f("fk_mentor_messages_session_id_mentor_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mentor_messages_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_messages")),
    )
    with op.batch_alter_table("mentor_messages", schema=None) as batch_op:
        batch_op.create_index("ix_mentor_messages_session", ["session_id", "id"], unique=False)
        batch_op.create_index(
            "ix_mentor_messages_user_created", ["user_id", "created_at"], unique=False
        )
        batch_op.create_index("uq_mentor_messages_daily", ["user_id", "daily_on"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("mentor_messages", schema=None) as batch_op:
        batch_op.drop_index("uq_mentor_messages_daily")
        batch_op.drop_index("ix_mentor_messages_user_created")
        batch_op.drop_index("ix_mentor_messages_session")

    op.drop_table("mentor_messages")
    with op.batch_alter_table("mentor_usage", schema=None) as batch_op:
        batch_op.drop_index("uq_mentor_usage_user_day")
        batch_op.drop_index("ix_mentor_usage_day")

    op.drop_table("mentor_usage")
    with op.batch_alter_table("mentor_sessions", schema=None) as batch_op:
        batch_op.drop_index("uq_mentor_sessions_user_mode_subject")

    op.drop_table("mentor_sessions")
    op.drop_table("mentor_memories")
