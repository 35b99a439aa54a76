"""Exit codes and the one-line error contract shared by every `selflink` command."""

from enum import IntEnum
from typing import Any

import typer
from typer.core import TyperGroup


class ExitCode(IntEnum):
    """Documented exit codes; scripts and CI jobs depend on them."""

    OK = 0
    VERIFICATION_FAILED = 1
    USAGE = 2
    BAD_INPUT = 3


class CliError(Exception):
    """An expected failure: printed as one line on stderr, never as a traceback."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.BAD_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class SelflinkGroup(TyperGroup):
    """Root command group: a `CliError` from any command leaves as one stderr line and its code.

    Option-parsing mistakes stay Typer's own usage errors, which also exit with 2.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            typer.echo(f"error: {' '.join(exc.message.split())}", err=True)
            raise typer.Exit(int(exc.exit_code)) from None
