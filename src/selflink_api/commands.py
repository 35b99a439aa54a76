"""Operator commands of `selflink-api`: each domain's own, plus those over every domain."""

import sys

import click
from litestar import Litestar
from litestar.cli._utils import LitestarGroup
from litestar.plugins import CLIPluginProtocol
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.demo import demo
from selflink_api.domains import DOMAINS
from selflink_api.platform.commands import run_in_session
from selflink_api.platform.domains import Shared, all_encrypted_stores


@click.group(name="pii", cls=LitestarGroup)
def pii() -> None:
    """Encrypted personal data."""


@click.command(name="rotate-key")
def rotate_key(app: Litestar) -> None:
    """Re-seal every domain's encrypted personal data that uses an older key with
    PII_ACTIVE_KEY_ID."""
    shared: Shared = app.state.shared
    stores = all_encrypted_stores(DOMAINS)

    async def rotate(session: AsyncSession) -> list[int]:
        return [await store.reseal(session, shared.cipher) for store in stores]

    changed = run_in_session(app, rotate)
    counts = [f"{count} {store.label}" for store, count in zip(stores, changed, strict=True)]
    listed = ", ".join(counts[:-1]) + f" and {counts[-1]}" if len(counts) > 1 else counts[0]
    click.echo(f"re-encrypted {listed} with {shared.cipher.active_key_id!r}")


# LitestarGroup types its commands as rich-click's; plain click commands work the same.
pii.add_command(rotate_key)  # type: ignore[arg-type]


class SelflinkCommands(CLIPluginProtocol):
    def on_cli_init(self, cli: click.Group) -> None:
        for domain in DOMAINS:
            for command in domain.commands:
                cli.add_command(command)
        cli.add_command(pii)
        cli.add_command(demo)
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
