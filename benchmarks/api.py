"""API throughput per core: SelfLink's busiest screens next to a bare Litestar app, as ratios.

Run: `uv run python benchmarks/api.py [--database sqlite|postgresql ...] [--seconds S]
[--pool N] [--workers N]` (needs `wrk`: `apt-get install wrk`).

In one run, for each database, this starts a bare Litestar app answering `{"status": "ok"}`
(the floor) and `selflink-api run` on the same server (uvicorn, one process unless `--workers`),
both as subprocesses, seeds a pool of N discoverable people (default 10,000, written straight
into the database as `matching_api.py` does, features computed by the real job) with one post
each, analyzes the database (as PostgreSQL's autovacuum would), signs one person in, and
drives each endpoint with `wrk -t1 -c20` (20 keep-alive clients) for S seconds after a
warm-up. It prints requests/s, p50/p99 and the ratio to the floor measured in the same run:

- `GET /users/me`;
- `GET /matching/recommendations?mode=friends`, page 1 and page 2 (the cursor of page 1), after
  one warming request (the pool cache and the frozen ranking exist);
- writes: `POST /users/{handle}/follow` and `PUT /posts/{id}/like`, each request on a different
  person or post (wrk's Lua script walks the seeded pool);
- for each write, the CPU time it cost each process, per request, from `/proc` (Linux): the
  API, the SAQ worker, PostgreSQL's processes and Redis, counted from the start of the run
  until the worker's queue is empty (on SQLite the jobs run in the API process, so its
  figure holds them, counted until the process is idle);
- with `--workers 2`, `GET /users/me` on two worker processes, as a ratio to one, once the
  SAQ worker has run the jobs the writes queued (until 2026-12-07 it was still running them
  during this measurement, on the same two cores).

Rate limits are raised for the run; PostgreSQL runs also use Redis for the limits and caches
(one process or several share them), as production does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import uvicorn
from litestar import Litestar, get
from matching_api import precompute, seed_candidates
from redis import Redis
from sqlalchemy import select, text

from selflink_api.accounts.models import User
from selflink_api.content.models import Post
from selflink_api.platform.database import build_sqlalchemy_config, upgrade_schema
from selflink_api.platform.event_stream import stream_key
from selflink_api.settings import Settings, load_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

SELFLINK_API = str(Path(sys.executable).with_name("selflink-api"))
PASSWORD = "a long benchmark passphrase 42"
SERVER_ENV = {
    "RATE_LIMIT_PER_MINUTE": "100000000",
    "AUTH_ATTEMPTS_PER_IP": "100000000",
    "LOG_LEVEL": "WARNING",
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_KIB": "1024",
    "ARGON2_PARALLELISM": "1",
    "PAYMENTS_FREE_RECOMMENDATION_PAGES": "100000000",
    "SECRET_KEY": "benchmark secret key that is long enough 0123456789",
}
WALK = """
counter = 0
targets = {}
for line in io.lines("%s") do targets[#targets + 1] = line end
request = function()
  counter = counter + 1
  local target = targets[(counter - 1) %% #targets + 1]
  return wrk.format("%s", "%s" .. target .. "%s", nil, nil)
end
"""


def floor_app() -> Litestar:
    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar([health])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wrk(
    url: str, seconds: float, token: str | None, script: Path | None = None
) -> dict[str, float]:
    """Requests/s and p50/p99 in ms of 20 keep-alive clients on one wrk thread."""
    command = ["wrk", "-t1", "-c20", f"-d{max(1, round(seconds))}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0

    def percentile(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rate": rate, "p50": percentile("50"), "p99": percentile("99"), "errors": errors}


def walker(
    folder: Path, name: str, method: str, prefix: str, suffix: str, targets: list[str]
) -> Path:
    listing = folder / f"{name}.txt"
    listing.write_text("\n".join(targets) + "\n")
    script = folder / f"{name}.lua"
    script.write_text(WALK % (listing, method, prefix, suffix))
    return script


def prepare_database(
    kind: str, folder: Path, pool: int
) -> tuple[dict[str, str], list[str], list[str]]:
    """A migrated database with the pool seeded: the server's environment, handles, post ids."""
    env = dict(SERVER_ENV, MEDIA_STORAGE_URL=(folder / "media").as_uri())
    if kind == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{folder / 'api.sqlite3'}"
    else:
        name = f"selflink_api_bench_{uuid.uuid4().hex[:8]}"

        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        env |= {
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "SELFLINK_JOB_QUEUE": f"bench-{name}",
        }
    with environment(env):
        settings: Settings = load_settings()
        upgrade_schema(build_sqlalchemy_config(settings))
        started = time.perf_counter()
        asyncio.run(seed_candidates(settings, pool))
        handles, posts = asyncio.run(seed_posts(settings))
        print(f"  seeded {pool:,} people in {time.perf_counter() - started:.1f} s", flush=True)
        print(f"  features computed in {asyncio.run(precompute(settings)):.1f} s", flush=True)
        asyncio.run(analyze(settings))
    return env, handles, posts


async def analyze(settings: Settings) -> None:
    """Planner statistics for the seeded tables, as PostgreSQL's autovacuum gathers them within
    a minute or so of a bulk load. Without them (until 2026-12-07) PostgreSQL planned the read
    of who may not be shown as a scan of every account, about 1 ms of its CPU a page."""
    engine = build_sqlalchemy_config(settings).get_engine()
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    await engine.dispose()


async def admin(statement: str) -> None:
    """Run `statement` in the server's `postgres` database (creating and dropping the run's)."""
    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await connection.execute(statement)
    await connection.close()


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """`env` as this process's environment for the block (settings are read from it)."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def seed_posts(settings: Settings) -> tuple[list[str], list[str]]:
    """One public post by each seeded person; their handles and the posts' ids."""
    config = build_sqlalchemy_config(settings)
    async with config.get_session() as session, session.begin():
        people = (await session.execute(select(User.id, User.handle))).all()
        posts = [
            Post(author_id=person.id, text=f"hello from {person.handle}", language="en")
            for person in people
        ]
        session.add_all(posts)
        await session.flush()
        post_ids = [str(post.id) for post in posts]
    await config.get_engine().dispose()
    return [person.handle for person in people], post_ids


def start_selflink(
    folder: Path, env: dict[str, str], workers: int
) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    command = [SELFLINK_API, "run", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    process = subprocess.Popen(
        command,
        cwd=folder,
        env=clean | env,
        stdout=(folder / f"server-{port}.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_serving(url, process)
    return url, process


def sign_in(url: str) -> str:
    """A new account with birth data and both matching modes; its access token."""
    with httpx.Client(base_url=url, timeout=60) as http:
        registered = http.post(
            "/api/v1/auth/register",
            json={"handle": "asker", "email": "asker@example.org", "password": PASSWORD},
        )
        registered.raise_for_status()
        token = registered.json()["session"]["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        http.patch(
            "/api/v1/users/me", headers=headers, json={"discoverable": True}
        ).raise_for_status()
        http.put(
            "/api/v1/astro/birth-data",
            headers=headers,
            json={"date": "1990-05-17", "time": "14:30", "latitude": 52.52, "longitude": 13.405},
        ).raise_for_status()
        http.patch(
            "/api/v1/matching/preferences",
            headers=headers,
            json={"modes": ["friends"]},
        ).raise_for_status()
        return str(token)


def next_cursor(url: str, token: str) -> str:
    """Page 1 once (warming the pool cache and freezing the ranking); page 2's cursor.

    Answers 409 until the job computing the asker's own features has run."""
    deadline = time.monotonic() + 120
    while True:
        page = httpx.get(
            f"{url}/api/v1/matching/recommendations?mode=friends",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        if page.status_code != 409 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if page.status_code != 200:
        raise SystemExit(f"recommendations: {page.status_code} {page.text}")
    return str(page.json()["next_cursor"])


def measure(kind: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    print(f"{kind}:", flush=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="selflink-api-bench-") as tmp:
        folder = Path(tmp)
        env, handles, posts = prepare_database(kind, folder, args.pool)
        floor_port = free_port()
        floor = subprocess.Popen(
            [sys.executable, __file__, "--serve-floor", str(floor_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        floor_url = f"http://127.0.0.1:{floor_port}"
        # With Redis, jobs (the asker's features) run on SAQ workers, as in production.
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
        jobs = (
            subprocess.Popen(
                [SELFLINK_API, "workers", "run"],
                cwd=folder,
                env=clean | env,
                stdout=(folder / "workers.log").open("w"),
                stderr=subprocess.STDOUT,
            )
            if "REDIS_URL" in env
            else None
        )
        try:
            wait_serving(floor_url, floor)
            rows += measure_against(floor_url, kind, folder, env, handles, posts, args, jobs)
        finally:
            stop(floor)
            if jobs is not None:
                stop(jobs)
            if kind == "postgresql":
                name = env["DATABASE_URL"].rsplit("/", 1)[1]
                asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    floor_rate = rows[0]["rate"]
    for row in rows:
        row["of_floor"] = row["rate"] / floor_rate
    return rows


def measure_against(
    floor_url: str,
    kind: str,
    folder: Path,
    env: dict[str, str],
    handles: list[str],
    posts: list[str],
    args: argparse.Namespace,
    jobs: subprocess.Popen[bytes] | None,
) -> list[dict[str, Any]]:
    """The floor, then each endpoint of SelfLink (one process, then `args.workers`)."""
    rows: list[dict[str, Any]] = []
    url, server = start_selflink(folder, env, 1)
    try:
        token = sign_in(url)
        cursor = next_cursor(url, token)
        wrk(f"{url}/api/v1/users/me", 2, token)  # warm-up
        wrk(f"{floor_url}/health", 2, None)
        base = wrk(f"{floor_url}/health", args.seconds, None)
        rows.append({"database": kind, "endpoint": "floor: bare Litestar /health", **base})
        plan: list[tuple[str, str, Path | None]] = [
            ("/health", f"{url}/health", None),
            ("GET /users/me", f"{url}/api/v1/users/me", None),
            (
                "GET /matching/recommendations page 1",
                f"{url}/api/v1/matching/recommendations?mode=friends",
                None,
            ),
            (
                "GET /matching/recommendations page 2",
                f"{url}/api/v1/matching/recommendations?mode=friends&cursor={cursor}",
                None,
            ),
            (
                "POST /users/{handle}/follow",
                url,
                walker(folder, "follow", "POST", "/api/v1/users/", "/follow", handles),
            ),
            (
                "PUT /posts/{id}/like",
                url,
                walker(folder, "like", "PUT", "/api/v1/posts/", "/like", posts),
            ),
        ]
        for label, target, script in plan:
            if script is None:
                found = wrk(target, args.seconds, token, script)
            else:
                found = costed_write(target, args.seconds, token, script, env, server, jobs)
            rows.append({"database": kind, "endpoint": label, **found})
    finally:
        stop(server)
    if args.workers > 1:
        jobs_drained(env)
        url, server = start_selflink(folder, env, args.workers)
        try:
            token = sign_in_again(url)
            wrk(f"{url}/api/v1/users/me", 2, token)
            found = wrk(f"{url}/api/v1/users/me", args.seconds, token)
            one = next(row for row in rows if row["endpoint"] == "GET /users/me")
            found["vs_one"] = found["rate"] / one["rate"]
            rows.append(
                {
                    "database": kind,
                    "endpoint": f"GET /users/me, {args.workers} workers",
                    **found,
                }
            )
        finally:
            stop(server)
    return rows


def costed_write(
    url: str,
    seconds: float,
    token: str,
    script: Path,
    env: dict[str, str],
    server: subprocess.Popen[bytes],
    jobs: subprocess.Popen[bytes] | None,
) -> dict[str, Any]:
    """`wrk` on a write, plus the CPU milliseconds each process spent per request on it, the
    jobs it queued included."""
    jobs_drained(env)
    processes = {
        "API": process_tree(server.pid),
        "worker": process_tree(jobs.pid) if jobs is not None else [],
        "PostgreSQL": named_processes("postgres") if "REDIS_URL" in env else [],
        "Redis": named_processes("redis-server") if "REDIS_URL" in env else [],
    }
    before = {name: cpu_seconds(pids) for name, pids in processes.items()}
    found: dict[str, Any] = wrk(url, seconds, token, script)
    if jobs is not None:
        jobs_drained(env)
    else:
        idle(server.pid)
    requests = found["rate"] * max(1, round(seconds))
    found["cpu_ms"] = {
        name: (cpu_seconds(pids) - before[name]) * 1000 / requests
        for name, pids in processes.items()
        if pids
    }
    return found


def process_tree(pid: int) -> list[int]:
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], check=False, capture_output=True, text=True
    ).stdout
    return [pid] + [each for child in children.split() for each in process_tree(int(child))]


def named_processes(name: str) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-x", name], check=False, capture_output=True, text=True
    ).stdout
    return [int(pid) for pid in found.split()]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (0 for one that is gone)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def idle(pid: int) -> None:
    """Wait until the process used under 2% of a core for half a second (its in-process jobs
    finished)."""
    pids = process_tree(pid)
    while True:
        used = cpu_seconds(pids)
        time.sleep(0.5)
        if cpu_seconds(pids) - used < 0.01:
            return


def jobs_drained(env: dict[str, str]) -> None:
    """Wait until the worker has run the jobs and events the writes queued (their
    notifications), so it does not share the two cores with the next measurement."""
    if "REDIS_URL" not in env:
        return  # in-process jobs stopped with the server
    queue = f"saq:{env['SELFLINK_JOB_QUEUE']}"
    events = stream_key(env["SELFLINK_JOB_QUEUE"])
    started = time.monotonic()
    with Redis.from_url(env["REDIS_URL"]) as redis:
        while redis.llen(f"{queue}:queued") or redis.llen(f"{queue}:active") or redis.xlen(events):
            if time.monotonic() - started > 600:
                raise SystemExit("the worker did not drain its queue in 10 minutes")
            time.sleep(0.5)
    print(f"  the writes' jobs ran {time.monotonic() - started:.0f} s after them", flush=True)


def sign_in_again(url: str) -> str:
    with httpx.Client(base_url=url, timeout=60) as http:
        signed = http.post("/api/v1/auth/login", json={"login": "asker", "password": PASSWORD})
        signed.raise_for_status()
        return str(signed.json()["session"]["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", action="append", choices=["sqlite", "postgresql"], help="default: both"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="also measure N processes")
    parser.add_argument("--json", action="store_true", help="rows as JSON lines too")
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        uvicorn.run(floor_app(), host="127.0.0.1", port=args.serve_floor, log_level="warning")
        return
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk: apt-get install wrk")
    print(f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    rows = [
        row for kind in args.database or ["sqlite", "postgresql"] for row in measure(kind, args)
    ]
    print()
    print("| database | endpoint | req/s | p50 ms | p99 ms | of floor | non-2xx |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        extra = f" ({row['vs_one']:.2f}x one)" if "vs_one" in row else ""
        print(
            f"| {row['database']} | {row['endpoint']} | {row['rate']:,.0f}{extra} | "
            f"{row['p50']:.1f} | {row['p99']:.1f} | {row['of_floor']:.1%} | {row['errors']} |"
        )
    costed = [row for row in rows if "cpu_ms" in row]
    if costed:
        print()
        print("CPU ms per write, its jobs included (from /proc):")
        print()
        print("| database | endpoint | API | worker | PostgreSQL | Redis | total |")
        print("|---|---|---|---|---|---|---|")
        for row in costed:
            cost = row["cpu_ms"]
            shown = [
                f"{cost[name]:.2f}" if name in cost else "-"
                for name in ("API", "worker", "PostgreSQL", "Redis")
            ]
            print(
                f"| {row['database']} | {row['endpoint']} | {' | '.join(shown)} | "
                f"{sum(cost.values()):.2f} |"
            )
    if args.json:
        for row in rows:
            print(json.dumps(row))


if __name__ == "__main__":
    main()
