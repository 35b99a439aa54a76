"""Hostile input is a clear 4xx problem document on every route, and never changes a row.

The rules live in `selflink_api.platform.requests`; docs/api-errors.md#limits lists them.
"""

import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from selflink_api.app import create_app
from selflink_api.platform.requests import MAX_JSON_DEPTH
from selflink_api.settings import Settings
from tests.api.conftest import MEDIA_ROOT, app_client, make_settings
from tests.api.media_helpers import bomb_png, noisy_photo, photo, upload, video
from tests.api.people import PASSWORD, Person, register
from tests.api.rewards_helpers import WEBHOOK_SECRET, deliver, pr_payload
from tests.api.test_auth import make_staff
from tests.api.test_authorization_matrix import BIRTH, MATRIX, Cast, concrete, owner_items

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]
PROBLEM_JSON = "application/problem+json"
JSON = {"content-type": "application/json"}


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:selflink:problem:{slug}"
    return body


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def login_body(login: str, *, extra: bytes = b"") -> bytes:
    return b'{"login": "' + login.encode() + b'", "password": "' + PASSWORD.encode() + b'"' + extra


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET)


@pytest.fixture
async def ada(client: Client) -> Person:
    return await register(client, "ada")


# 1. Nesting -----------------------------------------------------------------------------------


async def test_deep_nesting_is_400_signed_in_or_not(client: Client, ada: Person) -> None:
    deep = b'{"bio": ' + nested(1000) + b"}"
    body = assert_problem(
        await client.post("/api/v1/auth/login", content=deep, headers=JSON), 400, "malformed-body"
    )
    assert str(MAX_JSON_DEPTH) in body["detail"]
    signed_in = await client.patch("/api/v1/users/me", content=deep, headers=JSON | ada.headers)
    assert_problem(signed_in, 400, "malformed-body")


async def test_nesting_is_allowed_up_to_the_limit(client: Client, ada: Person) -> None:
    at_limit = b'{"bio": ' + nested(MAX_JSON_DEPTH - 1) + b"}"
    response = await client.patch("/api/v1/users/me", content=at_limit, headers=JSON | ada.headers)
    body = assert_problem(response, 422, "validation-error")
    assert [error["field"] for error in body["errors"]] == ["bio"]
    over = b'{"bio": ' + nested(MAX_JSON_DEPTH) + b"}"
    response = await client.patch("/api/v1/users/me", content=over, headers=JSON | ada.headers)
    assert_problem(response, 400, "malformed-body")


async def test_brackets_inside_strings_do_not_count_as_nesting(client: Client, ada: Person) -> None:
    bio = "[{" * 200 + '\\"'
    response = await client.patch("/api/v1/users/me", json={"bio": bio}, headers=ada.headers)
    assert response.status_code == 200, response.text
    assert response.json()["bio"] == bio


async def test_a_signed_webhook_nested_deep_is_400(client: Client) -> None:
    response = await deliver(client, b'{"action": ' + nested(5000) + b"}")
    assert_problem(response, 400, "malformed-body")
    staff = await make_staff(client, client.app.state.settings)
    deliveries = await client.get("/api/v1/staff/rewards/github/deliveries", headers=staff.headers)
    assert deliveries.json()["items"] == []


# 2. UTF-8 --------------------------------------------------------------------------------------


async def test_invalid_utf8_is_400(client: Client, ada: Person) -> None:
    for invalid in (b"\xff", b"\xc3\x28", b"\xed\xa0\x80"):
        body = b'{"login": "' + invalid + b'", "password": "x"}'
        response = await client.post("/api/v1/auth/login", content=body, headers=JSON)
        assert "UTF-8" in assert_problem(response, 400, "malformed-body")["detail"]


# 4. NUL ----------------------------------------------------------------------------------------


async def test_nul_in_a_path_parameter_is_422_naming_it(client: Client, ada: Person) -> None:
    for path, name in (
        ("/api/v1/users/ab%00cd", "handle"),
        ("/api/v1/matching/with/ab%00cd", "handle"),
        ("/api/v1/rewards/contributors/github:1%00/statement", "contributor"),
        ("/api/v1/rewards/periods/2026-10%00", "period"),
    ):
        body = assert_problem(await client.get(path, headers=ada.headers), 422, "validation-error")
        assert body["errors"] == [
            {
                "field": name,
                "source": "path",
                "message": "must not contain the NUL character (U+0000)",
            }
        ], path


