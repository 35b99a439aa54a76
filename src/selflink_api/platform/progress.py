"""Progress of a long operator command, drawn only for a person watching a terminal."""

import contextlib
import sys
from collections.abc import Callable, Iterator

SHOWN_FROM = 100_000
"""Below this many items a command is done before a bar would be worth drawing."""


@contextlib.contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A transient bar on stderr when stdout is a terminal (never in pipes, logs or tests);
    otherwise advancing it does nothing. It redraws only when advanced: no thread."""
    if total < SHOWN_FROM or not sys.stdout.isatty():
        yield lambda _amount: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    progress = Progress(
        label,
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        auto_refresh=False,
        transient=True,
    )
    task = progress.add_task(label, total=total)

    def advance(amount: int) -> None:
        progress.update(task, advance=amount)
        progress.refresh()

    with progress:
        yield advance
