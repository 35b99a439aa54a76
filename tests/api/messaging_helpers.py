"""Threads and messages made through the real endpoints, for messaging and realtime tests."""

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.people import Person

Client = AsyncTestClient[Litestar]


async def direct_thread(client: Client, me: Person, other: Person) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/threads/direct", json={"handle": other.handle}, headers=me.headers
    )
    assert response.status_code in {200, 201}, response.text
    return dict(response.json())


async def group(client: Client, admin: Person, *members: Person, title: str = "Circle") -> str:
    response = await client.post(
        "/api/v1/threads/groups",
        json={"title": title, "members": [m.handle for m in members]},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def send(
    client: Client, sender: Person, thread_id: str, text: str = "hi", **fields: Any
) -> dict[str, Any]:
    body = {"client_id": uuid.uuid4().hex, "text": text, **fields}
    response = await client.post(
        f"/api/v1/threads/{thread_id}/messages", json=body, headers=sender.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def thread_of(client: Client, viewer: Person, thread_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/threads/{thread_id}", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())
