"""Payments through HTTP, against a real localstripe server process: checkout, the signed
webhook (stored once, processed by a job), subscriptions converging on Stripe's state,
entitlements, staff replay, account deletion, and the append-only revenue ledger."""

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from selflink_api.app import create_app
from selflink_api.payments.jobs import StripeUnavailableError, process_event
from selflink_api.payments.models import Subscription
from selflink_api.platform.database import build_sqlalchemy_config
from tests.api.conftest import app_client, drain_jobs
from tests.api.matching_helpers import born, join
from tests.api.payments_helpers import (
    MONTHLY_CENTS,
    PRICE_MONTHLY,
    LocalStripe,
    deliver,
    localstripe_server,
    signed,
    silent_server,
    stripe_event,
)
from tests.api.people import PASSWORD, Person, login, register
from tests.api.test_auth import make_staff, sql
from tests.servers import free_port

pytestmark = pytest.mark.anyio
Client = AsyncTestClient[Litestar]
WEBHOOK = "/api/v1/payments/stripe/webhook"
FEE_900 = 56
"""The fee localstripe (as the tests run it) books on a 9.00 charge: 2.9% + 30 cents."""


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    with localstripe_server(tmp_path_factory.mktemp("localstripe")) as running:
        yield running


@pytest.fixture
def app(database_url: str, localstripe: LocalStripe) -> Litestar:
    return create_app(localstripe.settings(database_url))


async def no_wait(_: float) -> None:
    """The job runner's back-off, skipped."""


