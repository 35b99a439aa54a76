"""HTTP endpoints of the feeds."""

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.services import Principal
from selflink_api.content.media import MediaUrls
from selflink_api.content.schemas import PostView
from selflink_api.feed.services import FeedService
from selflink_api.platform.events import EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.pagination import CursorPage, PageRequest


@dataclass(frozen=True)
class FeedToolkit:
    events: EventBus
    media_urls: MediaUrls


def provide_feed_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    jobs: NamedDependency[JobQueue],
) -> FeedService:
    toolkit: FeedToolkit = request.app.state.feed
    return FeedService(db_session, toolkit.events, jobs, toolkit.media_urls)


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
