"""messaging: media in messages

A message may carry up to four images or one video: uploads the content domain holds for it
(`media.held_by = 'messaging'`), listed in `message_media` in the sender's order.
`messages.media_count` says whether a message has any (0 for every message before this;
the default is the model's, as for every column).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 16:22:38.419485
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

sa.GUID = GUID  # type: ignore[attr-defined]
sa.DateTimeUTC = DateTimeUTC  # type: ignore[attr-defined]

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_media",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("message_id", sa.GUID(length=16), nullable=False),
        sa.Column("media_id", sa.GUID(length=16), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media.id"],
            name=op.f("fk_message_media_media_id_media"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_media_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_media")),
    )
    with op.batch_alter_table("message_media", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_media_message_id", ["message_id", "position"], unique=False
        )
        batch_op.create_index("uq_message_media_media_id", ["media_id"], unique=True)

    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_by", sa.String(length=16), nullable=True))

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("media_count", sa.SmallInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column("media_count", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("media_count")

    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_column("held_by")

    with op.batch_alter_table("message_media", schema=None) as batch_op:
        batch_op.drop_index("uq_message_media_media_id")
        batch_op.drop_index("ix_message_media_message_id")

    op.drop_table("message_media")
