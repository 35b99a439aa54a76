"""`selflink-api rewards …`: the operator's monthly walk (dry run, commit, lock, pay), and moving
an existing ledger in. Each command imports the services it runs and reads only the settings:
none builds the app (see `selflink_api.platform.commands`)."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import click

from selflink_api.platform.commands import OperatorGroup, run_in_database
from selflink_api.rewards.states import PayoutState

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from selflink_api.rewards.importer import Imported
    from selflink_core.rewards import Bundle, Figures


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _summary(bundle: "Bundle") -> None:
    manifest = bundle.manifest
    click.echo(
        f"{manifest.period}: {_counted(manifest.events, 'event')}, "
        f"{_counted(manifest.contributors, 'contributor')}, "
        f"pool {manifest.pool_cents} {manifest.currency} cents (new {manifest.pool_new_cents}, "
        f"rollover in {manifest.rollover_in_cents}), paid {manifest.paid_cents}, carried "
        f"{manifest.carry_out_cents}, rollover out {manifest.rollover_out_cents}"
    )
    top = sorted(bundle.rows, key=lambda r: (-r.payout_cents, r.contributor))[:10]
    for row in top:
        click.echo(
            f"  {row.contributor:<30} points {row.eligible_points:>8}  {row.payout_cents:>10}"
        )


def _write(out: Path, bundle: "Bundle") -> None:
    if out.exists() and any(out.iterdir()):
        click.echo(f"error: {out} is not empty", err=True)
        sys.exit(2)
    out.mkdir(parents=True, exist_ok=True)
    for name, content in bundle.files().items():
        (out / name).write_bytes(content)


def _manual_figures(revenue_cents: int | None, costs_cents: int | None) -> tuple[int, int]:
    if revenue_cents is None or costs_cents is None:
        click.echo(
            "error: give --revenue-cents and --costs-cents, or --revenue-from payments", err=True
        )
        sys.exit(2)
    return revenue_cents, costs_cents


@click.command(name="snapshot")
@click.option("--period", required=True, help="YYYY-MM")
@click.option(
    "--revenue-from",
    type=click.Choice(["manual", "payments"]),
    default="manual",
    show_default=True,
    help="payments: revenue and Stripe's fees from the revenue ledger (docs/payments.md).",
)
@click.option("--revenue-cents", type=click.IntRange(min=0), help="Hand-typed revenue (manual).")
@click.option(
    "--costs-cents",
    type=click.IntRange(min=0),
    help="Hand-typed costs (manual); with payments, costs declared on top of Stripe's fees.",
)
@click.option("--costs-reason", default="", help="Why the declared costs (with payments).")
@click.option("--currency", default="USD", show_default=True, help="Manual figures' currency.")
@click.option("--pool-bps", type=click.IntRange(0, 10000), default=5000, show_default=True)
@click.option("--min-payout-cents", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), help="Write the four files here."
)
@click.option("--commit", is_flag=True, help="Store a new version and open its dispute window.")
def snapshot(
    period: str,
    revenue_from: str,
    revenue_cents: int | None,
    costs_cents: int | None,
    costs_reason: str,
    currency: str,
    pool_bps: int,
    min_payout_cents: int,
    out: Path | None,
    commit: bool,
) -> None:
    """Compute a month's bundle from the ledger (a dry run unless --commit).

    The month's figures are typed by hand (months before billing), or with `--revenue-from
    payments` taken from the revenue ledger: revenue net of refunds and disputes, and
    Stripe's fees as costs plus any `--costs-cents` declared with a `--costs-reason`. Either
    way the figures and their source go to the audit log with the committed version.
    """
    from selflink_api.rewards.snapshots import SnapshotService, utc_now
    from selflink_api.settings import load_settings
    from selflink_core.rewards import Bundle, Figures

    settings = load_settings()
    from_payments = revenue_from == "payments"
    if from_payments and costs_cents and not costs_reason.strip():
        click.echo("error: declared --costs-cents need a --costs-reason", err=True)
        sys.exit(2)
    manual = None if from_payments else _manual_figures(revenue_cents, costs_cents)

    async def work(
        session: "AsyncSession",
    ) -> tuple[Bundle, int | None, dict[str, object] | None]:
        service = SnapshotService(session)
        source: dict[str, object] | None = None
        if manual is not None:
            figures = Figures(currency, *manual, pool_bps, min_payout_cents)
        else:
            figures, source = await ledger_figures(
                session, period, costs_cents or 0, costs_reason.strip(), pool_bps, min_payout_cents
            )
        if not commit:
            return await service.compute(period, figures), None, source
        committed = await service.commit(
            period,
            figures,
            actor="cli",
            dispute_days=settings.rewards_dispute_days,
            now=utc_now(),
            source=source,
        )
        return committed.bundle, committed.snapshot.version, source

    bundle, version, source = run_in_database(settings, work)
    if source is not None:
        click.echo(
            "revenue from payments: "
            + ", ".join(f"{name} {value}" for name, value in source.items() if name != "source")
        )
    _summary(bundle)
    if out is not None:
        _write(out, bundle)
        click.echo(f"wrote {', '.join(sorted(bundle.files()))} to {out}")
    if version is not None:
        days = settings.rewards_dispute_days
        click.echo(f"committed {period} version {version}; disputes open for {days} days")
    else:
        click.echo("dry run: nothing stored (add --commit to store this version)")
    click.echo(f"root: {bundle.root}")


async def ledger_figures(
    session: "AsyncSession",
    period: str,
    declared_costs: int,
    reason: str,
    pool_bps: int,
    min_payout_cents: int,
) -> "tuple[Figures, dict[str, object]]":
    """The month's figures from the revenue ledger, and what they were made of."""
    from selflink_api.payments.ledger import RevenueLedger
    from selflink_api.platform.problems import CONFLICT, ProblemError
    from selflink_core.rewards import Figures

    found = await RevenueLedger(session).figures(period)
    if len(found) != 1:
        detail = (
            f"the revenue ledger has no transactions in {period}"
            if not found
            else f"{period} has transactions in {len(found)} currencies; one is needed"
        )
        raise ProblemError(CONFLICT, detail)
    month = found[0]
    if month.revenue < 0:
        raise ProblemError(
            CONFLICT, f"{period} earned {month.revenue} {month.currency} minor units, below 0"
        )
    figures = Figures(
        month.currency, month.revenue, month.fees + declared_costs, pool_bps, min_payout_cents
    )
    source: dict[str, object] = {
        "source": "payments",
        "gross": month.gross,
        "refunds": month.refunds,
        "disputes": month.disputes,
        "other": month.other,
        "stripe_fees": month.fees,
        "net": month.net,
        "transactions": month.transactions,
        "declared_costs": declared_costs,
        "declared_costs_reason": reason,
    }
    return figures, source


@click.command(name="lock")
@click.option("--period", required=True, help="YYYY-MM")
@click.option("--force", is_flag=True, help="Lock before the dispute window ends.")
def lock(period: str, force: bool) -> None:
    """Lock a month whose dispute window has ended, creating its payouts."""
    from selflink_api.rewards.snapshots import SnapshotService, utc_now
    from selflink_api.settings import load_settings

    async def work(session: "AsyncSession") -> int:
        return len(
            await SnapshotService(session).lock(period, actor="cli", now=utc_now(), force=force)
        )

    click.echo(f"locked {period}: {run_in_database(load_settings(), work)} payouts created")


@click.command(name="list")
@click.option("--period", default=None)
@click.option("--state", type=click.Choice([s.value for s in PayoutState]), default=None)
def list_payouts(period: str | None, state: str | None) -> None:
    """Payouts, with their ids for `transition`."""
    from selflink_api.rewards.payouts import PayoutService
    from selflink_api.settings import load_settings

    async def work(session: "AsyncSession") -> list[str]:
        return [
            f"{p.id}  {p.period}  {p.contributor:<30} {p.amount_cents:>10} {p.currency}  {p.state}"
            for p in await PayoutService(session).find(period=period, state=state)
        ]

    for line in run_in_database(load_settings(), work) or ["no payouts"]:
        click.echo(line)


@click.command(name="transition")
@click.argument("payout_id", type=click.UUID)
@click.option("--to", "to", type=click.Choice([s.value for s in PayoutState]), required=True)
@click.option("--method", default="")
@click.option("--ref", "external_ref", default="", help="External reference (e.g. a transfer id).")
@click.option("--note", default="")
def transition(payout_id: UUID, to: str, method: str, external_ref: str, note: str) -> None:
    """Move a payout: pending → processing → paid | failed, failed → processing, … → canceled."""
    from selflink_api.rewards.payouts import PayoutService
    from selflink_api.settings import load_settings

    async def work(session: "AsyncSession") -> tuple[str, bool]:
        payout, changed = await PayoutService(session).transition(
            payout_id,
            PayoutState(to),
            actor="cli",
            actor_id=None,
            method=method,
            external_ref=external_ref,
            note=note,
        )
        return payout.state, changed

    state, changed = run_in_database(load_settings(), work)
    click.echo(f"{payout_id}: {state}" + ("" if changed else " (already)"))


@click.command(name="import-ledger")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--staff",
    "staff_handle",
    required=True,
    metavar="HANDLE",
    help="The staff or admin account doing the import (named in the audit log).",
)
def import_ledger(file: Path, staff_handle: str) -> None:
    """Append a ledger file's events to an empty ledger, or those extending its head.

    Every line, the chain, unique ids and reversals are checked first, as `selflink rewards
    ledger append` does; any problem refuses the whole file (exit 2) and stores nothing.
    """
    from selflink_api.rewards.importer import LedgerImportService
    from selflink_api.settings import load_settings

    async def work(session: "AsyncSession") -> "Imported":
        return await LedgerImportService(session).import_file(file, staff_handle=staff_handle)

    imported = run_in_database(load_settings(), work)
    if not imported.appended:
        click.echo(f"nothing to import: the ledger already holds every line of {file}")
    else:
        click.echo(
            f"imported {_counted(imported.appended, 'event')} from {file}; head seq "
            f"{imported.head.seq} hash {imported.head.hash}"
        )


@click.group(name="rewards", cls=OperatorGroup)
def rewards() -> None:
    """Monthly reward snapshots, locks and payouts."""


@click.group(name="payouts", cls=OperatorGroup)
def payouts() -> None:
    """Payouts of locked months."""


payouts.add_command(list_payouts)
payouts.add_command(transition)
rewards.add_command(snapshot)
rewards.add_command(lock)
rewards.add_command(import_ledger)
rewards.add_command(payouts)

COMMANDS = (rewards,)
