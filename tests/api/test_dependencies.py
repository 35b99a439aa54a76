"""Route dependencies are resolved one after another, never in a task group per request."""

from typing import Any

import pytest
from litestar import Litestar
from litestar._kwargs import kwargs_model
from litestar.routes import HTTPRoute, WebSocketRoute
from litestar.testing import AsyncTestClient

from tests.api.people import register

pytestmark = pytest.mark.anyio


def test_every_route_resolves_one_dependency_at_a_time(app: Litestar) -> None:
    models = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            models += [model for _, model in route.route_handler_map.values()]
        elif isinstance(route, WebSocketRoute):
            models.append(route.handler_parameter_model)
    batches = [batch for model in models if model is not None for batch in model.dependency_batches]
    assert len(batches) > len(models)  # routes do have dependencies, several each
    assert all(len(batch) == 1 for batch in batches)


async def test_a_signed_in_request_starts_no_task_group(
    client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`GET /users/me` needs the session, the job queue and the signed-in person, which
    Litestar would resolve in a task group; one after another, they need none."""
    ana = await register(client, "sequential_ana")

    def refuse(*_: Any) -> None:
        raise AssertionError("a task group was started to resolve dependencies")

    monkeypatch.setattr(kwargs_model, "create_task_group", refuse)
    response = await client.get("/api/v1/users/me", headers=ana.headers)
    assert response.status_code == 200
    assert response.json()["handle"] == "sequential_ana"
