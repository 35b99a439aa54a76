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
    from selflink_core.rewards import Bundle


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


@click.command(name="snapshot")
@click.option("--period", required=True, help="YYYY-MM")
@click.option("--revenue-cents", type=click.IntRange(min=0), required=True)
@click.option("--costs-cents", type=click.IntRange(min=0), required=True)
@click.option("--currency", default="USD", show_default=True)
@click.option("--pool-bps", type=click.IntRange(0, 10000), default=5000, show_default=True)
@click.option("--min-payout-cents", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), help="Write the four files here."
)
@click.option("--commit", is_flag=True, help="Store a new version and open its dispute window.")
def snapshot(
    period: str,
    revenue_cents: int,
    costs_cents: int,
    currency: str,
    pool_bps: int,
    min_payout_cents: int,
    out: Path | None,
    commit: bool,
) -> None:
    """Compute a month's bundle from the ledger (a dry run unless --commit)."""
    from selflink_api.rewards.snapshots import SnapshotService, utc_now
    from selflink_api.settings import load_settings
    from selflink_core.rewards import Bundle, Figures

    settings = load_settings()
    figures = Figures(currency, revenue_cents, costs_cents, pool_bps, min_payout_cents)

    async def work(session: "AsyncSession") -> tuple[Bundle, int | None]:
        service = SnapshotService(session)
        if not commit:
            return await service.compute(period, figures), None
        committed = await service.commit(
            period, figures, actor="cli", dispute_days=settings.rewards_dispute_days, now=utc_now()
        )
        return committed.bundle, committed.snapshot.version

    bundle, version = run_in_database(settings, work)
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
