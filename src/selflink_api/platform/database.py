"""Database engine, sessions and migrations for PostgreSQL (asyncpg) and embedded SQLite."""

import asyncio
import contextlib
import importlib
import sqlite3
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advanced_alchemy.alembic.commands import AlembicCommands
from advanced_alchemy.base import UUIDv7AuditBase, metadata_registry
from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from advanced_alchemy.types import GUID
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Boolean, ColumnElement, Connection, MetaData, any_, bindparam, event
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.visitors import InternalTraversal, iterate
from sqlalchemy.types import TypeEngine
from sqlalchemy.util.concurrency import await_only, in_greenlet

from selflink_api.settings import Settings

if TYPE_CHECKING:
    from selflink_api.platform.domains import Domain

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"
ALEMBIC_VERSION_TABLE = "alembic_version"

PLATFORM_MODEL_MODULES = ("selflink_api.platform.appendonly",)
"""The platform's own tables; each domain declares its own in its `Domain.models`."""

Base = UUIDv7AuditBase
"""Domain tables inherit UUIDv7 ids and timezone-aware UTC `created_at` / `updated_at`."""

JsonDocument = JSON().with_variant(JSONB(), "postgresql")
"""A JSON column: JSONB on PostgreSQL, JSON text on SQLite."""


def load_models(domains: Iterable["Domain"]) -> MetaData:
    """The shared metadata, knowing the platform's tables and those of `domains`' models.

    Alembic and the drift test see exactly these.
    """
    for name in PLATFORM_MODEL_MODULES:
        importlib.import_module(name)
    for domain in domains:
        for module in domain.models:
            importlib.import_module(module.__name__)
    return metadata_registry.get(None)


def migration_only_names(domains: Iterable["Domain"]) -> frozenset[str]:
    """What the domains' migrations build outside the models (`Domain.migration_only`)."""
    return frozenset().union(*(domain.migration_only for domain in domains))


def include_modelled(domains: Iterable["Domain"]) -> Callable[..., bool]:
    """Alembic's `include_object` for comparing the database with the models: everything but
    what a domain declares `migration_only` (a generated tsvector column, a GIN index, an FTS5
    table and its shadow tables), which no model can express and whose absence from the models
    is not drift."""
    skipped = migration_only_names(domains)

    def include_object(
        obj: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
    ) -> bool:
        qualified = f"{obj.table.name}.{name}" if type_ == "column" else name
        return qualified not in skipped

    return include_object


reading_only: ContextVar[bool] = ContextVar("reading_only", default=False)
"""Set while serving a GET or HEAD request, which never writes: SQLite may then start a reader."""


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """Sessions begun in this block only read, as a GET's: on SQLite a deferred reader beside
    the one writer (no writer's turn to wait for), on PostgreSQL autocommit."""
    token = reading_only.set(True)
    try:
        yield
    finally:
        reading_only.reset(token)


AUDITED_READ = "audited_read"
"""Route opt of the few GETs that append an audit record in their own transaction (staff
reading personal data): they start as writers, since a SQLite reader that turns writer fails
with SQLITE_BUSY whenever another writer committed since its first read."""


