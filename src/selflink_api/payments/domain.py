"""The payments domain: Stripe subscriptions, entitlements and the revenue ledger."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.payments import jobs, models
from selflink_api.payments.controllers import PaymentsController, PaymentsStaffController
from selflink_api.payments.models import StripeEvent
from selflink_api.payments.services import event_context, export_for_user, plan_summary
from selflink_api.platform.crypto import EncryptedStore
from selflink_api.platform.domains import Domain
from selflink_api.platform.events import ACCOUNT_DELETED
from selflink_api.settings import Settings


async def account_plan(
    session: AsyncSession, settings: Settings, user_id: UUID
) -> Mapping[str, Any]:
    return await plan_summary(session, settings, user_id)


DOMAIN = Domain(
    name="payments",
    models=(models,),
    controllers=(PaymentsController, PaymentsStaffController),
    jobs=jobs.JOBS,
    schedules=jobs.SCHEDULES,
    subscriptions={ACCOUNT_DELETED: (jobs.cancel_for_deleted_account,)},
    plan=account_plan,
    export=export_for_user,
    encrypted_stores=(
        EncryptedStore("Stripe events", StripeEvent, lambda row: event_context(row.event_id)),
    ),
)
