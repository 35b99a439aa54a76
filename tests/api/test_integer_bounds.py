"""Every integer a client sends is bounded: out of range is a 422 naming it, never a 500."""

from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from selflink_api.platform.values import INT32_MAX
from tests.api.people import register

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]
BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def is_integer(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "integer" or (isinstance(kind, list) and "integer" in kind)


def unbounded_integers(
    schema: Any, where: str, components: dict[str, Any], seen: frozenset[str] = frozenset()
) -> list[str]:
    """Where `schema` lets an integer through without a lower and an upper bound (or an enum).

    Litestar writes a nullable parameter as `oneOf: [integer, null]` with the bounds beside the
    `oneOf`, so bounds found on the enclosing schema count for its members.
    """
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return unbounded_integers(components[name], f"{where}->{name}", components, seen | {name})
    found = []
    members = [m for key in ("oneOf", "anyOf", "allOf") for m in schema.get(key, [])]
    bounded_here = "enum" in schema or (
        any(b in schema for b in BOUNDS[::2]) and any(b in schema for b in BOUNDS[1::2])
    )
    if is_integer(schema) and not bounded_here:
        found.append(where)
    for member in members:
        if isinstance(member, dict) and is_integer(member) and bounded_here:
            continue
        found += unbounded_integers(member, where, components, seen)
    for name, field in schema.get("properties", {}).items():
        found += unbounded_integers(field, f"{where}.{name}", components, seen)
    for key in ("items", "additionalProperties"):
        found += unbounded_integers(schema.get(key), f"{where}[]", components, seen)
    return found


def test_every_integer_parameter_and_body_field_is_bounded_in_the_openapi_document(
    app: Litestar,
) -> None:
    document = app.openapi_schema.to_schema()
    components = document["components"]["schemas"]
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    problems: list[str] = []
    checked = 0
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            path = route.path_format or "/"
            for method in handler.http_methods:
                assert (path, method) in documented, f"{method} {path} is not in the document"
                operation = document["paths"][path][method.lower()]
                checked += 1
                for parameter in operation.get("parameters", []):
                    where = f"{method} {path} {parameter['in']}:{parameter['name']}"
                    problems += unbounded_integers(parameter.get("schema"), where, components)
                body = operation.get("requestBody", {}).get("content", {})
                for content in body.values():
                    where = f"{method} {path} body"
                    problems += unbounded_integers(content.get("schema"), where, components)
    assert checked > 50
    assert problems == []


def test_the_walk_finds_an_unbounded_integer() -> None:
    assert unbounded_integers({"type": "integer", "minimum": 1}, "x", {}) == ["x"]
    assert (
        unbounded_integers(
            {"oneOf": [{"type": "integer"}, {"type": "null"}], "minimum": 1, "maximum": 9}, "x", {}
        )
        == []
    )
    assert unbounded_integers(
        {"$ref": "#/c/A"}, "x", {"A": {"properties": {"n": {"type": "integer"}}}}
    ) == ["x->A.n"]


@pytest.mark.parametrize("version", ["9223372036854775808", str(INT32_MAX + 1), "0", "-1"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/rewards/periods/2026-09/files/manifest.json",
        "/api/v1/rewards/periods/2026-09/proofs/github:1",
    ],
)
async def test_an_out_of_range_version_is_a_422_naming_it(
    client: Client, path: str, version: str
) -> None:
    response = await client.get(path, params={"version": version})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["source"]) for e in response.json()["errors"]] == [("version", "query")]


async def test_the_largest_version_is_looked_up_and_not_found(client: Client) -> None:
    path = "/api/v1/rewards/periods/2026-09/files/manifest.json"
    response = await client.get(path, params={"version": str(INT32_MAX)})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "method", "body", "field"),
    [
        (
            "/api/v1/matching/preferences",
            "PATCH",
            {"dating": {"age_min": 10**30}},
            "dating.age_min",
        ),
        ("/api/v1/matching/preferences", "PATCH", {"dating": {"age_max": 2**15}}, "dating.age_max"),
        (
            "/api/v1/astro/birth-data",
            "PUT",
            {"date": "1990-01-01", "geonameid": 2**31},
            "geonameid",
        ),
        (
            "/api/v1/users/me",
            "PATCH",
            {"birth": {"date": "1990-01-01", "geonameid": -(2**63) - 1}},
            "birth.geonameid",
        ),
    ],
)
async def test_an_out_of_range_body_integer_is_a_422_naming_it(
    client: Client, path: str, method: str, body: dict[str, Any], field: str
) -> None:
    person = await register(client)
    response = await client.request(method, path, json=body, headers=person.headers)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
