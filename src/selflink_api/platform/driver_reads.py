"""Hot reads run on the database driver's own connection, compiled once per dialect.

A statement through SQLAlchemy's session costs about 200 µs on asyncpg, of which the driver
and PostgreSQL take 35; through a Core connection 125 µs (`benchmarks/README.md`). That is
most of a signed-in read's cost, since every request checks its sign-in and `GET /users/me`
reads the account with other domains' parts of it. `DriverRead` keeps SQLAlchemy for what it
is good at, building the statement and converting values (the column types' own bind and
result processors, so a UUID on SQLite is still 16 bytes), and skips its per-execution
machinery. On SQLite it also skips aiosqlite's thread (`_sqlite_connection`).

A `DriverRead` runs in the session's connection and transaction (on SQLite the reader or
writer turn the session took), after flushing the session's pending changes as a query through
the session would. On PostgreSQL, SQLAlchemy's asyncpg adapter sends `BEGIN` only with the
transaction's first statement; a read that comes first sends it itself, as that statement
would (`_begin`). Statements it runs reach no SQLAlchemy event or `DATABASE_ECHO` log, so
only reads of a few rows, by key, belong here. If the driver fails (a dropped connection,
PostgreSQL restarting), the statement runs again through the session, so the failure surfaces
as the SQLAlchemy error the rest of the app turns into a 503, and the pool learns of it.

`DriverWrite` does the same for the few rows one hot write changes (a message's send): on
PostgreSQL the writes and a read become one statement, the writes as data-modifying CTEs of
the read; on SQLite the read, then the writes one after another, on the loop's thread.
"""

import contextlib
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import CompoundSelect, Insert, Select, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import SelectBase

from selflink_api.platform.database import one_of_lists

logger = structlog.get_logger("selflink.database")

Processor = Callable[[Any], Any] | None
Row = Any
"""A named tuple of the selected columns, by their names (`row.handle`) or positions."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: Sequence[str]
    fixed: Mapping[str, Any]
    """Values bound in the statement itself (`User.status == 'active'`)."""
    binds: Mapping[str, Processor]
    results: Sequence[Processor]
    numbered: bool
    """asyncpg's `$1` arguments, else the DB-API's sequence (aiosqlite)."""
    lists: frozenset[str] = frozenset()
    """Parameters that are lists (`one_of` on SQLite): each becomes as many `?` as it holds."""

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name in self.names:
            value = params[name] if name in params else self.fixed[name]
            process = self.binds[name]
            values.append(value if process is None else process(value))
        return values

    def with_lists(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The statement and its arguments, each list spread into its own `?`s (as SQLAlchemy
        renders an expanding `IN`; an empty list matches nothing, as there)."""
        sql, values = self.sql, []
        for name in self.names:  # in the order the parameters appear in the statement
            value = params[name] if name in params else self.fixed[name]
            process = self.binds[name]
            if name not in self.lists:
                values.append(value if process is None else process(value))
                continue
            items = [item if process is None else process(item) for item in value]
            spread = ", ".join("?" * len(items)) if items else _EMPTY_SET
            sql = sql.replace(f"(__[POSTCOMPILE_{name}])", f"({spread})", 1)
            values.extend(items)
        return sql, values

    def values(self, record: Sequence[Any]) -> list[Any]:
        return [
            value if process is None else process(value)
            for process, value in zip(self.results, record, strict=True)
        ]


_EMPTY_SET = "SELECT 1 FROM (SELECT 1) WHERE 1!=1"
"""What SQLAlchemy puts in an `IN` of an empty list on SQLite."""


class DriverRead:
    """A SELECT (or a UNION of them) of columns with scalar parameters or lists given to
    `one_of` (no other expanding `IN`), run as `await READ.first(session, user_id=...)` or
    `.all(...)`; rows are named tuples of the selected columns (label a column without a
    name)."""

    def __init__(
        self, statement: Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]]
    ) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        names = [str(column.key) for column in statement.selected_columns]
        self._row: Any = namedtuple("Row", names, rename=True)  # type: ignore[misc]

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self.statement, dialect, lists=True)
        return compiled

    async def all(self, session: AsyncSession, **params: Any) -> list[Row]:
        if session.autoflush and (session.new or session.dirty or session.deleted):
            await session.flush()  # as the session would before a query: reads see the changes
        connection = await session.connection()
        compiled = self._for(connection.dialect)
        pooled = await connection.get_raw_connection()
        driver: Any = pooled.driver_connection
        adapted: Any = pooled.dbapi_connection
        began = False
        try:
            if compiled.numbered:
                began = await _begin(adapted)
                records = await driver.fetch(compiled.sql, *compiled.arguments(params))
            else:
                sql, arguments = compiled.with_lists(params)
                records = _sqlite_connection(driver).execute(sql, arguments).fetchall()
        except Exception as exc:  # rerun through the session, which raises it as the app expects
            logger.warning("driver_read_through_session", error=type(exc).__name__)
            if began:  # the session begins afresh, so it raises the real error, not "aborted"
                await _undo_begin(adapted)
            return await self._through_session(session, params)
        return [self._row._make(compiled.values(record)) for record in records]

    async def _through_session(self, session: AsyncSession, params: dict[str, Any]) -> list[Row]:
        return [self._row._make(row) for row in await session.execute(self.statement, params)]

    async def one(self, session: AsyncSession, **params: Any) -> Row:
        """The only row, for statements that always have one (counts, `EXISTS`)."""
        (row,) = await self.all(session, **params)
        return row

    async def first(self, session: AsyncSession, **params: Any) -> Row | None:
        rows = await self.all(session, **params)
        return rows[0] if rows else None