async def customer_of(client: Client, person: Person) -> str:
    response = await client.post(
        "/api/v1/payments/checkout", json={"plan": "plus_monthly"}, headers=person.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["url"].startswith("https://stripe.test/cs/")
    rows = await sql(
        client.app.state.settings,
        "SELECT customer_id FROM payments_customers ORDER BY created_at DESC",
    )
    return str(rows[0][0])


async def subscribed(client: Client, localstripe: LocalStripe, person: Person) -> dict[str, Any]:
    """Checkout completed at Stripe, and its events delivered and processed."""
    customer = await customer_of(client, person)
    subscription = localstripe.subscribe(customer)
    completed = stripe_event(
        "checkout.session.completed",
        {
            "id": "cs_test_1",
            "object": "checkout.session",
            "customer": customer,
            "subscription": subscription["id"],
            "client_reference_id": person.id,
        },
    )
    assert (await deliver(client, completed)).status_code == 200
    invoice = localstripe.invoice(subscription["latest_invoice"])
    paid = stripe_event(
        "invoice.paid",
        {
            "id": invoice["id"],
            "object": "invoice",
            "customer": customer,
            "subscription": subscription["id"],
            "charge": invoice["charge"]["id"],
        },
    )
    assert (await deliver(client, paid)).status_code == 200
    await drain_jobs(client)
    return {"customer": customer, "subscription": subscription, "invoice": invoice}


async def my_plan(client: Client, person: Person) -> dict[str, Any]:
    response = await client.get("/api/v1/payments/me", headers=person.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def ledger(client: Client) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in await sql(
            client.app.state.settings,
            "SELECT category, amount, fee, net, currency, recorded_by "
            "FROM payments_revenue_ledger ORDER BY amount DESC",
        )
    ]


async def test_checkout_invoice_paid_then_refund(client: Client, localstripe: LocalStripe) -> None:
    person = await register(client)
    assert (await my_plan(client, person))["tier"] == "free"
    done = await subscribed(client, localstripe, person)

    mine = await my_plan(client, person)
    assert (mine["plan"], mine["tier"], mine["status"]) == ("plus_monthly", "plus", "active")
    assert mine["entitlements"]["mentor_daily_quota"] == 500
    me = (await client.get("/api/v1/users/me", headers=person.headers)).json()
    assert me["plan"]["tier"] == "plus"
    export = (await client.get("/api/v1/users/me/export", headers=person.headers)).json()
    assert export["payments"]["stripe_customer"] == done["customer"]
    assert [s["status"] for s in export["payments"]["subscriptions"]] == ["active"]
    sealed = await sql(client.app.state.settings, "SELECT ciphertext FROM payments_stripe_events")
    assert len(sealed) == 2
    assert all(done["customer"].encode() not in bytes(row[0]) for row in sealed)
    assert await ledger(client) == [
        ("charge", MONTHLY_CENTS, FEE_900, MONTHLY_CENTS - FEE_900, "eur", "webhook")
    ]

    charge = done["invoice"]["charge"]["id"]
    localstripe.refund(charge, 300)
    refunded = stripe_event("charge.refunded", {"id": charge, "object": "charge"})
    assert (await deliver(client, refunded)).status_code == 200
    await drain_jobs(client)
    assert [row[:4] for row in await ledger(client)] == [
        ("charge", MONTHLY_CENTS, FEE_900, MONTHLY_CENTS - FEE_900),
        ("refund", -300, 0, -300),
    ]

    again = await deliver(client, refunded)
    assert again.status_code == 200
    assert again.json() == {"event": refunded["id"], "status": "processed", "duplicate": True}

    refused = await client.post(
        "/api/v1/payments/checkout", json={"plan": "plus_yearly"}, headers=person.headers
    )
    assert refused.status_code == 409
    portal = await client.post("/api/v1/payments/portal", headers=person.headers)
    assert portal.status_code == 201
    assert portal.json()["url"].startswith("https://stripe.test/bps/")


async def test_out_of_order_events_converge_on_stripe(
    client: Client, localstripe: LocalStripe
) -> None:
    person = await register(client)
    done = await subscribed(client, localstripe, person)
    subscription = done["subscription"]
    localstripe.client.v1.subscriptions.cancel(subscription["id"])
    now = int(time.time())
    deleted = stripe_event(
        "customer.subscription.deleted", {**subscription, "status": "canceled"}, created=now
    )
    stale = stripe_event(
        "customer.subscription.updated", {**subscription, "status": "active"}, created=now - 60
    )
    for event in (deleted, stale):
        assert (await deliver(client, event)).status_code == 200
    await drain_jobs(client)
    mine = await my_plan(client, person)
    assert (mine["tier"], mine["status"]) == ("free", "canceled")


async def test_webhook_refuses_what_stripe_did_not_sign(
    client: Client, localstripe: LocalStripe, database_url: str
) -> None:
    event = stripe_event("invoice.paid", {"id": "in_x", "object": "invoice"})
    forged = await deliver(client, event, secret="whsec_someone_else")
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")
    old = await deliver(client, event, at=int(time.time()) - 3600)
    assert old.status_code == 401
    unsigned = await client.post(WEBHOOK, content=b"{}")
    assert unsigned.status_code == 401
    not_an_event, headers = signed({"id": 1})
    assert (await client.post(WEBHOOK, content=not_an_event, headers=headers)).status_code == 400
    assert await sql(client.app.state.settings, "SELECT count(*) FROM payments_stripe_events") == [
        (0,)
    ]

    body, headers = signed(event)
    unconfigured = create_app(localstripe.settings(database_url, STRIPE_WEBHOOK_SECRET=""))
    async with app_client(unconfigured) as other:
        assert (await other.post(WEBHOOK, content=body, headers=headers)).status_code == 503


async def test_twenty_parallel_deliveries_store_one_event_with_one_effect(
    client: Client, localstripe: LocalStripe
) -> None:
    person = await register(client)
    customer = await customer_of(client, person)
    subscription = localstripe.subscribe(customer)
    invoice = localstripe.invoice(subscription["latest_invoice"])
    paid = stripe_event(
        "invoice.paid",
        {
            "id": invoice["id"],
            "object": "invoice",
            "subscription": subscription["id"],
            "charge": invoice["charge"]["id"],
        },
    )
    responses = await asyncio.gather(*(deliver(client, paid) for _ in range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 19
    await drain_jobs(client)
    rows = await sql(
        client.app.state.settings, "SELECT status, attempts FROM payments_stripe_events"
    )
    assert [tuple(row) for row in rows] == [("processed", 1)]
    assert len(await ledger(client)) == 1


async def test_stripe_failures_are_problems_and_failed_events_replay(
    database_url: str, localstripe: LocalStripe
) -> None:
    with silent_server() as silent:
        slow = create_app(
            localstripe.settings(database_url, STRIPE_API_BASE=silent, STRIPE_TIMEOUT_SECONDS=0.2)
        )
        async with app_client(slow) as client:
            person = await register(client)
            timed_out = await client.post(
                "/api/v1/payments/checkout", json={"plan": "plus_monthly"}, headers=person.headers
            )
            assert timed_out.status_code == 504, timed_out.text
            assert timed_out.json()["type"].endswith("stripe-timeout")
    closed = f"http://127.0.0.1:{free_port()}"
    broken = create_app(localstripe.settings(database_url, STRIPE_API_BASE=closed))
    broken.state.job_runner.sleep = no_wait
    async with app_client(broken) as client:
        person = await register(client, "payer")
        unreachable = await client.post("/api/v1/payments/portal", headers=person.headers)
        assert unreachable.status_code == 502
        event = stripe_event(
            "customer.subscription.updated", {"id": "sub_missing", "object": "subscription"}
        )
        assert (await deliver(client, event)).status_code == 200
        with pytest.RaisesGroup(*[StripeUnavailableError] * process_event.attempts):
            await drain_jobs(client)
        staff = await make_staff(client, client.app.state.settings)
        failed = await client.get(
            "/api/v1/staff/payments/events?status=failed", headers=staff.headers
        )
        assert [e["event_id"] for e in failed.json()["items"]] == [event["id"]]
        assert "payload" not in failed.json()["items"][0]
    working = create_app(localstripe.settings(database_url))
    async with app_client(working) as client:
        staff_again = (await login(client, "staffer")).headers
        replay = await client.post(
            f"/api/v1/staff/payments/events/{event['id']}/replay", headers=staff_again
        )
        assert replay.status_code == 202, replay.text
        await drain_jobs(client)
        rows = await sql(working.state.settings, "SELECT status FROM payments_stripe_events")
        assert [row[0] for row in rows] == ["processed"]
        twice = await client.post(
            f"/api/v1/staff/payments/events/{event['id']}/replay", headers=staff_again
        )
        assert twice.status_code == 409


async def test_deleting_the_account_cancels_the_subscription(
    client: Client, localstripe: LocalStripe
) -> None:
    person = await register(client)
    done = await subscribed(client, localstripe, person)
    deleted = await client.request(
        "DELETE", "/api/v1/users/me", headers=person.headers, json={"password": PASSWORD}
    )
    assert deleted.status_code == 204, deleted.text
    await drain_jobs(client)
    assert localstripe.subscription(done["subscription"]["id"])["status"] == "canceled"
    rows = await sql(client.app.state.settings, "SELECT status FROM payments_subscriptions")
    assert [row[0] for row in rows] == ["canceled"]
    assert len(await ledger(client)) == 1


async def test_the_revenue_ledger_is_append_only(client: Client, localstripe: LocalStripe) -> None:
    person = await register(client)
    await subscribed(client, localstripe, person)
    settings = client.app.state.settings
    for statement in (
        "UPDATE payments_revenue_ledger SET amount = 1",
        "DELETE FROM payments_revenue_ledger",
    ):
        with pytest.raises(Exception, match="append-only"):
            await sql(settings, statement)
    assert len(await ledger(client)) == 1


async def test_plans_are_public_and_checkout_refuses_unknown_plans(client: Client) -> None:
    listed = await client.get("/api/v1/payments/plans")
    assert listed.status_code == 200
    assert [(p["key"], p["available"]) for p in listed.json()] == [
        ("free", True),
        ("plus_monthly", True),
        ("plus_yearly", True),
    ]
    person = await register(client)
    refused = await client.post(
        "/api/v1/payments/checkout", json={"plan": "gold"}, headers=person.headers
    )
    assert refused.status_code == 422
    assert PRICE_MONTHLY not in refused.text


async def test_plus_shows_more_recommendation_pages_a_day(
    database_url: str, localstripe: LocalStripe
) -> None:
    settings = localstripe.settings(
        database_url, PAYMENTS_FREE_RECOMMENDATION_PAGES=1, PAYMENTS_PLUS_RECOMMENDATION_PAGES=3
    )
    async with app_client(create_app(settings)) as client:
        free = await join(client, "free_one", birth=born("1990-05-17"))
        plus = await join(client, "plus_one", birth=born("1991-06-18"))
        await subscribed(client, localstripe, plus)
        await drain_jobs(client)

        async def page(person: Person) -> int:
            response = await client.get(
                "/api/v1/matching/recommendations?mode=friends", headers=person.headers
            )
            return response.status_code

        assert [await page(free) for _ in range(2)] == [200, 429]
        assert [await page(plus) for _ in range(4)] == [200, 200, 200, 429]
        used_up = await client.get(
            "/api/v1/matching/recommendations?mode=friends", headers=free.headers
        )
        assert int(used_up.headers["retry-after"]) <= 86_400
        assert "1 pages of recommendations a day" in used_up.json()["detail"]


def dispute_transaction(number: int, amount: int, fee: int, category: str) -> dict[str, Any]:
    return {
        "id": f"txn_dispute_{number}_{int(time.time() * 1000)}",
        "object": "balance_transaction",
        "amount": amount,
        "fee": fee,
        "net": amount - fee,
        "currency": "eur",
        "created": int(time.time()),
        "reporting_category": category,
        "type": "adjustment",
        "source": "du_test",
    }


async def test_a_dispute_books_its_withdrawal_and_reinstatement(
    client: Client, localstripe: LocalStripe
) -> None:
    """localstripe has no disputes: these events are signed payloads embedding their balance
    transactions, as Stripe sends them."""
    person = await register(client)
    done = await subscribed(client, localstripe, person)
    charge = done["invoice"]["charge"]["id"]
    withdrawn = dispute_transaction(1, -MONTHLY_CENTS, 1500, "dispute")
    reinstated = dispute_transaction(2, MONTHLY_CENTS, -1500, "dispute_reversal")
    for kind, transaction in (
        ("charge.dispute.created", withdrawn),
        ("charge.dispute.funds_reinstated", reinstated),
    ):
        dispute = {"id": "du_test", "object": "dispute", "charge": charge}
        event = stripe_event(kind, {**dispute, "balance_transactions": [transaction]})
        assert (await deliver(client, event)).status_code == 200
    await drain_jobs(client)
    assert [row[:4] for row in await ledger(client)] == [
        ("charge", MONTHLY_CENTS, FEE_900, MONTHLY_CENTS - FEE_900),
        ("dispute_reversal", MONTHLY_CENTS, -1500, MONTHLY_CENTS + 1500),
        ("dispute", -MONTHLY_CENTS, 1500, -MONTHLY_CENTS - 1500),
    ]


async def test_plus_asks_the_mentor_more_a_day(database_url: str, localstripe: LocalStripe) -> None:
    settings = localstripe.settings(
        database_url, MENTOR_DAILY_QUOTA=1, PAYMENTS_PLUS_MENTOR_DAILY_QUOTA=2
    )
    async with app_client(create_app(settings)) as client:
        free = await register(client)
        plus = await register(client)
        await subscribed(client, localstripe, plus)

        async def ask(person: Person) -> int:
            response = await client.post(
                "/api/v1/mentor/replies",
                json={"mode": "chat", "text": "How do I start?"},
                headers=person.headers,
            )
            await drain_jobs(client)
            return response.status_code

        assert [await ask(free) for _ in range(2)] == [202, 429]
        assert [await ask(plus) for _ in range(3)] == [202, 202, 429]


async def test_the_account_shows_the_subscription_that_matters(client: Client) -> None:
    """A live subscription wins over one that ended later; with none live, the one that
    ended last shows. `GET /users/me` and `GET /payments/me` agree."""
    person, neighbour = await register(client), await register(client)
    settings = client.app.state.settings
    now = datetime.now(UTC).replace(microsecond=0)

    def subscription(key: str, status: str, days_left: int, owner: Person = person) -> Subscription:
        return Subscription(
            subscription_id=f"sub_{key}_{owner.id}",
            customer_id=f"cus_{owner.id}",
            user_id=UUID(owner.id),
            status=status,
            plan_key="plus_monthly",
            current_period_start=now - timedelta(days=30),
            current_period_end=now + timedelta(days=days_left),
        )

    async def shown(whose: Person = person) -> tuple[str, datetime]:
        me = (await client.get("/api/v1/users/me", headers=whose.headers)).json()["plan"]
        assert await my_plan(client, whose) == me
        return me["status"], datetime.fromisoformat(me["current_period_end"])

    config = build_sqlalchemy_config(settings)
    try:
        async with config.get_session() as session, session.begin():
            session.add(subscription("ended_later", "canceled", 60))
            session.add(subscription("live", "active", 10))
            session.add(subscription("theirs", "past_due", 90, neighbour))
        assert await shown() == ("active", now + timedelta(days=10))
        assert await shown(neighbour) == ("past_due", now + timedelta(days=90))
        async with config.get_session() as session, session.begin():
            await session.execute(
                update(Subscription)
                .where(Subscription.subscription_id == f"sub_live_{person.id}")
                .values(status="incomplete_expired", current_period_end=now)
            )
        assert await shown() == ("canceled", now + timedelta(days=60))
    finally:
        await config.get_engine().dispose()
