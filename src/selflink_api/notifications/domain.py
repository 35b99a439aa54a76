"""The notifications domain: in-app notifications from other domains' events, live delivery,
preferences and quiet hours, Web Push devices and deliveries, and the daily email digest."""

from dataclasses import dataclass

from selflink_api.notifications import jobs, models
from selflink_api.notifications.controllers import NotificationController, PushDeviceController
from selflink_api.notifications.push import application_server_key
from selflink_api.notifications.services import erase_user_notifications, export_for_user
from selflink_api.platform.domains import Domain, Shared
from selflink_api.platform.events import (
    COMMENT_CREATED,
    COMMENT_LIKED,
    MATCH_FEATURES_READY,
    MESSAGE_SENT,
    MODERATION_DECIDED,
    PAYOUT_STATE_CHANGED,
    PERSON_FOLLOWED,
    PERSON_MENTIONED,
    POST_LIKED,
    SIGNED_OUT_EVERYWHERE,
)


@dataclass(frozen=True)
class NotificationsToolkit:
    application_server_key: str | None


def build_toolkit(shared: Shared) -> NotificationsToolkit:
    return NotificationsToolkit(application_server_key(shared.settings))


DOMAIN = Domain(
    name="notifications",
    models=(models,),
    controllers=(NotificationController, PushDeviceController),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    subscriptions={
        PERSON_FOLLOWED: (jobs.on_followed,),
        POST_LIKED: (jobs.on_post_liked,),
        COMMENT_LIKED: (jobs.on_comment_liked,),
        COMMENT_CREATED: (jobs.on_comment,),
        PERSON_MENTIONED: (jobs.on_mention,),
        MESSAGE_SENT: (jobs.on_message,),
        MATCH_FEATURES_READY: (jobs.on_match,),
        PAYOUT_STATE_CHANGED: (jobs.on_payout,),
        MODERATION_DECIDED: (jobs.on_moderation,),
        SIGNED_OUT_EVERYWHERE: (jobs.forget_devices_of,),
    },
    export=export_for_user,
    erase=erase_user_notifications,
    toolkit=build_toolkit,
)
