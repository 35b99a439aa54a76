"""content: posts, comments, their likes and the mentions in them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:56:57.119106
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

sa.GUID = GUID  # type: ignore[attr-defined]
sa.DateTimeUTC = DateTimeUTC  # type: ignore[attr-defined]

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "posts",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("author_id", sa.GUID(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("edited_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("like_count", sa.Integer(), nullable=False),
        sa.Column("comment_count", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("like_count >= 0 AND comment_count >= 0", name=op.f("ck_posts_counts")),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_posts_author_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_posts_author_created", ["author_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_posts_created", ["created_at", "id"], unique=False)

    op.create_table(
        "comments",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("post_id", sa.GUID(length=16), nullable=False),
        sa.Column("author_id", sa.GUID(length=16), nullable=False),
        sa.Column("parent_id", sa.GUID(length=16), nullable=True),
        sa.Column("depth", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("edited_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("like_count", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("depth IN (1, 2)", name=op.f("ck_comments_depth")),
        sa.CheckConstraint("like_count >= 0", name=op.f("ck_comments_like_count")),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_comments_author_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["comments.id"],
            name=op.f("fk_comments_parent_id_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_comments_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index("ix_comments_author_id", ["author_id"], unique=False)
        batch_op.create_index("ix_comments_parent_id", ["parent_id"], unique=False)
        batch_op.create_index(
            "ix_comments_post_created", ["post_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "post_likes",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("post_id", sa.GUID(length=16), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_likes_post_id_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_post_likes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_likes")),
    )
    with op.batch_alter_table("post_likes", schema=None) as batch_op:
        batch_op.create_index("ix_post_likes_user_id", ["user_id"], unique=False)
        batch_op.create_index("uq_post_likes_post_user", ["post_id", "user_id"], unique=True)

    op.create_table(
        "comment_likes",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("comment_id", sa.GUID(length=16), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_comment_likes_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_comment_likes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_likes")),
    )
    with op.batch_alter_table("comment_likes", schema=None) as batch_op:
        batch_op.create_index("ix_comment_likes_user_id", ["user_id"], unique=False)
        batch_op.create_index(
            "uq_comment_likes_comment_user", ["comment_id", "user_id"], unique=True
        )

    op.create_table(
        "mentions",
        sa.Column("id", sa.GUID(length=16), nullable=False),
        sa.Column("user_id", sa.GUID(length=16), nullable=False),
        sa.Column("post_id", sa.GUID(length=16), nullable=False),
        sa.Column("comment_id", sa.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_mentions_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_mentions_post_id_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mentions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentions")),
    )
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.create_index("ix_mentions_comment_id", ["comment_id"], unique=False)
        batch_op.create_index("ix_mentions_post_id", ["post_id"], unique=False)
        batch_op.create_index("ix_mentions_user_id", ["user_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_user_id")
        batch_op.drop_index("ix_mentions_post_id")
        batch_op.drop_index("ix_mentions_comment_id")

    op.drop_table("mentions")
    with op.batch_alter_table("comment_likes", schema=None) as batch_op:
        batch_op.drop_index("uq_comment_likes_comment_user")
        batch_op.drop_index("ix_comment_likes_user_id")

    op.drop_table("comment_likes")
    with op.batch_alter_table("post_likes", schema=None) as batch_op:
        batch_op.drop_index("uq_post_likes_post_user")
        batch_op.drop_index("ix_post_likes_user_id")

    op.drop_table("post_likes")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_post_created")
        batch_op.drop_index("ix_comments_parent_id")
        batch_op.drop_index("ix_comments_author_id")

    op.drop_table("comments")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_created")
        batch_op.drop_index("ix_posts_author_created")

    op.drop_table("posts")
