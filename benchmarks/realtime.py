"""Realtime delivery: 1,000 WebSocket clients in 100 groups, messages sent over HTTP.

Run: `uv run python benchmarks/realtime.py` (the embedded default: SQLite, channels in memory)
or `uv run python benchmarks/realtime.py --postgres` (PostgreSQL + Redis pub/sub).
Options: `--clients 1000 --groups 100 --rate 200 --seconds 15 --warmup 5`.

One `selflink-api run` process serves (with PostgreSQL, one `selflink-api workers run`
process runs the jobs beside it). This process holds every WebSocket (one per person,
signed in by an `auth` frame); a second process sends the messages over keep-alive HTTP at a
fixed rate, each by a member of a random group, and records when each send started. A
message's latency is from the start of its HTTP send to its receipt by the last of its
group's members (sender included). The floor is a bare Litestar app doing the same fan-out
(a POST publishes a JSON event to 10 channels of Litestar's channels plugin, in memory; no
database, no authentication), served, connected and driven the same way in the same run.

Messages of the first `--warmup` seconds (5) are sent at the same rate and not measured. A
server that has just taken 1,000 connections within two seconds otherwise pays, a couple of
seconds into the run, for compiling its statements, filling its connection pool and one
collection of the garbage collector's middle generation holding every object those connections
made (122 ms on 2026-12-07), all of which a server in service paid long before.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
import websockets
from litestar import Litestar, WebSocket, get, post, websocket
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

PASSWORD = "a long benchmark passphrase 42"
SELFLINK_API = str(Path(sys.executable).with_name("selflink-api"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not start")


# The floor: the same fan-out with nothing else -------------------------------------------------


def floor_app() -> Litestar:
    channels = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @post("/publish", status_code=201)
    async def publish(data: dict[str, Any]) -> dict[str, Any]:
        event = json.dumps({"type": "message.created", "data": data}).encode()
        channels.publish(event, [f"user:{member}" for member in data["members"]])
        return {"client_id": data["client_id"]}

    @websocket("/ws/{person:str}")
    async def connect(socket: WebSocket[Any, Any, Any], person: str) -> None:
        await socket.accept()
        async with channels.start_subscription([f"user:{person}"]) as subscriber:
            async for event in subscriber.iter_events():
                await socket.send_text(event.decode())

    return Litestar([health, publish, connect], plugins=[channels])


def serve_floor(port: int) -> None:
    uvicorn.run(
        floor_app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="websockets-sansio",
        ws_per_message_deflate=False,  # as `selflink-api run` serves by default
    )


# Driving a server ------------------------------------------------------------------------------


class Target:
    """How to sign people in, connect them and send a message, on SelfLink or the floor."""

    def __init__(self, url: str, *, floor: bool) -> None:
        self.url = url
        self.floor = floor

    async def people(self, http: httpx.AsyncClient, count: int) -> list[dict[str, str]]:
        if self.floor:
            return [{"id": f"p{i}", "token": "", "handle": f"p{i}"} for i in range(count)]
        tag = uuid.uuid4().hex[:6]

        async def join(index: int) -> dict[str, str]:
            handle = f"b{tag}_{index}"
            body = {"email": f"{handle}@example.org", "password": PASSWORD, "handle": handle}
            answer = await http.post(f"{self.url}/api/v1/auth/register", json=body)
            answer.raise_for_status()
            found = answer.json()
            return {
                "id": found["user"]["id"],
                "token": found["session"]["access_token"],
                "handle": handle,
            }

        made: list[dict[str, str]] = []
        for start in range(0, count, 50):
            made += await asyncio.gather(*(join(i) for i in range(start, min(count, start + 50))))
        return made

    async def groups(
        self, http: httpx.AsyncClient, people: list[dict[str, str]], size: int
    ) -> list[dict[str, Any]]:
        groups = []
        for start in range(0, len(people), size):
            members = people[start : start + size]
            thread_id = f"g{start}"
            if not self.floor:
                answer = await http.post(
                    f"{self.url}/api/v1/threads/groups",
                    json={"title": f"g{start}", "members": [m["handle"] for m in members[1:]]},
                    headers={"Authorization": f"Bearer {members[0]['token']}"},
                )
                answer.raise_for_status()
                thread_id = answer.json()["id"]
            groups.append({"id": thread_id, "members": members})
        return groups

    async def connect(self, person: dict[str, str]) -> Any:
        ws_base = self.url.replace("http://", "ws://")
        if self.floor:
            return await websockets.connect(f"{ws_base}/ws/{person['id']}", max_size=None)
        ws = await websockets.connect(f"{ws_base}/api/v1/realtime", max_size=None)
        await ws.send(json.dumps({"type": "auth", "token": person["token"]}))
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready", ready
        return ws


class KeepAliveSender:
    """Just enough HTTP/1.1 for the sender: POSTs over at most 64 kept-alive connections.

    The sender shares the two cores with the server under test, so its own cost matters: httpx
    spent about 2 ms of CPU per message here (2026-12-07), a third of what the API spent on it.
    This sends the same requests; it reads each response's status, headers and body, and sends
    again on a new connection when a kept-alive one was closed by the server meanwhile (a
    message's `client_id` makes that safe)."""

    def __init__(self, url: str) -> None:
        address = httpx.URL(url)
        self.host, self.port = address.host, address.port or 80
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(64)

    async def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> int:
        """The response's status code, or 0 when the connection failed."""
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
            + "\r\n"
        )
        async with self._slots:
            while True:
                reused = bool(self._idle)
                if reused:
                    reader, writer = self._idle.pop()
                else:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                try:
                    writer.write(head.encode() + payload)
                    status, keep = await self._response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    writer.close()
                    if reused:  # the server closed it while idle: send again, as httpx does
                        continue
                    return 0
                if keep:
                    self._idle.append((reader, writer))
                else:
                    writer.close()
                return status

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bool]:
        status = int((await reader.readline()).split()[1])
        length, chunked, keep = 0, False, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value
            elif name == "connection":
                keep = "close" not in value
        if not chunked:
            await reader.readexactly(length)
            return status, keep
        while size := int((await reader.readline()).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readline()
        return status, keep

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()


def send_at_rate(url: str, floor: bool, plan: list[dict[str, Any]], rate: float, out: Any) -> None:
    """The sender process: each planned message at its time; sends back, by client id, when
    each send started and ended and its status."""

    async def run() -> dict[str, Any]:
        sends: dict[str, tuple[float, float, int]] = {}
        http = KeepAliveSender(url)

        async def one(item: dict[str, Any]) -> None:
            started = time.time()
            if floor:
                body = {"client_id": item["client_id"], "members": item["members"]}
                status = await http.post("/publish", body)
            else:
                status = await http.post(
                    f"/api/v1/threads/{item['thread_id']}/messages",
                    {"client_id": item["client_id"], "text": "benchmark message"},
                    {"Authorization": f"Bearer {item['token']}"},
                )
            sends[item["client_id"]] = (started, time.time(), status)

        tasks = []
        begin = time.monotonic()
        for index, item in enumerate(plan):
            delay = begin + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(item)))
        await asyncio.gather(*tasks)
        http.close()
        return sends

    out.send(asyncio.run(run()))


