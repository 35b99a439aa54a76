"""The home feed, built on read ("fan-out on read"; docs/content.md says why)."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.content.media import MediaUrls
from selflink_api.content.schemas import PostView
from selflink_api.content.services import ContentService
from selflink_api.platform.events import EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.pagination import PageRequest
from selflink_api.social.services import followed_by, hidden_from


class FeedService:
    def __init__(
        self, session: AsyncSession, events: EventBus, jobs: JobQueue, media_urls: MediaUrls
    ) -> None:
        self.content = ContentService(session, events, jobs, media_urls)

    async def home(self, viewer_id: UUID, page: PageRequest) -> tuple[list[PostView], str | None]:
        """Posts of the people I follow and mine, newest first by post time; people I muted
        are left out even while I follow them."""
        return await self.content.posts_by_authors(
            viewer_id, followed_by(viewer_id), hidden_from(viewer_id), "home", page
        )
