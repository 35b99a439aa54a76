"""The Rich console every `selflink` table is drawn on.

Rich's own answer to a closed pipe is to exit with code 1, which `selflink` reserves for a
failed verification. This console raises `BrokenPipeError` instead, so the root command
handles it like any other write to a closed pipe (exit 141, see `selflink_cli.errors`).
"""

import errno
import os
from typing import Any

from rich.console import Console


class PipeConsole(Console):
    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def console(**options: Any) -> Console:
    """A console on stdout (or stderr with `stderr=True`) that reports closed pipes."""
    return PipeConsole(**options)
