"""Real PostgreSQL and Redis for the API tests: found, or skipped (failed under CI=true)."""

import asyncio
import os
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import asyncpg
import pytest

T = TypeVar("T")

POSTGRES_HOST = os.environ.get("TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("TEST_POSTGRES_PORT", "5432"))
POSTGRES_USER = os.environ.get("TEST_POSTGRES_USER", "postgres")
POSTGRES_ADMIN_DB = os.environ.get("TEST_POSTGRES_DB", "postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI") == "true"


def run_sync(make_coroutine: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a private loop, even from inside a running loop."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(make_coroutine()))  # type: ignore[arg-type]
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def unavailable(service: str, reason: str) -> NoReturn:
    message = f"{service} is not reachable ({reason})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(f"{message}; start it to run these tests")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_dsn(database: str) -> str:
    return f"postgresql://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"


def require_postgres() -> None:
    if not _port_open(POSTGRES_HOST, POSTGRES_PORT):
        unavailable("PostgreSQL", f"{POSTGRES_HOST}:{POSTGRES_PORT}")


def require_redis() -> None:
    host_port = REDIS_URL.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    if not _port_open(host, int(port or 6379)):
        unavailable("Redis", host_port)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(postgres_dsn(POSTGRES_ADMIN_DB))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_postgres_database(template: str | None = None) -> str:
    name = f"selflink_test_{uuid.uuid4().hex[:16]}"
    suffix = f' TEMPLATE "{template}"' if template else ""
    run_sync(lambda: _admin(f'CREATE DATABASE "{name}"{suffix}'))
    return name


def drop_postgres_database(name: str) -> None:
    run_sync(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
