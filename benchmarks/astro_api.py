"""Astro API latency: GET /api/v1/astro/natal/me served from the chart cache and computed
(cache row deleted before each request), next to POST /api/v1/astro/charts and GET /users/me.

Run: `uv run python benchmarks/astro_api.py [--requests N] [--database-url URL]`.

A real uvicorn server on 127.0.0.1 (one worker, in a thread of this process) and one
keep-alive HTTP client sending requests one after another; the database defaults to a fresh
SQLite file. Figures are per request, client to client, including sign-in checks.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from selflink_api.app import create_app
from selflink_api.platform.database import build_sqlalchemy_config, upgrade_schema
from selflink_api.settings import Settings, load_settings

if TYPE_CHECKING:
    from collections.abc import Callable

BIRTH = {"date": "1990-05-17", "time": "14:30", "place": "Berlin", "country": "DE"}
PASSWORD = "a long benchmark passphrase 42"


def settings_for(database_url: str) -> Settings:
    return load_settings(
        _env_file=None,
        SELFLINK_PROFILE="test",
        DATABASE_URL=database_url,
        SECRET_KEY="benchmark-secret-key-that-is-long-enough-for-jwt",
        RATE_LIMIT_PER_MINUTE=1_000_000,
        ASTRO_CHARTS_PER_MINUTE=1_000_000,
        LOG_LEVEL="WARNING",
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(settings: Settings, port: int) -> uvicorn.Server:
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), port=port, log_level="warning", access_log=False)
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def run_sql(settings: Settings, statement: str) -> None:
    async def execute() -> None:
        engine = create_async_engine(settings.sqlalchemy_url)
        async with engine.begin() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(execute())


def timed(
    requests: int, send: Callable[[], httpx.Response], before: Callable[[], None]
) -> list[float]:
    times = []
    for _ in range(requests):
        before()
        started = time.perf_counter()
        response = send()
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def report(name: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    rate = 1000 / statistics.mean(ordered)
    print(f"| {name} | {statistics.median(ordered):.2f} | {p95:.2f} | {rate:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default="")
    arguments = parser.parse_args()
    url = arguments.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    settings = settings_for(url)
    config = build_sqlalchemy_config(settings)
    upgrade_schema(config)
    asyncio.run(config.get_engine().dispose())
    port = free_port()
    server = serve(settings, port)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30) as client:
        email = f"bench.{time.time_ns()}@example.org"
        signed_in = client.post("/auth/register", json={"email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {signed_in.json()['session']['access_token']}"}
        client.put("/astro/birth-data", headers=headers, json=BIRTH).raise_for_status()
        client.get("/astro/natal/me", headers=headers).raise_for_status()  # warm the engine

        def nothing() -> None:
            pass

        def forget_charts() -> None:
            run_sql(settings, "DELETE FROM astro_chart_cache")

        rows = {
            "GET /users/me (auth + decrypt personal data; the baseline)": timed(
                arguments.requests, lambda: client.get("/users/me", headers=headers), nothing
            ),
            "GET /astro/natal/me, cached": timed(
                arguments.requests, lambda: client.get("/astro/natal/me", headers=headers), nothing
            ),
            "GET /astro/natal/me, computed and stored": timed(
                arguments.requests,
                lambda: client.get("/astro/natal/me", headers=headers),
                forget_charts,
            ),
            "POST /astro/charts (computed, nothing stored)": timed(
                arguments.requests,
                lambda: client.post("/astro/charts", json={"birth": BIRTH}),
                nothing,
            ),
        }
    server.should_exit = True
    database = "PostgreSQL" if "postgres" in url else "SQLite"
    python = platform.python_version()
    print(f"{arguments.requests} sequential requests each; {database}; Python {python}")
    print("| request | median ms | p95 ms | requests/s |")
    print("|---|---|---|---|")
    for name, times in rows.items():
        report(name, times)


if __name__ == "__main__":
    main()
