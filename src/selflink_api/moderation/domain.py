"""The moderation domain: reports, automatic flags, the staff queue, decisions and appeals."""

from selflink_api.moderation import jobs, models
from selflink_api.moderation.controllers import (
    ModerationStaffController,
    MyDecisionsController,
    ReportController,
)
from selflink_api.moderation.services import (
    APPEAL_STORE,
    NOTE_STORE,
    REPORT_STORE,
    ModerationToolkit,
    erase_user,
    export_for_user,
)
from selflink_api.platform.domains import Domain
from selflink_api.platform.events import COMMENT_CREATED, MESSAGE_SENT, POST_CREATED

DOMAIN = Domain(
    name="moderation",
    models=(models,),
    controllers=(ReportController, MyDecisionsController, ModerationStaffController),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    subscriptions={
        POST_CREATED: (jobs.check_post,),
        COMMENT_CREATED: (jobs.check_comment,),
        MESSAGE_SENT: (jobs.check_message,),
    },
    export=export_for_user,
    erase=erase_user,
    encrypted_stores=(REPORT_STORE, NOTE_STORE, APPEAL_STORE),
    toolkit=ModerationToolkit.build,
)