class DriverWrite:
    """Inserts and updates of rows by key, and a read of the rows as they were before them, in
    the session's transaction, as `await WRITE.all(session, **params)` (the read's rows). On
    PostgreSQL this is one round trip: the writes are data-modifying CTEs of the read, which
    sees the statement's snapshot. On SQLite the read runs first, then the writes, one after
    another on the connection, on the loop's thread as `DriverRead` does. Two writes never
    change the same row: PostgreSQL applies only one of them. The driver computes no
    SQLAlchemy default, so every column that has one is given (compiling refuses a write that
    leaves one out).

    When the driver raises, what it did not finish runs again through the session, which
    raises the error the way the app expects (a lost connection, a 503): on PostgreSQL the
    whole statement (its failure aborted the transaction, so the rerun fails too), on SQLite
    the writes from the one that failed (those before it stand), then nothing is written
    twice."""

    def __init__(
        self,
        writes: Sequence[Insert | Update],
        then: Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]],
    ) -> None:
        self.writes = writes
        self.read = DriverRead(then)
        ctes = [write.cte(f"write_{position}") for position, write in enumerate(writes)]
        self.combined = DriverRead(then.add_cte(*ctes))
        self._compiled: dict[str, list[_Compiled]] = {}

    def _for(self, dialect: Dialect) -> list[_Compiled]:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = [
                _compile_write(write, dialect) for write in self.writes
            ]
        return compiled

    async def all(self, session: AsyncSession, **params: Any) -> list[Row]:
        connection = await session.connection()
        writes = self._for(connection.dialect)  # refuses a write leaving a default out
        if connection.dialect.name == "postgresql":
            return await self.combined.all(session, **params)
        rows = await self.read.all(session, **params)  # flushes what the session holds
        pooled = await connection.get_raw_connection()
        sqlite = _sqlite_connection(pooled.driver_connection)
        done = 0
        try:
            for write in writes:
                sqlite.execute(write.sql, write.arguments(params))
                done += 1
        except Exception as exc:  # rerun through the session, which raises it as the app expects
            logger.warning("driver_write_through_session", error=type(exc).__name__)
            for statement in self.writes[done:]:
                await session.execute(statement, params)
        return rows


async def _begin(adapted: Any) -> bool:
    """Begin the session's transaction on PostgreSQL, as SQLAlchemy's asyncpg adapter does
    before the first statement it runs (its `_start_transaction`: `BEGIN` with the session's
    isolation level, tracked so the session's commit or rollback ends it); True if it did.
    Running that statement through the session instead cost a send about a tenth of the API's
    CPU (benchmarks/README.md). In autocommit (a GET's reads) there is nothing to begin. A
    test holds SQLAlchemy's private adapter to this (`test_database_reads`)."""
    if adapted._transaction is not None:
        return False
    await adapted._start_transaction()
    return adapted._transaction is not None


async def _undo_begin(adapted: Any) -> None:
    """Roll back the transaction `_begin` began, after the read in it failed, so the read's
    rerun through the session begins one of its own, as when it came first there (it answers,
    or raises the real error rather than "current transaction is aborted"). A connection
    already lost cannot roll back; the rerun then fails with it."""
    transaction, adapted._transaction = adapted._transaction, None
    with contextlib.suppress(Exception):
        await transaction.rollback()


def _compile_write(statement: Insert | Update, dialect: Dialect) -> _Compiled:
    compiled = _compile(statement, dialect)
    sql = statement.compile(dialect=dialect)
    assert isinstance(sql, SQLCompiler)  # an INSERT or UPDATE compiles to one
    defaulted = [*sql.insert_prefetch, *sql.update_prefetch]  # Python's, not the server's
    if defaulted:
        msg = f"give {', '.join(column.name for column in defaulted)}: the driver runs no defaults"
        raise ValueError(msg)
    return compiled


def _sqlite_connection(driver: Any) -> sqlite3.Connection:
    """aiosqlite's `sqlite3` connection, read on the event loop's thread rather than handed to
    the connection's own thread: a read by key takes SQLite microseconds, and the hop to that
    thread and back (a queue, a wake-up, the GIL handed over twice) cost a signed-in read on
    SQLite a third of its rate. The connection is idle meanwhile: the session awaited its
    earlier statements, `BEGIN` included, and SQLAlchemy opens it without the same-thread
    check. In WAL mode a reader waits for no writer."""
    connection: sqlite3.Connection = driver._conn  # aiosqlite's handle on it
    return connection


def _compile(
    statement: Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]] | Insert | Update,
    dialect: Dialect,
    *,
    lists: bool = False,
) -> _Compiled:
    """`lists`: a read may take the lists of its `one_of`s (an array on PostgreSQL, an
    expanding `IN` on SQLite); any other expanding `IN` is refused, since on PostgreSQL its
    text would change with each list's length."""
    if dialect.driver not in {"asyncpg", "aiosqlite"}:
        msg = f"driver statements run on asyncpg or aiosqlite, not {dialect.driver}"
        raise NotImplementedError(msg)
    compiled = statement.compile(dialect=dialect)
    expanding = frozenset(name for name, bind in compiled.binds.items() if bind.expanding)
    if expanding and (not lists or not expanding <= one_of_lists(statement)):
        msg = "driver statements take lists only through one_of, in reads"
        raise ValueError(msg)
    names = list(compiled.positiontup or ())
    return _Compiled(
        sql=compiled.string,
        names=names,
        fixed={name: bind.value for name, bind in compiled.binds.items() if not bind.required},
        binds={
            name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        },
        results=[
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in (statement.selected_columns if isinstance(statement, SelectBase) else ())
        ],
        numbered=dialect.driver == "asyncpg",
        lists=expanding,
    )
