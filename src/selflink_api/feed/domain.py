"""The feed domain: the home feed and the for-you feed."""

from selflink_api.content.media import MediaUrls
from selflink_api.feed.controllers import FeedController
from selflink_api.feed.ranking import load_weights
from selflink_api.feed.services import FeedToolkit
from selflink_api.platform.domains import Domain, Shared

FEED_WEIGHTS = "feed-1"
"""The for-you weights in use (`weights/<version>.json`)."""


def build_toolkit(shared: Shared) -> FeedToolkit:
    return FeedToolkit(
        shared.events,
        shared.cipher,
        load_weights(FEED_WEIGHTS),
        MediaUrls(shared.settings),
        shared.store("feed-readings"),
    )


DOMAIN = Domain(
    name="feed",
    controllers=(FeedController,),
    toolkit=build_toolkit,
)
