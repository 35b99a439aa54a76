"""The two full-text engines behind one interface, chosen by the database's dialect.

Both see the same words (letters and digits, split by the service; never the user's operator
syntax), both fold case only (no stemming, no accent folding: `simple` on PostgreSQL,
`unicode61 remove_diacritics 0` on SQLite, because people write in many languages) and both
weigh a person's handle and display name 2.5 times their bio. What each engine keeps in sync,
and how, is in `migrations/versions/0009_search.py`.
"""

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.models import User

POST_SEARCH = "post_search"
POSTS_FTS = "posts_fts"
PEOPLE_FTS = "people_fts"
FTS5_SHADOWS = ("data", "idx", "docsize", "config")
"""The tables SQLite makes for each external-content FTS5 table."""

MIGRATION_ONLY = frozenset(
    {
        POST_SEARCH,
        "users.search_vector",
        "ix_users_search_vector",
        "ix_users_handle_trgm",
        *(
            f"{fts}{suffix}"
            for fts in (POSTS_FTS, PEOPLE_FTS)
            for suffix in ("", *(f"_{s}" for s in FTS5_SHADOWS))
        ),
    }
)
"""The index the search migration builds beside the models (`Domain.migration_only`)."""


class PersonFields(StrEnum):
    NAMES = "names"  # handle and display name: what anyone may see of anyone
    PROFILE = "profile"  # names and bio: for people whose full profile the viewer sees


class SearchBackend(Protocol):
    """Queries of `(id, score)`: the rows holding every word (the last one also as the start
    of a word when `prefix` is set), a higher score for a better match."""

    def people(self, words: Sequence[str], fields: PersonFields, *, prefix: bool) -> Select[Any]:
        """Columns `user_id`, `score`."""
        ...

    def posts(self, words: Sequence[str], newest: int) -> Select[Any]:
        """Columns `post_id`, `created_at`, `score`: of the posts holding every word, the
        `newest` (by `created_at`, then id), each with its rank."""
        ...

    def handle_starts_with(self, start: str) -> ColumnElement[bool]:
        """The condition on `User.handle` for handles beginning with `start` (lower case,
        letters, digits and `_` only)."""
        ...


_posts = table(
    "posts", column("id", GUID), column("created_at", DateTimeUTC(timezone=True)), column("rowid")
)
_post_search = table(
    POST_SEARCH,
    column("post_id", GUID),
    column("created_at", DateTimeUTC(timezone=True)),
    column("search_vector"),
)
_users = table("users", column("id", GUID), column("search_vector"), column("rowid"))


