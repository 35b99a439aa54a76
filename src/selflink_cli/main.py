"""Entry point of the `selflink` command."""

from importlib.metadata import version
from typing import Annotated

import typer

from selflink_cli import astro, match, rewards
from selflink_cli.errors import SelflinkGroup

app = typer.Typer(
    name="selflink",
    cls=SelflinkGroup,
    help=(
        "SelfLink's offline toolkit: reproduce reward bundles and their hashes, and compute "
        "charts.\n\nExit codes: 0 success, 1 verification failed, 2 usage error, "
        "3 unreadable or malformed input."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(rewards.app, name="rewards")
app.add_typer(astro.app, name="astro")
app.add_typer(match.app, name="match")


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
