"""The `selflink` console script: Ctrl-C is one clean line even while the program loads.

Loading Typer, Pydantic and the commands takes a good part of a second; a Ctrl-C meanwhile would
otherwise print a traceback from deep inside some import.
"""

import os
import signal
from types import FrameType


def _interrupted_while_loading(_signum: int, _frame: FrameType | None) -> None:
    """Nothing has started yet, so there is nothing to clean up: leave at once."""
    os.write(2, b"error: interrupted\n")
    os._exit(130)


def main() -> None:
    # Left alone when Ctrl-C is ignored already, as in a background job of a script; the root
    # command replaces it with its own handler as soon as it runs.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted_while_loading)
    from selflink_cli.main import app  # noqa: PLC0415 - the point of this module

    app()
