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
    turn_off_server_proxy_headers()
    run_cli()


def turn_off_server_proxy_headers() -> None:
    """Leave `X-Forwarded-For` to the app, which believes it only from TRUSTED_PROXIES.

    Uvicorn believes it from 127.0.0.1 by default and rewrites the client address before the
    app sees it, so a client behind no proxy at all could pick its own address. Litestar's `run`
    starts uvicorn in this process, or as `python -m uvicorn` (inheriting this environment) for
    `--wc` and `--reload`: these two variables reach both, overriding what the shell set.
    """
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    os.environ["UVICORN_PROXY_HEADERS"] = "false"
