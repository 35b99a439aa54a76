"""search: a narrow table of the posts' words (PostgreSQL), read instead of the posts table

Ranking a common word read the wide `posts` table (text, counts, timestamps and the
`tsvector` side by side: 540 MB for a million posts) at every match, ~18,000 pages for a word
in 1% of posts. `post_search` keeps only what a search reads: the post's id, its
`created_at` (search ranks the newest matches, docs/content.md#search) and its `tsvector`,
filled in `created_at` order so its pages follow time (new posts append at the end). A
trigger on `posts` keeps it in step within the same statement; a post's row goes with the
post (`ON DELETE CASCADE`). `posts.search_vector` and its GIN index from 0009 are dropped:
nothing reads them any more, and each was one more thing every write of a post maintained.

SQLite keeps its FTS5 table (0009): FTS5 already stores its index apart from `posts`.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 07:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = (
    "CREATE TABLE post_search ("
    " post_id uuid CONSTRAINT pk_post_search PRIMARY KEY"
    " CONSTRAINT fk_post_search_post_id_posts REFERENCES posts (id) ON DELETE CASCADE,"
    " created_at timestamptz NOT NULL,"
    " search_vector tsvector NOT NULL)",
    "INSERT INTO post_search (post_id, created_at, search_vector)"
    " SELECT id, created_at, to_tsvector('simple'::regconfig, text) FROM posts"
    " ORDER BY created_at, id",
    "CREATE INDEX ix_post_search_vector ON post_search USING gin (search_vector)",
    "CREATE INDEX ix_post_search_created ON post_search (created_at, post_id)",
    # The planner chooses between the GIN index (rare words) and walking back in time
    # (common ones) by how common each word is: it needs the statistics at once.
    "ANALYZE post_search",
    """
    CREATE FUNCTION post_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO post_search (post_id, created_at, search_vector)
        VALUES (NEW.id, NEW.created_at, to_tsvector('simple'::regconfig, NEW.text))
        ON CONFLICT (post_id) DO UPDATE
            SET created_at = EXCLUDED.created_at, search_vector = EXCLUDED.search_vector;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER posts_search_insert AFTER INSERT ON posts"
    " FOR EACH ROW EXECUTE FUNCTION post_search_sync()",
    "CREATE TRIGGER posts_search_update AFTER UPDATE OF text, created_at ON posts"
    " FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text"
    " OR OLD.created_at IS DISTINCT FROM NEW.created_at)"
    " EXECUTE FUNCTION post_search_sync()",
    "DROP INDEX ix_posts_search_vector",
    "ALTER TABLE posts DROP COLUMN search_vector",
)

DOWNGRADE = (
    "ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, text)) STORED",
    "CREATE INDEX ix_posts_search_vector ON posts USING gin (search_vector)",
    "DROP TRIGGER posts_search_update ON posts",
    "DROP TRIGGER posts_search_insert ON posts",
    "DROP FUNCTION post_search_sync()",
    "DROP TABLE post_search",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
