"""The social domain: profiles as others see them, follows, blocks and mutes."""

from selflink_api.platform.domains import Domain
from selflink_api.social import models
from selflink_api.social.controllers import SocialController
from selflink_api.social.services import ACCOUNT_COUNTS, erase_edges, export_for_user

DOMAIN = Domain(
    name="social",
    models=(models,),
    controllers=(SocialController,),
    export=export_for_user,
    erase=erase_edges,
    counts=ACCOUNT_COUNTS,
)
