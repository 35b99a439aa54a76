"""search: full-text indexes of people and posts

PostgreSQL: generated `tsvector` columns with GIN indexes, and a trigram index for handle
prefixes (`pg_trgm`, a trusted extension: the database owner may create it). SQLite:
external-content FTS5 tables kept in step by triggers. Nothing here is in the models, so the
search domain lists it as `migration_only` (the drift test skips exactly that).

The `simple` configuration (PostgreSQL) and `unicode61 remove_diacritics 0` (SQLite) only fold
case: posts are written in many languages, and stemming or dropping accents for one language
would wrongly join words of another. Adding a stored generated column rewrites the table on
PostgreSQL, once, here.

SQLite's FTS tables are keyed by the implicit rowid of `posts` and `users` (their ids are
UUIDs). A later migration that rebuilds either table (Alembic's batch mode) drops these
triggers and may renumber rowids: it must recreate the triggers and run
`INSERT INTO <fts>(<fts>) VALUES ('rebuild')`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, text)) STORED",
    "CREATE INDEX ix_posts_search_vector ON posts USING gin (search_vector)",
    # Names weigh A, the bio B: ts_rank counts A 1.0 and B 0.4, and `:A` queries names only.
    "ALTER TABLE users ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, handle || ' ' || display_name), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, bio), 'B')) STORED",
    "CREATE INDEX ix_users_search_vector ON users USING gin (search_vector)",
    "CREATE INDEX ix_users_handle_trgm ON users USING gin (handle gin_trgm_ops)",
)


def _fts5(name: str, table: str, columns: Sequence[str]) -> tuple[str, ...]:
    """An FTS5 index of `table`'s `columns` reading them from the table itself, and the
    triggers that tell it every change (FTS5 needs the old values to forget a row). The names
    are this module's constants, never input (hence the `noqa: S608`)."""
    listed = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    forget = f"INSERT INTO {name}({name}, rowid, {listed}) VALUES ('delete', old.rowid, {old});"  # noqa: S608
    learn = f"INSERT INTO {name}(rowid, {listed}) VALUES (new.rowid, {new});"  # noqa: S608
    return (
        f"CREATE VIRTUAL TABLE {name} USING fts5({listed}, content='{table}', "
        "content_rowid='rowid', tokenize='unicode61 remove_diacritics 0')",
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} BEGIN {learn} END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN {forget} END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF {listed} ON {table} "
        f"BEGIN {forget} {learn} END",
        f"INSERT INTO {name}({name}) VALUES ('rebuild')",  # noqa: S608
    )


SQLITE = (
    *_fts5("posts_fts", "posts", ("text",)),
    *_fts5("people_fts", "users", ("handle", "display_name", "bio")),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL if postgresql else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for index in ("ix_users_handle_trgm", "ix_users_search_vector", "ix_posts_search_vector"):
            op.execute(f"DROP INDEX IF EXISTS {index}")
        op.execute("ALTER TABLE users DROP COLUMN IF EXISTS search_vector")
        op.execute("ALTER TABLE posts DROP COLUMN IF EXISTS search_vector")
        return  # pg_trgm stays: other databases objects may use it by then
    for name in ("posts_fts", "people_fts"):
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}_{event}")
        op.execute(f"DROP TABLE IF EXISTS {name}")
