"""Plans as data, and the entitlements a subscription's state gives (docs/payments.md).

Everything here is a pure function of its arguments: the subscription's last known state at
Stripe and the time. Prices live in Stripe; a plan names its price by the id in settings.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from selflink_api.settings import Settings

FREE = "free"
PLUS = "plus"
ENTITLED_STATUSES = frozenset({"active", "trialing"})
"""Stripe statuses that give the paid plan outright (until a cancellation's period end)."""
GRACE_STATUS = "past_due"
"""A renewal failed and Stripe is retrying: the paid plan stays for the grace period."""


@dataclass(frozen=True)
class Entitlements:
    """What a plan gives per UTC day."""

    mentor_daily_quota: int
    recommendation_pages_per_day: int


@dataclass(frozen=True)
class Plan:
    """A plan people can be on; `price_id` is Stripe's (empty for `free`, or when unset)."""

    key: str
    tier: str
    interval: str
    price_id: str
    entitlements: Entitlements


def tiers(settings: Settings) -> dict[str, Entitlements]:
    return {
        FREE: Entitlements(
            mentor_daily_quota=settings.mentor_daily_quota,
            recommendation_pages_per_day=settings.payments_free_recommendation_pages,
        ),
        PLUS: Entitlements(
            mentor_daily_quota=settings.payments_plus_mentor_daily_quota,
            recommendation_pages_per_day=settings.payments_plus_recommendation_pages,
        ),
    }


def plans(settings: Settings) -> tuple[Plan, ...]:
    """Every plan, `free` first."""
    given = tiers(settings)
    return (
        Plan(FREE, FREE, "", "", given[FREE]),
        Plan("plus_monthly", PLUS, "month", settings.stripe_price_plus_monthly, given[PLUS]),
        Plan("plus_yearly", PLUS, "year", settings.stripe_price_plus_yearly, given[PLUS]),
    )


def plan_named(settings: Settings, key: str) -> Plan | None:
    return next((plan for plan in plans(settings) if plan.key == key), None)


def plan_of_price(settings: Settings, price_id: str) -> Plan | None:
    """The plan whose configured Stripe price is `price_id` (None for an unknown price)."""
    if not price_id:
        return None
    return next((plan for plan in plans(settings) if plan.price_id == price_id), None)


@dataclass(frozen=True)
class SubscriptionState:
    """What SelfLink knows of a subscription, as Stripe last told it."""

    status: str
    plan_key: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool


def entitled_tier(state: SubscriptionState | None, now: datetime, grace: timedelta) -> str:
    """`plus` while the subscription pays for it, else `free`.

    - `active` / `trialing`: plus, until the period ends when it is canceled at period end
      (so a missed `customer.subscription.deleted` cannot extend it);
    - `past_due`: plus for `grace` after the period the failed invoice was for began;
    - anything else (`canceled`, `unpaid`, `incomplete`, `incomplete_expired`, `paused`), or a
      price no plan names: free.
    """
    if state is None or state.plan_key in ("", FREE):
        return FREE
    if state.status in ENTITLED_STATUSES:
        ended = (
            state.cancel_at_period_end
            and state.current_period_end is not None
            and now >= state.current_period_end
        )
        return FREE if ended else PLUS
    if state.status == GRACE_STATUS and state.current_period_start is not None:
        return PLUS if now < state.current_period_start + grace else FREE
    return FREE


def summary(settings: Settings, state: SubscriptionState | None, now: datetime) -> dict[str, Any]:
    """A person's plan as `GET /users/me` and `GET /payments/me` show it."""
    tier = entitled_tier(state, now, timedelta(days=settings.payments_grace_days))
    paid = state is not None and tier == PLUS
    return {
        "plan": state.plan_key if paid and state is not None else FREE,
        "tier": tier,
        "status": state.status if state is not None else "none",
        "current_period_end": state.current_period_end if state is not None else None,
        "cancel_at_period_end": state.cancel_at_period_end if state is not None else False,
        "entitlements": asdict(tiers(settings)[tier]),
    }