def _postgres_reads_autocommit(
    dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry, _proxy: Any
) -> None:
    """On PostgreSQL, a GET or HEAD reads outside a transaction (autocommit).

    In PostgreSQL's default READ COMMITTED each statement sees its own snapshot even inside a
    transaction, so reading without one sees exactly the same rows and saves the BEGIN and
    COMMIT round trips of every read. Set at each checkout, so a connection serves a write
    request next in a transaction again. SQLite keeps its deferred reader (`SQLiteWriters`).
    """
    dbapi_connection.autocommit = reading_only.get()


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("foreign_keys = ON", "journal_mode = WAL", "busy_timeout = 10000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves


SQLITE_WRITER_WAIT_SECONDS = 10.0
"""How long a writer waits for its turn (as SQLite's own `busy_timeout`) before failing."""


class SQLiteWriters:
    """This process's SQLite writers take turns in the event loop, first come first served.

    SQLite has one writer at a time. A transaction that writes takes the write lock at its
    `BEGIN IMMEDIATE` (not at its first write: a deferred transaction that reads and then
    writes can fail with SQLITE_BUSY when another writer committed meanwhile). Left to
    themselves, concurrent writers would each retry that lock in SQLite's busy handler,
    sleeping up to 100 ms between tries: seconds of latency under load while the CPU idles.
    Here each waits on an asyncio lock instead and begins the moment the previous writer
    commits or rolls back; other processes (Redis workers, operator commands) still meet
    the busy handler. A GET or HEAD never writes (a test holds every route to it), so it
    starts a deferred reader, which in WAL mode runs beside the writer and waits for nobody.
    """

    def __init__(self) -> None:
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def begin(self, connection: Connection) -> None:
        if reading_only.get():
            connection.exec_driver_sql("BEGIN")
            return
        if in_greenlet():
            turn = self._turns.setdefault(asyncio.get_running_loop(), asyncio.Lock())
            try:
                await_only(asyncio.wait_for(turn.acquire(), SQLITE_WRITER_WAIT_SECONDS))
            except TimeoutError:
                msg = "database is locked (no turn to write)"
                raise OperationalError(
                    "BEGIN IMMEDIATE", None, sqlite3.OperationalError(msg)
                ) from None
            connection.info[_WRITER_TURN] = turn
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.end(connection)
            raise

    @staticmethod
    def end(connection: Connection) -> None:
        """After COMMIT or ROLLBACK: the next writer's turn. (A connection already invalidated
        has no info to read; `returned` passes its turn when the pool takes it back.)"""
        if not connection.invalidated:
            _pass_turn(connection.info)

    @staticmethod
    def returned(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        """A connection back in the pool never keeps a turn, however its transaction ended."""
        _pass_turn(record.info)


_WRITER_TURN = "selflink_sqlite_writer_turn"


def _pass_turn(info: dict[Any, Any]) -> None:
    turn = info.pop(_WRITER_TURN, None)
    if turn is not None:
        turn.release()


def build_sqlalchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    """The one place engines are configured; the API, workers and tools all come through here.

    The API ends each request's session itself (`platform/http.py`, `RequestSessions`)."""
    engine_options: dict[str, Any] = {
        "echo": settings.database_echo,
        "hide_parameters": True,  # bound values (emails, tokens) never reach logs or errors
        # No ping before each checkout (two round trips on asyncpg): a connection found dead
        # fails its request with a 503 and invalidates the whole pool, so the next ones
        # reconnect (docs/operations.md, "Scaling out").
        "pool_pre_ping": False,
    }
    if settings.is_sqlite:
        _ensure_sqlite_directory(settings.sqlalchemy_url)
    if not settings.sqlalchemy_url.endswith(":memory:"):  # one connection, no pool to size
        # Kept connections cover a process's usual concurrency (20 requests in flight): an
        # overflow connection is closed when returned, so a pool smaller than the load opens and
        # closes a connection (a PostgreSQL backend; a SQLite file, its thread and pragmas)
        # every few requests. Overflow covers bursts.
        engine_options["pool_size"] = settings.database_pool_size
        engine_options["max_overflow"] = settings.database_pool_size // 2
    config = SQLAlchemyAsyncConfig(
        connection_string=settings.sqlalchemy_url,
        engine_config=EngineConfig(**engine_options),
        # Advanced Alchemy's cache invalidation listener runs at every commit; we use neither
        # its cache nor its file objects, and the check alone was 4% of a signed-in read.
        session_config=AsyncSessionConfig(
            expire_on_commit=False, info={"enable_cache_listener": False}
        ),
        enable_file_object_listener=False,
        session_dependency_key="db_session",
        set_default_exception_handler=False,
        create_all=False,
        alembic_config=AlembicAsyncConfig(
            script_location=str(MIGRATIONS_DIR),
            version_table_name=ALEMBIC_VERSION_TABLE,
            render_as_batch=True,
            compare_type=True,
        ),
    )
    if settings.is_sqlite:
        engine = config.get_engine().sync_engine
        writers = SQLiteWriters()
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", writers.begin)
        event.listen(engine, "commit", writers.end)
        event.listen(engine, "rollback", writers.end)
        event.listen(engine, "checkin", writers.returned)
    else:
        event.listen(config.get_engine().sync_engine, "checkout", _postgres_reads_autocommit)
    return config


def _ensure_sqlite_directory(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def compare_column_types(
    context: MigrationContext,
    _inspected_column: Any,
    _metadata_column: Any,
    _inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """Alembic's type comparison, minus a false alarm: SQLite reflects GUID's BINARY as NUMERIC.

    Returns False ("same") for that case and None ("use Alembic's default") otherwise.
    """
    if context.dialect.name == "sqlite" and isinstance(metadata_type, GUID):
        return False
    return None


def upgrade_schema(config: SQLAlchemyAsyncConfig, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic; blocking, so run it off the event loop."""
    AlembicCommands(sqlalchemy_config=config).upgrade(revision=revision)


class _OneOf(ColumnElement[bool]):
    """`one_of`: compiled per dialect below."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a predicate: SQLite gets no `= 1` after it
    _traverse_internals = [  # noqa: RUF012 (typed as a list by SQLAlchemy)
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name


def one_of(column: Any, name: str) -> ColumnElement[bool]:
    """`column IN :name`, the parameter a list. On PostgreSQL `column = ANY(:name)`, one array
    parameter: the statement's text is the same whatever the list's length, so asyncpg
    prepares it once and PostgreSQL plans it as a prepared statement, where an expanding `IN`
    made a new statement for every length (a batch of jobs' lists vary). Elsewhere an
    expanding `IN`."""
    return _OneOf(column, name)


def one_of_lists(statement: ClauseElement) -> set[str]:
    """The names of the `one_of` lists in `statement`, subqueries included."""
    return {element.name for element in iterate(statement) if isinstance(element, _OneOf)}


@compiles(_OneOf)
def _one_of_expanding(element: _OneOf, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw))


@compiles(_OneOf, "postgresql")
def _one_of_array(element: _OneOf, compiler: Any, **kw: Any) -> str:
    array = bindparam(element.name, type_=ARRAY(element.column.type))
    return str(compiler.process(element.column == any_(array), **kw))


def dialect_insert(session: AsyncSession) -> Any:
    """The session's dialect's `insert`, which has `on_conflict_do_nothing` and `_do_update`."""
    dialect = session.get_bind().dialect.name
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


def insert_unless_present(table: Any, *unique: str) -> dict[str, Any]:
    """Per dialect, `INSERT` of the `unique` columns (bound by their names) that a row already
    holding them leaves alone, `RETURNING` the new row's id (none when it existed). Built once,
    on the Core table: building it per request, and the ORM's bulk-insert path, cost about as
    much as running it."""
    return {
        name: insert(table)
        .values({column: bindparam(column) for column in unique})
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.c.id)
        for name, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
    }
