"""rewards: each committed version's payouts.csv rows, indexed by contributor (backfilled)

A contributor's statement and a month's rows are read from these rows instead of parsing every
committed bundle; the rows of versions committed before this migration are written from their
stored payouts.csv.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 07:30:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

from selflink_api.platform.appendonly import forbid_changes_sql
from selflink_core.rewards import parse_payouts

sa.GUID = GUID  # type: ignore[attr-defined]
sa.DateTimeUTC = DateTimeUTC  # type: ignore[attr-defined]

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NUMBERS = (
    "period_points",
    "points_carry_in",
    "eligible_points",
    "share_cents",
    "carry_in_cents",
    "payout_cents",
    "carry_out_cents",
    "points_carry_out",
)


def upgrade() -> None:
    rows = op.create_table(
        "reward_bundle_rows",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("contributor", sa.String(length=200), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in NUMBERS),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_bundle_rows")),
        sa.UniqueConstraint(
            "contributor",
            "period",
            "version",
            name=op.f("uq_reward_bundle_rows_contributor"),
        ),
        sa.UniqueConstraint(
            "period", "version", "position", name=op.f("uq_reward_bundle_rows_period")
        ),
    )
    assert rows is not None
    backfill(rows)
    for statement in forbid_changes_sql("reward_bundle_rows", op.get_bind().dialect.name):
        op.execute(statement)


def backfill(rows: sa.Table) -> None:
    """The rows of every version already committed, from its stored payouts.csv."""
    connection = op.get_bind()
    snapshots = sa.table(
        "reward_snapshots",
        sa.column("period", sa.String),
        sa.column("version", sa.Integer),
        sa.column("payouts_csv", sa.LargeBinary),
    )
    versions = connection.execute(
        sa.select(snapshots.c.period, snapshots.c.version).order_by("period", "version")
    ).all()
    for period, version in versions:
        payouts = connection.scalar(
            sa.select(snapshots.c.payouts_csv).where(
                snapshots.c.period == period, snapshots.c.version == version
            )
        )
        now = datetime.now(UTC)
        parsed = [
            {
                "id": uuid.uuid4(),
                "period": period,
                "version": version,
                "position": position,
                "contributor": row.contributor,
                **{name: getattr(row, name) for name in NUMBERS},
                "created_at": now,
                "updated_at": now,
            }
            for position, row in enumerate(parse_payouts(payouts), start=1)
        ]
        if parsed:
            connection.execute(rows.insert(), parsed)


def downgrade() -> None:
    op.drop_table("reward_bundle_rows")
