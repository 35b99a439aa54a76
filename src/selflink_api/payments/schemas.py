"""Request and response bodies of payments (msgspec)."""

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from selflink_api.platform.pagination import CursorPage

PlanKey = Literal["plus_monthly", "plus_yearly"]


class EntitlementsView(msgspec.Struct, kw_only=True):
    mentor_daily_quota: int
    recommendation_pages_per_day: int


class PlanView(msgspec.Struct, kw_only=True):
    key: Annotated[str, Meta(examples=["plus_monthly"])]
    tier: Annotated[str, Meta(examples=["plus"])]
    interval: Annotated[str, Meta(description="month, year, or empty for free")]
    available: Annotated[bool, Meta(description="Free, or its Stripe price is configured here.")]
    entitlements: EntitlementsView


class MyPlan(msgspec.Struct, kw_only=True):
    """The plan that applies now, and the subscription it comes from."""

    plan: Annotated[str, Meta(examples=["plus_monthly"])]
    tier: Annotated[str, Meta(examples=["plus"])]
    status: Annotated[str, Meta(description="Stripe's subscription status, or none")]
    current_period_end: datetime | None
    cancel_at_period_end: bool
    entitlements: EntitlementsView


class CheckoutRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    plan: PlanKey


class RedirectView(msgspec.Struct, kw_only=True):
    url: Annotated[str, Meta(description="Stripe's page; send the person there.")]


class WebhookAccepted(msgspec.Struct, kw_only=True):
    event: Annotated[str, Meta(examples=["evt_1PqX2c"])]
    status: Annotated[str, Meta(examples=["received"])]
    duplicate: bool


class StripeEventView(msgspec.Struct, kw_only=True):
    """A received event as staff see it: never its payload, which names customers."""

    event_id: str
    event_type: str
    status: str
    outcome: str
    attempts: int
    stripe_created: datetime
    received_at: datetime


StripeEvents = CursorPage[StripeEventView]
