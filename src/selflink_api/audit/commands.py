"""`selflink-api audit verify`: re-check the audit log's hash chain."""

import sys

import click
from litestar import Litestar
from litestar.cli._utils import LitestarGroup
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.audit import services
from selflink_api.platform.commands import run_in_session
from selflink_core.audit import AuditChainProblem


@click.command(name="verify")
def verify(app: Litestar) -> None:
    """Walk the audit log in order; exit 1 at the first broken link."""

    async def work(session: AsyncSession) -> tuple[int, AuditChainProblem | None]:
        return await services.verify(session)

    count, problem = run_in_session(app, work)
    if problem is not None:
        click.echo(
            f"verification failed: audit entry seq {problem.seq}: {problem.reason}", err=True
        )
        sys.exit(1)
    click.echo(f"verified: {count} audit entries, chain intact")


@click.group(name="audit", cls=LitestarGroup)
def audit() -> None:
    """The audit log."""


audit.add_command(verify)  # type: ignore[arg-type]
