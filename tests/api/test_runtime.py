"""The interpreter settings a server or worker process takes once it has started."""

import subprocess
import sys

from selflink_api.platform.runtime import YOUNG_COLLECTION_THRESHOLD

SETTLE_TWICE = """
import gc
from selflink_api.platform.runtime import settle_garbage_collector
before = gc.get_threshold()[0]
settle_garbage_collector()
frozen = gc.get_freeze_count()
garbage = [[] for _ in range(1000)]
settle_garbage_collector()
print(before, gc.get_threshold()[0], frozen > 0, gc.get_freeze_count() == frozen)
"""


def printed_by(script: str) -> list[str]:
    """What `script` prints in a fresh interpreter, word by word."""
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()


def test_the_collector_is_settled_once_per_process() -> None:
    """Start-up objects are frozen once; a second call (a second app) freezes nothing more."""
    printed = printed_by(SETTLE_TWICE)
    assert printed == ["700", str(YOUNG_COLLECTION_THRESHOLD), "True", "True"]


def test_workers_run_on_uvloop() -> None:
    """`selflink-api workers run` takes the event loop from the policy it sets."""
    script = (
        "import asyncio; from selflink_api.cli import _use_uvloop; _use_uvloop(); "
        "print(type(asyncio.new_event_loop()).__module__)"
    )
    assert printed_by(script) == ["uvloop"]


def test_a_worker_lowers_its_priority_but_never_raises_it() -> None:
    """In a child process: renicing the test process itself would slow the rest of the suite."""
    script = (
        "import os; from selflink_api.platform.runtime import lower_priority; "
        "lower_priority(7); a = os.getpriority(os.PRIO_PROCESS, 0); "
        "lower_priority(3); print('niceness', a, os.getpriority(os.PRIO_PROCESS, 0))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, check=True, text=True
    )
    assert done.stdout.splitlines()[-1] == "niceness 7 7"
