"""Every error is RFC 9457 problem details with a stable type, never a 500 for bad input."""

from typing import Any

import msgspec
import pytest
from litestar import Litestar, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from selflink_api.platform.problems import CONFLICT, ProblemError

pytestmark = pytest.mark.anyio

PROBLEM_JSON = "application/problem+json"


class Greeting(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    times: int


@post("/api/v1/probe/greetings", status_code=201, exclude_from_auth=True)
async def create_greeting(data: JSONBody[Greeting]) -> dict[str, Any]:
    if data.name == "taken":
        raise ProblemError(CONFLICT, "That name is taken.", name=data.name)
    if data.name == "crash":
        raise RuntimeError("secret internals: password=hunter2")
    return {"greeting": f"hello {data.name}" * data.times}


@pytest.fixture
def app(app: Litestar) -> Litestar:
    app.register(create_greeting)
    return app


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:selflink:problem:{slug}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_route_is_404(client: AsyncTestClient[Litestar]) -> None:
    body = assert_problem(await client.get("/api/v1/nothing-here"), 404, "not-found")
    assert body["instance"] == "/api/v1/nothing-here"


async def test_wrong_method_is_405_with_allow(client: AsyncTestClient[Litestar]) -> None:
    response = await client.delete("/health")
    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_400(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        "/api/v1/probe/greetings",
        content=b'{"name": "ada", ',
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 400, "malformed-body")


async def test_a_route_added_later_gets_the_input_rules(client: AsyncTestClient[Litestar]) -> None:
    """The rules are the platform's: a new JSON route needs nothing to get them."""
    duplicated = b'{"name": "ada", "name": "bob", "times": 1}'
    for content, content_type, status, slug in (
        (b'{"name": "ada", "times": 1}', "text/plain", 415, "unsupported-media-type"),
        (duplicated, "application/json", 400, "malformed-body"),
        (b'{"name": "a\\u0000", "times": 1}', "application/json", 422, "validation-error"),
    ):
        response = await client.post(
            "/api/v1/probe/greetings", content=content, headers={"content-type": content_type}
        )
        assert_problem(response, status, slug)


async def test_invalid_fields_are_422_with_field_errors(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/api/v1/probe/greetings", json={"name": "ada", "times": "x"})
    body = assert_problem(response, 422, "validation-error")
    assert [error["field"] for error in body["errors"]] == ["times"]
    assert body["errors"][0]["source"] == "body"


async def test_missing_and_unknown_fields_are_422_naming_the_field(
    client: AsyncTestClient[Litestar],
) -> None:
    missing = await client.post("/api/v1/probe/greetings", json={"name": "ada"})
    body = assert_problem(missing, 422, "validation-error")
    assert body["errors"] == [{"field": "times", "source": "body", "message": "is required"}]
    unknown = await client.post(
        "/api/v1/probe/greetings", json={"name": "ada", "times": 1, "admin": True}
    )
    body = assert_problem(unknown, 422, "validation-error")
    assert body["errors"] == [
        {"field": "admin", "source": "body", "message": "is not a known field"}
    ]


async def test_a_missing_or_wrong_shaped_body_is_422_about_the_body(
    client: AsyncTestClient[Litestar],
) -> None:
    absent = await client.post("/api/v1/probe/greetings")
    body = assert_problem(absent, 422, "validation-error")
    assert body["errors"] == [{"field": "", "source": "body", "message": "a JSON body is required"}]
    array = await client.post("/api/v1/probe/greetings", json=[1])
    body = assert_problem(array, 422, "validation-error")
    assert [error["field"] for error in body["errors"]] == [""]
    assert "data" not in body["errors"][0]["message"]


async def test_oversized_body_is_413(client: AsyncTestClient[Litestar], app: Litestar) -> None:
    limit = app.state.settings.max_request_body_bytes
    response = await client.post(
        "/api/v1/probe/greetings",
        content=b'{"name": "' + b"a" * limit + b'", "times": 1}',
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 413, "payload-too-large")


async def test_domain_problem_keeps_its_extensions(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/api/v1/probe/greetings", json={"name": "taken", "times": 1})
    body = assert_problem(response, 409, "conflict")
    assert body["detail"] == "That name is taken."
    assert body["name"] == "taken"


async def test_unexpected_error_is_500_without_internals(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.post("/api/v1/probe/greetings", json={"name": "crash", "times": 1})
    body = assert_problem(response, 500, "internal-error")
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert body["detail"] == "Something went wrong on our side."


async def test_request_id_is_echoed_when_well_formed(client: AsyncTestClient[Litestar]) -> None:
    echoed = await client.get("/health", headers={"x-request-id": "trace-123.abc"})
    assert echoed.headers["x-request-id"] == "trace-123.abc"
    replaced = await client.get("/health", headers={"x-request-id": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_success_passes_through(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/api/v1/probe/greetings", json={"name": "ada", "times": 2})
    assert response.status_code == 201
    assert response.json() == {"greeting": "hello adahello ada"}
