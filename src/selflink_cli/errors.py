"""Exit codes and the one-line error contract shared by every `selflink` command."""

import difflib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from enum import IntEnum
from types import FrameType
from typing import Any

import typer
from typer.core import TyperGroup


class ExitCode(IntEnum):
    """Documented exit codes; scripts and CI jobs depend on them."""

    OK = 0
    VERIFICATION_FAILED = 1
    USAGE = 2
    BAD_INPUT = 3
    INTERRUPTED = 130
    """Ctrl-C (128 + SIGINT)."""
    CLOSED_PIPE = 141
    """The reader of stdout went away, as with `| head` (128 + SIGPIPE, as Unix tools do)."""


class CliError(Exception):
    """An expected failure: printed as one line on stderr, never as a traceback."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.BAD_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _drop_far_suggestions(exc: typer.TyperException) -> None:
    """Keep Click's suggestions for an unknown option only if close without the dashes.

    Click compares whole names, so the `--` every option shares made `--out` a match for `--bogus`.
    """
    possibilities = getattr(exc, "possibilities", None)
    if possibilities:
        typed = str(getattr(exc, "option_name", "")).lstrip("-")
        exc.possibilities = [  # type: ignore[attr-defined]
            name
            for name in possibilities
            if difflib.SequenceMatcher(None, typed, name.lstrip("-")).ratio() >= 0.6
        ]


def _usage_message(exc: typer.TyperException) -> str:
    """Click's message for a usage mistake as one line, in the style of the app's own errors."""
    _drop_far_suggestions(exc)
    message = _one_line(exc.format_message()).rstrip(".")
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f"; see '{ctx.command_path} --help'"
    return message


def _discard_stdout() -> None:
    """Point stdout at the null device, so output still buffered cannot fail again at exit."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, descriptor)
    finally:
        os.close(null)


_INTERRUPTIBLE_PID: list[int] = []
"""The process that installed `_interrupt_once`; a forked worker inherits the handler."""


def _interrupt_once(_signum: int, _frame: FrameType | None) -> None:
    """Ctrl-C interrupts once; later ones are ignored, so they cannot break the clean-up.

    A second KeyboardInterrupt raised while the first unwinds (leaving a process pool, say)
    would surface as a traceback or leave the clean-up half done; the process is exiting anyway.
    A worker forked before its initializer ignored Ctrl-C only ignores it: its parent, in the
    same process group, got the same signal and stops it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _INTERRUPTIBLE_PID and os.getpid() != _INTERRUPTIBLE_PID[-1]:
        return
    raise KeyboardInterrupt


class SelflinkGroup(TyperGroup):
    """Root command group: every failure leaves as one stderr line and its documented code.

    A `CliError` from any command prints its message; a usage mistake Click catches (a value of
    the wrong type, a missing or unknown option or argument, an unknown command) prints Click's
    message on one line, exit 2, instead of Typer's boxed panel. A closed stdout exits quietly
    with 141, like a Unix tool killed by SIGPIPE. Ctrl-C, wherever it lands, prints
    `error: interrupted` and exits 130 (Typer's own handling exits 130 without a word).
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            typer.echo(f"error: {_one_line(exc.message)}", err=True)
            raise typer.Exit(int(exc.exit_code)) from None
        except BrokenPipeError:
            # Caught here: Typer's own handler would exit with 1, "verification failed".
            _discard_stdout()
            raise typer.Exit(int(ExitCode.CLOSED_PIPE)) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; in standalone mode (the console script) exit with the code."""
        previous = signal.getsignal(signal.SIGINT)
        # Left alone when Ctrl-C is ignored already, as in a background job of a script, and
        # off the main thread (only it can set handlers), as when a program runs a command.
        interruptible = callable(previous) and threading.current_thread() is threading.main_thread()
        if interruptible:
            _INTERRUPTIBLE_PID.append(os.getpid())
            signal.signal(signal.SIGINT, _interrupt_once)
        try:
            return self._main(
                args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra
            )
        except KeyboardInterrupt:  # outside Typer's handling, as while flushing stdout at the end
            sys.exit(int(ExitCode.INTERRUPTED))
        finally:
            if interruptible and signal.getsignal(signal.SIGINT) is _interrupt_once:
                signal.signal(signal.SIGINT, previous)
            elif interruptible:  # `_interrupt_once` has run
                typer.echo("error: interrupted", err=True)

    def _main(
        self,
        args: Sequence[str] | None,
        prog_name: str | None,
        complete_var: str | None,
        standalone_mode: bool,
        windows_expand_args: bool,
        **extra: Any,
    ) -> Any:
        run_options: dict[str, Any] = {
            "args": args,
            "prog_name": prog_name,
            "complete_var": complete_var,
            "windows_expand_args": windows_expand_args,
            **extra,
        }
        if not standalone_mode:
            return super().main(standalone_mode=False, **run_options)
        try:
            # Without standalone mode Click raises usage errors instead of drawing them, and
            # returns the code of `typer.Exit` (our commands themselves return None).
            result = super().main(standalone_mode=False, **run_options)
            sys.stdout.flush()
        except BrokenPipeError:
            _discard_stdout()
            sys.exit(int(ExitCode.CLOSED_PIPE))
        except SystemExit as exc:
            # Rich answers a closed pipe with exit 1 (and has already silenced stdout): Typer's
            # help screens are drawn on such a console. Our own tables use `PipeConsole`.
            if exc.code == 1 and isinstance(exc.__context__, BrokenPipeError):
                sys.exit(int(ExitCode.CLOSED_PIPE))
            raise
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        except typer.TyperException as exc:
            if type(exc).__name__ != "NoArgsIsHelpError":
                typer.echo(f"error: {_usage_message(exc)}", err=True)
            elif exc.format_message().strip():  # the help, unless Rich has drawn it already
                typer.echo(exc.format_message())
            sys.exit(exc.exit_code)
        sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)
