"""Rewards service benchmark: a PostgreSQL database built by `selflink-api rewards import-ledger`
from a big synthetic ledger, then the rows of issue #21's table.

    uv run python benchmarks/rewards_service.py --events 100000
    uv run python benchmarks/rewards_service.py                  # 1,000,000 events
    uv run python benchmarks/rewards_service.py --rebuild        # import the ledger again

The ledger (5,000 contributors, 2025-01..2025-12) is made by `selflink rewards ledger synth` and
cached under benchmarks/data/ like benchmarks/rewards.py's. The database `selflink_bench_<N>`
on DATABASE_URL's server (default 127.0.0.1:5432) is kept between runs when its ledger head is
the file's: it is built by the real commands — `database upgrade`, `users create-admin`,
`rewards import-ledger` (timed), then `rewards snapshot --commit` and `rewards lock` for
2025-01..2025-11 and a commit of 2025-12. Commands run as their own processes (wall time, CPU
and the peak RSS of their process tree, as in benchmarks/rewards.py); HTTP requests run against
the app in this process (no network: server time), median and 95th percentile.

Floors, measured in the same run: `sha256sum` of the ledger file (import), `psql COPY` of the
audit log's columns piped to `sha256sum` (audit verify: reading every byte of the log once),
`python -c pass` (start-up) and `GET /health` (requests).

Python writes no bytecode in some environments (PYTHONDONTWRITEBYTECODE): the installed
packages and src/ are compiled first, as an installed package is.
"""

import argparse
import asyncio
import compileall
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from litestar.testing import AsyncTestClient
from rewards import ROOT, SELFLINK, ledger_file, run

from selflink_api.app import create_app
from selflink_api.settings import load_settings
from selflink_core.rewards import BUNDLE_FILES, root_of_files

SELFLINK_API = [str(Path(sys.executable).with_name("selflink-api"))]
SERVER = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
STAFF, PASSWORD = "bench", "quiet lantern orbit 2026"
FIGURES = ("--revenue-cents", "123456789", "--costs-cents", "23456789")
MONTHS = [f"2025-{month:02d}" for month in range(1, 13)]


