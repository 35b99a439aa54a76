"""The feed domain: the home feed (the for-you feed joins it next)."""

from selflink_api.content.media import MediaUrls
from selflink_api.feed.controllers import FeedController, FeedToolkit
from selflink_api.platform.domains import Domain, Shared


def build_toolkit(shared: Shared) -> FeedToolkit:
    return FeedToolkit(shared.events, MediaUrls(shared.settings))


DOMAIN = Domain(name="feed", controllers=(FeedController,), toolkit=build_toolkit)
