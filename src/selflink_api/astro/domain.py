"""The astro domain: birth data, cached natal charts, transits, numerology and synastry."""

from selflink_api.astro import jobs, models
from selflink_api.astro.controllers import AstroController
from selflink_api.astro.models import CachedChart
from selflink_api.astro.services import AstroToolkit, ChartCache
from selflink_api.platform.crypto import EncryptedStore
from selflink_api.platform.domains import Domain, Shared
from selflink_api.platform.events import ACCOUNT_DELETED, BIRTH_DATA_CHANGED


def build_toolkit(shared: Shared) -> AstroToolkit:
    return AstroToolkit(shared.settings, shared.cipher, shared.limiter, shared.events)


DOMAIN = Domain(
    name="astro",
    models=(models,),
    controllers=(AstroController,),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    subscriptions={
        ACCOUNT_DELETED: (jobs.forget_charts,),
        BIRTH_DATA_CHANGED: (jobs.forget_charts,),
    },
    encrypted_stores=(
        EncryptedStore(
            "cached charts",
            CachedChart,
            lambda row: ChartCache.context(row.user_id, row.input_hash_index),
        ),
    ),
    toolkit=build_toolkit,
)
