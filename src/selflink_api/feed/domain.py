"""The feed domain: the home feed and the for-you feed."""

from selflink_api.content.media import MediaUrls
from selflink_api.feed import jobs, models
from selflink_api.feed.controllers import FeedController
from selflink_api.feed.ranking import load_weights
from selflink_api.feed.services import FeedToolkit
from selflink_api.platform.domains import Domain, Shared

FEED_WEIGHTS = "feed-1"
"""The for-you weights in use (`weights/<version>.json`)."""


def build_toolkit(shared: Shared) -> FeedToolkit:
    return FeedToolkit(
        shared.events, shared.cipher, load_weights(FEED_WEIGHTS), MediaUrls(shared.settings)
    )


DOMAIN = Domain(
    name="feed",
    models=(models,),
    controllers=(FeedController,),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    toolkit=build_toolkit,
)
