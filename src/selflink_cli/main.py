"""Entry point of the `selflink` command."""

import importlib
from importlib.metadata import version
from typing import Annotated, Any

import typer
from typer.core import TyperOption

from selflink_cli import rewards
from selflink_cli.errors import SelflinkGroup

LAZY_GROUPS = {"astro": "selflink_cli.astro", "match": "selflink_cli.match"}
"""Command groups imported only when used: their engines (NumPy, Polars, the gazetteer) take
most of a second to load, which a contributor verifying a bundle should never wait for."""


_display_type_rich = TyperOption.display_type_rich


def _display_type_of_flags(option: TyperOption, ctx: Any) -> str | None:
    """No type for a flag in help screens: Typer writes `--json <bool>`; a flag takes no value."""
    if option.is_bool_flag and option.metavar is None:
        return None
    return _display_type_rich(option, ctx)


# Every help screen is drawn by Typer from its own option class, `--help` included, so the class
# is where this can be said once (the API has no Typer commands; nothing else shares it).
TyperOption.display_type_rich = _display_type_of_flags  # type: ignore[method-assign,assignment]


class DomainGroup(SelflinkGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *LAZY_GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        module = LAZY_GROUPS.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        group = typer.main.get_group(importlib.import_module(module).app)
        group.name = cmd_name
        return group


app = typer.Typer(
    name="selflink",
    cls=DomainGroup,
    help=(
        "SelfLink's offline toolkit: reproduce reward bundles and their hashes, and compute "
        "charts.\n\nExit codes: 0 success, 1 verification failed, 2 usage error, "
        "3 unreadable or malformed input, or a server that cannot be reached."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Subcommands inherit the names from the root's context, the lazy groups included.
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(rewards.app, name="rewards")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"selflink {version('selflink')}")
        raise typer.Exit


@app.callback()
def main(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """SelfLink's offline toolkit."""
