"""The matching domain: preferences, precomputed features, scores and recommendations."""

from selflink_api.matching import jobs, models
from selflink_api.matching.candidates import CandidateCache, features_context
from selflink_api.matching.controllers import MatchingController
from selflink_api.matching.models import MatchingFeatures, MatchingPreferences
from selflink_api.matching.readings import ReadingStore
from selflink_api.matching.services import MatchingToolkit, PreferencesStore, export_for_user
from selflink_api.platform.crypto import EncryptedStore
from selflink_api.platform.domains import Domain, Shared
from selflink_api.platform.events import ACCOUNT_DELETED, BIRTH_DATA_CHANGED


def build_toolkit(shared: Shared) -> MatchingToolkit:
    return MatchingToolkit(
        shared.settings, shared.cipher, CandidateCache(shared.cipher), ReadingStore(shared.redis)
    )


DOMAIN = Domain(
    name="matching",
    models=(models,),
    controllers=(MatchingController,),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    subscriptions={
        ACCOUNT_DELETED: (jobs.forget_user,),
        BIRTH_DATA_CHANGED: (jobs.refresh_features,),
    },
    export=export_for_user,
    encrypted_stores=(
        EncryptedStore(
            "matching preferences",
            MatchingPreferences,
            lambda row: PreferencesStore.context(row.user_id),
        ),
        EncryptedStore(
            "matching features", MatchingFeatures, lambda row: features_context(row.user_id)
        ),
    ),
    toolkit=build_toolkit,
)
