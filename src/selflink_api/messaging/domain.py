"""The messaging domain: threads, messages, receipts and the realtime gateway."""

from selflink_api.accounts.auth import SessionWatch
from selflink_api.content.media import MediaUrls
from selflink_api.messaging import jobs, models
from selflink_api.messaging.controllers import (
    MessageController,
    MessagingSettingsController,
    ThreadController,
)
from selflink_api.messaging.gateway import RealtimeController
from selflink_api.messaging.services import (
    MESSAGE_STORE,
    MessagingToolkit,
    erase_user_messages,
    export_for_user,
)
from selflink_api.platform.domains import Domain, Shared
from selflink_api.platform.events import ACCOUNT_DELETED


def build_toolkit(shared: Shared) -> MessagingToolkit:
    return MessagingToolkit(
        settings=shared.settings,
        cipher=shared.cipher,
        events=shared.events,
        limiter=shared.limiter,
        realtime=shared.realtime,
        state=shared.realtime_state,
        media_urls=MediaUrls(shared.settings),
        session_watch=SessionWatch(shared.settings, shared.settings.realtime_session_check_seconds),
    )


DOMAIN = Domain(
    name="messaging",
    models=(models,),
    controllers=(
        MessagingSettingsController,
        ThreadController,
        MessageController,
        RealtimeController,
    ),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    subscriptions={ACCOUNT_DELETED: (jobs.tidy,)},
    export=export_for_user,
    erase=erase_user_messages,
    encrypted_stores=(MESSAGE_STORE,),
    toolkit=build_toolkit,
)
