"""`selflink-api users`: accounts from the command line."""

from typing import TYPE_CHECKING

import click

from selflink_api.platform.commands import OperatorGroup, run_in_session

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession

    from selflink_api.accounts.services import AccountService


def account_service(app: "Litestar", session: "AsyncSession") -> "AccountService":
    """The accounts service as a command uses it: jobs go to the app's runner, no client."""
    from selflink_api.accounts.services import AccountService, AccountsToolkit
    from selflink_api.platform.jobs import JobQueue

    toolkit: AccountsToolkit = app.state.accounts
    return AccountService(session, toolkit, JobQueue(app.state.job_runner), client_ip="cli")


@click.group(name="users", cls=OperatorGroup)
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
    app: "Litestar", email: str, handle: str, display_name: str | None, password: str
) -> None:
    """Create an administrator account (email counted as verified)."""
    from selflink_api.accounts.models import Role

    async def create(session: "AsyncSession") -> str:
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


users.add_command(create_admin)

COMMANDS = (users,)