async def measure(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as http:
        people = await target.people(http, args.clients)
        groups = await target.groups(http, people, args.clients // args.groups)
    sockets = []
    for start in range(0, len(people), 100):
        sockets += await asyncio.gather(*(target.connect(p) for p in people[start : start + 100]))
    received: dict[str, list[float]] = {}

    async def listen(ws: Any) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "message.created":
                received.setdefault(frame["data"]["client_id"], []).append(time.time())

    listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
    rng = random.Random(7)
    plan = []
    for _ in range(int(args.rate * (args.warmup + args.seconds))):
        group = rng.choice(groups)
        sender = rng.choice(group["members"])
        plan.append(
            {
                "client_id": uuid.uuid4().hex,
                "thread_id": group["id"],
                "token": sender["token"],
                "members": [m["id"] for m in group["members"]],
            }
        )
    measured = plan[int(args.rate * args.warmup) :]
    expected = {item["client_id"]: len(item["members"]) for item in measured}
    spawn = multiprocessing.get_context("spawn")  # never fork a process running a loop
    receive_end, send_end = spawn.Pipe(duplex=False)
    sender = spawn.Process(
        target=send_at_rate, args=(target.url, target.floor, plan, args.rate, send_end)
    )
    sender.start()
    send_end.close()
    sends = await asyncio.to_thread(receive_end.recv)
    sender.join()
    await asyncio.sleep(2)  # deliveries still in flight; late ones count as incomplete
    for task in listeners:
        task.cancel()
    closed_by_server = collections.Counter(
        ws.close_code for ws in sockets if ws.close_code is not None
    )
    for ws in sockets:
        await ws.close()
    measured_sends = [sends[cid] for cid in expected]
    statuses = [status for _, _, status in measured_sends]
    elapsed = max(end for _, end, _ in measured_sends) - min(s for s, _, _ in measured_sends)
    latencies = sorted(
        (max(received[cid]) - sends[cid][0]) * 1000
        for cid, count in expected.items()
        if len(received.get(cid, [])) >= count
    )
    accepted = sum(1 for status in statuses if status in {200, 201})
    return {
        "accepted_per_s": accepted / elapsed,
        "complete": len(latencies),
        "planned": len(measured),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "closed_by_server": dict(closed_by_server),
        "refused": dict(collections.Counter(s for s in statuses if s not in {200, 201})),
    }


def server_environment(folder: Path, postgres: bool) -> tuple[dict[str, str], str | None]:
    """The environment of a SelfLink server for a benchmark (limits raised, cheap password
    hashing), on SQLite in `folder` or on a new PostgreSQL database (returned, for the caller
    to drop) with Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env |= {
        "SELFLINK_MIGRATE_ON_STARTUP": "true",
        "RATE_LIMIT_PER_MINUTE": "10000000",
        "AUTH_ATTEMPTS_PER_IP": "10000000",
        "MESSAGING_MESSAGES_PER_MINUTE": "10000000",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        "LOG_LEVEL": "WARNING",
        "MEDIA_STORAGE_URL": (folder / "media").as_uri(),
        "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
    }
    if not postgres:
        return env, None
    name = f"selflink_realtime_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    env |= {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SELFLINK_JOB_QUEUE": f"bench-{name}",
    }
    return env, name


def run_api(folder: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """`selflink-api run` on `port`, logging to `folder/server.log`."""
    return subprocess.Popen(
        [SELFLINK_API, "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=(folder / "server.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def start_selflink(
    folder: Path, postgres: bool
) -> tuple[str, subprocess.Popen[bytes], subprocess.Popen[bytes] | None, str | None]:
    """The API process; with PostgreSQL also a `selflink-api workers run` process, since jobs
    (notifications, moderation checks) then go to Redis, as in production. Also returns the
    PostgreSQL database it created, which the caller drops."""
    port = free_port()
    env, name = server_environment(folder, postgres)
    process = run_api(folder, env, port)
    workers = (
        subprocess.Popen(
            [SELFLINK_API, "workers", "run"],
            cwd=folder,
            env=env,
            stdout=(folder / "workers.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        if postgres
        else None
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_serving(url, process)
    except BaseException:
        stop_selflink(process, workers, name)
        raise
    return url, process, workers, name


def stop_selflink(
    process: subprocess.Popen[bytes],
    workers: subprocess.Popen[bytes] | None,
    database: str | None,
) -> None:
    """Stop the API and its worker, then drop the database they used."""
    stop(process)
    if workers is not None:
        stop(workers)
    if database is not None:
        try:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"could not drop database {database}: {exc}", file=sys.stderr)


async def admin(statement: str) -> None:
    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await connection.execute(statement)
    await connection.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server; one still waiting on idle sockets after 10 s is killed."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds sent at the rate before measuring"
    )
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis pub/sub")
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="selflink-realtime-") as tmp:
        folder = Path(tmp)
        port = free_port()
        floor_process = subprocess.Popen(
            [sys.executable, __file__, "--serve-floor", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            floor_url = f"http://127.0.0.1:{port}"
            wait_serving(floor_url, floor_process)
            rows.append(
                (
                    "bare Litestar fan-out (floor)",
                    asyncio.run(measure(Target(floor_url, floor=True), args)),
                )
            )
        finally:
            stop(floor_process)
        url, process, workers, database = start_selflink(folder, args.postgres)
        try:
            engine = (
                "PostgreSQL + Redis, one worker" if args.postgres else "SQLite, in-memory channels"
            )
            rows.append(
                (f"SelfLink ({engine})", asyncio.run(measure(Target(url, floor=False), args)))
            )
        finally:
            stop_selflink(process, workers, database)

    load = os.getloadavg()[0]
    print(
        f"{args.clients} clients in {args.groups} groups, {args.rate:g} messages/s for "
        f"{args.seconds:g} s after {args.warmup:g} s of warm-up; "
        f"Python {platform.python_version()}, load {load:.1f} at the end"
    )
    print("| server | accepted msg/s | delivered to all | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for name, row in rows:
        print(
            f"| {name} | {row['accepted_per_s']:.0f} | {row['complete']}/{row['planned']} | "
            f"{row['p50']:.1f} | {row['p99']:.1f} |"
        )
    for name, row in rows:
        if row["closed_by_server"] or row["refused"]:
            print(
                f"{name}: WebSockets the server closed, by code: {row['closed_by_server']}; "
                f"sends not accepted, by status (0: no answer): {row['refused']}"
            )


if __name__ == "__main__":
    main()
