"""Reads never queue behind writes: on SQLite a GET starts a deferred reader beside the writer
holding the lock; on PostgreSQL a GET reads in autocommit and a write keeps its transaction."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import anyio
import pytest
from sqlalchemy import Engine, event, select

from selflink_api.accounts.models import User
from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.jobs import JobContext
from selflink_api.settings import Settings
from tests.api.astro_helpers import Client
from tests.api.conftest import drain_jobs
from tests.api.people import register

pytestmark = pytest.mark.anyio


@contextmanager
def sqlite_writer_holding_the_lock(settings: Settings) -> Iterator[None]:
    """Another connection inside a write transaction (SQLite's one writer) for the block."""
    writer = sqlite3.connect(settings.sqlalchemy_url.split("///", 1)[1], isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@contextmanager
def autocommit_seen() -> Iterator[list[bool]]:
    """Whether each statement of the app ran on a connection in autocommit."""
    seen: list[bool] = []

    def record(connection: Any, *_args: Any) -> None:
        seen.append(bool(connection.connection.dbapi_connection.autocommit))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


async def test_a_read_does_not_wait_for_a_writer_nor_open_a_transaction(
    client: Client, settings: Settings
) -> None:
    me = await register(client, "reader")
    await drain_jobs(client)  # nothing of the sign-up's jobs runs beside the request
    if settings.is_sqlite:
        with sqlite_writer_holding_the_lock(settings), anyio.fail_after(5):
            # A writer's BEGIN IMMEDIATE would wait for the lock (busy_timeout is 10 s).
            response = await client.get("/api/v1/users/me", headers=me.headers)
        assert response.status_code == 200
        return
    with autocommit_seen() as reading:
        assert (await client.get("/api/v1/users/me", headers=me.headers)).status_code == 200
    assert reading
    assert all(reading)
    with autocommit_seen() as writing:
        changed = await client.patch("/api/v1/users/me", headers=me.headers, json={"bio": "hi"})
        assert changed.status_code == 200
    sign_in_check, *handler = writing
    assert sign_in_check  # a read, in a session of its own
    assert handler
    assert not any(handler)  # the handler's statements, in one transaction


async def test_a_job_reading_does_not_wait_for_a_writer_nor_open_a_transaction(
    client: Client, settings: Settings
) -> None:
    me = await register(client, "job_reader")
    await drain_jobs(client)
    handle_of_me = select(User.handle).where(User.id == UUID(me.id))
    config = build_sqlalchemy_config(settings)
    context = JobContext(settings, config.create_session_maker(), client.app.state.job_runner)
    try:
        if settings.is_sqlite:
            with sqlite_writer_holding_the_lock(settings), anyio.fail_after(5):
                async with context.reading() as session:
                    assert await session.scalar(handle_of_me) == "job_reader"
            return
        with autocommit_seen() as seen:
            async with context.reading() as session:
                assert await session.scalar(handle_of_me) == "job_reader"
            async with context.session() as session:
                assert await session.scalar(handle_of_me) == "job_reader"
        assert seen == [True, False]
    finally:
        await config.get_engine().dispose()
