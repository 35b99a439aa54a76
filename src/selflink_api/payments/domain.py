"""The payments domain: Stripe subscriptions, entitlements and the revenue ledger."""

from selflink_api.payments import jobs, models
from selflink_api.payments.controllers import PaymentsController, PaymentsStaffController
from selflink_api.payments.models import StripeEvent
from selflink_api.payments.services import ACCOUNT_PLAN, event_context, export_for_user
from selflink_api.platform.crypto import EncryptedStore
from selflink_api.platform.domains import Domain
from selflink_api.platform.events import ACCOUNT_DELETED

DOMAIN = Domain(
    name="payments",
    models=(models,),
    controllers=(PaymentsController, PaymentsStaffController),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    subscriptions={ACCOUNT_DELETED: (jobs.cancel_for_deleted_account,)},
    plan=ACCOUNT_PLAN,
    export=export_for_user,
    encrypted_stores=(
        EncryptedStore("Stripe events", StripeEvent, lambda row: event_context(row.event_id)),
    ),
)
