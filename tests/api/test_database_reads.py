"""Reads never queue behind writes: on SQLite a GET starts a deferred reader beside the writer
holding the lock; on PostgreSQL a GET reads in autocommit and a write keeps its transaction."""

import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch
from uuid import UUID, uuid4

import anyio
import pytest
from sqlalchemy import Engine, bindparam, event, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.models import AccountStatus, AuthSession, User
from selflink_api.platform.database import build_sqlalchemy_config, one_of
from selflink_api.platform.driver_reads import DriverRead, DriverWrite
from selflink_api.platform.jobs import JobContext
from selflink_api.settings import Settings
from tests.api.astro_helpers import Client
from tests.api.conftest import drain_jobs, make_settings
from tests.api.people import register
from tests.api.test_feed import counted_statements

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
def watching_statements(
    on_sql: Callable[[Any, str], None],
    on_read: Callable[[DriverRead, AsyncSession], Awaitable[None]],
) -> Iterator[None]:
    """`on_sql(connection, statement)` before each statement SQLAlchemy runs, and
    `await on_read(read, session)` before each `DriverRead`, which reaches no SQLAlchemy event."""
    run_on_driver = DriverRead.all

    def before(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        on_sql(connection, statement)

    async def watched(read: DriverRead, session: AsyncSession, **params: Any) -> Any:
        await on_read(read, session)
        return await run_on_driver(read, session, **params)

    event.listen(Engine, "before_cursor_execute", before)
    try:
        with patch.object(DriverRead, "all", watched):
            yield
    finally:
        event.remove(Engine, "before_cursor_execute", before)


@contextmanager
def autocommit_seen() -> Iterator[list[bool]]:
    """Whether each statement of the app ran on a connection in autocommit, those run on the
    driver's connection (`DriverRead`) included."""
    seen: list[bool] = []

    def record(connection: Any, _statement: str = "") -> None:
        seen.append(bool(connection.connection.dbapi_connection.autocommit))

    async def record_read(_read: DriverRead, session: AsyncSession) -> None:
        record((await session.connection()).sync_connection)

    with watching_statements(record, record_read):
        yield seen


@contextmanager
def statements_run() -> Iterator[list[str]]:
    """What the app ran, in order: each `DriverRead` by what it reads, each other statement as
    its text (SQLite's `BEGIN` of a reading session left out: it never leaves the process)."""
    run: list[str] = []

    def record(_connection: Any, statement: str) -> None:
        if statement != "BEGIN":
            run.append(statement)

    async def record_read(read: DriverRead, _session: AsyncSession) -> None:
        run.append("sign-in check" if "auth_sessions" in str(read.statement) else "account")

    with watching_statements(record, record_read):
        yield run


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


async def test_a_driver_read_returns_what_the_session_returns(
    client: Client, settings: Settings
) -> None:
    """Ids, times, a value bound in the statement and a missing outer row come back as the
    session gives them, on either database. A driver failure reruns through the session,
    which answers: the read came first in its transaction, so on PostgreSQL the transaction
    it began (and the failure aborted) is rolled back and the session begins its own."""
    me = await register(client, "driver_reader")
    await drain_jobs(client)
    statement = (
        select(User.id, User.handle, User.created_at, User.suspended_until, AuthSession.id)
        .outerjoin(AuthSession, (AuthSession.user_id == User.id) & AuthSession.id.is_(None))
        .where(User.id == bindparam("user_id"), User.status == AccountStatus.ACTIVE)
    )
    read = DriverRead(statement)
    config = build_sqlalchemy_config(settings)
    try:
        async with config.create_session_maker()() as session:
            expected = tuple((await session.execute(statement, {"user_id": UUID(me.id)})).one())
            assert await read.first(session, user_id=UUID(me.id)) == expected
            assert expected[:2] == (UUID(me.id), "driver_reader")
            found = await read.one(session, user_id=UUID(me.id))
            assert (found.id, found.handle) == expected[:2]  # by the columns' names too
            assert expected[2].tzinfo is not None
            assert await read.all(session, user_id=uuid4()) == []
        async with config.create_session_maker()() as session:
            dialect = session.bind.dialect
            broken = replace(read._for(dialect), sql="SELECT nonsense")
            read._compiled[dialect.name] = broken
            assert await read.first(session, user_id=UUID(me.id)) == expected
    finally:
        await config.get_engine().dispose()


async def test_a_driver_read_on_sqlite_runs_on_the_event_loops_thread(tmp_path: Path) -> None:
    """aiosqlite runs each statement on its connection's own thread; a driver read skips the
    hop there and back, and the session's statements keep it."""
    config = build_sqlalchemy_config(make_settings(f"sqlite:///{tmp_path / 'reads.sqlite3'}"))
    read = DriverRead(select(func.thread_id().label("thread")))
    try:
        async with config.create_session_maker()() as session:
            pooled = await (await session.connection()).get_raw_connection()
            pooled.driver_connection._conn.create_function("thread_id", 0, threading.get_ident)
            assert (await read.one(session)).thread == threading.get_ident()
            assert await session.scalar(select(func.thread_id())) != threading.get_ident()
    finally:
        await config.get_engine().dispose()


async def test_a_driver_read_takes_lists_through_one_of(client: Client, settings: Settings) -> None:
    """A list given to `one_of` (an array on PostgreSQL, spread into `?`s on SQLite) matches
    exactly its values, an empty one nobody, beside scalar parameters before and after it;
    an expanding `IN` of its own is refused (its text would change with each length)."""
    people = [await register(client, f"listed_{n}") for n in range(3)]
    await drain_jobs(client)
    read = DriverRead(
        select(User.handle)
        .where(
            User.handle != bindparam("not_before"),
            one_of(User.id, "ids"),
            User.handle != bindparam("not_after"),
        )
        .order_by(User.handle)
    )
    config = build_sqlalchemy_config(settings)
    everyone = [UUID(person.id) for person in people]
    try:
        async with config.create_session_maker()() as session:

            async def handles(ids: list[UUID], skipped: str = "") -> list[str]:
                found = await read.all(session, not_before=skipped, ids=ids, not_after="")
                return [row.handle for row in found]

            assert await handles([everyone[0], everyone[2]]) == ["listed_0", "listed_2"]
            assert await handles([]) == []
            assert await handles(everyone + everyone[:2]) == ["listed_0", "listed_1", "listed_2"]
            assert await handles(everyone, skipped="listed_1") == ["listed_0", "listed_2"]
            expanding = DriverRead(select(User.handle).where(User.id.in_(bindparam("ids"))))
            with pytest.raises(ValueError, match="only through one_of"):
                await expanding.all(session, ids=everyone)
    finally:
        await config.get_engine().dispose()


async def test_a_driver_read_sees_the_sessions_pending_changes(
    client: Client, settings: Settings
) -> None:
    me = await register(client, "pending_reader")
    await drain_jobs(client)
    read = DriverRead(select(User.bio).where(User.id == bindparam("user_id")))
    config = build_sqlalchemy_config(settings)
    try:
        async with config.create_session_maker()() as session:
            user = await session.get(User, UUID(me.id))
            assert user is not None
            user.bio = "changed, not yet flushed"
            assert await read.first(session, user_id=user.id) == ("changed, not yet flushed",)
            await session.rollback()
    finally:
        await config.get_engine().dispose()


async def test_a_driver_read_first_in_a_transaction_begins_it(
    client: Client, settings: Settings
) -> None:
    """SQLAlchemy's asyncpg adapter begins a transaction with its first statement; a driver
    read that comes first begins it itself, on the driver: the lock it takes holds until the
    session ends, and the session's rollback ends it. (On SQLite the session's `BEGIN` comes
    before any statement.) This holds us to the adapter's private `_start_transaction`."""
    me = await register(client, "locking_reader")
    await drain_jobs(client)
    locked = select(User.bio).where(User.id == bindparam("user_id"))
    read = DriverRead(locked.with_for_update())
    config = build_sqlalchemy_config(settings)
    try:
        async with config.create_session_maker()() as session:
            with counted_statements() as through_session:
                assert await read.first(session, user_id=UUID(me.id)) == ("",)
            assert [sql for sql in through_session if not sql.startswith("BEGIN")] == []
            if not settings.is_sqlite:
                pooled = await (await session.connection()).get_raw_connection()
                driver = pooled.driver_connection
                assert driver.is_in_transaction()
                async with config.create_session_maker()() as other:
                    with pytest.raises(DBAPIError, match="could not obtain lock"):
                        await other.execute(
                            locked.with_for_update(nowait=True), {"user_id": UUID(me.id)}
                        )
            await session.rollback()
            if not settings.is_sqlite:
                assert not driver.is_in_transaction()
    finally:
        await config.get_engine().dispose()


async def test_a_driver_write_reads_the_rows_as_they_were_and_leaves_them_written(
    client: Client, settings: Settings
) -> None:
    """One statement on PostgreSQL, the read first on SQLite: the read sees the rows before
    the writes either way, and a value written into the statement itself is written too."""
    me, other = await register(client, "driver_writer"), await register(client, "other_row")
    await drain_jobs(client)
    names = (
        select(User.handle, User.bio, User.display_name)
        .where((User.id == bindparam("user_id")) | (User.id == bindparam("other_id")))
        .order_by(User.handle)
    )
    write = DriverWrite(
        [
            update(User)
            .where(User.id == bindparam("user_id"))
            .values(bio=bindparam("bio"), updated_at=bindparam("now")),
            update(User)
            .where(User.id == bindparam("other_id"))
            .values(display_name="Written Here", updated_at=bindparam("now")),
        ],
        then=names,
    )
    facts = {"user_id": UUID(me.id), "other_id": UUID(other.id), "now": datetime.now(UTC)}
    config = build_sqlalchemy_config(settings)
    try:
        async with config.create_session_maker()() as session:
            await session.execute(select(1))  # PostgreSQL's transaction has begun: the driver's
            with counted_statements() as through_session:
                before = await write.all(session, bio="written", **facts)
            assert through_session == []
            assert before == [
                ("driver_writer", "", "driver_writer"),
                ("other_row", "", "other_row"),
            ]
            after = [tuple(row) for row in await session.execute(names, facts)]
            assert after == [
                ("driver_writer", "written", "driver_writer"),
                ("other_row", "", "Written Here"),
            ]
            await session.commit()
    finally:
        await config.get_engine().dispose()


async def test_a_driver_write_that_fails_finishes_through_the_session(
    client: Client, settings: Settings
) -> None:
    """On SQLite the writes from the failed one on run through the session (those before it
    stand, none runs twice); on PostgreSQL the failure aborted the transaction, so the rerun
    raises SQLAlchemy's error, which the app turns into a problem, and nothing is written."""
    me = await register(client, "failing_writer")
    await drain_jobs(client)
    counted = select(User.bio).where(User.id == bindparam("user_id"))
    append = (
        update(User)
        .where(User.id == bindparam("user_id"))
        .values(bio=User.bio + bindparam("mark"), updated_at=bindparam("now"))
    )
    write = DriverWrite([append, append], then=counted)
    facts = {"user_id": UUID(me.id), "now": datetime.now(UTC), "mark": "x"}
    config = build_sqlalchemy_config(settings)
    try:
        async with config.create_session_maker()() as session:
            await session.execute(select(1))
            dialect = session.bind.dialect
            if settings.is_sqlite:
                first, second = write._for(dialect)
                write._compiled[dialect.name] = [first, replace(second, sql="UPDATE nonsense")]
                assert await write.all(session, **facts) == [("",)]
                assert await session.scalar(counted, facts) == "xx"  # each write once
            else:
                broken = replace(write.combined._for(dialect), sql="SELECT nonsense")
                write.combined._compiled[dialect.name] = broken
                with pytest.raises(DBAPIError):
                    await write.all(session, **facts)
            await session.rollback()
            assert await session.scalar(counted, facts) == ""
    finally:
        await config.get_engine().dispose()


@pytest.mark.parametrize("kind", ["insert", "update"])
async def test_a_driver_write_refuses_a_column_whose_default_it_would_leave_out(
    client: Client, settings: Settings, kind: str
) -> None:
    me = await register(client, f"default_{kind}")
    await drain_jobs(client)
    leaves_out = (
        update(User).where(User.id == bindparam("user_id")).values(bio=bindparam("bio"))
        if kind == "update"
        else insert(AuthSession).values(user_id=bindparam("user_id"))
    )
    write = DriverWrite([leaves_out], then=select(User.bio).where(User.id == bindparam("user_id")))
    config = build_sqlalchemy_config(settings)
    try:
        async with config.create_session_maker()() as session:
            with pytest.raises(ValueError, match=r"give .*updated_at"):
                await write.all(session, user_id=UUID(me.id), bio="never")
    finally:
        await config.get_engine().dispose()


async def test_one_of_a_list_is_one_statement_text_on_postgresql_whatever_its_length(
    client: Client, settings: Settings
) -> None:
    """`one_of` matches exactly the listed values (none for an empty list); on PostgreSQL its
    text never changes with the list's length, so the driver prepares it once."""
    people = [await register(client, f"one_of_{n}") for n in range(3)]
    await drain_jobs(client)
    handles = select(User.handle).where(one_of(User.id, "ids")).order_by(User.handle)
    ids = [UUID(person.id) for person in people]
    config = build_sqlalchemy_config(settings)
    try:
        async with config.create_session_maker()() as session:
            with counted_statements() as run:
                found = [
                    list(await session.scalars(handles, {"ids": some}))
                    for some in ([], ids[:1], [ids[0], ids[2]], ids)
                ]
    finally:
        await config.get_engine().dispose()
    assert found == [
        [],
        ["one_of_0"],
        ["one_of_0", "one_of_2"],
        ["one_of_0", "one_of_1", "one_of_2"],
    ]
    texts = {statement for statement in run if not statement.startswith("BEGIN")}
    assert len(texts) == (4 if settings.is_sqlite else 1), texts


async def test_my_account_is_one_statement_after_the_sign_in_check(client: Client) -> None:
    """`GET /users/me` shows other domains' parts (counts, plan) without a round trip each."""
    me = await register(client, "one_read")
    await drain_jobs(client)
    with statements_run() as statements:
        response = await client.get("/api/v1/users/me", headers=me.headers)
    assert response.status_code == 200
    assert set(response.json()["counts"]) == {"followers", "following"}
    assert response.json()["plan"]["tier"] == "free"
    assert statements == ["sign-in check", "account"]