def psql(database: str, sql: str) -> str:
    return subprocess.run(
        ["psql", f"{SERVER}/{database}", "-tAc", sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def command(*args: str) -> list[str]:
    return [*SELFLINK_API, *args]


def must(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def last_hash(ledger: Path) -> str:
    with ledger.open("rb") as handle:
        handle.seek(max(0, ledger.stat().st_size - 4096))
        last = handle.read().splitlines()[-1]
    return last.split(b'"hash":"', 1)[1][:64].decode()


def built(database: str, ledger: Path) -> bool:
    if psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{database}'") != "1":
        return False
    try:
        head = psql(database, "SELECT hash FROM append_heads WHERE chain = 'rewards_ledger'")
        months = psql(database, "SELECT count(*) FROM reward_periods WHERE current_version > 0")
    except subprocess.CalledProcessError:
        return False
    return head == last_hash(ledger) and months == str(len(MONTHS))


def build(database: str, ledger: Path) -> tuple[float, float, int]:
    """A fresh database from the ledger by the real commands; the import's measurement."""
    psql("postgres", f"DROP DATABASE IF EXISTS {database}")
    psql("postgres", f"CREATE DATABASE {database}")
    must(command("database", "upgrade", "--no-prompt"))
    os.environ["SELFLINK_ADMIN_PASSWORD"] = PASSWORD
    must(command("users", "create-admin", "--email", "bench@example.org", "--handle", STAFF))
    print(f"importing {ledger.name} ...", file=sys.stderr)
    imported = run(command("rewards", "import-ledger", str(ledger), "--staff", STAFF))
    for month in MONTHS:
        print(f"committing {month} ...", file=sys.stderr)
        must(command("rewards", "snapshot", "--period", month, *FIGURES, "--commit"))
        if month != MONTHS[-1]:
            must(command("rewards", "lock", "--period", month, "--force"))
    return imported


async def measure_requests(repeat: int, folder: Path) -> dict[str, tuple[float, float, int]]:
    results: dict[str, tuple[float, float, int]] = {}
    async with AsyncTestClient(create_app(load_settings())) as client:
        base = "/api/v1/rewards"
        month = "2025-06"
        payouts = await client.get(f"{base}/periods/{month}/files/payouts.csv")
        keys = [line.split(",")[0] for line in payouts.text.splitlines()[1:]][:: 5000 // 50]

        async def fetch(path: str) -> int:
            response = await client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.text[:200])
            return len(response.content)

        loop_results: dict[str, tuple[list[str], int]] = {
            "`GET /health` (floor)": (["/health"], repeat),
            "`GET /rewards/periods` (12 months)": ([f"{base}/periods"], repeat),
            "`GET /rewards/periods/{month}`": ([f"{base}/periods/{month}"], repeat),
            "`GET …/files/manifest.json`": (
                [f"{base}/periods/{month}/files/manifest.json"],
                repeat,
            ),
            "`GET …/files/SHA256SUMS`": ([f"{base}/periods/{month}/files/SHA256SUMS"], repeat),
            "`GET …/files/payouts.csv` (all rows)": (
                [f"{base}/periods/{month}/files/payouts.csv"],
                repeat,
            ),
            "`GET /rewards/contributors/{key}/statement` (50 keys)": (
                [f"{base}/contributors/{key}/statement" for key in keys],
                max(1, repeat // 10),
            ),
            "`GET /transparency/{month}` (the month's rows, HTML)": (
                [f"/transparency/{month}"],
                max(1, repeat // 5),
            ),
            "`GET …/files/events.jsonl` (reference: the big file)": (
                [f"{base}/periods/{month}/files/events.jsonl"],
                max(1, repeat // 10),
            ),
        }
        for name, (paths, rounds) in loop_results.items():
            times: list[float] = []
            size = 0
            for path in paths:
                await fetch(path)
            for _ in range(rounds):
                for path in paths:
                    start = time.perf_counter()
                    size = await fetch(path)
                    times.append((time.perf_counter() - start) * 1000)
            times.sort()
            results[name] = (
                statistics.median(times),
                times[max(0, int(len(times) * 0.95) - 1)],
                size,
            )
        previous = folder / "2025-11"
        previous.mkdir()
        for name in ("events.jsonl", "manifest.json", "payouts.csv", "SHA256SUMS"):
            response = await client.get(f"{base}/periods/2025-11/files/{name}")
            (previous / name).write_bytes(response.content)
    return results


def compile_bytecode() -> None:
    for path in (sysconfig.get_paths()["purelib"], ROOT / "src"):
        compileall.compile_dir(str(path), quiet=2, workers=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--contributors", type=int, default=5_000)
    parser.add_argument("--periods", default="2025-01..2025-12")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command")
    parser.add_argument("--requests", type=int, default=50, help="rounds of each request")
    parser.add_argument("--rebuild", action="store_true", help="import the ledger again")
    args = parser.parse_args()

    compile_bytecode()
    ledger = ledger_file(args)
    database = f"selflink_bench_{args.events}"
    os.environ["DATABASE_URL"] = f"{SERVER}/{database}"
    os.environ["RATE_LIMIT_PER_MINUTE"] = "100000000"
    os.environ["LOG_FILE"] = str(Path(tempfile.gettempdir()) / "selflink-bench-service.log")
    os.environ.pop("REDIS_URL", None)
    imported = None
    if args.rebuild or not built(database, ledger):
        imported = build(database, ledger)
    folder = Path(tempfile.mkdtemp(prefix="selflink-bench-service-"))
    requests = asyncio.run(measure_requests(args.requests, folder))

    dry_run = must(command("rewards", "snapshot", "--period", MONTHS[-1], *FIGURES))
    root = dry_run.strip().splitlines()[-1].removeprefix("root: ")
    calculate = [
        *SELFLINK,
        "rewards",
        "calculate",
        "--ledger",
        str(ledger),
        "--period",
        MONTHS[-1],
        "--previous",
        str(folder / "2025-11"),
        "--out",
        str(folder / "2025-12"),
        *FIGURES,
        "--force",
    ]
    copy_log = (
        f'psql {SERVER}/{database} -c "COPY (SELECT seq, at, actor, action, subject, details, '
        f'prev, hash FROM audit_log ORDER BY seq) TO STDOUT" | sha256sum'
    )
    commands = {
        "`sha256sum` of the ledger file (floor)": ["sha256sum", str(ledger)],
        "`selflink-api rewards snapshot` dry run": command(
            "rewards", "snapshot", "--period", MONTHS[-1], *FIGURES
        ),
        "`selflink rewards calculate` (same month)": calculate,
        "`psql COPY` of the audit log \\| `sha256sum` (floor)": ["sh", "-c", copy_log],
        "`selflink-api audit verify`": command("audit", "verify"),
        "`python -c pass` (floor)": [sys.executable, "-c", "pass"],
        "`selflink-api --help`": command("--help"),
        "`selflink-api --version`": command("--version"),
        "`selflink-api rewards snapshot --help`": command("rewards", "snapshot", "--help"),
    }
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, argv in commands.items():
            results[name].append(run(argv))
    calculated = root_of_files(
        {name: (folder / "2025-12" / name).read_bytes() for name in BUNDLE_FILES}
    )
    load = os.getloadavg()
    print(
        f"{args.events:,} events, {args.contributors:,} contributors, 12 months; PostgreSQL; "
        f"{os.cpu_count()} CPUs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"calculate's root {'equals' if calculated == root else 'DIFFERS FROM'} the dry run's "
        f"({root[:12]}…)"
    )
    print(
        "| command | best s | median s | x floor (best) | CPU s (best) | peak RSS, process tree |"
    )
    print("|---|---|---|---|---|---|")
    if imported is not None:
        floor = min(seconds for seconds, _, _ in results["`sha256sum` of the ledger file (floor)"])
        seconds, cpu, rss = imported
        print(
            f"| `selflink-api rewards import-ledger` (once) | {seconds:.1f} | {seconds:.1f} | "
            f"{seconds / floor:.0f} | {cpu:.1f} | {rss / 1024:,.0f} MiB |"
        )
    floors = {
        "`selflink-api rewards snapshot` dry run": "`sha256sum` of the ledger file (floor)",
        "`selflink rewards calculate` (same month)": "`sha256sum` of the ledger file (floor)",
        "`selflink-api audit verify`": "`psql COPY` of the audit log \\| `sha256sum` (floor)",
        "`selflink-api --help`": "`python -c pass` (floor)",
        "`selflink-api --version`": "`python -c pass` (floor)",
        "`selflink-api rewards snapshot --help`": "`python -c pass` (floor)",
    }
    for name, runs in results.items():
        times = [seconds for seconds, _, _ in runs]
        floor_name = floors.get(name, name)
        floor = min(seconds for seconds, _, _ in results[floor_name])
        ratio = f"{min(times) / floor:.1f}" if floor_name != name else "1.0"
        print(
            f"| {name} | {min(times):.2f} | {statistics.median(times):.2f} | {ratio} | "
            f"{min(cpu for _, cpu, _ in runs):.2f} | "
            f"{max(rss for _, _, rss in runs) / 1024:,.0f} MiB |"
        )
    print()
    print("| request (month 2025-06) | median ms | p95 ms | bytes |")
    print("|---|---|---|---|")
    for name, (median, p95, size) in requests.items():
        print(f"| {name} | {median:.1f} | {p95:.1f} | {size:,} |")


if __name__ == "__main__":
    main()
