"""The rewards domain: the contributors' ledger, monthly bundles, disputes and payouts."""

from selflink_api.platform.domains import Domain
from selflink_api.platform.events import ACCOUNT_DELETED
from selflink_api.rewards import jobs, models
from selflink_api.rewards.controllers import RewardsController, RewardsStaffController
from selflink_api.rewards.links import export_for_user
from selflink_api.rewards.pages import TransparencyPages

DOMAIN = Domain(
    name="rewards",
    models=(models,),
    controllers=(RewardsController, RewardsStaffController),
    root_controllers=(TransparencyPages,),
    templates=True,
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    subscriptions={ACCOUNT_DELETED: (jobs.forget_user,)},
    export=export_for_user,
)
