"""HTTP endpoints of the feeds."""

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.services import Principal
from selflink_api.content.schemas import PostView
from selflink_api.feed.schemas import ForYouPage
from selflink_api.feed.services import FeedService, FeedToolkit
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.openapi import problems
from selflink_api.platform.pagination import CursorPage, PageRequest


def provide_feed_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    jobs: NamedDependency[JobQueue],
) -> FeedService:
    toolkit: FeedToolkit = request.app.state.feed
    return FeedService(db_session, toolkit, request.app.state.matching, jobs)


class FeedController(Controller):
    path = "/feed"
    tags = ["feed"]  # noqa: RUF012
    dependencies = {  # noqa: RUF012
        **ACCOUNT_DEPENDENCIES,
        "feed": Provide(provide_feed_service, sync_to_thread=False),
    }

    @get("/home", summary="Posts of the people I follow and mine, newest first")
    async def home(
        self,
        principal: NamedDependency[Principal],
        feed: NamedDependency[FeedService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[PostView]:
        items, cursor = await feed.home(principal.id, page)
        return CursorPage(items=items, next_cursor=cursor)

    @get(
        "/for-you",
        summary="Posts ranked for me, each saying why, with insight cards",
        description="The first page ranks and freezes up to ten pages for an hour; `limit` "
        "of the first page sets the page size of the later ones.",
        responses=problems(400),
    )
    async def for_you(
        self,
        principal: NamedDependency[Principal],
        feed: NamedDependency[FeedService],
        page: NamedDependency[PageRequest],
    ) -> ForYouPage:
        return await feed.for_you(principal.id, page)
