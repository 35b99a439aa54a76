"""The docs pages work offline, and OPTIONS answers agree with the routes.

The document itself is checked against the server by `test_openapi_fuzz.py` (`nox -s fuzz`).
"""

import re
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.app import create_app
from tests.api.conftest import app_client, make_settings

pytestmark = pytest.mark.anyio

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    async with app_client(app) as test_client:
        yield test_client


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
async def test_docs_pages_load_everything_from_the_app_itself(
    client: AsyncTestClient[Litestar], page: str
) -> None:
    html = (await client.get(page)).text
    assets = ASSET.findall(html)
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-ui.css",
    }
    for asset in assets:
        assert asset.startswith("/schema/assets/"), f"{asset} is not served by the app"
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert response.content


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/users/me", "DELETE, GET, OPTIONS, PATCH"),
        ("/api/v1/users/ada/follow", "DELETE, OPTIONS, POST"),
        ("/api/v1/astro/birth-data", "DELETE, GET, OPTIONS, PUT"),
        ("/health", "GET, OPTIONS"),
    ],
)
async def test_options_and_405_list_every_method_of_the_path(
    client: AsyncTestClient[Litestar], path: str, methods: str
) -> None:
    options = await client.options(path)
    assert options.status_code == 204
    assert options.headers["allow"] == methods
    refused = await client.request("TRACE", path)
    assert refused.status_code == 405
    assert set(refused.headers["allow"].split(", ")) == set(methods.split(", "))
