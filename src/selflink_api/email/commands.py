"""`selflink-api outbox`: emails held where no SMTP server is configured."""

import sys
from typing import TYPE_CHECKING, Any

import click

from selflink_api.platform.commands import OperatorGroup, run_in_session

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession

    from selflink_api.platform.domains import Shared


@click.group(name="outbox", cls=OperatorGroup)
def outbox_group() -> None:
    """Outgoing email."""


@click.command(name="list")
@click.option("--limit", default=20, show_default=True, help="How many recent held emails.")
def list_outbox(app: "Litestar", limit: int) -> None:
    """Show emails held because no SMTP server is configured (never in production)."""
    from selflink_api.email import services as outbox
    from selflink_api.settings import Profile

    shared: Shared = app.state.shared
    if shared.settings.profile is Profile.PRODUCTION:
        click.echo("error: the outbox is not readable in production", err=True)
        sys.exit(2)

    async def held(session: "AsyncSession") -> list[dict[str, Any]]:
        listed = []
        for message in await outbox.held_messages(session, limit):
            email = outbox.read_email(shared.cipher, message)
            if email is not None:
                listed.append(
                    {"created_at": message.created_at, "kind": message.kind, "email": email}
                )
        return listed

    messages = run_in_session(app, held)
    if not messages:
        click.echo("no held emails")
    for item in messages:
        email = item["email"]
        click.echo(f"--- {item['created_at']:%Y-%m-%d %H:%M:%S}Z  {item['kind']}  to {email.to}")
        click.echo(f"Subject: {email.subject}\n\n{email.body}\n")


outbox_group.add_command(list_outbox)

COMMANDS = (outbox_group,)
