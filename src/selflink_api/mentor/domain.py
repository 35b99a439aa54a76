"""The mentor domain: conversations with the AI mentor, streamed, safe and private."""

from selflink_api.astro.services import AstroToolkit
from selflink_api.matching.candidates import CandidateCache
from selflink_api.matching.readings import ReadingStore
from selflink_api.matching.services import MatchingToolkit
from selflink_api.mentor import jobs, models
from selflink_api.mentor.controllers import MentorController, MentorStaffController
from selflink_api.mentor.models import MentorMemory, MentorMessage
from selflink_api.mentor.providers import build_provider
from selflink_api.mentor.replies import Replies
from selflink_api.mentor.services import (
    MentorToolkit,
    crisis_resources,
    erase_user,
    export_for_user,
    memory_context,
    message_context,
)
from selflink_api.payments.services import EntitlementQuota
from selflink_api.platform.crypto import EncryptedStore
from selflink_api.platform.domains import Domain, Shared


def build_toolkit(shared: Shared) -> Replies:
    settings = shared.settings
    toolkit = MentorToolkit(
        settings=settings,
        cipher=shared.cipher,
        limiter=shared.limiter,
        astro=AstroToolkit(settings, shared.cipher, shared.limiter, shared.events),
        matching=MatchingToolkit(
            settings, shared.cipher, CandidateCache(shared.cipher), ReadingStore(shared.redis)
        ),
        quota=EntitlementQuota(settings),
        resources=crisis_resources(settings),
    )
    return Replies(toolkit, build_provider(settings))


DOMAIN = Domain(
    name="mentor",
    models=(models,),
    controllers=(MentorController, MentorStaffController),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    export=export_for_user,
    erase=erase_user,
    encrypted_stores=(
        EncryptedStore(
            "mentor messages", MentorMessage, lambda row: message_context(row.id, row.user_id)
        ),
        EncryptedStore("mentor memories", MentorMemory, lambda row: memory_context(row.user_id)),
    ),
    toolkit=build_toolkit,
)
