"""The rules of payments: customers, checkout and portal links, webhook events, subscriptions,
and entitlements (docs/payments.md); the revenue ledger is `ledger.py`.

Services work inside the caller's transaction and never commit. Stripe is the source of
truth: an event tells what changed, and processing fetches the object it names, so events
arriving twice, late or out of order all converge on Stripe's current state.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import stripe
import structlog
from sqlalchemy import ColumnElement, ScalarSelect, Select, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from selflink_api.payments import plans
from selflink_api.payments.gateway import StripeGateway, ident
from selflink_api.payments.ledger import RevenueLedger, from_unix, utc_now
from selflink_api.payments.models import (
    EventStatus,
    StripeCustomer,
    StripeEvent,
    Subscription,
)
from selflink_api.platform.crypto import Encrypted, PersonalDataCipher
from selflink_api.platform.database import dialect_insert
from selflink_api.platform.domains import AccountPart
from selflink_api.platform.driver_reads import DriverRead
from selflink_api.platform.pagination import PageRequest, paginate
from selflink_api.platform.problems import (
    BAD_REQUEST,
    CONFLICT,
    NOT_FOUND,
    UNAUTHORIZED,
    UNAVAILABLE,
    ProblemError,
)
from selflink_api.platform.values import SAFE_INTEGER_MAX
from selflink_api.settings import Settings

logger = structlog.get_logger("selflink.payments")

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_failed"})
DISPUTE_PREFIX = "charge.dispute."
HANDLED_EVENTS = (
    SUBSCRIPTION_EVENTS
    | INVOICE_EVENTS
    | {
        "checkout.session.completed",
        "charge.refunded",
    }
)
ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})
# Subscriptions and entitlements -------------------------------------------------------------


def _subscription_that_matters(user_id: ColumnElement[UUID]) -> ScalarSelect[UUID]:
    """The id of the person's subscription that matters: a live one, else the one that ended
    last; among several, the one whose period ends last."""
    ended = or_(*(Subscription.status == status for status in sorted(ENDED_STATUSES)))
    return (
        select(Subscription.id)
        .where(Subscription.user_id == user_id)
        .order_by(
            ended, Subscription.current_period_end.desc().nulls_last(), Subscription.id.desc()
        )
        .limit(1)
        .correlate_except(Subscription)
        .scalar_subquery()
    )


_STATE_FIELDS = (
    "status",
    "plan_key",
    "current_period_start",
    "current_period_end",
    "cancel_at_period_end",
)
_CURRENT_SUBSCRIPTION = DriverRead(
    select(*(getattr(Subscription, name) for name in _STATE_FIELDS)).where(
        Subscription.id == _subscription_that_matters(bindparam("user_id"))
    )
)
"""Built once at import: every entitlement check runs it."""


async def current_subscription(
    session: AsyncSession, user_id: UUID
) -> plans.SubscriptionState | None:
    """The person's subscription that matters, as Stripe last told it."""
    row = await _CURRENT_SUBSCRIPTION.first(session, user_id=user_id)
    return None if row is None else plans.SubscriptionState(**row._asdict())


_SHOWN_SUBSCRIPTION = aliased(Subscription, name="account_subscription")


def with_subscription(
    statement: Select[*tuple[Any, ...]], user_id: ColumnElement[UUID]
) -> Select[*tuple[Any, ...]]:
    """`statement` with the columns of the subscription that matters for `user_id` (NULL
    without one), so a read of the person's other rows needs no round trip for their plan;
    read them back with `subscription_of`."""
    shown = _SHOWN_SUBSCRIPTION
    return statement.outerjoin(shown, shown.id == _subscription_that_matters(user_id)).add_columns(
        *(getattr(shown, name).label(f"payments_{name}") for name in _STATE_FIELDS)
    )


def subscription_of(row: Any) -> plans.SubscriptionState | None:
    """The subscription columns `with_subscription` added to a row."""
    if row.payments_status is None:
        return None
    return plans.SubscriptionState(
        **{name: getattr(row, f"payments_{name}") for name in _STATE_FIELDS}
    )


