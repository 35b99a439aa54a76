"""`selflink-api`: Litestar's command line bound to the SelfLink app, plus our own commands."""

import os
import sys
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

import click
from litestar.cli._utils import LitestarEnv, LitestarExtensionGroup
from litestar.cli.commands import core, schema
from pydantic import ValidationError

from selflink_api.settings import load_settings

USAGE = 2
INTERRUPTED = 130


def usage_message(exc: click.ClickException) -> str:
    """Click's message for a usage mistake as one line, in the style of `selflink`'s errors."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f"; see '{ctx.command_path} --help'"
    return message


class SelflinkApiGroup(LitestarExtensionGroup):
    """Root group: usage mistakes leave as one `error:` line and exit 2, not as a boxed panel.

    Litestar's group is drawn by rich-click, which in standalone mode boxes every error; running
    it without standalone mode hands us Click's exceptions to print the way `selflink` does.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.format_message())
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"error: {usage_message(exc)}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(INTERRUPTED)
        sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        click.echo(f"selflink-api {version('selflink')}")
        ctx.exit()


@click.group(
    name="selflink-api",
    cls=SelflinkApiGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the version and exit.",
)
@click.pass_context
def selflink_api(ctx: click.Context) -> None:
    """SelfLink's server: serve the API, migrate its database, run its workers and operator
    commands. Settings come from the environment or .env (docs/operations.md).

    Exit codes: 0 success, 1 verification failed (audit verify), 2 usage error or refused
    input, 3 database unavailable, 130 interrupted.
    """
    if ctx.obj is None:  # as Litestar's own group: the app is loaded when a command needs it
        ctx.obj = lambda: LitestarEnv.from_env(None)


# Litestar's commands that concern this app; `info`, `version` and `sessions` (server-side
# sessions we do not use) are left out. `database` and `workers` arrive from the plugins.
for command in (core.run_command, core.routes_command, schema.schema_group):
    selflink_api.add_command(command)


def main() -> None:
    """Run the CLI with the app pre-set, so `selflink-api run` and friends need no flags."""
    try:
        load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            click.echo(f"error: {error['msg'].removeprefix('Value error, ')}", err=True)
        sys.exit(USAGE)
    os.environ.setdefault("LITESTAR_APP", "selflink_api.app:create_app")
    turn_off_server_proxy_headers()
    selflink_api.main(prog_name="selflink-api")


def turn_off_server_proxy_headers() -> None:
    """Leave `X-Forwarded-For` to the app, which believes it only from TRUSTED_PROXIES.

    Uvicorn believes it from 127.0.0.1 by default and rewrites the client address before the
    app sees it, so a client behind no proxy at all could pick its own address. Litestar's `run`
    starts uvicorn in this process, or as `python -m uvicorn` (inheriting this environment) for
    `--wc` and `--reload`: these two variables reach both, overriding what the shell set.
    """
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    os.environ["UVICORN_PROXY_HEADERS"] = "false"
