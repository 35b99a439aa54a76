"""API fixtures: every API test runs against a freshly migrated SQLite file and PostgreSQL db.

Each test session migrates one template per engine (the real Alembic migrations, never
`create_all`); each test gets its own copy, so tests never see each other's rows.

Background jobs run in-process; a test client from `app_client` (the `client` fixture is one)
fails the test when any attempt of a job it enqueued fails. `drain_jobs` raises the failed
attempts as an `ExceptionGroup`, and so does closing the client for jobs nobody drained.
A test about failing jobs expects them explicitly: `with pytest.RaisesGroup(...)` around
`drain_jobs`.
"""

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.app import create_app
from selflink_api.platform.database import build_sqlalchemy_config, upgrade_schema
from selflink_api.platform.jobs import InProcessJobRunner
from selflink_api.settings import Settings, load_settings
from tests.api.people import SECRETS
from tests.api.services import (
    REDIS_URL,
    create_postgres_database,
    drop_postgres_database,
    postgres_dsn,
    require_postgres,
    require_redis,
    run_sync,
)

DATABASES = ("sqlite", "postgres")
SUITE_LOG = Path(tempfile.gettempdir()) / f"selflink-test-suite-{os.getpid()}.log"
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hmac-and-jwt"
MEDIA_ROOT = Path(tempfile.gettempdir()) / f"selflink-test-media-{os.getpid()}"
"""Where the suite's apps store media (never ./var/media); ids never repeat across tests."""


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def suite_log_holds_no_secrets() -> Iterator[None]:
    """Every app of the suite logs to one file; no email, password or token may appear in it."""
    SUITE_LOG.unlink(missing_ok=True)
    yield
    log = SUITE_LOG.read_text(encoding="utf-8") if SUITE_LOG.exists() else ""
    leaked = sorted(secret for secret in SECRETS if secret in log)
    SUITE_LOG.unlink(missing_ok=True)
    assert not leaked, f"{len(leaked)} secrets appear in the suite's logs, e.g. {leaked[0][:6]}..."


@pytest.fixture(autouse=True)
def database_config_keys_forgotten() -> None:
    """advanced-alchemy keeps, per process, every key each database config ever took, in sets
    that never shrink, and finds the next free one by recursion: past ~940 configs in one test
    process (an app, and helpers' configs, per test) that recursion overflows. A process
    serving SelfLink builds one config; each test starts from none."""
    for registry in (
        "_SESSION_SCOPE_KEY_REGISTRY",
        "_ENGINE_APP_STATE_KEY_REGISTRY",
        "_SESSIONMAKER_APP_STATE_KEY_REGISTRY",
    ):
        getattr(SQLAlchemyAsyncConfig, registry).clear()


@pytest.fixture(scope="session", autouse=True)
def media_root_removed() -> Iterator[None]:
    """The media files the suite's apps stored go with the suite."""
    yield
    shutil.rmtree(MEDIA_ROOT, ignore_errors=True)


def logged(event: str, *, level: str, **fields: str) -> bool:
    """Whether this process's apps logged `event` at `level` with these fields."""
    lines = SUITE_LOG.read_text(encoding="utf-8").splitlines() if SUITE_LOG.exists() else []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        expected = {"event": event, "level": level, **fields}
        if all(entry.get(name) == value for name, value in expected.items()):
            return True
    return False


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "SELFLINK_PROFILE": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "SECRET_KEY": TEST_SECRET_KEY,
        "SELFLINK_MIGRATE_ON_STARTUP": False,
        "SELFLINK_RUN_SCHEDULES": False,
        "SELFLINK_WORKER_NICENESS": 0,  # a worker's start-up in a test must not renice the test
        "RATE_LIMIT_PER_MINUTE": 100_000,
        "LOG_LEVEL": "INFO",
        "LOG_FILE": str(SUITE_LOG),
        "TRUSTED_PROXIES": "",
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 1024,
        "ARGON2_PARALLELISM": 1,
        "AUTH_ATTEMPTS_PER_IP": 10_000,
        "AUTH_ATTEMPTS_PER_ACCOUNT": 10_000,
        "MEDIA_STORAGE_URL": MEDIA_ROOT.as_uri(),
    }
    values.update(overrides)
    return load_settings(_env_file=None, **values)


def migrate(database_url: str) -> None:
    config = build_sqlalchemy_config(make_settings(database_url))
    try:
        upgrade_schema(config)
    finally:
        run_sync(config.get_engine().dispose)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    require_postgres()
    name = create_postgres_database()
    try:
        migrate(postgres_dsn(name))
        yield name
    finally:
        drop_postgres_database(name)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind, private to this test."""
    if request.param == "sqlite":
        path = tmp_path / "selflink.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = create_postgres_database(template=request.getfixturevalue("postgres_template"))
    try:
        yield postgres_dsn(name)
    finally:
        drop_postgres_database(name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def postgres_settings(postgres_template: str) -> Iterator[Settings]:
    """A migrated PostgreSQL database of its own, for tests of concurrent writers (SQLite
    serialises writers: no race there)."""
    name = create_postgres_database(template=postgres_template)
    try:
        yield make_settings(postgres_dsn(name))
    finally:
        drop_postgres_database(name)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@contextlib.asynccontextmanager
async def app_client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A test client of `app` whose in-process jobs must not fail; on closing, after the app's
    shutdown waited for its jobs, it raises the failed attempts nobody drained."""
    runner = app.state.job_runner
    if isinstance(runner, InProcessJobRunner):
        runner.failures = []
    async with AsyncTestClient(app=app) as test_client:
        yield test_client
    if isinstance(runner, InProcessJobRunner):
        runner.raise_failures()


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with app_client(app) as test_client:
        yield test_client


async def drain_jobs(client: AsyncTestClient[Litestar]) -> None:
    """Wait for the in-process jobs, on the loop the test client runs the app on; raises the
    attempts that failed meanwhile as an `ExceptionGroup`."""
    runner = client.app.state.job_runner
    await anyio.to_thread.run_sync(client.blocking_portal.call, runner.drain)


@pytest.fixture
def redis_url() -> str:
    require_redis()
    return REDIS_URL