def _plan_shown(settings: Settings, row: Any, now: datetime) -> dict[str, Any]:
    return plans.summary(settings, subscription_of(row), now)


ACCOUNT_PLAN = AccountPart(extend=with_subscription, shape=_plan_shown)
"""The plan a person is on now, on their own account (`GET /users/me`)."""


async def plan_summary(
    session: AsyncSession, settings: Settings, user_id: UUID, now: datetime | None = None
) -> dict[str, Any]:
    """A person's plan and entitlements now, as `GET /payments/me` shows them (`GET /users/me`
    reads the same through `ACCOUNT_PLAN`)."""
    row = await current_subscription(session, user_id)
    return plans.summary(settings, row, now or utc_now())


async def entitlements(
    session: AsyncSession, settings: Settings, user_id: UUID, now: datetime | None = None
) -> plans.Entitlements:
    """What the person's plan gives today; other domains check their limits with this."""
    return entitlements_of(settings, await current_subscription(session, user_id), now)


def entitlements_of(
    settings: Settings, subscription: plans.SubscriptionState | None, now: datetime | None = None
) -> plans.Entitlements:
    """What this subscription (or none) gives today."""
    tier = plans.entitled_tier(
        subscription, now or utc_now(), timedelta(days=settings.payments_grace_days)
    )
    return plans.tiers(settings)[tier]


@dataclass(frozen=True)
class EntitlementQuota:
    """The mentor's `QuotaPolicy`: the daily quota of the person's plan."""

    settings: Settings

    async def daily_quota(self, session: AsyncSession, user_id: UUID) -> int:
        return (await entitlements(session, self.settings, user_id)).mentor_daily_quota


async def export_for_user(
    session: AsyncSession, _cipher: PersonalDataCipher, user_id: UUID
) -> dict[str, Any]:
    """The account export's part: the Stripe customer and the subscriptions."""
    customer = await session.scalar(
        select(StripeCustomer.customer_id).where(StripeCustomer.user_id == user_id)
    )
    rows = (
        await session.scalars(
            select(Subscription).where(Subscription.user_id == user_id).order_by(Subscription.id)
        )
    ).all()
    return {
        "stripe_customer": customer,
        "subscriptions": [
            {
                "id": row.subscription_id,
                "status": row.status,
                "plan": row.plan_key,
                "current_period_end": row.current_period_end.isoformat()
                if row.current_period_end
                else None,
                "cancel_at_period_end": row.cancel_at_period_end,
            }
            for row in rows
        ],
    }


# Customers, checkout and the portal ----------------------------------------------------------


class BillingService:
    def __init__(self, session: AsyncSession, settings: Settings, gateway: StripeGateway) -> None:
        self.session = session
        self.settings = settings
        self.gateway = gateway

    async def customer_id(self, user_id: UUID) -> str:
        """The account's Stripe customer, created at Stripe on first need. Stripe's idempotency
        key and the unique user id make two simultaneous first needs agree on one customer."""
        existing = await self.session.scalar(
            select(StripeCustomer.customer_id).where(StripeCustomer.user_id == user_id)
        )
        if existing is not None:
            return existing
        created = await self.gateway.create_customer(str(user_id))
        await self.session.execute(
            dialect_insert(self.session)(StripeCustomer)
            .values(user_id=user_id, customer_id=created)
            .on_conflict_do_nothing(index_elements=["user_id"])
        )
        stored = await self.session.scalar(
            select(StripeCustomer.customer_id).where(StripeCustomer.user_id == user_id)
        )
        assert stored is not None
        return stored

    def _return_url(self, outcome: str) -> str:
        return f"{self.settings.public_base_url.rstrip('/')}/billing?checkout={outcome}"

    async def checkout_url(self, user_id: UUID, plan_key: str) -> str:
        plan = plans.plan_named(self.settings, plan_key)
        if plan is None or plan.tier == plans.FREE:
            choices = [p.key for p in plans.plans(self.settings) if p.tier != plans.FREE]
            raise ProblemError.invalid("plan", f"must be one of {', '.join(choices)}")
        if not plan.price_id:
            raise ProblemError(UNAVAILABLE, f"The {plan.key} plan has no Stripe price here.")
        summary = await plan_summary(self.session, self.settings, user_id)
        if summary["tier"] != plans.FREE:
            raise ProblemError(
                CONFLICT, "You already have a subscription; manage it in the customer portal."
            )
        customer = await self.customer_id(user_id)
        return await self.gateway.checkout_url(
            customer,
            plan.price_id,
            str(user_id),
            success_url=self._return_url("success"),
            cancel_url=self._return_url("canceled"),
        )

    async def portal_url(self, user_id: UUID) -> str:
        customer = await self.customer_id(user_id)
        return await self.gateway.portal_url(
            customer, f"{self.settings.public_base_url.rstrip('/')}/billing"
        )


