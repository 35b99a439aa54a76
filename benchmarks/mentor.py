"""The mentor under load: concurrent streams from one API process, and the time to first token
it adds over an upstream OpenAI-compatible server.

Run: `uv run python benchmarks/mentor.py` (SQLite, the embedded default) or
`uv run python benchmarks/mentor.py --postgres` (a fresh database on 127.0.0.1:5432).

1. Streams: `--streams` people (200) each ask `POST /api/v1/mentor/stream` at the same time,
   against one `selflink-api run` process (one uvicorn worker) with the built-in provider.
   Reported: wall time for all of them, time to the first `token` event and to the `end`
   event (median, p95, max), and that every reply was stored. The floor is a bare Litestar
   app in its own process streaming the same number of SSE events per request, called the
   same way in the same run.
2. Time to first token: `tests/chat_completions.py` serves as the upstream (its first token
   after `--first-token-ms`); `--ttft-requests` requests one after another, then the same
   number 20 at a time, straight to the upstream (httpx, streaming), and through the API
   with `MENTOR_PROVIDER=openai` (the same `openai` client). The overhead is the API's time
   to its first `token` event minus the upstream's time to its first content chunk.

The load generator is this process (httpx, asyncio); servers are separate processes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
from litestar import Litestar, get, post
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
SELFLINK_API = str(Path(sys.executable).with_name("selflink-api"))
PASSWORD = "a long benchmark passphrase 42"
QUESTION = "How can I handle a tense week at work?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server did not start: {url}")


@contextmanager
def process(command: list[str], health: str, env: dict[str, str] | None = None) -> Iterator[None]:
    with tempfile.TemporaryFile() as log:
        running = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(health, running)
            yield
        finally:
            running.terminate()
            running.wait(timeout=60)


def api_env(database_url: str, **mentor: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(
        SELFLINK_PROFILE="test",
        DATABASE_URL=database_url,
        SELFLINK_MIGRATE_ON_STARTUP="true",
        SECRET_KEY="benchmark-secret-key-that-is-long-enough-for-jwt",
        RATE_LIMIT_PER_MINUTE="1000000",
        AUTH_ATTEMPTS_PER_IP="1000000",
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_KIB="1024",
        ARGON2_PARALLELISM="1",
        LOG_LEVEL="WARNING",
        MENTOR_REQUESTS_PER_MINUTE="1000000",
        MENTOR_DAILY_QUOTA="1000000",
        MENTOR_MAX_CONCURRENT="1000",
        **mentor,
    )
    return env


@contextmanager
def api_server(database_url: str, **mentor: str) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [SELFLINK_API, "run", "--host", "127.0.0.1", "--port", str(port)]
    with process(command, f"{base}/health", api_env(database_url, **mentor)):
        yield base


@contextmanager
def database(postgres: bool) -> Iterator[str]:
    """A new, empty database for one API server: a SQLite file, or a PostgreSQL database
    dropped afterwards."""
    if not postgres:
        yield f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='mentor-bench-')}/bench.sqlite3"
        return
    import asyncpg  # noqa: PLC0415 - only for the PostgreSQL run

    name = f"selflink_mentor_bench_{uuid.uuid4().hex[:8]}"

    async def execute(statement: str) -> None:
        connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# The floor: SSE from a bare Litestar app -----------------------------------------------------


def floor_app(pieces: int) -> Litestar:
    async def events() -> Any:
        yield ServerSentEventMessage(event="start", data='{"message_id":"x"}')
        for _ in range(pieces):
            yield ServerSentEventMessage(event="token", data='{"text":"word "}')
            await asyncio.sleep(0)
        yield ServerSentEventMessage(event="end", data='{"message_id":"x"}')

    @post("/stream", status_code=200)
    async def stream() -> ServerSentEvent:
        return ServerSentEvent(events())

    @get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    return Litestar([stream, health])


@contextmanager
def floor_server(pieces: int) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, __file__, "--serve-floor", str(port), "--pieces", str(pieces)]
    with process(command, f"{base}/health"):
        yield base


# Measuring ----------------------------------------------------------------------------------


async def stream_once(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]
) -> tuple[float, float, int]:
    """Seconds to the first token event and to the end event, and how many tokens came."""
    started = time.perf_counter()
    first = 0.0
    tokens = 0
    async with client.stream("POST", url, headers=headers, json=body) as response:
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {await response.aread()!r}")
        async for line in response.aiter_lines():
            if line == "event: token":
                tokens += 1
                if not first:
                    first = time.perf_counter() - started
            elif line in {"event: end", "event: error"}:
                if line == "event: error":
                    raise SystemExit(f"{url}: an error event")
                break
    return first, time.perf_counter() - started, tokens


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"median {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
        f"max {ordered[-1] * 1000:7.1f} ms"
    )


async def register_people(base: str, count: int) -> list[dict[str, str]]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        people = []
        for _ in range(count):
            email = f"bench.{uuid.uuid4().hex[:12]}@example.org"
            response = await client.post(
                "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
            )
            response.raise_for_status()
            token = response.json()["session"]["access_token"]
            people.append({"Authorization": f"Bearer {token}"})
        return people


async def concurrent_streams(
    base: str, path: str, people: list[dict[str, str]]
) -> tuple[float, list[tuple[float, float, int]]]:
    limits = httpx.Limits(max_connections=len(people) + 10)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        body = {"mode": "chat", "text": QUESTION}
        started = time.perf_counter()
        results = await asyncio.gather(
            *(stream_once(client, path, headers, body) for headers in people)
        )
        return time.perf_counter() - started, list(results)


async def upstream_first_token(client: httpx.AsyncClient, base: str) -> float:
    """Time to the first content chunk of a streamed chat completion, straight upstream."""
    body = {
        "model": "bench",
        "stream": True,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    started = time.perf_counter()
    async with client.stream("POST", f"{base}/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: {") and '"content"' in line:
                return time.perf_counter() - started
    raise SystemExit("the upstream sent no content")


async def first_tokens(count: int, concurrency: int, once: Any) -> list[float]:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> float:
        async with gate:
            return float(await once())

    return list(await asyncio.gather(*(one() for _ in range(count))))


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(arguments: argparse.Namespace) -> None:
    print(f"load average before: {load()}")
    pieces_seen: list[int] = []
    with database(arguments.postgres) as url, api_server(url) as base:
        people = asyncio.run(register_people(base, arguments.streams))
        asyncio.run(concurrent_streams(base, "/api/v1/mentor/stream", people[:5]))  # warm up
        wall, results = asyncio.run(concurrent_streams(base, "/api/v1/mentor/stream", people))
        pieces_seen = [tokens for _, _, tokens in results]
        print(f"\n{arguments.streams} concurrent streams, built-in provider, one API process:")
        print(f"  all done in {wall:.2f} s ({arguments.streams / wall:.0f} streams/s)")
        print(f"  first token  {summary([first for first, _, _ in results])}")
        print(f"  end          {summary([end for _, end, _ in results])}")
        print(f"  tokens per reply: {min(pieces_seen)}..{max(pieces_seen)}")
        api_wall = wall
    with floor_server(round(statistics.median(pieces_seen))) as floor:
        asyncio.run(concurrent_streams(floor, "/stream", [{}] * 5))
        wall, results = asyncio.run(concurrent_streams(floor, "/stream", [{}] * arguments.streams))
        print(f"floor (bare Litestar SSE, same events): all done in {wall:.2f} s")
        print(f"  first token  {summary([first for first, _, _ in results])}")
        print(f"  end          {summary([end for _, end, _ in results])}")
        print(f"  API / floor (wall): {api_wall / wall:.1f}x")
    print(f"load average after streams: {load()}")

    requests_log = Path(tempfile.mkdtemp(prefix="mentor-bench-upstream-")) / "requests.jsonl"
    port = free_port()
    upstream = f"http://127.0.0.1:{port}/v1"
    command = [sys.executable, "-m", "tests.chat_completions", "--port", str(port)]
    command += ["--log", str(requests_log), "--chunk-delay", "0.01"]
    command += ["--first-token-delay", str(arguments.first_token_ms / 1000)]
    with (
        process(command, f"http://127.0.0.1:{port}/health"),
        database(arguments.postgres) as url,
        api_server(
            url,
            MENTOR_PROVIDER="openai",
            MENTOR_BASE_URL=upstream,
            MENTOR_MODEL="bench",
        ) as base,
    ):
        people = asyncio.run(register_people(base, 20))
        print(f"\ntime to first token, upstream first token after {arguments.first_token_ms} ms:")
        for concurrency in (1, 20):

            async def measure(concurrency: int = concurrency) -> tuple[list[float], list[float]]:
                limits = httpx.Limits(max_connections=64)
                async with (
                    httpx.AsyncClient(timeout=60, limits=limits) as direct,
                    httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as api,
                ):
                    body = {"mode": "chat", "text": QUESTION}
                    turn = iter(range(10**9))

                    async def via_api() -> float:
                        headers = people[next(turn) % len(people)]
                        first, _, _ = await stream_once(api, "/api/v1/mentor/stream", headers, body)
                        return first

                    await first_tokens(3, 1, lambda: upstream_first_token(direct, upstream))
                    await first_tokens(3, 1, via_api)
                    straight = await first_tokens(
                        arguments.ttft_requests,
                        concurrency,
                        lambda: upstream_first_token(direct, upstream),
                    )
                    through = await first_tokens(arguments.ttft_requests, concurrency, via_api)
                    return straight, through

            straight, through = asyncio.run(measure())
            overhead = statistics.median(through) - statistics.median(straight)
            print(f"  {concurrency:>2} at a time, upstream  {summary(straight)}")
            print(f"  {concurrency:>2} at a time, via API   {summary(through)}")
            print(f"  {concurrency:>2} at a time, overhead (medians): {overhead * 1000:.1f} ms")
    print(f"\nload average after: {load()}")
    sent = len(requests_log.read_text().splitlines())
    print(f"upstream requests received: {sent}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--ttft-requests", type=int, default=60)
    parser.add_argument("--first-token-ms", type=float, default=200)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pieces", type=int, default=100, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_floor:
        uvicorn.run(
            floor_app(arguments.pieces),
            host="127.0.0.1",
            port=arguments.serve_floor,
            log_level="warning",
            access_log=False,
        )
        return
    run(arguments)


if __name__ == "__main__":
    main()
