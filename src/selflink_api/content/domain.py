"""The content domain: posts, comments, likes, mentions and media."""

from selflink_api.content import jobs, models
from selflink_api.content.controllers import (
    CommentController,
    ContentToolkit,
    MediaController,
    PostController,
    ProfilePostsController,
)
from selflink_api.content.media_services import MediaToolkit
from selflink_api.content.services import export_for_user
from selflink_api.platform.domains import Domain, Shared
from selflink_api.platform.events import ACCOUNT_DELETED


def build_toolkit(shared: Shared) -> ContentToolkit:
    return ContentToolkit(shared.events, MediaToolkit.from_settings(shared.settings))


DOMAIN = Domain(
    name="content",
    models=(models,),
    controllers=(PostController, CommentController, ProfilePostsController, MediaController),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    subscriptions={ACCOUNT_DELETED: (jobs.forget_user,)},
    export=export_for_user,
    toolkit=build_toolkit,
)
