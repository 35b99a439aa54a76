"""feed: for-you readings move from the feed_snapshots table to a shared store

A reading of the for-you feed no longer writes a row (no GET writes on the request path):
frozen readings live an hour in Redis (or the process's memory without Redis). Readings in
the table are an hour's worth at most; a cursor naming one answers 400 and the client starts
again, as after any expiry.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:29:44.819434
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op
from sqlalchemy.dialects import postgresql

sa.GUID = GUID  # type: ignore[attr-defined]
sa.DateTimeUTC = DateTimeUTC  # type: ignore[attr-defined]

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feed_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_snapshots_user_id")
        batch_op.drop_index("ix_feed_snapshots_expires_at")
    op.drop_table("feed_snapshots")


def downgrade() -> None:
    op.create_table(
        "feed_snapshots",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("page_size", sa.SmallInteger(), nullable=False),
        sa.Column(
            "pages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_feed_snapshots_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_snapshots")),
    )
    with op.batch_alter_table("feed_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_feed_snapshots_expires_at", ["expires_at"], unique=False)
        batch_op.create_index("ix_feed_snapshots_user_id", ["user_id"], unique=False)
