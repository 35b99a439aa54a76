"""Shared inputs and probes for the astro API tests."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.platform.jobs import JobContext
from selflink_api.settings import Settings
from tests.api.conftest import drain_jobs
from tests.api.people import Person, register
from tests.api.test_auth import sql

T = TypeVar("T")
Client = AsyncTestClient[Litestar]

BERLIN_1990 = {"date": "1990-05-17", "time": "14:30", "place": "Berlin", "country": "DE"}
PARIS_1988 = {"date": "1988-11-02", "time": "06:05:30", "latitude": 48.8566, "longitude": 2.3522}


async def put_birth(client: Client, person: Person, birth: dict[str, Any]) -> dict[str, Any]:
    response = await client.put("/api/v1/astro/birth-data", headers=person.headers, json=birth)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def person_born(client: Client, handle: str, birth: dict[str, Any]) -> Person:
    """Someone registered, with their birth data stored."""
    person = await register(client, handle)
    await put_birth(client, person, birth)
    return person


async def natal(client: Client, person: Person, **query: str) -> dict[str, Any]:
    """My natal chart, then the job caching it (a read never writes) has run."""
    response = await client.get("/api/v1/astro/natal/me", headers=person.headers, params=query)
    assert response.status_code == 200, response.text
    await drain_jobs(client)
    return dict(response.json())


async def cached_rows(settings: Settings) -> list[Any]:
    return await sql(
        settings,
        "SELECT options_key, input_hash_index, rules_version, ephemeris, key_id, ciphertext "
        "FROM astro_chart_cache ORDER BY options_key",
    )


async def on_app_loop(client: Client, job: Callable[[JobContext], Awaitable[T]]) -> T:
    """Run `job` with a job context on the loop the app (and its database pool) runs on."""
    context = client.app.state.job_runner.context

    async def run() -> T:
        return await job(context)

    return await anyio.to_thread.run_sync(client.blocking_portal.call, run)


def problem_error(response: Any) -> dict[str, Any]:
    """The single field error of a 422 problem."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"] == "urn:selflink:problem:validation-error"
    [error] = body["errors"]
    return dict(error)
