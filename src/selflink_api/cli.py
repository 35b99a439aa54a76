"""`selflink-api`: Litestar's command line bound to the SelfLink app, plus our own commands."""

import os
import sys

import click
from litestar.__main__ import run_cli
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