async def test_nul_in_a_query_parameter_is_422_naming_it(client: Client, ada: Person) -> None:
    response = await client.get("/api/v1/users/me/blocked?cursor=a%00b", headers=ada.headers)
    body = assert_problem(response, 422, "validation-error")
    assert [(e["field"], e["source"]) for e in body["errors"]] == [("cursor", "query")]


async def test_nul_anywhere_in_a_body_is_422_naming_the_field(client: Client, ada: Person) -> None:
    login = await client.post("/api/v1/auth/login", json={"login": "ada\0", "password": PASSWORD})
    body = assert_problem(login, 422, "validation-error")
    assert body["errors"][0] == {
        "field": "login",
        "source": "body",
        "message": "must not contain the NUL character (U+0000)",
    }
    preferences = await client.patch(
        "/api/v1/matching/preferences",
        json={"modes": ["friends"], "values": ["honesty", "x\0"], "dating": {"gender": "\0"}},
        headers=ada.headers,
    )
    body = assert_problem(preferences, 422, "validation-error")
    assert [error["field"] for error in body["errors"]] == ["values[1]", "dating.gender"]
    key = await client.patch("/api/v1/users/me", json={"bi\0o": "x"}, headers=ada.headers)
    assert [e["field"] for e in assert_problem(key, 422, "validation-error")["errors"]] == ["bi\0o"]
    me = await client.get("/api/v1/users/me", headers=ada.headers)
    assert me.json()["bio"] == ""


# 6. Content types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        None,
        "application/json; charset=latin-1",
        "application/jsonp",
    ],
)
async def test_a_json_body_in_another_content_type_is_415(
    client: Client, ada: Person, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(
        "/api/v1/auth/login", content=login_body("ada", extra=b"}"), headers=headers
    )
    assert_problem(response, 415, "unsupported-media-type")
    assert "session" not in response.text


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; charset=UTF-8",
        "application/merge-patch+json",
    ],
)
async def test_json_content_types_are_accepted(
    client: Client, ada: Person, content_type: str
) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        content=login_body("ada", extra=b"}"),
        headers={"content-type": content_type},
    )
    assert response.status_code == 200, response.text


async def test_the_webhook_keeps_its_own_content_type_rule(client: Client) -> None:
    response = await deliver(client, pr_payload(1, 7), content_type="text/plain")
    assert_problem(response, 415, "unsupported-media-type")
    accepted = await deliver(
        client, pr_payload(1, 7), content_type="application/json; charset=utf-8"
    )
    assert accepted.status_code == 202, accepted.text


# 9. Error sources ------------------------------------------------------------------------------


async def test_query_errors_name_their_source_plainly(client: Client, ada: Person) -> None:
    response = await client.get("/api/v1/users/me/blocked?limit=0", headers=ada.headers)
    body = assert_problem(response, 422, "validation-error")
    assert [(e["field"], e["source"]) for e in body["errors"]] == [("limit", "query")]


async def test_a_missing_query_parameter_is_named(client: Client) -> None:
    body = assert_problem(await client.get("/api/v1/search/posts"), 422, "validation-error")
    assert body["errors"] == [{"field": "q", "source": "query", "message": "is required"}]


# 10. Allow -------------------------------------------------------------------------------------

PATH_PARAMETER = re.compile(r"\{(\w+):(\w+)\}")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def example_path(path: str) -> str:
    samples = {"uuid": str(uuid.UUID(int=1)), "int": "1"}
    return PATH_PARAMETER.sub(lambda m: samples.get(m[2], "x"), path)


async def test_options_and_405_allow_the_same_methods_on_every_path(client: Client) -> None:
    """Staff routes' OPTIONS asks for a staff sign-in like their other methods; 405 does not."""
    staff = await make_staff(client, client.app.state.settings)
    routes = [route for route in client.app.routes if isinstance(route, HTTPRoute)]
    assert len(routes) > 30
    for route in routes:
        url = example_path(route.path)
        options = await client.options(url, headers=staff.headers)
        assert options.status_code == 204, url
        allowed = options.headers["allow"]
        assert allowed == ", ".join(sorted(route.methods)), url
        wrong = next((method for method in METHODS if method not in route.methods), None)
        if wrong is not None:
            refused = await client.request(wrong, url)
            assert_problem(refused, 405, "method-not-allowed")
            assert refused.headers["allow"] == allowed, url


