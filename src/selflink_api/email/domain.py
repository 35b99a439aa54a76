"""The email domain: outgoing email through an encrypted outbox."""

from selflink_api.email import jobs, models
from selflink_api.email.models import OutboxMessage
from selflink_api.email.services import sealing_context
from selflink_api.platform.crypto import EncryptedStore
from selflink_api.platform.domains import Domain
from selflink_api.platform.events import ACCOUNT_DELETED

DOMAIN = Domain(
    name="email",
    models=(models,),
    jobs=jobs.JOBS,
    subscriptions={ACCOUNT_DELETED: (jobs.forget_user,)},
    encrypted_stores=(
        EncryptedStore("held emails", OutboxMessage, lambda row: sealing_context(row.id)),
    ),
)
