"""HTTP endpoints of search."""

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.auth import ANONYMOUS_ALLOWED
from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.schemas import PublicProfile
from selflink_api.accounts.services import Principal
from selflink_api.content.media import MediaUrls
from selflink_api.content.schemas import PostView
from selflink_api.platform.events import EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.openapi import problems
from selflink_api.platform.pagination import CursorPage, PageRequest
from selflink_api.search.services import MAX_QUERY_CHARACTERS, SearchService

ANYONE = {ANONYMOUS_ALLOWED: True}
Query = Annotated[
    str,
    QueryParameter(
        min_length=1,
        max_length=MAX_QUERY_CHARACTERS,
        description="Words to find, all of them (letters and digits; other characters only "
        "separate words and are never operators).",
    ),
]


@dataclass(frozen=True)
class SearchToolkit:
    events: EventBus
    media_urls: MediaUrls
    ranked_posts: int


def provide_search_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    jobs: NamedDependency[JobQueue],
) -> SearchService:
    toolkit: SearchToolkit = request.app.state.search
    return SearchService(
        db_session, toolkit.events, jobs, toolkit.media_urls, ranked_posts=toolkit.ranked_posts
    )


class SearchController(Controller):
    path = "/search"
    tags = ["search"]  # noqa: RUF012
    dependencies = {  # noqa: RUF012
        **ACCOUNT_DEPENDENCIES,
        "search": Provide(provide_search_service, sync_to_thread=False),
    }

    @get("/people", opt=ANYONE, summary="People by handle, name and bio", responses=problems(422))
    async def people(
        self,
        q: Query,
        viewer: NamedDependency[Principal | None],
        search: NamedDependency[SearchService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[PublicProfile]:
        items, cursor = await search.people(viewer.id if viewer else None, q, page)
        return CursorPage(items=items, next_cursor=cursor)

    @get("/posts", opt=ANYONE, summary="Posts by their words", responses=problems(422))
    async def posts(
        self,
        q: Query,
        viewer: NamedDependency[Principal | None],
        search: NamedDependency[SearchService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[PostView]:
        items, cursor = await search.posts(viewer.id if viewer else None, q, page)
        return CursorPage(items=items, next_cursor=cursor)
