"""Payments tests: a real localstripe server process (`tests.localstripe_server`), Stripe's own
client to play the customer's side at it, and webhook events signed with the `stripe` package's
signing scheme (`Stripe-Signature: t=…,v1=HMAC-SHA256`)."""

import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.settings import Settings
from tests.api.conftest import make_settings
from tests.servers import STARTUP_SECONDS, free_port

API_KEY = "sk_test_selflink"
WEBHOOK_SECRET = "whsec_selflink_test"
PRICE_MONTHLY = "price_plus_monthly"
PRICE_YEARLY = "price_plus_yearly"
MONTHLY_CENTS = 900
TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


@dataclass
class LocalStripe:
    """A running localstripe and a Stripe client talking to it (the customer's side)."""

    base_url: str
    client: stripe.StripeClient

    def settings(self, database_url: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "STRIPE_API_KEY": API_KEY,
            "STRIPE_API_BASE": self.base_url,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_MAX_RETRIES": 0,
            "STRIPE_PRICE_PLUS_MONTHLY": PRICE_MONTHLY,
            "STRIPE_PRICE_PLUS_YEARLY": PRICE_YEARLY,
        }
        return make_settings(database_url, **(values | overrides))

    def reset(self) -> None:
        """Forget every object (the month's balance transactions are this test's alone), and
        create the plans' prices again."""
        flushed = httpx.delete(
            f"{self.base_url}/_config/data", headers={"Authorization": f"Bearer {API_KEY}"}
        )
        flushed.raise_for_status()
        create_prices(self.client)

    def subscribe(self, customer_id: str, price: str = PRICE_MONTHLY) -> dict[str, Any]:
        """What Checkout does once the person pays: a card, then an active subscription
        whose first invoice is paid by a charge."""
        method = self.client.v1.payment_methods.create(params={"type": "card", "card": TEST_CARD})  # type: ignore[typeddict-item]
        self.client.v1.payment_methods.attach(method.id, params={"customer": customer_id})
        self.client.v1.customers.update(
            customer_id, params={"invoice_settings": {"default_payment_method": method.id}}
        )
        created = self.client.v1.subscriptions.create(
            params={"customer": customer_id, "items": [{"plan": price}]}  # type: ignore[list-item]
        )
        return dict(created.to_dict())

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        return dict(self.client.v1.invoices.retrieve(invoice_id).to_dict())

    def refund(self, charge_id: str, amount: int) -> dict[str, Any]:
        return dict(
            self.client.v1.refunds.create(params={"charge": charge_id, "amount": amount}).to_dict()
        )

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        return dict(self.client.v1.subscriptions.retrieve(subscription_id).to_dict())


def _wait_for(base_url: str, process: "subprocess.Popen[bytes]", log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            answer = httpx.get(
                f"{base_url}/health", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=1
            )
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"localstripe did not start:\n{log.read_text()}")
        time.sleep(0.1)


@contextmanager
def localstripe_server(folder: Path) -> Iterator[LocalStripe]:
    """A localstripe process on a free port, with the plans' prices created."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = folder / "localstripe.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.localstripe_server", "--port", str(port)],
            cwd=Path(__file__).parents[2],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(base_url, process, log)
            client = stripe.StripeClient(
                API_KEY, base_addresses={"api": base_url}, max_network_retries=0
            )
            create_prices(client)
            yield LocalStripe(base_url, client)
        finally:
            process.terminate()
            process.wait(timeout=30)


def create_prices(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(params={"name": "SelfLink Plus"})
    for price, amount, interval in (
        (PRICE_MONTHLY, MONTHLY_CENTS, "month"),
        (PRICE_YEARLY, 9000, "year"),
    ):
        client.v1.plans.create(
            params={  # type: ignore[typeddict-unknown-key]
                "id": price,
                "product": product.id,
                "amount": amount,
                "currency": "eur",
                "interval": interval,
            }
        )


def stripe_event(kind: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": created if created is not None else int(time.time()),
        "type": kind,
        "livemode": False,
        "data": {"object": obj},
    }


def signed(
    event: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=at)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


async def deliver(
    client: AsyncTestClient[Litestar], event: dict[str, Any], **sign: Any
) -> httpx.Response:
    body, headers = signed(event, **sign)
    return await client.post("/api/v1/payments/stripe/webhook", content=body, headers=headers)


@contextmanager
def silent_server() -> Iterator[str]:
    """A loopback port that accepts connections and never answers: Stripe timing out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()
