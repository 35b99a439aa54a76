"""messaging, content: messages by sender and time, comments by author and time

After every message (and comment) moderation counts what its sender wrote within the rate
window. Indexed by sender alone, that count read every message the person ever sent to check
its time, so a prolific sender's every message cost more than the last; by sender and time it
reads the window's entries only. The new indexes serve every lookup by sender or author the
old ones served.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 20:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_sender_created", ["sender_id", "created_at"])
        batch_op.drop_index("ix_messages_sender_id")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index("ix_comments_author_created", ["author_id", "created_at"])
        batch_op.drop_index("ix_comments_author_id")


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index("ix_comments_author_id", ["author_id"])
        batch_op.drop_index("ix_comments_author_created")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_sender_id", ["sender_id"])
        batch_op.drop_index("ix_messages_sender_created")