class PostgresSearch:
    """`tsvector`s with GIN indexes: people's a generated column of `users`, posts' in the
    narrow `post_search` table; handle prefixes on a trigram index."""

    @staticmethod
    def _tsquery(words: Sequence[str], *, prefix: bool, weight: str = "") -> ColumnElement[Any]:
        """`'w1':A & 'w2':*A`: each word one quoted lexeme, so nothing is read as an operator
        (words are letters and digits only, never a quote or backslash).

        Written into the statement as a literal (escaped by SQLAlchemy), not sent as a
        parameter: PostgreSQL may switch a prepared statement run often to a generic plan,
        which cannot know how common the words are, and a plan that suits rare words (every
        match from the GIN index) reads a third of `post_search` for the commonest (0.5 s at
        a million posts, against 1 ms walking back in time)."""
        lexemes = [f"'{word}':{weight}" if weight else f"'{word}'" for word in words]
        if prefix:
            lexemes[-1] = f"'{words[-1]}':*{weight}"
        text = bindparam(None, " & ".join(lexemes), type_=String, literal_execute=True)
        return func.to_tsquery(literal_column("'simple'::regconfig"), text)

    def _matching(
        self, source: Any, key: str, words: Sequence[str], *, prefix: bool, weight: str = ""
    ) -> Select[Any]:
        query = self._tsquery(words, prefix=prefix, weight=weight)
        vector = source.c.search_vector
        return select(
            source.c.id.label(key), func.ts_rank(vector, query, type_=Float).label("score")
        ).where(vector.op("@@")(query))

    def people(self, words: Sequence[str], fields: PersonFields, *, prefix: bool) -> Select[Any]:
        # Names carry weight A in `users.search_vector`, the bio B: `:A` keeps to the names.
        weight = "A" if fields is PersonFields.NAMES else ""
        return self._matching(_users, "user_id", words, prefix=prefix, weight=weight)

    def posts(self, words: Sequence[str], newest: int) -> Select[Any]:
        # The planner picks the GIN index for rare words, and for common ones walks
        # `post_search` back in time until it has `newest` matches: either way only those
        # are ranked, reading the narrow table alone.
        query = self._tsquery(words, prefix=False)
        vector = _post_search.c.search_vector
        matches = (
            select(_post_search.c.post_id, _post_search.c.created_at, vector)
            .where(vector.op("@@")(query))
            .order_by(_post_search.c.created_at.desc(), _post_search.c.post_id.desc())
            .limit(bindparam(None, newest, type_=Integer, literal_execute=True))
            .subquery("newest")
        )
        score = func.ts_rank(matches.c.search_vector, query, type_=Float).label("score")
        # Sorted here as the caller sorts (which decides): PostgreSQL then reads the posts of
        # the best-ranked matches one by one until a page is full, instead of all of them.
        return select(matches.c.post_id, matches.c.created_at, score).order_by(
            score.desc(), matches.c.created_at.desc(), matches.c.post_id.desc()
        )

    def handle_starts_with(self, start: str) -> ColumnElement[bool]:
        return User.handle.like(start.replace("_", "\\_") + "%", escape="\\")


class SqliteSearch:
    """External-content FTS5 tables keyed by the rowid of `posts` and `users`."""

    @staticmethod
    def _match(words: Sequence[str], *, prefix: bool) -> str:
        """`"w1" "w2"*`: each word a quoted FTS5 string, so `"`, `*`, `-`, `:`, `NEAR(`, `AND`
        or `OR` in the user's text are never syntax (and words hold none of them anyway)."""
        quoted = " ".join('"' + word.replace('"', '""') + '"' for word in words)
        return quoted + "*" if prefix else quoted

    @staticmethod
    def _matching(
        fts: str, source: Any, key: str, match: str, weights: tuple[float, ...] = ()
    ) -> Select[Any]:
        index = table(fts, column("rowid"))
        name: ColumnElement[Any] = literal_column(fts)
        return (
            select(
                source.c.id.label(key),
                (-func.bm25(name, *weights, type_=Float)).label("score"),
            )
            .select_from(index.join(source, source.c.rowid == index.c.rowid))
            .where(name.op("MATCH")(match))
        )

    def people(self, words: Sequence[str], fields: PersonFields, *, prefix: bool) -> Select[Any]:
        match = self._match(words, prefix=prefix)
        if fields is PersonFields.NAMES:
            match = "{handle display_name} : (" + match + ")"
        return self._matching(PEOPLE_FTS, _users, "user_id", match, (2.5, 2.5, 1.0))

    def posts(self, words: Sequence[str], newest: int) -> Select[Any]:
        matching = self._matching(POSTS_FTS, _posts, "post_id", self._match(words, prefix=False))
        return (
            matching.add_columns(_posts.c.created_at)
            .order_by(_posts.c.created_at.desc(), _posts.c.id.desc())
            .limit(newest)
        )

    def handle_starts_with(self, start: str) -> ColumnElement[bool]:
        # A range on the unique index: handles are lower-case ASCII, all below U+007F.
        return (User.handle >= start) & (User.handle < start + "\x7f")


def backend_for(session: AsyncSession) -> SearchBackend:
    """PostgreSQL's full text on PostgreSQL, FTS5 on the embedded SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return PostgresSearch()
    return SqliteSearch()
