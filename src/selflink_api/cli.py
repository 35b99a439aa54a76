"""`selflink-api`: Litestar's command line bound to the SelfLink app, plus our own commands."""

import os
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import click
from litestar import Litestar
from litestar.__main__ import run_cli
from pydantic import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.services import AccountService, AccountsToolkit
from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.problems import ProblemError
from selflink_api.settings import Settings, load_settings


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


T = TypeVar("T")


def run_in_session(app: Litestar, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction of the app's database, committed when it returns."""
    settings: Settings = app.state.settings

    async def main() -> T:
        config = build_sqlalchemy_config(settings)
        try:
            async with config.get_session() as session, session.begin():
                return await work(session)
        finally:
            await config.get_engine().dispose()

    try:
        return anyio.run(main)
    except ProblemError as exc:
        click.echo(f"error: {exc.detail}", err=True)
        sys.exit(2)
    except (OSError, InterfaceError, OperationalError, ProgrammingError) as exc:
        reason = getattr(exc, "orig", None) or exc
        click.echo(
            f"error: cannot use the database (is it up, and migrated with `selflink-api database "
            f"upgrade`?): {type(reason).__name__}: {reason}",
            err=True,
        )
        sys.exit(3)


def account_service(app: Litestar, session: AsyncSession) -> AccountService:
    toolkit: AccountsToolkit = app.state.accounts
    return AccountService(session, toolkit, JobQueue(app.state.job_runner), client_ip="cli")
