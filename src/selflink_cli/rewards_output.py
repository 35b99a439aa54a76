"""How `selflink rewards` shows things: summaries and reports on stdout, progress on stderr.

Rich is imported only where something is drawn: verifying a ledger in a script should not pay
for loading it.
"""

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import typer

from selflink_core.rewards import Bundle, RowExplanation, VerificationReport

if TYPE_CHECKING:
    from rich.console import Console

TOP_ROWS = 10


def stdout_console() -> "Console":
    from selflink_cli.console import console  # noqa: PLC0415 - see the module docstring

    return console(highlight=False, soft_wrap=False)


def stderr_console() -> "Console":
    from selflink_cli.console import console  # noqa: PLC0415 - see the module docstring

    return console(stderr=True, highlight=False)


PROGRESS_FROM: Final = {"bytes": 8 << 20, "events": 20_000}
"""Work smaller than this (per unit) is over in a second or so, before a bar would help."""

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Show no progress bar.")]


@contextlib.contextmanager
def progress_bar(
    total: int, label: str, *, quiet: bool, unit: Literal["bytes", "events"] = "bytes"
) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long runs, only when stderr is a terminal and not `quiet`.

    Rich decides what a terminal is, so `TTY_COMPATIBLE=1` or `FORCE_COLOR` force the bar.
    It refreshes only when advanced, so no background thread exists when workers are forked.
    """
    console = None if quiet or total < PROGRESS_FROM[unit] else stderr_console()
    if console is None or not console.is_terminal:
        yield lambda _amount: None
        return
    from rich.progress import (  # noqa: PLC0415 - see the module docstring
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn() if unit == "bytes" else MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        auto_refresh=False,
        transient=True,
    )
    task = progress.add_task(label, total=total)

    def advance(amount: int) -> None:
        progress.update(task, advance=amount)
        progress.refresh()

    with progress:
        yield advance


def print_json(value: Any) -> None:
    """One JSON object on stdout, nothing else."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n")


def cents(amount: int, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{part:02d} {currency}"


def print_bundle_summary(bundle: Bundle, out: str) -> None:
    """The readable result of `calculate`; the root is always the last line."""
    from rich.table import Table  # noqa: PLC0415 - see the module docstring

    manifest = bundle.manifest
    money = manifest.currency
    console = stdout_console()
    totals = Table(title=f"Rewards {manifest.period} (dry run) → {out}", show_header=False)
    totals.add_column("figure")
    totals.add_column("value", justify="right")
    for name, value in (
        ("events", f"{manifest.events:,}"),
        ("contributors (rows)", f"{manifest.contributors:,}"),
        ("net revenue", cents(manifest.net_revenue_cents, money)),
        (f"new pool ({manifest.pool_bps} bps)", cents(manifest.pool_new_cents, money)),
        ("rolled over in", cents(manifest.rollover_in_cents, money)),
        ("pool", cents(manifest.pool_cents, money)),
        ("eligible points", f"{manifest.total_eligible_points:,}"),
        ("allocated", cents(manifest.allocated_cents, money)),
        # Not a manifest field: the rows' carry_in_cents, the previous bundle's carry_out_cents.
        ("carried in from last month", cents(sum(r.carry_in_cents for r in bundle.rows), money)),
        ("paid", cents(manifest.paid_cents, money)),
        ("carried to next month", cents(manifest.carry_out_cents, money)),
        ("rolled over out", cents(manifest.rollover_out_cents, money)),
    ):
        totals.add_row(name, value)
    console.print(totals)
    if bundle.rows:
        top = sorted(bundle.rows, key=lambda row: (-row.payout_cents, row.contributor.encode()))
        table = Table(title=f"Top {min(TOP_ROWS, len(top))} of {len(top):,} rows by payout")
        for column in ("contributor", "points", "eligible", "share", "payout", "carried"):
            table.add_column(column, justify="left" if column == "contributor" else "right")
        for row in top[:TOP_ROWS]:
            table.add_row(
                row.contributor,
                f"{row.period_points:,}",
                f"{row.eligible_points:,}",
                cents(row.share_cents, money),
                cents(row.payout_cents, money),
                cents(row.carry_out_cents, money),
            )
        console.print(table)
    sys.stdout.flush()
    sys.stdout.write(f"root: {bundle.root}\n")


def print_report(report: VerificationReport) -> None:
    """The checks that passed, one per line, then the verdict."""
    for check in report.checks:
        sys.stdout.write(f"ok  {check}\n")
    if report.ok:
        sys.stdout.write(f"verified: {report.subject}, root {report.root}\n")


def print_month_line(period: str, report: VerificationReport) -> None:
    """One line of `verify --all`: the month and its root, or the first difference."""
    if report.mismatch is None:
        sys.stdout.write(f"verified  {period}  root {report.root}\n")
    else:
        sys.stdout.write(f"FAILED    {period}  {report.mismatch.message()}\n")


def print_statement(statement: dict[str, Any], currencies: dict[str, str]) -> None:
    """A contributor's months, oldest first, one line each; the server's JSON has the rest."""
    events = statement["events"]
    linked = "linked to an account" if statement["linked"] else "not linked to an account"
    points = sum(int(event["points"]) for event in events)
    sys.stdout.write(
        f"{statement['contributor']}: {linked}; {len(events):,} events, {points:,} points\n"
    )
    for month in statement["months"]:
        money = currencies.get(month["period"], "")
        state = month["payout_state"] or "not payable yet"
        sys.stdout.write(
            f"{month['period']}  {month['state']:<9}  payout {cents(month['payout_cents'], money)}"
            f" (share {cents(month['share_cents'], money)}, carried out "
            f"{cents(month['carry_out_cents'], money)}), {month['period_points']:,} points, "
            f"{month['eligible_points']:,} eligible; payout {state}; root {month['root']}\n"
        )


def print_explanation(explanation: RowExplanation, bundle: Bundle) -> None:
    from rich.markup import escape  # noqa: PLC0415 - see the module docstring
    from rich.table import Table  # noqa: PLC0415

    console = stdout_console()
    row = explanation.row
    console.print(
        f"{row.contributor} in {bundle.period}: row {explanation.index + 1} of "
        f"{len(bundle.rows)} in payouts.csv"
    )
    if explanation.events:
        table = Table(title="Events")
        for column in ("seq", "kind", "points", "occurred_at", "ref / reverses"):
            table.add_column(column, justify="right" if column in ("seq", "points") else "left")
        for event in explanation.events:
            table.add_row(
                str(event.seq),
                event.kind,
                str(event.points),
                event.occurred_at,
                escape(f"reverses {event.reverses}" if event.reverses else event.ref),
            )
        console.print(table)
    else:
        console.print("No events this month: the row exists because of carries.")
    for number, step in enumerate(explanation.steps, start=1):
        console.print(f"{number}. {step}", markup=False)
    console.print(f"payout: {cents(row.payout_cents, bundle.manifest.currency)}", markup=False)
