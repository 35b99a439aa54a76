"""A database error never writes a query's values to the logs, from a request or from a job.

asyncpg's messages quote values (`invalid input for query argument $1: '...'`, `Key (v)=(...)
already exists`) although SQLAlchemy's `hide_parameters` keeps them out of its own text.
"""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from litestar import Litestar, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.platform.jobs import JobContext, background_job
from tests.api.conftest import SUITE_LOG, drain_jobs
from tests.api.services import create_postgres_database, drop_postgres_database, postgres_dsn

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


@get("/api/v1/probe/as-number", exclude_from_auth=True)
async def as_number(
    value: FromQuery[str], db_session: NamedDependency[AsyncSession]
) -> dict[str, Any]:
    await db_session.execute(text("SELECT CAST(:value AS integer)"), {"value": value})
    return {}


@get("/api/v1/probe/twice", exclude_from_auth=True)
async def twice(value: FromQuery[str], db_session: NamedDependency[AsyncSession]) -> dict[str, Any]:
    await db_session.execute(text("CREATE TEMP TABLE probe_unique (v text UNIQUE)"))
    await db_session.execute(text("INSERT INTO probe_unique VALUES (:v), (:v)"), {"v": value})
    return {}


@background_job("probe.twice", attempts=1)
async def twice_later(context: JobContext, value: str) -> None:
    async with context.session() as session:
        await session.execute(text("CREATE TEMP TABLE probe_unique (v text UNIQUE)"))
        await session.execute(text("INSERT INTO probe_unique VALUES (:v), (:v)"), {"v": value})


@pytest.fixture
def database_url(postgres_template: str) -> Iterator[str]:
    """PostgreSQL only: asyncpg's messages quote values, SQLite's quote none."""
    name = create_postgres_database(template=postgres_template)
    try:
        yield postgres_dsn(name)
    finally:
        drop_postgres_database(name)


@pytest.fixture
def app(app: Litestar) -> Litestar:
    app.register(as_number)
    app.register(twice)
    return app


def log_entries(event: str) -> list[dict[str, Any]]:
    lines = SUITE_LOG.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if f'"event": "{event}"' in line]


def secret_value() -> str:
    return f"secret-value-{uuid.uuid4().hex}"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/probe/as-number", "DataError"),
        ("/api/v1/probe/twice", "sqlstate=23505, constraint_name=probe_unique_v_key"),
    ],
)
async def test_a_failed_query_is_logged_without_its_values(
    client: Client, path: str, expected: str
) -> None:
    value = secret_value()
    response = await client.get(path, params={"value": value})
    assert response.status_code == 500
    assert value not in response.text
    assert value not in SUITE_LOG.read_text(encoding="utf-8")
    (entry,) = [e for e in log_entries("unhandled_error") if e.get("path") == path][-1:]
    assert expected in entry["exception"]
    assert "[message withheld]" in entry["exception"]
    assert "Traceback (most recent call last)" in entry["exception"]


async def test_a_failed_job_is_logged_without_its_values(client: Client) -> None:
    value = secret_value()
    runner = client.app.state.job_runner
    await anyio.to_thread.run_sync(
        client.blocking_portal.call, runner.submit, twice_later, {"value": value}
    )
    with pytest.RaisesGroup(IntegrityError):  # the failure is the point: opted in
        await drain_jobs(client)
    assert value not in SUITE_LOG.read_text(encoding="utf-8")
    failures = [e for e in log_entries("job_failed") if e.get("job") == "probe.twice"]
    assert failures
    assert "sqlstate=23505" in failures[-1]["exception"]
