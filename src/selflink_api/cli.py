"""`selflink-api`: Litestar's command line bound to the SelfLink app, plus our own commands.

It starts in a fraction of a second: `--help`, `--version` and every command but those that
serve (`run`, `demo`, `workers`, `routes`, `schema`, `database`) run without importing
Litestar, the app or any domain's models. Our own commands come from each domain's
`commands` module (`COMMANDS`, light at import); the others are listed by name and help and
imported only when run.
"""

import functools
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, cast

import click
from rich_click import RichCommand, RichGroup

from selflink_api import commands
from selflink_api.domains import DOMAIN_PACKAGES
from selflink_api.platform.commands import given_app

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


class Deferred(RichCommand):
    """A command listed by its name and help, imported (by `load`) only when it is run."""

    def __init__(self, name: str, help_text: str, load: Callable[[click.Context], click.Command]):
        super().__init__(name=name, help=help_text)
        self.load = load


class SelflinkApiGroup(RichGroup):
    """Root group: usage mistakes leave as one `error:` line and exit 2, not as a boxed panel.

    It is drawn by rich-click, like Litestar's, which in standalone mode boxes every error;
    running it without standalone mode hands us Click's exceptions to print the way `selflink`
    does. A `Deferred` command becomes the real one when it is about to run.
    """

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, Deferred):
            command = command.load(ctx)
        return name, command, rest

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
        except Exception as exc:
            refusals = settings_refusals(exc)
            if refusals is None:
                raise
            for refusal in refusals:
                click.echo(f"error: {refusal}", err=True)
            sys.exit(USAGE)
        sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)


