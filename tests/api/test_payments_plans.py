"""Entitlements from a subscription's state (docs/payments.md, Entitlement rules): pure rules,
no database."""

from datetime import UTC, datetime, timedelta

import pytest

from selflink_api.payments.plans import SubscriptionState, entitled_tier, summary
from tests.api.conftest import make_settings

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)
GRACE = timedelta(days=7)


def state(
    status: str,
    *,
    plan: str = "plus_monthly",
    cancel: bool = False,
    start_days: int = -5,
    end_days: int = 25,
) -> SubscriptionState:
    return SubscriptionState(
        status=status,
        plan_key=plan,
        current_period_start=NOW + timedelta(days=start_days),
        current_period_end=NOW + timedelta(days=end_days),
        cancel_at_period_end=cancel,
    )


@pytest.mark.parametrize(
    ("subscription", "tier"),
    [
        (None, "free"),
        (state("active"), "plus"),
        (state("trialing"), "plus"),
        (state("active", cancel=True), "plus"),
        (state("active", cancel=True, start_days=-31, end_days=-1), "free"),
        (state("past_due", start_days=-6), "plus"),
        (state("past_due", start_days=-8), "free"),
        (state("canceled"), "free"),
        (state("unpaid"), "free"),
        (state("incomplete"), "free"),
        (state("active", plan=""), "free"),
    ],
)
def test_the_tier_follows_the_subscription_state(
    subscription: SubscriptionState | None, tier: str
) -> None:
    assert entitled_tier(subscription, NOW, GRACE) == tier


def test_the_summary_shows_the_free_plan_once_a_paid_one_lapsed() -> None:
    settings = make_settings("sqlite+aiosqlite:///:memory:", MENTOR_DAILY_QUOTA=7)
    lapsed = summary(settings, state("canceled"), NOW)
    assert (lapsed["plan"], lapsed["tier"], lapsed["status"]) == ("free", "free", "canceled")
    assert lapsed["entitlements"]["mentor_daily_quota"] == 7
