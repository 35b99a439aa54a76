"""A request's transaction commits before its answer leaves: a read never commits, a write
commits once, and a write whose commit fails is answered with a problem, never a 2xx."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.astro_helpers import Client
from tests.api.conftest import drain_jobs
from tests.api.people import register

pytestmark = pytest.mark.anyio


@contextmanager
def commits_seen(failure: Exception | None = None) -> Iterator[list[AsyncSession]]:
    """The sessions committed during the block; with `failure`, the first commit raises it
    instead of committing."""
    seen: list[AsyncSession] = []
    commit = AsyncSession.commit

    async def recorded(session: AsyncSession) -> None:
        seen.append(session)
        if failure is not None and len(seen) == 1:
            raise failure
        await commit(session)

    with patch.object(AsyncSession, "commit", recorded):
        yield seen


def lost_connection() -> OperationalError:
    return OperationalError("COMMIT", {}, ConnectionResetError("connection reset by peer"))


async def test_a_read_never_commits_and_a_write_commits_once(client: Client) -> None:
    me = await register(client, "committer")
    await drain_jobs(client)
    with commits_seen() as reading:
        response = await client.get("/api/v1/users/me", headers=me.headers)
    assert response.status_code == 200
    assert reading == []
    with commits_seen() as writing:
        response = await client.patch(
            "/api/v1/users/me", headers=me.headers, json={"bio": "stored once"}
        )
    assert response.status_code == 200
    assert len(writing) == 1


@pytest.mark.parametrize(
    ("failure", "status", "kind", "retry_after"),
    [
        (lost_connection(), 503, "service-unavailable", "5"),
        (IntegrityError("COMMIT", {}, Exception("deferred constraint")), 409, "conflict", None),
        (RuntimeError("anything else"), 500, "internal-error", None),
    ],
)
async def test_a_failed_commit_is_answered_with_a_problem_and_nothing_is_stored(
    client: Client, failure: Exception, status: int, kind: str, retry_after: str | None
) -> None:
    me = await register(client)
    await drain_jobs(client)
    with commits_seen(failure) as seen:
        response = await client.patch(
            "/api/v1/users/me",
            headers=me.headers | {"x-request-id": "commit-test-1"},
            json={"bio": "never stored"},
        )
    assert len(seen) == 1
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get("retry-after") == retry_after
    assert response.headers["x-request-id"] == "commit-test-1"
    assert "ratelimit-remaining" in response.headers
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(kind)
    assert body["status"] == status
    assert body["request_id"] == "commit-test-1"
    assert body["instance"] == "/api/v1/users/me"
    after = await client.get("/api/v1/users/me", headers=me.headers)
    assert after.json()["bio"] == ""


async def test_jobs_of_a_request_whose_commit_failed_are_not_submitted(client: Client) -> None:
    """Following someone queues their notification after the commit; without one, nothing."""
    me = await register(client)
    other = await register(client)
    await drain_jobs(client)
    with commits_seen(lost_connection()):
        response = await client.post(f"/api/v1/users/{other.handle}/follow", headers=me.headers)
    assert response.status_code == 503
    await drain_jobs(client)
    notifications = await client.get("/api/v1/notifications", headers=other.headers)
    assert notifications.status_code == 200
    assert notifications.json()["items"] == []
    following = await client.get(f"/api/v1/users/{me.handle}/following", headers=me.headers)
    assert following.json()["items"] == []
