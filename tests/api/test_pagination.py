"""The keyset cursor helper every list endpoint uses."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.di import NamedDependency
from litestar.testing import AsyncTestClient
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.pagination import CursorPage, PageRequest, paginate
from selflink_api.settings import Settings

pytestmark = pytest.mark.anyio

probe_metadata = MetaData()
notes = Table(
    "pagination_probe_notes",
    probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("text", String(50)),
)


@get("/api/v1/probe/notes", exclude_from_auth=True)
async def list_notes(
    db_session: NamedDependency[AsyncSession], page: NamedDependency[PageRequest]
) -> CursorPage[dict[str, Any]]:
    rows, next_cursor = await paginate(
        db_session,
        select(notes.c.id),
        scope="probe-notes",
        order_by=[notes.c.id],  # type: ignore[list-item]
        page=page,
        key_of=lambda note_id: [note_id],
    )
    return CursorPage(items=[{"id": row} for row in rows], next_cursor=next_cursor)


@pytest.fixture
async def notes_table(settings: Settings) -> AsyncIterator[None]:
    engine = create_async_engine(settings.sqlalchemy_url)
    async with engine.begin() as connection:
        await connection.run_sync(probe_metadata.create_all)
        await connection.execute(insert(notes), [{"id": i, "text": f"n{i}"} for i in range(1, 46)])
    yield
    await engine.dispose()


@pytest.fixture
def app(app: Litestar, notes_table: None) -> Litestar:
    app.register(list_notes)
    return app


async def add_note(settings: Settings, note_id: int) -> None:
    engine = build_sqlalchemy_config(settings).get_engine()
    async with engine.begin() as connection:
        await connection.execute(insert(notes).values(id=note_id, text="late"))
    await engine.dispose()


async def test_pages_cover_every_row_once_in_order(client: AsyncTestClient[Litestar]) -> None:
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "20"} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/api/v1/probe/notes", params=params)).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, 46))
    assert pages == 3


async def test_default_limit_is_20(client: AsyncTestClient[Litestar]) -> None:
    body = (await client.get("/api/v1/probe/notes")).json()
    assert len(body["items"]) == 20
    assert body["next_cursor"]


async def test_pages_are_stable_under_concurrent_inserts(
    client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    first = (await client.get("/api/v1/probe/notes", params={"limit": "10"})).json()
    await add_note(settings, 0)  # sorts before the cursor: must not shift the next page
    second = (
        await client.get(
            "/api/v1/probe/notes", params={"limit": "10", "cursor": first["next_cursor"]}
        )
    ).json()
    assert [item["id"] for item in second["items"]] == list(range(11, 21))


@pytest.mark.parametrize("limit", ["0", "101", "x"])
async def test_limit_out_of_bounds_is_rejected(
    client: AsyncTestClient[Litestar], limit: str
) -> None:
    response = await client.get("/api/v1/probe/notes", params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


@pytest.mark.parametrize("cursor", ["garbage!", "e30", "0123456789abcdef0123456789abcdef"])
async def test_tampered_cursor_is_400(client: AsyncTestClient[Litestar], cursor: str) -> None:
    response = await client.get("/api/v1/probe/notes", params={"cursor": cursor})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