def settings_refusals(exc: Exception) -> list[str] | None:
    """What is wrong with the settings, when `exc` is their validation failing. Settings are
    read by the commands that need them, so `--help` works whatever the environment holds."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return None
    return [error["msg"].removeprefix("Value error, ") for error in exc.errors()]


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        from importlib.metadata import version

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
        ctx.obj = _litestar_env


def _litestar_env() -> Any:
    from litestar.cli._utils import LitestarEnv

    return LitestarEnv.from_env(None)


def _as_litestar_adds(command: click.Command) -> click.Command:
    """The command as Litestar's root group adds it: its callback is handed `ctx`, `app` or
    `env` when it asks for them (a group's subcommands were handed theirs when added to it).
    Loaded once per process, so wrapped once."""
    from litestar.cli._utils import _inject_args

    if command.callback is not None:
        command.callback = _inject_args(command.callback)
    return command


def _litestar_command(module: str, name: str) -> Callable[[click.Context], click.Command]:
    """One of Litestar's commands."""

    def load(_ctx: click.Context) -> click.Command:
        return _as_litestar_adds(getattr(importlib.import_module(module), name))

    return load


def _run(_ctx: click.Context) -> click.Command:
    """Litestar's `run`; its worker count (`--wc`) also answers to `--workers`.

    With several workers, uvicorn's supervisor replaces this process (Litestar would start it
    as a child, which a SIGTERM to this process would leave running): stopping the process a
    service manager started stops every worker, each finishing its requests first.
    """
    from litestar.cli.commands.core import run_command

    serve_one = cast("Callable[..., None]", _as_litestar_adds(run_command).callback)
    params = list(run_command.params)
    for option in params:
        if option.name == "wc" and "--workers" not in option.opts:
            option.opts.append("--workers")

    def run(**options: Any) -> None:
        _set_websocket_compression()
        if options["wc"] > 1 and not options["reload"]:
            _exec_uvicorn_workers(options)
        serve_one(**options)

    return click.Command(name="run", params=params, callback=run, help=run_command.help)


def _set_websocket_compression() -> None:
    """Offer permessage-deflate to WebSocket clients only with REALTIME_COMPRESSION.

    Uvicorn offers it by default. Compressing costs the API process CPU for every frame it
    sends, once per recipient (a tenth of its time in `benchmarks/realtime.py`), and a zlib
    context per connection; SelfLink's frames are small. Uvicorn's own command reads the
    variable (`--workers`, `--reload`); Litestar's in-process `uvicorn.run` gets it as an
    argument.
    """
    import uvicorn

    from selflink_api.settings import load_settings

    compress = load_settings().realtime_compression
    os.environ["UVICORN_WS_PER_MESSAGE_DEFLATE"] = str(compress).lower()
    uvicorn.run = functools.partial(uvicorn.run, ws_per_message_deflate=compress)


def _exec_uvicorn_workers(options: dict[str, Any]) -> None:
    """Become uvicorn's supervisor of `options["wc"]` worker processes, each with its own app."""
    command = [sys.executable, "-m", "uvicorn", os.environ["LITESTAR_APP"], "--factory"]
    command += ["--workers", str(options["wc"]), "--no-proxy-headers"]
    for name in ("host", "port", "fd", "uds", "ssl_certfile", "ssl_keyfile"):
        if options.get(name) is not None:
            command += [f"--{name.replace('_', '-')}", str(options[name])]
    sys.stdout.flush()
    os.execv(sys.executable, command)  # noqa: S606 (the arguments are ours, no shell)


def _database(ctx: click.Context) -> click.Command:
    """advanced-alchemy's `database` group (what its Litestar plugin adds), which expects the
    loaded app on the context."""
    from advanced_alchemy.extensions.litestar.cli import database_group

    root = ctx.find_root()  # resolved before the root's callback runs: nothing loaded yet
    if root.obj is None or callable(root.obj):
        root.obj = _litestar_env()
    return _as_litestar_adds(database_group)


def _workers(_ctx: click.Context) -> click.Command:
    """SAQ's `workers` group with REDIS_URL (what litestar-saq's plugin adds), else a refusal."""
    from selflink_api.settings import load_settings

    if not load_settings().redis_url:
        return _workers_without_redis
    from litestar_saq.cli import build_cli_app

    _use_uvloop()

    return _as_litestar_adds(build_cli_app())


def _use_uvloop() -> None:
    """Workers get the event loop uvicorn gives the API: uvloop, where it is installed.

    SAQ's command takes the policy's loop. Workers spend much of their time writing small
    packets to Redis and PostgreSQL, which asyncio's own loop does in Python.
    """
    import asyncio

    try:
        import uvloop
    except ImportError:  # Windows: uvicorn does without it too
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _demo(_ctx: click.Context) -> click.Command:
    from selflink_api.demo import demo

    demo.callback = given_app(demo.callback) if demo.callback else None
    return demo


@click.command(name="workers", context_settings={"ignore_unknown_options": True})
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


# Litestar's commands that concern this app; `info`, `version` and `sessions` (server-side
# sessions we do not use) are left out.
DEFERRED = (
    Deferred(
        "run",
        "Run a Litestar app. (requires 'uvicorn' to be installed).",
        _run,
    ),
    Deferred(
        "routes",
        "Display information about the application's routes.",
        _litestar_command("litestar.cli.commands.core", "routes_command"),
    ),
    Deferred(
        "schema",
        "Manage server-side OpenAPI schemas.",
        _litestar_command("litestar.cli.commands.schema", "schema_group"),
    ),
    Deferred("database", "Manage SQLAlchemy database components.", _database),
    Deferred(
        "workers",
        "Background workers (need REDIS_URL; without it jobs run inside the API process).",
        _workers,
    ),
    Deferred(
        "demo", "Migrate, seed a dozen demo people (once), print how to sign in, and serve.", _demo
    ),
)


def domain_commands() -> tuple[click.Command, ...]:
    """Each domain's `COMMANDS`, in domain order, then those over every domain."""
    found: list[click.Command] = []
    for package in DOMAIN_PACKAGES:
        module = f"selflink_api.{package}.commands"
        if importlib.util.find_spec(module) is not None:
            found.extend(importlib.import_module(module).COMMANDS)
    return (*found, *commands.COMMANDS)


for command in (*domain_commands(), *DEFERRED):
    selflink_api.add_command(command, aliases=["db"] if command.name == "database" else None)


def main() -> None:
    """Run the CLI with the app pre-set, so `selflink-api run` and friends need no flags."""
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
