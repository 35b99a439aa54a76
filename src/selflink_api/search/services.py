"""Search rules: what a query means, who may be found, in which order (docs/content.md#search).

A query is its words: runs of letters and digits, lower-cased; everything else (quotes, `-`,
`*`, `:`, `OR`, …) separates words and is never read as an operator, so both engines answer
the same question and no text can break a query. Every word must match.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, case, false, func, literal, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.models import AccountStatus, ProfileVisibility, User
from selflink_api.accounts.schemas import PublicProfile
from selflink_api.content.media import MediaUrls
from selflink_api.content.schemas import PostView
from selflink_api.content.services import ContentService
from selflink_api.platform.events import EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.pagination import PageRequest, paginate
from selflink_api.platform.problems import ProblemError
from selflink_api.search.backends import PersonFields, backend_for
from selflink_api.social.services import follows, hidden_from

MAX_QUERY_CHARACTERS = 200
_WORD = re.compile(r"[^\W_]+")
_HANDLE = re.compile(r"@?([a-z0-9_]{1,30})")


@dataclass(frozen=True)
class SearchQuery:
    words: tuple[str, ...]
    handle: str | None
    """The query read as (the start of) a handle, when it can be one: `@Ali_` -> `ali_`."""

    @classmethod
    def parse(cls, raw: str) -> "SearchQuery":
        """The words of `raw`; a 422 naming `q` when it has none."""
        text = unicodedata.normalize("NFC", raw).strip().lower()
        words = tuple(_WORD.findall(text))
        if not words:
            raise ProblemError.invalid(
                "q", "has no letters or digits to search for", source="query"
            )
        handle = _HANDLE.fullmatch(text)
        return cls(words, handle.group(1) if handle else None)

    def scope(self, kind: str) -> str:
        """The cursor's scope: this list of this query, in a few characters."""
        digest = hashlib.sha256(f"{self.words}|{self.handle}".encode()).hexdigest()[:16]
        return f"search:{kind}:{digest}"


def full_profile_seen_by(viewer_id: UUID | None) -> ColumnElement[bool]:
    """Whether the viewer sees `User`'s whole profile (bio included), as `GET /users/{handle}`
    decides: their own, a public one, or a followers-only one they follow."""
    public = User.profile_visibility == ProfileVisibility.PUBLIC
    if viewer_id is None:
        return public
    return or_(
        User.id == viewer_id,
        public,
        and_(User.profile_visibility == ProfileVisibility.FOLLOWERS, follows(viewer_id, User.id)),
    )


class SearchService:
    """People and posts by their words, as far as the viewer may see them. Never writes."""

    def __init__(
        self,
        session: AsyncSession,
        events: EventBus,
        jobs: JobQueue,
        urls: MediaUrls,
        *,
        ranked_posts: int,
    ) -> None:
        self.session = session
        self.backend = backend_for(session)
        self.content = ContentService(session, events, jobs, urls)
        self.ranked_posts = ranked_posts

    async def posts(
        self, viewer_id: UUID | None, raw: str, page: PageRequest
    ) -> tuple[list[PostView], str | None]:
        """Of the newest `ranked_posts` posts holding every word, those the viewer may see,
        best rank first, then newest: a common word costs as much as a rarer one, and older
        posts are left to narrower queries. The content visibility rule and the viewer's
        blocks and mutes apply as on every list of posts (after the newest are taken, so
        the count ranked never depends on who asks)."""
        query = SearchQuery.parse(raw)
        ranked = self.backend.posts(query.words, self.ranked_posts).subquery("ranked")
        return await self.content.ranked_posts(viewer_id, ranked, query.scope("posts"), page)

    def _people(self, viewer_id: UUID | None, query: SearchQuery) -> Select[Any]:
        """(person, handle rank, text rank, whole profile seen) of everyone the query finds.

        Anyone is found by handle and display name; the bio counts only where the viewer sees
        the whole profile. Handle rank: 2 for the handle itself, 1 for a handle starting with
        the query, 0 otherwise."""
        names = self.backend.people(query.words, PersonFields.NAMES, prefix=True).cte("names")
        profile = self.backend.people(query.words, PersonFields.PROFILE, prefix=True).cte("profile")
        whole = full_profile_seen_by(viewer_id)
        found = [select(names.c.user_id), select(profile.c.user_id)]
        handle_rank: ColumnElement[int] = literal(0)
        by_handle: ColumnElement[bool] = false()
        if query.handle is not None:
            by_handle = self.backend.handle_starts_with(query.handle)
            found.append(select(User.id).where(by_handle))
            handle_rank = case((User.handle == query.handle, 2), (by_handle, 1), else_=0)
        candidates = union(*found).subquery("candidates")
        score = case(
            (whole, func.coalesce(profile.c.score, names.c.score, 0.0)),
            else_=func.coalesce(names.c.score, 0.0),
        )
        statement = (
            select(
                User,
                handle_rank.label("handle_rank"),
                score.label("score"),
                case((whole, True), else_=False).label("whole"),
            )
            .join(candidates, candidates.c.user_id == User.id)
            .outerjoin(names, names.c.user_id == User.id)
            .outerjoin(profile, profile.c.user_id == User.id)
            .where(
                User.status == AccountStatus.ACTIVE,
                or_(
                    names.c.user_id.is_not(None),
                    and_(whole, profile.c.user_id.is_not(None)),
                    by_handle,
                ),
            )
        )
        if viewer_id is not None:
            statement = statement.where(User.id.not_in(hidden_from(viewer_id)))
        return statement

    async def people(
        self, viewer_id: UUID | None, raw: str, page: PageRequest
    ) -> tuple[list[PublicProfile], str | None]:
        """Active people the query finds, except those blocked either way or muted: the
        handle itself first, then handles starting with the query, then by text rank, ties
        newest account first. A profile the viewer may not fully see shows handle and display
        name only, as `GET /users/{handle}` does."""
        query = SearchQuery.parse(raw)
        statement = self._people(viewer_id, query)
        columns = statement.selected_columns
        rows: list[Any]
        rows, cursor = await paginate(
            self.session,
            statement,
            scope=query.scope("people"),
            order_by=[columns.handle_rank, columns.score, User.id],
            page=page,
            descending=True,
            rows=True,
            key_of=lambda row: (row.handle_rank, row.score, row[0].id),
        )
        return [
            PublicProfile(
                handle=user.handle,
                display_name=user.display_name,
                restricted=not whole,
                bio=user.bio if whole else "",
                avatar_url=user.avatar_url if whole else "",
            )
            for user, _, _, whole in rows
        ], cursor
