"""What operator commands share: one transaction of the app's database, errors as one line."""

import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import anyio
import click
from litestar import Litestar
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.problems import ProblemError

if TYPE_CHECKING:
    from selflink_api.settings import Settings

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
