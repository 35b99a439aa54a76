"""Stripe, through its own Python client (async, on httpx) at `STRIPE_API_BASE`.

Every call goes through `StripeGateway`, which turns Stripe's failures into problem documents:
a timeout is 504, any other failure (network, 5xx, a refused request) 502, and an
unconfigured key 503. Objects come back as plain dicts of Stripe's JSON.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx
import stripe
import structlog

from selflink_api.platform.problems import UNAVAILABLE, ProblemError, ProblemKind
from selflink_api.settings import Settings

logger = structlog.get_logger("selflink.payments")

STRIPE_FAILED = ProblemKind("stripe-upstream", "Stripe failed to answer", 502)
STRIPE_TIMEOUT = ProblemKind("stripe-timeout", "Stripe did not answer in time", 504)
PAGE_SIZE = 100
T = TypeVar("T")


def ident(value: Any) -> str:
    """The id of a Stripe reference, whether sent as an id or as the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


class StripeGateway:
    def __init__(self, settings: Settings) -> None:
        self.configured = bool(settings.stripe_api_key.get_secret_value())
        self._http = stripe.HTTPXClient(timeout=settings.stripe_timeout_seconds)
        self.client = stripe.StripeClient(
            settings.stripe_api_key.get_secret_value() or "sk_unconfigured",
            base_addresses={"api": settings.stripe_api_base.rstrip("/")},
            http_client=self._http,
            max_network_retries=settings.stripe_max_retries,
        )

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def _call(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        if not self.configured:
            raise ProblemError(UNAVAILABLE, "Payments are not configured here (STRIPE_API_KEY).")
        try:
            return await call()
        except stripe.APIConnectionError as exc:
            timed_out = isinstance(exc.__cause__, httpx.TimeoutException)
            logger.warning("stripe_unreachable", operation=operation, timeout=timed_out)
            if timed_out:
                raise ProblemError(
                    STRIPE_TIMEOUT, "Stripe did not answer in time; try again later."
                ) from None
            raise ProblemError(
                STRIPE_FAILED, "Stripe could not be reached; try again later."
            ) from None
        except stripe.StripeError as exc:
            logger.warning(
                "stripe_refused", operation=operation, status=exc.http_status, code=exc.code
            )
            raise ProblemError(
                STRIPE_FAILED, "Stripe refused the request; try again later."
            ) from None

    async def _object(self, operation: str, call: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
        found = await self._call(operation, call)
        return dict(found.to_dict())

    async def _maybe(
        self, operation: str, call: Callable[[], Awaitable[Any]]
    ) -> dict[str, Any] | None:
        """The object, or None when Stripe says it does not exist."""

        async def found_or_none() -> Any:
            try:
                return await call()
            except stripe.InvalidRequestError as exc:
                if exc.http_status == 404:
                    return None
                raise

        found = await self._call(operation, found_or_none)
        return None if found is None else dict(found.to_dict())

    async def create_customer(self, user_id: str) -> str:
        customer = await self._object(
            "customers.create",
            lambda: self.client.v1.customers.create_async(
                params={"metadata": {"selflink_user": user_id}},
                options={"idempotency_key": f"selflink-customer-{user_id}"},
            ),
        )
        return str(customer["id"])

    async def checkout_url(
        self, customer_id: str, price_id: str, user_id: str, success_url: str, cancel_url: str
    ) -> str:
        session = await self._object(
            "checkout.sessions.create",
            lambda: self.client.v1.checkout.sessions.create_async(
                params={
                    "mode": "subscription",
                    "customer": customer_id,
                    "client_reference_id": user_id,
                    "line_items": [{"price": price_id, "quantity": 1}],
                    "subscription_data": {"metadata": {"selflink_user": user_id}},
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                }
            ),
        )
        return str(session["url"])

    async def portal_url(self, customer_id: str, return_url: str) -> str:
        session = await self._object(
            "billing_portal.sessions.create",
            lambda: self.client.v1.billing_portal.sessions.create_async(
                params={"customer": customer_id, "return_url": return_url}
            ),
        )
        return str(session["url"])

    async def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        return await self._maybe(
            "subscriptions.retrieve",
            lambda: self.client.v1.subscriptions.retrieve_async(subscription_id),
        )

    async def cancel_subscription(self, subscription_id: str) -> dict[str, Any] | None:
        return await self._maybe(
            "subscriptions.cancel",
            lambda: self.client.v1.subscriptions.cancel_async(subscription_id),
        )

    async def charge(self, charge_id: str) -> dict[str, Any] | None:
        return await self._maybe(
            "charges.retrieve", lambda: self.client.v1.charges.retrieve_async(charge_id)
        )

    async def balance_transaction(self, transaction_id: str) -> dict[str, Any] | None:
        return await self._maybe(
            "balance_transactions.retrieve",
            lambda: self.client.v1.balance_transactions.retrieve_async(transaction_id),
        )

    async def balance_transactions(
        self, start: datetime, end: datetime
    ) -> AsyncIterator[dict[str, Any]]:
        """Every balance transaction created in [start, end), page by page."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {
                "limit": PAGE_SIZE,
                "created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())},
            }
            if after is not None:
                params["starting_after"] = after
            page = await self._call(
                "balance_transactions.list",
                lambda: self.client.v1.balance_transactions.list_async(params=params),  # type: ignore[arg-type]  # noqa: B023
            )
            items = [dict(item.to_dict()) for item in page.data]
            for item in items:
                yield item
            if not page.has_more or not items:
                return
            after = str(items[-1]["id"])
