"""`selflink rewards`: calculate, verify and prove monthly reward bundles (format 1)."""

import typer

app = typer.Typer(
    help="Reproduce and verify monthly reward bundles and their hashes.",
    no_args_is_help=True,
)
