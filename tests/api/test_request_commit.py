"""A request's transaction commits before its answer leaves: a read never commits, a write
commits once, and a write whose flush or commit fails is answered with a problem, never a 2xx."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.app import create_app
from selflink_api.settings import Settings
from tests.api.astro_helpers import Client
from tests.api.conftest import app_client, drain_jobs
from tests.api.people import register

pytestmark = pytest.mark.anyio


@contextmanager
def commits_seen(
    failure: Exception | None = None, step: str = "commit"
) -> Iterator[list[AsyncSession]]:
    """The sessions committed during the block (with `step="flush"`: flushed by the request's
    end, not by the handler); with `failure`, the first of them raises it instead."""
    seen: list[AsyncSession] = []
    original = getattr(AsyncSession, step)

    async def recorded(session: AsyncSession, *args: Any) -> None:
        if step == "flush" and sys._getframe(1).f_code.co_name != "_commit_or_answer_problem":
            await original(session, *args)
            return
        seen.append(session)
        if failure is not None and len(seen) == 1:
            raise failure
        await original(session, *args)

    with patch.object(AsyncSession, step, recorded):
        yield seen


NOTHING_SAVED = "The change could not be stored; nothing was saved."
UNCONFIRMED = (
    "The change may not have been stored: the database did not confirm it. "
    "Check before repeating it."
)


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
    ("step", "failure", "status", "kind", "retry_after", "detail"),
    [
        ("flush", lost_connection(), 503, "service-unavailable", "5", NOTHING_SAVED),
        ("commit", lost_connection(), 503, "service-unavailable", "5", UNCONFIRMED),
        (
            "commit",
            IntegrityError("COMMIT", {}, Exception("deferred")),
            409,
            "conflict",
            None,
            NOTHING_SAVED,
        ),
        ("commit", RuntimeError("anything else"), 500, "internal-error", None, UNCONFIRMED),
    ],
)
async def test_a_failed_commit_is_answered_with_a_problem(
    settings: Settings,
    step: str,
    failure: Exception,
    status: int,
    kind: str,
    retry_after: str | None,
    detail: str,
) -> None:
    origin = "https://app.example.org"
    app = create_app(settings.model_copy(update={"cors_allow_origins": (origin,)}))
    async with app_client(app) as client:
        me = await register(client)
        await drain_jobs(client)
        with commits_seen(failure, step) as seen:
            response = await client.patch(
                "/api/v1/users/me",
                headers=me.headers | {"x-request-id": "commit-test-1", "origin": origin},
                json={"bio": "never stored"},
            )
        assert len(seen) == 1
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers.get("retry-after") == retry_after
        assert response.headers["x-request-id"] == "commit-test-1"
        assert "ratelimit-remaining" in response.headers
        assert response.headers["access-control-allow-origin"] == origin  # a browser reads it
        body: dict[str, Any] = response.json()
        assert body["type"].endswith(kind)
        assert body["status"] == status
        assert body["detail"] == detail
        assert body["request_id"] == "commit-test-1"
        assert body["instance"] == "/api/v1/users/me"
        after = await client.get("/api/v1/users/me", headers=me.headers)
        assert after.json()["bio"] == ""


async def test_a_failed_rollback_still_answers_the_problem(client: Client) -> None:
    """A connection lost before a 4xx answer's rollback: the client still gets the 404."""
    me = await register(client)
    await drain_jobs(client)
    failures: list[AsyncSession] = []

    async def failing(session: AsyncSession) -> None:
        failures.append(session)
        raise lost_connection()

    with patch.object(AsyncSession, "rollback", failing):
        response = await client.post("/api/v1/users/nobody_here/follow", headers=me.headers)
    assert failures
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


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
