"""The content domain: posts, comments, likes and mentions."""

from selflink_api.content import jobs, models
from selflink_api.content.controllers import (
    CommentController,
    ContentToolkit,
    PostController,
    ProfilePostsController,
)
from selflink_api.content.services import export_for_user
from selflink_api.platform.domains import Domain, Shared
from selflink_api.platform.events import ACCOUNT_DELETED


def build_toolkit(shared: Shared) -> ContentToolkit:
    return ContentToolkit(shared.events)


DOMAIN = Domain(
    name="content",
    models=(models,),
    controllers=(PostController, CommentController, ProfilePostsController),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    subscriptions={ACCOUNT_DELETED: (jobs.forget_user,)},
    export=export_for_user,
    toolkit=build_toolkit,
)
