"""Operator commands of `selflink-api`, next to those Litestar, SQLAlchemy and SAQ add."""

import sys
from typing import Any

import click
from litestar import Litestar
from litestar.cli._utils import LitestarGroup
from litestar.plugins import CLIPluginProtocol
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.models import Role
from selflink_api.accounts.services import AccountsToolkit, PersonalDataStore
from selflink_api.audit.commands import audit
from selflink_api.cli import account_service, run_in_session
from selflink_api.demo import demo
from selflink_api.matching import services as matching
from selflink_api.matching.commands import matching as matching_group
from selflink_api.notifications import services as outbox
from selflink_api.rewards.commands import rewards
from selflink_api.settings import Profile, Settings


@click.group(name="users", cls=LitestarGroup)
def users() -> None:
    """Accounts."""


@click.command(name="create-admin")
@click.option("--email", required=True, help="The admin's email address.")
@click.option("--handle", required=True, help="The admin's handle (3-30 of a-z, 0-9, _).")
@click.option("--display-name", default=None, help="Shown name; defaults to the handle.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="SELFLINK_ADMIN_PASSWORD",
    help="Prompted for when omitted (or from SELFLINK_ADMIN_PASSWORD).",
)
def create_admin(
    app: Litestar, email: str, handle: str, display_name: str | None, password: str
) -> None:
    """Create an administrator account (email counted as verified)."""

    async def create(session: AsyncSession) -> str:
        user = await account_service(app, session).create_account(
            email=email,
            password=password,
            handle=handle,
            display_name=display_name,
            role=Role.ADMIN,
            verified=True,
        )
        return user.handle

    click.echo(f"created admin @{run_in_session(app, create)}")


@click.group(name="pii", cls=LitestarGroup)
def pii() -> None:
    """Encrypted personal data."""


@click.command(name="rotate-key")
def rotate_key(app: Litestar) -> None:
    """Re-encrypt personal data, held emails and matching data that use an older key with
    PII_ACTIVE_KEY_ID."""
    toolkit: AccountsToolkit = app.state.accounts

    async def rotate(session: AsyncSession) -> tuple[int, int, int]:
        people = await PersonalDataStore(session, toolkit.cipher).reencrypt_with_active_key()
        emails = await outbox.reencrypt_with_active_key(session, toolkit.cipher)
        matches = await matching.reencrypt_with_active_key(session, toolkit.cipher)
        return people, emails, matches

    people, emails, matches = run_in_session(app, rotate)
    key = toolkit.cipher.active_key_id
    click.echo(
        f"re-encrypted {people} personal-data records, {emails} held emails and "
        f"{matches} matching records with {key!r}"
    )


@click.group(name="outbox", cls=LitestarGroup)
def outbox_group() -> None:
    """Outgoing email."""


@click.command(name="list")
@click.option("--limit", default=20, show_default=True, help="How many recent held emails.")
def list_outbox(app: Litestar, limit: int) -> None:
    """Show emails held because no SMTP server is configured (never in production)."""
    settings: Settings = app.state.settings
    if settings.profile is Profile.PRODUCTION:
        click.echo("error: the outbox is not readable in production", err=True)
        sys.exit(2)
    toolkit: AccountsToolkit = app.state.accounts

    async def held(session: AsyncSession) -> list[dict[str, Any]]:
        listed = []
        for message in await outbox.held_messages(session, limit):
            email = outbox.read_email(toolkit.cipher, message)
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


# LitestarGroup types its commands as rich-click's; plain click commands work the same.
users.add_command(create_admin)  # type: ignore[arg-type]
pii.add_command(rotate_key)  # type: ignore[arg-type]
outbox_group.add_command(list_outbox)  # type: ignore[arg-type]


class SelflinkCommands(CLIPluginProtocol):
    def on_cli_init(self, cli: click.Group) -> None:
        for command in (users, pii, outbox_group, demo, rewards, audit, matching_group):
            cli.add_command(command)
        if "workers" not in cli.commands:
            cli.add_command(_workers_without_redis)


@click.group(
    name="workers", invoke_without_command=True, context_settings={"ignore_unknown_options": True}
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _workers_without_redis(args: tuple[str, ...]) -> None:
    """Background workers (need REDIS_URL; without it jobs run inside the API process)."""
    del args
    click.echo(
        "error: REDIS_URL is not set, so jobs run inside the API process and there are no "
        "workers to start; set REDIS_URL to run them on SAQ workers",
        err=True,
    )
    sys.exit(2)
