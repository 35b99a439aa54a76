"""`selflink-api audit verify`: re-check the audit log's hash chain."""

import sys
from typing import TYPE_CHECKING

import click

from selflink_api.platform.commands import OperatorGroup, run_in_database
from selflink_api.platform.progress import progress_bar

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from selflink_core.audit import AuditChainProblem


@click.command(name="verify")
def verify() -> None:
    """Walk the audit log in order; exit 1 at the first broken link."""
    from selflink_api.audit import services
    from selflink_api.settings import load_settings

    async def work(session: "AsyncSession") -> "tuple[int, AuditChainProblem | None]":
        with progress_bar(await services.count(session), "verifying audit log") as advance:
            return await services.verify(session, advance)

    count, problem = run_in_database(load_settings(), work)
    if problem is not None:
        click.echo(
            f"verification failed: audit entry seq {problem.seq}: {problem.reason}", err=True
        )
        sys.exit(1)
    click.echo(f"verified: {count} audit entries, chain intact")


@click.group(name="audit", cls=OperatorGroup)
def audit() -> None:
    """The audit log."""


audit.add_command(verify)

COMMANDS = (audit,)
