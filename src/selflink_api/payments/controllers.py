"""HTTP endpoints of payments: plans, my plan, Stripe checkout and portal links, Stripe's
webhook, and staff's view of the events received."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.services import Principal
from selflink_api.payments import plans, schemas
from selflink_api.payments.gateway import StripeGateway
from selflink_api.payments.jobs import process_event
from selflink_api.payments.models import EventStatus, StripeEvent
from selflink_api.payments.services import (
    BillingService,
    events_page,
    plan_summary,
    record_event,
    replayable,
    verify_event,
)
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.openapi import problems
from selflink_api.platform.pagination import PageRequest
from selflink_api.platform.problems import PAYLOAD_TOO_LARGE, ProblemError
from selflink_api.platform.security import requires_staff
from selflink_api.settings import Settings

PUBLIC = {"exclude_from_auth": True}
STRIPE_SIGNATURE = "stripe-signature"


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def provide_billing(
    db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
) -> AsyncIterator[BillingService]:
    """A Stripe client for this request only: its connections never outlive the request's
    event loop."""
    gateway = StripeGateway(settings)
    try:
        yield BillingService(db_session, settings, gateway)
    finally:
        await gateway.aclose()


PAYMENTS_DEPENDENCIES = {
    **ACCOUNT_DEPENDENCIES,
    "settings": Provide(provide_settings, sync_to_thread=False),
    "billing": Provide(provide_billing),
}


def event_view(row: StripeEvent) -> schemas.StripeEventView:
    return schemas.StripeEventView(
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        outcome=row.outcome,
        attempts=row.attempts,
        stripe_created=datetime.fromtimestamp(row.stripe_created, UTC),
        received_at=row.created_at,
    )


class PaymentsController(Controller):
    path = "/payments"
    tags = ["payments"]  # noqa: RUF012
    dependencies = PAYMENTS_DEPENDENCIES

    @get("/plans", opt=PUBLIC, summary="The plans and what each gives")
    async def plans(self, settings: NamedDependency[Settings]) -> list[schemas.PlanView]:
        return [
            schemas.PlanView(
                key=plan.key,
                tier=plan.tier,
                interval=plan.interval,
                available=plan.tier == plans.FREE or bool(plan.price_id),
                entitlements=msgspec.convert(
                    plan.entitlements, schemas.EntitlementsView, from_attributes=True
                ),
            )
            for plan in plans.plans(settings)
        ]

    @get("/me", summary="My plan and what it gives now")
    async def mine(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> schemas.MyPlan:
        summary = await plan_summary(db_session, settings, principal.id)
        return msgspec.convert(summary, schemas.MyPlan)

    @post(
        "/checkout",
        summary="Start a subscription: a Stripe Checkout page to send the person to",
        status_code=201,
        responses=problems(409, 422, 502, 503, 504),
    )
    async def checkout(
        self,
        data: JSONBody[schemas.CheckoutRequest],
        principal: NamedDependency[Principal],
        billing: NamedDependency[BillingService],
    ) -> schemas.RedirectView:
        return schemas.RedirectView(url=await billing.checkout_url(principal.id, data.plan))

    @post(
        "/portal",
        summary="Manage my subscription: a Stripe customer-portal page",
        status_code=201,
        responses=problems(502, 503, 504),
    )
    async def portal(
        self, principal: NamedDependency[Principal], billing: NamedDependency[BillingService]
    ) -> schemas.RedirectView:
        return schemas.RedirectView(url=await billing.portal_url(principal.id))

    @post(
        "/stripe/webhook",
        opt=PUBLIC,
        summary="Stripe's webhook (signed); each event is stored once and processed by a job",
        status_code=200,
        responses=problems(400, 401, 413, 503),
    )
    async def stripe_webhook(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        jobs: NamedDependency[JobQueue],
    ) -> schemas.WebhookAccepted:
        body = await request.body()
        if len(body) > settings.stripe_webhook_max_bytes:
            raise ProblemError(
                PAYLOAD_TOO_LARGE,
                f"Payloads are limited to {settings.stripe_webhook_max_bytes} bytes.",
            )
        event = verify_event(settings, body, request.headers.get(STRIPE_SIGNATURE))
        recorded = await record_event(db_session, request.app.state.shared.cipher, event, body)
        if recorded.is_new:
            await jobs.enqueue(process_event, event_row_id=str(recorded.event.id))
        return schemas.WebhookAccepted(
            event=recorded.event.event_id,
            status=recorded.event.status,
            duplicate=not recorded.is_new,
        )


class PaymentsStaffController(Controller):
    path = "/staff/payments"
    tags = ["staff"]  # noqa: RUF012
    guards = [requires_staff]  # noqa: RUF012
    dependencies = PAYMENTS_DEPENDENCIES

    @get("/events", summary="Stripe events received, newest first: what became of each")
    async def events(
        self,
        db_session: NamedDependency[AsyncSession],
        page: NamedDependency[PageRequest],
        status: Annotated[
            EventStatus | None,
            QueryParameter(description="received, processed, ignored or failed"),
        ] = None,
    ) -> schemas.StripeEvents:
        items, cursor = await events_page(db_session, status, page)
        return schemas.StripeEvents(items=[event_view(row) for row in items], next_cursor=cursor)

    @post(
        "/events/{event_id:str}/replay",
        summary="Process a failed Stripe event again",
        status_code=202,
        responses=problems(404, 409),
    )
    async def replay(
        self,
        event_id: Annotated[
            str, PathParameter(min_length=1, max_length=255, description="Stripe's event id")
        ],
        db_session: NamedDependency[AsyncSession],
        jobs: NamedDependency[JobQueue],
    ) -> schemas.StripeEventView:
        row = await replayable(db_session, event_id)
        await jobs.enqueue(process_event, event_row_id=str(row.id))
        return event_view(row)
