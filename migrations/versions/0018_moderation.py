"""moderation: reports, notes, append-only decisions, appeals; suspensions with an end;
content removed by moderation

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 10:19:02.931781
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

from selflink_api.platform.appendonly import make_append_only

sa.GUID = GUID  # type: ignore[attr-defined]
sa.DateTimeUTC = DateTimeUTC  # type: ignore[attr-defined]

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "moderation_decisions",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("subject_id", sa.GUID(length=16), nullable=False),
        sa.Column("decided_by", sa.GUID(length=16), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("report_id", sa.GUID(length=16), nullable=True),
        sa.Column("target_kind", sa.String(length=8), nullable=True),
        sa.Column("target_id", sa.GUID(length=16), nullable=True),
        sa.Column("suspended_until", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("corrects_id", sa.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_decisions")),
    )
    with op.batch_alter_table("moderation_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_decisions_report_id", ["report_id"], unique=False)
        batch_op.create_index(
            "ix_moderation_decisions_subject_id", ["subject_id", "id"], unique=False
        )

    op.create_table(
        "moderation_appeals",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("decision_id", sa.GUID(length=16), nullable=False),
        sa.Column("appellant_id", sa.GUID(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.GUID(length=16), nullable=True),
        sa.Column("decided_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appellant_id"],
            ["users.id"],
            name=op.f("fk_moderation_appeals_appellant_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_moderation_appeals_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["moderation_decisions.id"],
            name=op.f("fk_moderation_appeals_decision_id_moderation_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_appeals")),
    )
    with op.batch_alter_table("moderation_appeals", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_appeals_appellant_id", ["appellant_id"], unique=False)
        batch_op.create_index("ix_moderation_appeals_status", ["status", "id"], unique=False)
        batch_op.create_index("uq_moderation_appeals_decision_id", ["decision_id"], unique=True)

    op.create_table(
        "moderation_reports",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("reporter_id", sa.GUID(length=16), nullable=True),
        sa.Column("reporter", sa.String(length=48), nullable=False),
        sa.Column("target_kind", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.GUID(length=16), nullable=False),
        sa.Column("subject_id", sa.GUID(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("open_slot", sa.Boolean(), nullable=True),
        sa.Column("assignee_id", sa.GUID(length=16), nullable=True),
        sa.Column("closed_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_moderation_reports_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
            name=op.f("fk_moderation_reports_reporter_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["users.id"],
            name=op.f("fk_moderation_reports_subject_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_reports")),
    )
    with op.batch_alter_table("moderation_reports", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_reports_reporter_id", ["reporter_id"], unique=False)
        batch_op.create_index("ix_moderation_reports_status", ["status", "id"], unique=False)
        batch_op.create_index("ix_moderation_reports_subject_id", ["subject_id"], unique=False)
        batch_op.create_index(
            "uq_moderation_reports_open",
            ["reporter", "target_kind", "target_id", "open_slot"],
            unique=True,
        )

    op.create_table(
        "moderation_notes",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("report_id", sa.GUID(length=16), nullable=False),
        sa.Column("author_id", sa.GUID(length=16), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_moderation_notes_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["moderation_reports.id"],
            name=op.f("fk_moderation_notes_report_id_moderation_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_notes")),
    )
    with op.batch_alter_table("moderation_notes", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_notes_report_id", ["report_id", "id"], unique=False)

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed_for", sa.String(length=32), nullable=True))

    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed_for", sa.String(length=32), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("suspended_until", sa.DateTimeUTC(timezone=True), nullable=True)
        )

    make_append_only("moderation_decisions")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("suspended_until")

    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("removed_for")

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_column("removed_for")

    with op.batch_alter_table("moderation_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_notes_report_id")

    op.drop_table("moderation_notes")
    with op.batch_alter_table("moderation_reports", schema=None) as batch_op:
        batch_op.drop_index("uq_moderation_reports_open")
        batch_op.drop_index("ix_moderation_reports_subject_id")
        batch_op.drop_index("ix_moderation_reports_status")
        batch_op.drop_index("ix_moderation_reports_reporter_id")

    op.drop_table("moderation_reports")
    with op.batch_alter_table("moderation_appeals", schema=None) as batch_op:
        batch_op.drop_index("uq_moderation_appeals_decision_id")
        batch_op.drop_index("ix_moderation_appeals_status")
        batch_op.drop_index("ix_moderation_appeals_appellant_id")

    op.drop_table("moderation_appeals")
    with op.batch_alter_table("moderation_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_decisions_subject_id")
        batch_op.drop_index("ix_moderation_decisions_report_id")

    op.drop_table("moderation_decisions")