# 11. Duplicate keys ----------------------------------------------------------------------------


async def test_a_duplicate_key_is_400_naming_it(client: Client, ada: Person) -> None:
    duplicated = b'{"login": "x", "login": "ada", "password": "' + PASSWORD.encode() + b'"}'
    response = await client.post("/api/v1/auth/login", content=duplicated, headers=JSON)
    assert "'login'" in assert_problem(response, 400, "malformed-body")["detail"]
    nested_twice = b'{"modes": ["friends"], "dating": {"gender": "man", "gender": "woman"}}'
    response = await client.patch(
        "/api/v1/matching/preferences", content=nested_twice, headers=JSON | ada.headers
    )
    assert "'gender'" in assert_problem(response, 400, "malformed-body")["detail"]


# Integers -------------------------------------------------------------------------------------

HUGE_NUMBERS = (10**30, -(10**30), 2**63, -(2**63) - 1, 2**64)


@pytest.mark.parametrize("number", HUGE_NUMBERS)
async def test_integers_beyond_any_column_are_422(client: Client, ada: Person, number: int) -> None:
    staff = await make_staff(client, client.app.state.settings)
    dating = {"gender": "woman", "interested_in": ["man"], "age_min": 30, "age_max": number}
    for method, path, body, field, headers in (
        ("POST", "/api/v1/rewards/links", {"github_id": number}, "github_id", ada.headers),
        (
            "POST",
            "/api/v1/staff/rewards/events",
            {"kind": "bounty", "contributor": "github:7", "points": number, "reason": "docs"},
            "points",
            staff.headers,
        ),
        (
            "PUT",
            "/api/v1/astro/birth-data",
            BIRTH | {"geonameid": number},
            None,  # refused as an unknown `place` for now; integer bounds are another change
            ada.headers,
        ),
        (
            "PATCH",
            "/api/v1/matching/preferences",
            {"modes": ["dating"], "dating": dating},
            "dating.age_max",
            ada.headers,
        ),
    ):
        response = await client.request(method, path, json=body, headers=headers)
        problem = assert_problem(response, 422, "validation-error")
        if field is not None:
            assert field in {error["field"] for error in problem["errors"]}, (path, problem)


# Every JSON-body route, generated hostile bodies -------------------------------------------------

WRONG_TYPES: tuple[Any, ...] = ([1, "a"], {"a": {"b": 1}}, [[]])
INVALID_UTF8 = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80")
OTHER_CONTENT_TYPES = (
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    None,
)
MARKER = "\ue000marker\ue000"


def json_body_routes(app: Litestar) -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if "data" in handler.parsed_fn_signature.parameters
        for method in handler.http_methods
    )


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in leaves(item, (*path, key))]
    return [path]


def value_at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


