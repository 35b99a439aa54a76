"""The audit domain: the hash-chained log of staff and rewards actions."""

from selflink_api.audit import models
from selflink_api.platform.domains import Domain

DOMAIN = Domain(name="audit", models=(models,))
