"""The system domain: health, readiness, metrics and the worker heartbeat."""

from selflink_api.platform.domains import Domain
from selflink_api.system import jobs, models
from selflink_api.system.controllers import MetricsController, SystemController

DOMAIN = Domain(
    name="system",
    models=(models,),
    root_controllers=(SystemController, MetricsController),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
)
