"""Rewards benchmark: time `ledger verify`, `calculate` and `verify --ledger` on a big ledger.

    uv run python benchmarks/rewards.py            # 1,000,000 events, 5,000 contributors, 2025
    uv run python benchmarks/rewards.py --events 100000 --repeat 1

The ledger is made by `selflink rewards ledger synth` (cached under benchmarks/data/, which git
ignores). Each command runs as its own process, as a contributor would run it; `sha256sum` of
the same file is timed as the floor (reading and hashing every byte once). Peak memory is the
largest resident set of the command's whole process tree (workers included), sampled from /proc
every 10 ms, and also the kernel's peak for the largest single process.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
SELFLINK = [str(Path(sys.executable).with_name("selflink"))]


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        rss[int(entry)] = int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command: list[str], *, stdout: int | None = subprocess.DEVNULL) -> tuple[float, float, int]:
    """Wall time, CPU time (all processes) and peak tree RSS (KiB) of one run.

    Fails loudly on a non-zero exit.
    """
    peak = 0
    cpu_before = _children_cpu()
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kib(process.pid))
            done.wait(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}): {stderr.decode()}")
    return elapsed, _children_cpu() - cpu_before, peak


def ledger_file(args: argparse.Namespace) -> Path:
    name = f"ledger-{args.events}-{args.contributors}-{args.periods}-{args.seed}.jsonl"
    path = DATA / name
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        print(f"synthesising {path.name} ...", file=sys.stderr)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as out:
            command = [
                *SELFLINK,
                "rewards",
                "ledger",
                "synth",
                "--events",
                str(args.events),
                "--contributors",
                str(args.contributors),
                "--periods",
                args.periods,
                "--seed",
                str(args.seed),
            ]
            subprocess.run(command, stdout=out, check=True)
        partial.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--contributors", type=int, default=5_000)
    parser.add_argument("--periods", default="2025-01..2025-12")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--period", default="2025-06", help="month for calculate and verify")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ledger = ledger_file(args)
    out = Path(tempfile.mkdtemp(prefix="selflink-bench-")) / "bundle"
    commands = {
        "sha256sum": ["sha256sum", str(ledger)],
        "ledger verify": [*SELFLINK, "rewards", "ledger", "verify", str(ledger)],
        "calculate": [
            *SELFLINK,
            "rewards",
            "calculate",
            "--ledger",
            str(ledger),
            "--period",
            args.period,
            "--out",
            str(out),
            "--revenue-cents",
            "123456789",
            "--costs-cents",
            "23456789",
            "--force",
        ],
        "verify --ledger": [*SELFLINK, "rewards", "verify", str(out), "--ledger", str(ledger)],
    }
    size_mb = ledger.stat().st_size / 1e6
    print(
        f"ledger: {ledger.name}, {size_mb:,.0f} MB, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}"
    )
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            results[name].append(run(command))
    kernel_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    floor = min(seconds for seconds, _, _ in results["sha256sum"])
    print(
        "| command | best s | median s | x sha256sum (best) | CPU s (best) "
        "| peak RSS, process tree |"
    )
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        times = [seconds for seconds, _, _ in runs]
        cpu = min(cpu for _, cpu, _ in runs)
        peak = max(rss for _, _, rss in runs)
        print(
            f"| {name} | {min(times):.2f} | {statistics.median(times):.2f} | "
            f"{min(times) / floor:.1f} | {cpu:.2f} | {peak / 1024:,.0f} MiB |"
        )
    print(f"largest single process (kernel peak): {kernel_peak / 1024:,.0f} MiB")
    shutil.rmtree(out.parent)


if __name__ == "__main__":
    main()
