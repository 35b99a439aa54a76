"""accounts: a partial index of the accounts no one may be shown

Every page of recommendations subtracts the accounts that are not active or not discoverable;
without this index PostgreSQL scanned every account for them (about 1.5 ms a page with 10,000
people, growing with the pool).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 09:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each dialect's condition exactly as SQLAlchemy renders `accounts.models.NOT_SHOWN` there:
# SQLite uses a partial index only for a query that spells its condition the same way.
NOT_SHOWN_POSTGRESQL = "status != 'active' OR discoverable IS false"
NOT_SHOWN_SQLITE = "status != 'active' OR discoverable IS 0"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            "ix_users_not_shown",
            ["id"],
            unique=False,
            postgresql_where=sa.text(NOT_SHOWN_POSTGRESQL),
            sqlite_where=sa.text(NOT_SHOWN_SQLITE),
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_not_shown")