@st.composite
def hostile_request(draw: st.DrawFn, valid: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
    """One hostile variation of a valid body: (expected problem slug, body, headers)."""
    target = valid or {"field": "value"}
    leaf = draw(st.sampled_from(leaves(target)))
    leaf_value = value_at(target, leaf)
    kind = draw(st.sampled_from(["deep", "utf8", "nul", "huge", "type", "duplicate", "media"]))
    if kind == "deep":
        depth = draw(st.integers(MAX_JSON_DEPTH + 1, 6000))
        body = json.dumps(replaced(target, leaf, MARKER)).encode()
        return "malformed-body", body.replace(json.dumps(MARKER).encode(), nested(depth)), JSON
    if kind == "utf8":
        invalid = draw(st.sampled_from(INVALID_UTF8))
        body = json.dumps(replaced(target, leaf, MARKER), ensure_ascii=False).encode()
        return "malformed-body", body.replace(MARKER.encode(), invalid), JSON
    if kind == "nul":
        text_value = draw(st.text(max_size=5)) + "\0" + draw(st.text(max_size=5))
        return "validation-error", json.dumps(replaced(target, leaf, text_value)).encode(), JSON
    if kind == "huge":
        new = draw(st.sampled_from(HUGE_NUMBERS))
        return "validation-error", json.dumps(replaced(target, leaf, new)).encode(), JSON
    if kind == "type":
        new = draw(st.sampled_from([t for t in WRONG_TYPES if type(t) is not type(leaf_value)]))
        return "validation-error", json.dumps(replaced(target, leaf, new)).encode(), JSON
    if kind == "duplicate":
        first, value = next(iter(target.items()))
        again = json.dumps({first: value})[1:-1].encode()
        return "malformed-body", json.dumps(target).encode()[:-1] + b", " + again + b"}", JSON
    content_type = draw(st.sampled_from(OTHER_CONTENT_TYPES))
    headers = {"content-type": content_type} if content_type else {}
    return "unsupported-media-type", json.dumps(valid).encode(), headers


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The test's own connection: the app's engine belongs to the test client's event loop."""
    engine = create_async_engine(settings.sqlalchemy_url)
    yield engine
    await engine.dispose()


async def snapshot(database: AsyncEngine) -> dict[str, list[str]]:
    """Every row of every table, to compare before and after a request."""
    async with database.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        return {
            name: sorted(
                map(repr, (await connection.execute(text(f'SELECT * FROM "{name}"'))).all())
            )
            for name in names
        }


@pytest.fixture
async def cast(client: Client) -> Cast:
    settings = client.app.state.settings
    return Cast(
        owner=await register(client, "owner"),
        other=await register(client, "other"),
        staff=await make_staff(client, settings, "staffer"),
        moderator=None,
    )


@pytest.fixture
async def items(client: Client, cast: Cast) -> dict[str, str]:
    posts = await owner_items(client, cast.owner, "/api/v1/posts/{post_id:uuid}")
    threads = await owner_items(client, cast.owner, "/api/v1/threads/{thread_id:uuid}")
    return posts | {"{thread_id:uuid}": threads["{thread_id:uuid}"]}


@hypothesis.settings(
    max_examples=6,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # a failure has changed the database
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(data=st.data())
async def test_every_json_body_route_refuses_hostile_bodies_and_changes_nothing(
    client: Client,
    cast: Cast,
    items: dict[str, str],
    database: AsyncEngine,
    data: st.DataObject,
) -> None:
    routes = json_body_routes(client.app)
    assert len(routes) >= 18
    before = await snapshot(database)
    for method, path in routes:
        _statuses, make_body = MATRIX[(method, path)]
        valid = make_body(cast, cast.staff) or {}
        slug, body, headers = data.draw(hostile_request(valid), label=f"{method} {path}")
        response = await client.request(
            method,
            concrete(path, cast.owner, items),
            content=body,
            headers=headers | cast.staff.headers,
        )
        assert response.headers["content-type"] == PROBLEM_JSON, (method, path, response.text)
        assert 400 <= response.status_code < 500, (method, path, response.text)
        assert response.json()["type"] == f"urn:selflink:problem:{slug}", (
            method,
            path,
            response.text,
        )
        assert await snapshot(database) == before, (method, path, response.text)


# Uploads ---------------------------------------------------------------------------------------


async def media_rows(database: AsyncEngine) -> int:
    async with database.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM media"))).scalar_one())


def stored_files() -> set[str]:
    return {str(path) for path in MEDIA_ROOT.glob("*/*")} if MEDIA_ROOT.exists() else set()


HOSTILE_FILES = {
    # name: (file bytes, status, problem)
    "a script named photo.jpg": (
        b"<?php system($_GET['x']); ?>" * 10,
        415,
        "unsupported-media-type",
    ),
    "an empty file": (b"", 415, "unsupported-media-type"),
    "a GIF": (b"GIF89a" + bytes(200), 415, "unsupported-media-type"),
    "a HEIC photo": (b"\x00\x00\x00\x18ftypheic" + bytes(200), 415, "unsupported-media-type"),
    "a Matroska video": (b"\x1a\x45\xdf\xa3" + bytes(200), 415, "unsupported-media-type"),
    "a truncated JPEG": (photo((400, 300))[:600], 422, "validation-error"),
    "a JPEG's magic number and garbage": (b"\xff\xd8\xff" + bytes(500), 422, "validation-error"),
    "a decompression bomb": (bomb_png(), 422, "validation-error"),
    "over our pixel limit, under Pillow's": (bomb_png(8_000, 8_000), 422, "validation-error"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
async def test_hostile_files_are_refused_and_nothing_is_stored(
    client: Client, ada: Person, database: AsyncEngine, case: str
) -> None:
    data, status, slug = HOSTILE_FILES[case]
    before = stored_files()
    body = assert_problem(await upload(client, ada, data), status, slug)
    if status == 422:
        assert [error["field"] for error in body["errors"]] == ["file"], body
    assert await media_rows(database) == 0
    assert stored_files() == before


@pytest.mark.parametrize(
    ("files", "content_type"),
    [
        ({"photo": ("x.jpg", photo(), "image/jpeg")}, None),  # not the field `file`
        ({"file": (None, b"just text")}, None),  # a form field, not a file
        (
            [
                ("file", ("a.jpg", photo(), "image/jpeg")),
                ("file", ("b.jpg", photo(), "image/jpeg")),
            ],
            None,
        ),
        ([("file", ("a.jpg", photo(), "image/jpeg")), ("caption", (None, b"hi"))], None),
        ({}, "multipart/form-data; boundary=nothing-follows"),  # no part at all
    ],
    ids=["other field", "not a file", "two files", "a file and a field", "no part"],
)
async def test_an_upload_is_exactly_one_file_in_the_field_file(
    client: Client, ada: Person, database: AsyncEngine, files: Any, content_type: str | None
) -> None:
    if files:
        response = await client.post("/api/v1/media", files=files, headers=ada.headers)
    else:
        response = await client.post(
            "/api/v1/media",
            content=b"--nothing-follows--\r\n",
            headers=ada.headers | {"content-type": str(content_type)},
        )
    body = assert_problem(response, 422, "validation-error")
    assert [error["field"] for error in body["errors"]] == ["file"]
    assert await media_rows(database) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status", "slug"),
    [
        (b'{"file": "x"}', "application/json", 415, "unsupported-media-type"),
        (photo(), "image/jpeg", 415, "unsupported-media-type"),  # the bare file, no form
        (b"--x\r\n", "multipart/form-data", 415, "unsupported-media-type"),  # no boundary
        (b"garbage without any boundary", "multipart/form-data; boundary=x", 400, "bad-request"),
        (
            b"--x\r\nContent-Disposition: form-data; name=file; filename=a.jpg\r\n\r\n\xff\xd8\xff",
            "multipart/form-data; boundary=x",
            400,
            "bad-request",
        ),  # cut off mid-file
    ],
    ids=["json", "bare file", "no boundary", "not multipart", "cut off"],
)
async def test_an_upload_must_be_well_formed_multipart(
    client: Client,
    ada: Person,
    database: AsyncEngine,
    body: bytes,
    content_type: str,
    status: int,
    slug: str,
) -> None:
    response = await client.post(
        "/api/v1/media", content=body, headers=ada.headers | {"content-type": content_type}
    )
    assert_problem(response, status, slug)
    assert await media_rows(database) == 0


async def test_an_upload_over_its_limit_is_413_and_stores_nothing(
    database_url: str, database: AsyncEngine
) -> None:
    settings = make_settings(database_url, MEDIA_MAX_IMAGE_BYTES=2048, MEDIA_MAX_VIDEO_BYTES=8192)
    async with app_client(create_app(settings)) as small:
        ada = await register(small, "ada")
        before = stored_files()
        big_photo = noisy_photo()
        assert 8192 < len(big_photo) < 8192 + 16 * 1024  # within the announced-size allowance
        for data in (big_photo, video(size=12_000)):
            body = assert_problem(await upload(small, ada, data), 413, "payload-too-large")
            assert "bytes" in body["detail"]
        announced = await upload(small, ada, video(size=64_000))  # refused before reading on
        assert_problem(announced, 413, "payload-too-large")
        accepted = await upload(small, ada, photo())
        assert accepted.status_code == 201, accepted.text
        assert await media_rows(database) == 1
        assert {Path(new).parent.name for new in stored_files() - before} == {accepted.json()["id"]}
