"""Checking a ledger file on every core: one process per chunk of the file, joined by the core.

The core's `scan_chunk` checks each chunk and `merge_chunks` links them, so the verdict and the
first problem reported are the same as a single pass, only sooner.
"""

import concurrent.futures
import gc
import itertools
import multiprocessing
import os
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

from selflink_cli.errors import CliError
from selflink_cli.rewards_output import progress_bar
from selflink_core.rewards import (
    EMPTY_LEDGER_HEAD,
    ChunkScan,
    LedgerMerger,
    LedgerScan,
    merge_chunks,
    scan_chunk,
)

PARALLEL_THRESHOLD: Final = 32 << 20
"""Below this size a single pass beats starting processes."""
_BATCH_BYTES: Final = 4 << 20
_HEAD_START: Final = 0.12
"""How much shorter each earlier chunk is than the next, as a fraction."""

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized
    from multiprocessing.synchronize import Event

_progress_counter: "Synchronized[int] | None" = None
_stop: "Event | None" = None


class _StoppedError(Exception):
    """Raised in a worker told to stop: the parent is leaving (Ctrl-C, or a failed chunk)."""


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _batches(
    path: Path, start: int, end: int, advance: Callable[[int], None] | None
) -> Iterator[list[bytes]]:
    """The lines between two line boundaries of the file, in batches of a few megabytes."""
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = end - start
        while remaining > 0:
            batch = handle.readlines(min(remaining, _BATCH_BYTES))
            if not batch:
                return
            size = sum(map(len, batch))
            if size > remaining:
                # readlines stops only once it has read *more* than the hint: drop the overshoot.
                kept = 0
                for count, line in enumerate(batch):
                    if kept + len(line) > remaining:
                        del batch[count:]
                        break
                    kept += len(line)
                size = kept
            remaining -= size
            if advance is not None:
                advance(size)
            yield batch


def _lines(
    path: Path, start: int, end: int, advance: Callable[[int], None] | None
) -> Iterator[bytes]:
    return itertools.chain.from_iterable(_batches(path, start, end, advance))


def _boundaries(path: Path, size: int, parts: int) -> list[tuple[int, int]]:
    """Split the file into `parts` byte ranges that start right after a newline.

    Earlier ranges are a little shorter, so their results arrive (and are folded in by the
    parent) while the last range is still being scanned.
    """
    weights = [1.0 - _HEAD_START * (parts - 1 - index) for index in range(parts)]
    cuts = [sum(weights[:index]) / sum(weights) for index in range(1, parts)]
    starts = [0]
    with path.open("rb") as handle:
        for cut in cuts:
            handle.seek(max(int(size * cut) - 1, starts[-1]))
            handle.readline()
            position = handle.tell()
            if position >= size:
                break
            if position > starts[-1]:
                starts.append(position)
    ends = [*starts[1:], size]
    return list(zip(starts, ends, strict=True))


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which stops them through `_stop`.

    Otherwise the terminal's SIGINT reaches every worker too: each turns it into an exception
    to send back, and a second Ctrl-C interrupts that, printing a worker's traceback or killing
    it in the middle of writing its result, so the parent waits forever for the pool.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _count_progress(size: int) -> None:
    counter, stop = _progress_counter, _stop
    if stop is not None and stop.is_set():
        raise _StoppedError
    if counter is not None:
        with counter.get_lock():
            counter.value += size


def _scan_range(
    path: Path, byte_range: tuple[int, int], first: bool, period: str | None, mark_seq: int
) -> ChunkScan:
    start, end = byte_range
    return scan_chunk(
        _lines(path, start, end, _count_progress),
        after=EMPTY_LEDGER_HEAD if first else None,
        period=period,
        mark_seq=mark_seq,
    )


def scan_ledger_file(
    path: Path,
    *,
    period: str | None = None,
    mark_seq: int = 0,
    workers: int | None = None,
    label: str = "checking ledger",
    quiet: bool = False,
) -> LedgerScan:
    """Check the whole ledger file; raises `CliError` (exit 3) only if it cannot be read.

    A progress bar shows on a terminal unless `quiet` (see `progress_bar`).
    """
    global _progress_counter, _stop  # noqa: PLW0603 - shared with forked workers by inheritance
    # A scan allocates millions of objects that all live until the end: collecting garbage
    # meanwhile finds nothing and costs time. Forked workers inherit the setting.
    collecting = gc.isenabled()
    gc.disable()
    try:
        mode = path.stat().st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):  # a pipe such as /dev/stdin: one pass
            with path.open("rb") as stream:
                return merge_chunks([scan_chunk(stream, period=period, mark_seq=mark_seq)])
        if not stat.S_ISREG(mode):
            raise CliError(f"{path}: is not a file; expected a ledger")
        size = path.stat().st_size
        processes = min(workers or _cpu_count(), max(1, size // (PARALLEL_THRESHOLD // 2)))
        with progress_bar(size, label, quiet=quiet) as advance:
            if processes <= 1 or size < PARALLEL_THRESHOLD or sys.platform != "linux":
                return merge_chunks(
                    [scan_chunk(_lines(path, 0, size, advance), period=period, mark_seq=mark_seq)]
                )
            context = multiprocessing.get_context("fork")
            _progress_counter = context.Value("q", 0)
            _stop = context.Event()
            ranges = _boundaries(path, size, processes)
            merger = LedgerMerger()
            with concurrent.futures.ProcessPoolExecutor(
                len(ranges), mp_context=context, initializer=_ignore_interrupts
            ) as pool:
                # Ctrl-C may land while the later ranges are still being submitted, when the
                # first worker already waits for `_stop`: the clean-up covers the submits too.
                try:
                    futures = [
                        pool.submit(_scan_range, path, byte_range, index == 0, period, mark_seq)
                        for index, byte_range in enumerate(ranges)
                    ]
                    reported = 0
                    for future in futures:
                        while True:
                            done, _ = concurrent.futures.wait([future], timeout=0.1)
                            value = _progress_counter.value
                            advance(value - reported)
                            reported = value
                            if done:
                                break
                        # Folding this chunk in overlaps with the scanning of later ones.
                        merger.add(future.result())
                except BaseException:
                    # Leaving the pool waits for its workers: have them stop at their next batch.
                    _stop.set()
                    raise
            return merger.result()
    except FileNotFoundError:
        raise CliError(f"{path}: no such ledger file") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read the ledger: {exc.strerror or exc}") from None
    finally:
        _progress_counter = _stop = None
        if collecting:
            gc.enable()
