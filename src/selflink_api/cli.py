"""`selflink-api`: Litestar's command line bound to the SelfLink app, plus our own commands."""

import os
import sys

import click
from litestar.__main__ import run_cli
from litestar.plugins import CLIPluginProtocol
from pydantic import ValidationError

from selflink_api.settings import load_settings


def main() -> None:
    """Run the CLI with `--app` pre-set, so `selflink-api run` and friends need no flags."""
    try:
        load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            click.echo(f"error: {error['msg'].removeprefix('Value error, ')}", err=True)
        sys.exit(2)
    os.environ.setdefault("LITESTAR_APP", "selflink_api.app:create_app")
    run_cli()


class SelflinkCommands(CLIPluginProtocol):
    """Commands of our own, next to those the Litestar, SQLAlchemy and SAQ plugins add."""

    def on_cli_init(self, cli: click.Group) -> None:
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
