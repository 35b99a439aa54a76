"""`selflink astro`: natal charts, synastry, transits and numerology."""

import typer

app = typer.Typer(help="Natal charts, synastry, transits and numerology.", no_args_is_help=True)
