"""A month's revenue, computed from Stripe's balance transactions on a real localstripe: the
webhook and the reconciliation filling the ledger, `selflink-api payments revenue`, a rewards
snapshot taking its figures from it (verified with `selflink rewards verify`), and a refund
arriving after the month locked landing in the next month."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from typer.testing import CliRunner

from selflink_api.app import create_app
from selflink_api.payments.ledger import month_of, next_month
from selflink_cli.main import app as selflink_cli
from tests.api.conftest import app_client, drain_jobs
from tests.api.operator import selflink_api
from tests.api.payments_helpers import (
    API_KEY,
    MONTHLY_CENTS,
    LocalStripe,
    deliver,
    localstripe_server,
    stripe_event,
)
from tests.api.people import register
from tests.api.rewards_helpers import WEBHOOK_SECRET as GITHUB_SECRET
from tests.api.rewards_helpers import deliver as deliver_pull_request
from tests.api.rewards_helpers import pr_payload
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio
Client = AsyncTestClient[Litestar]
FEE_900 = 56


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with localstripe_server(tmp_path_factory.mktemp("localstripe")) as running:
        yield running


async def operator(database_url: str, localstripe: LocalStripe, *args: str) -> tuple[int, str, str]:
    outcome = await anyio.to_thread.run_sync(
        lambda: selflink_api(
            database_url,
            *args,
            STRIPE_API_KEY=API_KEY,
            STRIPE_API_BASE=localstripe.base_url,
            REWARDS_DISPUTE_DAYS="0",
        )
    )
    return outcome.returncode, outcome.stdout, outcome.stderr


async def paid_subscription(client: Client, localstripe: LocalStripe, *, tell: bool) -> str:
    """A person subscribes; with `tell`, Stripe's invoice.paid reaches the webhook. Returns
    the charge."""
    person = await register(client)
    response = await client.post(
        "/api/v1/payments/checkout", json={"plan": "plus_monthly"}, headers=person.headers
    )
    assert response.status_code == 201, response.text
    customer = (
        await sql(
            client.app.state.settings,
            "SELECT customer_id FROM payments_customers ORDER BY created_at DESC",
        )
    )[0][0]
    subscription = localstripe.subscribe(customer)
    invoice = localstripe.invoice(subscription["latest_invoice"])
    charge = str(invoice["charge"]["id"])
    if tell:
        paid = stripe_event(
            "invoice.paid",
            {"id": invoice["id"], "subscription": subscription["id"], "charge": charge},
        )
        assert (await deliver(client, paid)).status_code == 200
        await drain_jobs(client)
    return charge


async def test_the_month_from_checkout_to_a_verified_rewards_snapshot(
    database_url: str, localstripe: LocalStripe, tmp_path: Path
) -> None:
    localstripe.reset()
    period = month_of(datetime.now(UTC))
    settings = localstripe.settings(
        database_url, GITHUB_WEBHOOK_SECRET=GITHUB_SECRET, REWARDS_DISPUTE_DAYS=0
    )
    async with app_client(create_app(settings)) as client:
        charge = await paid_subscription(client, localstripe, tell=True)
        localstripe.refund(charge, 300)
        refunded = stripe_event("charge.refunded", {"id": charge, "object": "charge"})
        assert (await deliver(client, refunded)).status_code == 200
        await paid_subscription(client, localstripe, tell=False)  # its webhook went missing
        await drain_jobs(client)
        merged = f"{period}-01T12:00:00Z"
        assert (
            await deliver_pull_request(client, pr_payload(1, 77, merged_at=merged))
        ).status_code == 202
        await drain_jobs(client)

    code, out, err = await operator(
        database_url, localstripe, "payments", "reconcile", "--period", period
    )
    assert code == 0, err
    assert out.strip().endswith("1 newly booked")

    code, out, err = await operator(
        database_url, localstripe, "payments", "revenue", "--period", period, "--json"
    )
    assert code == 0, err
    gross = 2 * MONTHLY_CENTS
    month = {
        "currency": "EUR",
        "gross": gross,
        "refunds": -300,
        "disputes": 0,
        "other": 0,
        "fees": 2 * FEE_900,
        "net": gross - 300 - 2 * FEE_900,
        "transactions": 3,
    }
    assert json.loads(out) == {"period": period, "frozen": False, "currencies": [month]}
    code, out, _ = await operator(
        database_url, localstripe, "payments", "revenue", "--period", period
    )
    assert f"gross {gross}, refunds -300, disputes 0, other 0, fees {2 * FEE_900}" in out
    code, out, _ = await operator(
        database_url, localstripe, "payments", "revenue", "--period", period, "--csv"
    )
    lines = out.splitlines()
    assert lines[0].startswith("transaction_id,occurred_at,booked_in,category")
    assert sorted(line.split(",")[3] for line in lines[1:]) == ["charge", "charge", "refund"]

    out_folder = tmp_path / "bundle"
    code, out, err = await operator(
        database_url,
        localstripe,
        "rewards",
        "snapshot",
        "--period",
        period,
        "--revenue-from",
        "payments",
        "--costs-cents",
        "100",
        "--costs-reason",
        "hosting",
        "--commit",
        "--out",
        str(out_folder),
    )
    assert code == 0, err
    root = out.splitlines()[-1].removeprefix("root: ")
    manifest = json.loads((out_folder / "manifest.json").read_text())
    assert (manifest["revenue_cents"], manifest["costs_cents"], manifest["currency"]) == (
        gross - 300,
        2 * FEE_900 + 100,
        "EUR",
    )
    audit = await sql(
        settings, "SELECT details FROM audit_log WHERE action = 'rewards.snapshot.commit'"
    )
    details = audit[0][0] if isinstance(audit[0][0], dict) else json.loads(audit[0][0])
    assert details["figures_from"]["source"] == "payments"
    assert details["figures_from"]["stripe_fees"] == 2 * FEE_900
    assert details["figures_from"]["declared_costs_reason"] == "hosting"

    async with app_client(create_app(settings)) as client:
        ledger = (await client.get("/api/v1/rewards/ledger.jsonl")).content
    (tmp_path / "ledger.jsonl").write_bytes(ledger)
    verified = CliRunner().invoke(
        selflink_cli,
        [
            "rewards",
            "verify",
            str(out_folder),
            "--ledger",
            str(tmp_path / "ledger.jsonl"),
            "--root",
            root,
        ],
        catch_exceptions=False,
    )
    assert verified.exit_code == 0, verified.stdout

    async with app_client(create_app(settings)) as client:
        localstripe.refund(charge, 100)  # after version 1, before the lock
        refunded_again = stripe_event("charge.refunded", {"id": charge, "object": "charge"})
        assert (await deliver(client, refunded_again)).status_code == 200
        await drain_jobs(client)
    lock = ("rewards", "lock", "--period", period, "--force")
    code, _, err = await operator(database_url, localstripe, *lock)
    assert (code, err.strip()) == (
        2,
        f"error: 1 Stripe transaction was booked into {period} after version 1; commit a new "
        "version (--revenue-from payments) before locking.",
    )
    recommit = ("rewards", "snapshot", "--period", period, "--revenue-from", "payments")
    code, _, err = await operator(database_url, localstripe, *recommit, "--commit")
    assert code == 0, err
    code, _, err = await operator(database_url, localstripe, *lock)
    assert code == 0, err
    month |= {"refunds": -400, "net": month["net"] - 100, "transactions": 4}
    async with app_client(create_app(settings)) as client:
        localstripe.refund(charge, 200)
        late = stripe_event("charge.refunded", {"id": charge, "object": "charge"})
        assert (await deliver(client, late)).status_code == 200
        await drain_jobs(client)
    _, out, _ = await operator(
        database_url, localstripe, "payments", "revenue", "--period", period, "--json"
    )
    assert json.loads(out) == {"period": period, "frozen": True, "currencies": [month]}
    _, out, _ = await operator(
        database_url, localstripe, "payments", "revenue", "--period", next_month(period), "--json"
    )
    assert json.loads(out)["currencies"][0]["refunds"] == -200


async def test_revenue_refuses_a_bad_period_and_an_empty_month_in_one_line(
    database_url: str, localstripe: LocalStripe
) -> None:
    code, _, err = await operator(
        database_url, localstripe, "payments", "revenue", "--period", "2026-13"
    )
    assert (code, err.strip()) == (2, "error: --period must be YYYY-MM, found '2026-13'")
    code, out, _ = await operator(
        database_url, localstripe, "payments", "revenue", "--period", "2026-10"
    )
    assert (code, out.strip()) == (0, "2026-10 (open): no transactions")
    code, _, err = await operator(
        database_url,
        localstripe,
        "rewards",
        "snapshot",
        "--period",
        "2026-10",
        "--revenue-from",
        "payments",
    )
    assert (code, err.strip()) == (2, "error: the revenue ledger has no transactions in 2026-10")
