"""What operator commands share: their group, the app or the settings they run with, one
transaction of the database, errors as one line.

`selflink-api --help` imports every domain's `commands` module to list its commands, so this
module and those import only click at their top: Litestar, SQLAlchemy, the app and the domains'
services are imported inside the command that uses them (ruff's PLC0415 is waived for them).
"""

import functools
import inspect
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession

    from selflink_api.settings import Settings

T = TypeVar("T")


def load_app(ctx: click.Context) -> "Litestar":
    """The app, built the first time a command asks for it (the root context holds a loader)."""
    root = ctx.find_root()
    if callable(root.obj):
        root.obj = root.obj()
    app: Litestar = root.obj.app
    return app


def given_app(callback: Callable[..., T]) -> Callable[..., T]:
    """Hand the app to a command whose callback takes `app`; other commands never build it."""
    if "app" not in inspect.signature(callback, follow_wrapped=False).parameters:
        return callback

    @functools.wraps(callback)
    def with_app(*args: Any, **kwargs: Any) -> T:
        return callback(*args, app=load_app(click.get_current_context()), **kwargs)

    return with_app


class OperatorGroup(click.Group):
    """A group of operator commands. A command taking `app` gets the whole app; the others
    read the settings themselves (`load_settings()`) and start in a fraction of the time."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if cmd.callback is not None:
            cmd.callback = given_app(cmd.callback)
        super().add_command(cmd, name)


def run_in_session(app: "Litestar", work: Callable[["AsyncSession"], Awaitable[T]]) -> T:
    """Run `work` in one transaction of the app's database, committed when it returns."""
    return run_in_database(app.state.settings, work)


def run_in_database(settings: "Settings", work: Callable[["AsyncSession"], Awaitable[T]]) -> T:
    """Run `work` in one transaction of the database `settings` name, committed when it returns;
    a refusal (`ProblemError`) exits 2 and an unusable database 3, each as one line."""
    import anyio
    from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

    from selflink_api.platform.database import build_sqlalchemy_config
    from selflink_api.platform.problems import ProblemError

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
