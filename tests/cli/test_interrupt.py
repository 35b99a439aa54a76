"""Ctrl-C on a parallel ledger scan: exit 130, one line, however many times it is pressed."""

import os
import signal
import subprocess
import sys
import threading
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from selflink_cli.main import app

# The child scans in worker processes (as for a large ledger) that never finish on their own:
# each says "started" and then waits to be told to stop, which only the parent's Ctrl-C does.
_CHILD = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in an interactive shell
from selflink_cli import ledger_scan
ledger_scan.PARALLEL_THRESHOLD = 2
ledger_scan._cpu_count = lambda: 2
def scan_until_stopped(lines, **_options):
    sys.stderr.write("started\\n")
    sys.stderr.flush()
    ledger_scan._stop.wait()
    ledger_scan._count_progress(0)
ledger_scan.scan_chunk = scan_until_stopped
from selflink_cli.main import app
sys.argv[0] = "selflink"
app()
"""


# The same, but the parent is still handing out the second range when the first worker has
# started: Ctrl-C lands inside `submit`, before the loop that waits for the results.
_CHILD_STILL_SUBMITTING = _CHILD.replace(
    "from selflink_cli.main import app",
    """import concurrent.futures, time
submit = concurrent.futures.ProcessPoolExecutor.submit
def slow_second_submit(self, *args, **kwargs):
    if getattr(self, "submitted", 0) == 1:
        time.sleep(60)
    self.submitted = getattr(self, "submitted", 0) + 1
    return submit(self, *args, **kwargs)
concurrent.futures.ProcessPoolExecutor.submit = slow_second_submit
from selflink_cli.main import app""",
)


@pytest.mark.parametrize(
    ("presses", "child"),
    [(1, _CHILD), (2, _CHILD), (5, _CHILD), (1, _CHILD_STILL_SUBMITTING)],
    ids=["once", "twice", "five times", "while submitting"],
)
def test_ctrl_c_during_a_parallel_scan_exits_130_with_one_line(
    ledger: Path, tmp_path: Path, presses: int, child: str
) -> None:
    command = ["rewards", "calculate", "--ledger", str(ledger), "--period", "2025-02"]
    process = subprocess.Popen(
        [sys.executable, "-c", child, *command, "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, signalled as a terminal does
    )
    try:
        assert process.stderr is not None
        assert process.stderr.readline() == "started\n"
        for _ in range(presses):
            os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130
    assert stdout == ""
    lines = [line for line in stderr.splitlines() if line != "started"]
    assert lines == ["error: interrupted"]
    assert not (tmp_path / "out").exists()


# Ctrl-C arrives (twice) while the console script is still importing the commands.
_LOADING = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in an interactive shell
class CtrlCWhileImporting:
    def find_spec(self, name, path=None, target=None):
        if name == "selflink_cli.main":
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, CtrlCWhileImporting())
from selflink_cli.launch import main
sys.argv[0] = "selflink"
main()
"""


def test_ctrl_c_while_the_command_loads_is_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LOADING, "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "error: interrupted\n")


def test_the_console_script_is_the_launcher() -> None:
    """`selflink` must start through `launch`, or a Ctrl-C while loading prints a traceback."""
    (script,) = entry_points(group="console_scripts", name="selflink")
    assert script.value == "selflink_cli.launch:main"


def test_a_command_runs_off_the_main_thread() -> None:
    """Only the main thread may set a Ctrl-C handler; elsewhere the command runs without one."""
    results: list[Result] = []
    thread = threading.Thread(target=lambda: results.append(CliRunner().invoke(app, ["--version"])))
    thread.start()
    thread.join()
    assert (results[0].exit_code, results[0].exception) == (0, None)