# Webhook events ----------------------------------------------------------------------------


def verify_event(settings: Settings, body: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if `Stripe-Signature` signs this exact body within the tolerance."""
    secret = settings.stripe_webhook_secret.get_secret_value()
    if not secret:
        raise ProblemError(
            UNAVAILABLE, "Stripe webhooks are not configured here (STRIPE_WEBHOOK_SECRET)."
        )
    try:
        stripe.Webhook.construct_event(
            body, signature or "", secret, settings.stripe_webhook_tolerance_seconds
        )
    except stripe.SignatureVerificationError:
        raise ProblemError(
            UNAUTHORIZED, "Stripe-Signature does not match this payload or is too old."
        ) from None
    except (ValueError, TypeError, AttributeError, KeyError):
        raise ProblemError(BAD_REQUEST, "The payload is not a Stripe event in JSON.") from None
    event = json.loads(body)
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not 1 <= len(event["id"]) <= 255
        or not isinstance(event.get("type"), str)
        or not isinstance(event.get("created"), int)
        or not 0 < event["created"] < SAFE_INTEGER_MAX
        or not isinstance(event.get("data"), dict)
        or not isinstance(event["data"].get("object"), dict)
    ):
        raise ProblemError(BAD_REQUEST, "The payload is not a Stripe event.")
    return event


@dataclass(frozen=True)
class Recorded:
    event: StripeEvent
    is_new: bool


def event_context(event_id: str) -> bytes:
    return b"stripe_event:" + event_id.encode()


async def record_event(
    session: AsyncSession, cipher: PersonalDataCipher, event: Mapping[str, Any], body: bytes
) -> Recorded:
    """Store the event once by its Stripe id: the unique key and an insert that ignores a
    conflict make any number of simultaneous deliveries store one row; only the delivery
    whose insert took effect reports `is_new` (and enqueues the processing)."""
    sealed = cipher.encrypt(body, context=event_context(event["id"]))
    inserted = await session.scalar(
        dialect_insert(session)(StripeEvent)
        .values(
            event_id=event["id"],
            event_type=str(event["type"])[:100],
            stripe_created=event["created"],
            key_id=sealed.key_id,
            ciphertext=sealed.blob,
            status=EventStatus.RECEIVED,
            outcome="",
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(StripeEvent.id)
    )
    row = await session.scalar(select(StripeEvent).where(StripeEvent.event_id == event["id"]))
    assert row is not None
    return Recorded(row, is_new=inserted is not None)


async def events_page(
    session: AsyncSession, status: EventStatus | None, page: PageRequest
) -> tuple[list[StripeEvent], str | None]:
    statement = select(StripeEvent)
    if status is not None:
        statement = statement.where(StripeEvent.status == status)
    return await paginate(
        session,
        statement,
        scope=f"stripe-events:{status or 'all'}",
        order_by=[StripeEvent.id],
        page=page,
        descending=True,
    )


async def replayable(session: AsyncSession, event_id: str) -> StripeEvent:
    """A failed event, put back to `received` for its job to process again."""
    row = await session.scalar(select(StripeEvent).where(StripeEvent.event_id == event_id))
    if row is None:
        raise ProblemError(NOT_FOUND, "No such Stripe event was received.")
    if row.status != EventStatus.FAILED:
        raise ProblemError(CONFLICT, f"Only failed events are replayed; this one is {row.status}.")
    row.status, row.outcome = EventStatus.RECEIVED, "replay requested"
    await session.flush()
    return row


@dataclass
class Outcome:
    """What processing an event did, for its row and the log."""

    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(self.notes)[:500] or "nothing to do"


class EventProcessor:
    """Applies one stored event: subscriptions fetched fresh from Stripe, revenue imported."""

    def __init__(self, session: AsyncSession, settings: Settings, gateway: StripeGateway) -> None:
        self.session = session
        self.settings = settings
        self.gateway = gateway
        self.ledger = RevenueLedger(session)

    async def process(self, row: StripeEvent, cipher: PersonalDataCipher) -> Outcome:
        body = cipher.decrypt(
            Encrypted(row.key_id, row.ciphertext), context=event_context(row.event_id)
        )
        event = json.loads(body)
        kind, obj = event["type"], event["data"]["object"]
        outcome = Outcome()
        if kind == "checkout.session.completed":
            await self._link_customer(obj)
            if ident(obj.get("subscription")):
                await self.sync_subscription(
                    ident(obj["subscription"]), row.stripe_created, outcome
                )
        elif kind in SUBSCRIPTION_EVENTS:
            await self.sync_subscription(str(obj["id"]), row.stripe_created, outcome, fallback=obj)
        elif kind in INVOICE_EVENTS:
            if ident(obj.get("subscription")):
                await self.sync_subscription(
                    ident(obj["subscription"]), row.stripe_created, outcome
                )
            if kind == "invoice.paid" and ident(obj.get("charge")):
                await self._import_charge(ident(obj["charge"]), outcome)
        elif kind == "charge.refunded":
            await self._import_charge(str(obj["id"]), outcome, refunds=True)
        elif kind.startswith(DISPUTE_PREFIX):
            for transaction in obj.get("balance_transactions") or []:
                embedded = transaction if isinstance(transaction, dict) else None
                await self._import_transaction(ident(transaction), outcome, embedded)
        return outcome

    async def _link_customer(self, session_object: Mapping[str, Any]) -> None:
        """A checkout for a customer SelfLink did not create (impossible through our API, but a
        dashboard-made session) names its user in `client_reference_id`."""
        customer = ident(session_object.get("customer"))
        reference = session_object.get("client_reference_id")
        if not customer or not isinstance(reference, str):
            return
        try:
            user_id = UUID(reference)
        except ValueError:
            return
        await self.session.execute(
            dialect_insert(self.session)(StripeCustomer)
            .values(user_id=user_id, customer_id=customer)
            .on_conflict_do_nothing()
        )

    async def _user_of(self, customer_id: str, metadata: Mapping[str, Any]) -> UUID | None:
        found = await self.session.scalar(
            select(StripeCustomer.user_id).where(StripeCustomer.customer_id == customer_id)
        )
        if found is not None:
            return found
        try:
            return UUID(str(metadata.get("selflink_user", "")))
        except ValueError:
            return None

    async def sync_subscription(
        self,
        subscription_id: str,
        seen: int,
        outcome: Outcome,
        fallback: Mapping[str, Any] | None = None,
    ) -> None:
        """Store Stripe's current state of the subscription. Fetched, it is the truth whatever
        the order events came in; if Stripe no longer knows it, the event's own copy is used,
        unless a newer event was already applied."""
        fetched = await self.gateway.subscription(subscription_id)
        existing = await self.session.scalar(
            select(Subscription).where(Subscription.subscription_id == subscription_id)
        )
        if fetched is None:
            if fallback is None or (existing is not None and existing.stripe_seen > seen):
                outcome.notes.append(f"{subscription_id}: unknown at Stripe, kept as is")
                return
            fetched = dict(fallback)
        else:
            seen = max(seen, int(utc_now().timestamp()))
        item = ((fetched.get("items") or {}).get("data") or [{}])[0]
        price_id = ident(item.get("price")) or ident(item.get("plan"))
        plan = plans.plan_of_price(self.settings, price_id)
        customer = ident(fetched.get("customer"))
        values = {
            "customer_id": customer,
            "user_id": await self._user_of(customer, fetched.get("metadata") or {}),
            "status": str(fetched.get("status", "")),
            "price_id": price_id,
            "plan_key": plan.key if plan is not None else "",
            "current_period_start": from_unix(
                fetched.get("current_period_start") or item.get("current_period_start")
            ),
            "current_period_end": from_unix(
                fetched.get("current_period_end") or item.get("current_period_end")
            ),
            "cancel_at_period_end": bool(fetched.get("cancel_at_period_end")),
            "stripe_seen": seen,
        }
        if existing is None:
            await self.session.execute(
                dialect_insert(self.session)(Subscription)
                .values(subscription_id=subscription_id, **values)
                .on_conflict_do_nothing(index_elements=["subscription_id"])
            )
        await self.session.execute(
            update(Subscription)
            .where(
                Subscription.subscription_id == subscription_id, Subscription.stripe_seen <= seen
            )
            .values(**values)
        )
        outcome.notes.append(f"{subscription_id}: {values['status']} {values['plan_key'] or '-'}")

    async def _import_charge(self, charge_id: str, outcome: Outcome, refunds: bool = False) -> None:
        charge = await self.gateway.charge(charge_id)
        if charge is None:
            outcome.notes.append(f"{charge_id}: unknown at Stripe")
            return
        await self._import_transaction(ident(charge.get("balance_transaction")), outcome)
        if refunds:
            for refund in (charge.get("refunds") or {}).get("data") or []:
                await self._import_transaction(ident(refund.get("balance_transaction")), outcome)

    async def _import_transaction(
        self, transaction_id: str, outcome: Outcome, embedded: Mapping[str, Any] | None = None
    ) -> None:
        """Book a balance transaction: the copy a signed event embeds in full (a dispute's
        withdrawal and reinstatement), else the one fetched from Stripe by id."""
        if not transaction_id:
            return
        if await self.ledger.has(transaction_id):
            return
        complete = embedded is not None and {"amount", "currency", "created"} <= embedded.keys()
        transaction = (
            embedded if complete else await self.gateway.balance_transaction(transaction_id)
        )
        if transaction is None:
            outcome.notes.append(f"{transaction_id}: unknown at Stripe")
            return
        if await self.ledger.record(transaction, recorded_by="webhook"):
            outcome.notes.append(f"{transaction_id}: booked")


async def process_stored_event(
    session: AsyncSession,
    settings: Settings,
    cipher: PersonalDataCipher,
    gateway: StripeGateway,
    row_id: UUID,
) -> StripeEvent | None:
    """Process a received (or replayed) event; a Stripe failure propagates as a ProblemError
    after the caller recorded it (see `payments.process_event`)."""
    row = await session.get(StripeEvent, row_id)
    if row is None or row.status not in (EventStatus.RECEIVED, EventStatus.FAILED):
        return row
    row.attempts += 1
    if not (row.event_type in HANDLED_EVENTS or row.event_type.startswith(DISPUTE_PREFIX)):
        row.status, row.outcome = EventStatus.IGNORED, f"{row.event_type} is not handled"
        return row
    outcome = await EventProcessor(session, settings, gateway).process(row, cipher)
    row.status, row.outcome = EventStatus.PROCESSED, str(outcome)
    return row


async def mark_failed(session: AsyncSession, row_id: UUID, reason: str) -> None:
    await session.execute(
        update(StripeEvent)
        .where(StripeEvent.id == row_id)
        .values(
            status=EventStatus.FAILED,
            outcome=reason[:500],
            attempts=StripeEvent.attempts + 1,
        )
    )


async def subscriptions_to_cancel(session: AsyncSession, user_id: UUID) -> list[str]:
    return list(
        (
            await session.scalars(
                select(Subscription.subscription_id).where(
                    Subscription.user_id == user_id, Subscription.status.not_in(ENDED_STATUSES)
                )
            )
        ).all()
    )
