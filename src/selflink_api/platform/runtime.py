"""Interpreter settings for a long-running server or worker process."""

import gc
import os

import structlog

logger = structlog.get_logger("selflink.runtime")

YOUNG_COLLECTION_THRESHOLD = 20_000
"""Allocations between collections of the youngest generation (CPython's default is 700)."""

_settled = False


def settle_garbage_collector() -> None:
    """Once the process has started: move what start-up built (the app, its routes, models and
    compiled statements) out of the collector's sight with `gc.freeze`, and collect less often.

    With CPython's defaults, every request's short-lived objects trigger collections that walk
    those long-lived objects again, and the occasional full collection stalls every request in
    flight: on `GET /users/me` with 20 clients, p99 fell from 165-360 ms to 53-68 ms and the
    rate rose by about a fifth (benchmarks/README.md). Once per process: freezing again in a
    process that builds several apps (the tests) would keep their garbage forever."""
    global _settled  # noqa: PLW0603 (one process-wide switch)
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, 20, 20)


def lower_priority(niceness: int) -> None:
    """Run this process at `niceness` (0-19) at least, so that a worker sharing a machine with
    API processes yields the CPU to their requests when both want it.

    Raising it needs no privilege and never lowers it again (only root may). The worker still
    gets a share under contention: the kernel weighs niceness 10 at about a tenth of 0."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if niceness > current:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
        logger.info("process_priority_lowered", niceness=niceness)
