"""`selflink-api payments …`: a month's revenue from the ledger of Stripe balance transactions
(for the operator, as JSON, or as CSV for the accountant), and reconciling it with Stripe."""

import csv
import json
import sys
from typing import TYPE_CHECKING, Any

import click

from selflink_api.platform.commands import OperatorGroup, run_in_database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from selflink_api.payments.ledger import RevenueFigures
    from selflink_api.payments.models import RevenueEntry

PERIOD_HELP = "A month, YYYY-MM."
CSV_COLUMNS = (
    "transaction_id",
    "occurred_at",
    "booked_in",
    "category",
    "type",
    "source",
    "amount",
    "fee",
    "net",
    "currency",
)


def checked_period(_: click.Context, __: click.Parameter, value: str) -> str:
    from selflink_core.rewards import is_period

    if not is_period(value):
        click.echo(f"error: --period must be YYYY-MM, found {value!r}", err=True)
        sys.exit(2)
    return value


def figures_json(figures: "RevenueFigures") -> dict[str, Any]:
    return {
        "currency": figures.currency,
        "gross": figures.gross,
        "refunds": figures.refunds,
        "disputes": figures.disputes,
        "other": figures.other,
        "fees": figures.fees,
        "net": figures.net,
        "transactions": figures.transactions,
    }


@click.command(name="revenue")
@click.option("--period", required=True, callback=checked_period, help=PERIOD_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV line per balance transaction.")
def revenue(period: str, as_json: bool, as_csv: bool) -> None:
    """A month's revenue in minor units: gross, refunds, disputes, fees, net, transactions."""
    from selflink_api.payments.ledger import RevenueLedger
    from selflink_api.settings import load_settings

    if as_json and as_csv:
        click.echo("error: choose one of --json and --csv", err=True)
        sys.exit(2)

    async def work(
        session: "AsyncSession",
    ) -> "tuple[list[RevenueFigures], list[RevenueEntry], bool]":
        ledger = RevenueLedger(session)
        entries = await ledger.entries(period) if as_csv else []
        return await ledger.figures(period), entries, await ledger.is_frozen(period)

    figures, entries, frozen = run_in_database(load_settings(), work)
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for entry in entries:
            writer.writerow(
                (
                    entry.transaction_id,
                    entry.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    entry.period,
                    entry.category,
                    entry.kind,
                    entry.source_id,
                    entry.amount,
                    entry.fee,
                    entry.net,
                    entry.currency.upper(),
                )
            )
        return
    if as_json:
        document = {
            "period": period,
            "frozen": frozen,
            "currencies": [figures_json(f) for f in figures],
        }
        click.echo(json.dumps(document, indent=2))
        return
    state = "frozen by a rewards lock" if frozen else "open"
    if not figures:
        click.echo(f"{period} ({state}): no transactions")
    for f in figures:
        click.echo(
            f"{period} {f.currency} ({state}), minor units: gross {f.gross}, refunds {f.refunds}, "
            f"disputes {f.disputes}, other {f.other}, fees {f.fees}, net {f.net}; "
            f"{f.transactions} transaction{'s' if f.transactions != 1 else ''}"
        )


@click.command(name="reconcile")
@click.option("--period", required=True, callback=checked_period, help=PERIOD_HELP)
def reconcile(period: str) -> None:
    """Book the month's balance transactions Stripe lists that no webhook brought."""
    from selflink_api.payments.gateway import StripeGateway
    from selflink_api.payments.ledger import reconcile_month
    from selflink_api.settings import load_settings

    settings = load_settings()

    async def work(session: "AsyncSession") -> tuple[int, int]:
        gateway = StripeGateway(settings)
        try:
            return await reconcile_month(session, gateway, period)
        finally:
            await gateway.aclose()

    listed, booked = run_in_database(settings, work)
    click.echo(f"{period}: Stripe lists {listed} balance transactions; {booked} newly booked")


@click.group(name="payments", cls=OperatorGroup)
def payments() -> None:
    """Revenue from Stripe."""


payments.add_command(revenue)
payments.add_command(reconcile)

COMMANDS = (payments,)
