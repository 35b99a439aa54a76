"""Operator endpoints: liveness, readiness, metrics and the OpenAPI document."""

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.app import create_app
from tests.api.conftest import app_client, make_settings

pytestmark = pytest.mark.anyio


async def test_health_answers_without_touching_dependencies(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_reports_the_database(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_ready_is_503_when_the_database_is_unreachable() -> None:
    app = create_app(make_settings("postgresql://nobody@127.0.0.1:1/none"))
    async with app_client(app) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:selflink:problem:service-unavailable"
    assert body["checks"] == {"database": "unavailable"}


async def test_ready_checks_redis_when_configured(database_url: str, redis_url: str) -> None:
    app = create_app(make_settings(database_url, REDIS_URL=redis_url))
    async with app_client(app) as client:
        response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_ready_is_503_when_redis_is_unreachable(database_url: str) -> None:
    app = create_app(make_settings(database_url, REDIS_URL="redis://127.0.0.1:1/0"))
    async with app_client(app) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "unavailable"}


async def test_metrics_are_prometheus_text(client: AsyncTestClient[Litestar]) -> None:
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "selflink_requests_total" in response.text


async def test_openapi_document_and_interactive_ui_are_served(
    client: AsyncTestClient[Litestar],
) -> None:
    document = await client.get("/schema/openapi.json")
    assert document.status_code == 200
    assert document.json()["info"]["title"] == "SelfLink API"
    ui = await client.get("/schema")
    assert ui.status_code == 200
    assert "text/html" in ui.headers["content-type"]
