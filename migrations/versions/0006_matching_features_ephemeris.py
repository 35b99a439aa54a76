"""matching features record the ephemeris they were computed from

Rows made before this (all by the Moshier ephemeris, the old default) are marked "moshier",
so the hourly stale-features job recomputes them with the Swiss Ephemeris files.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 01:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("matching_features") as batch_op:
        batch_op.add_column(
            sa.Column("ephemeris", sa.String(length=32), nullable=False, server_default="moshier")
        )
    with op.batch_alter_table("matching_features") as batch_op:
        batch_op.alter_column("ephemeris", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("matching_features") as batch_op:
        batch_op.drop_column("ephemeris")
