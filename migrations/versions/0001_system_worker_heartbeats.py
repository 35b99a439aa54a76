"""system: worker heartbeats

Revision ID: 0001
Revises:
Create Date: 2026-11-29 07:52:20.773335
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

sa.GUID = GUID  # type: ignore[attr-defined]
sa.DateTimeUTC = DateTimeUTC  # type: ignore[attr-defined]

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("runner", sa.String(length=32), nullable=False),
        sa.Column("beat_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("beats", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_heartbeats")),
        sa.UniqueConstraint("runner", name=op.f("uq_worker_heartbeats_runner")),
    )


def downgrade() -> None:
    op.drop_table("worker_heartbeats")
