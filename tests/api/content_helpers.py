"""Posts, comments and likes made through the real endpoints, for content and feed tests."""

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.people import Person

Client = AsyncTestClient[Litestar]


async def write_post(
    client: Client, author: Person, text: str = "hello", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/posts", json={"text": text, **fields}, headers=author.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def write_comment(
    client: Client, author: Person, post_id: str, text: str = "nice", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/posts/{post_id}/comments", json={"text": text, **fields}, headers=author.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def relate(client: Client, who: Person, verb: str, whom: Person) -> None:
    """`who` follows, blocks or mutes `whom`."""
    response = await client.post(f"/api/v1/users/{whom.handle}/{verb}", headers=who.headers)
    assert response.status_code == 204, response.text


async def get_json(client: Client, url: str, viewer: Person | None = None) -> Any:
    response = await client.get(url, headers=viewer.headers if viewer else {})
    assert response.status_code == 200, response.text
    return response.json()


def item_id(item: dict[str, Any]) -> str:
    """A list item's id: a post or comment id, a for-you item's post id, a person's handle."""
    if item.get("type") == "post":
        return str(item["post"]["id"])
    return str(item.get("id") or item["handle"])


async def ids_in(client: Client, url: str, viewer: Person | None = None) -> list[str]:
    """Every item id of a paged list, following cursors to the end."""
    ids: list[str] = []
    cursor = None
    while True:
        query = f"{'&' if '?' in url else '?'}cursor={cursor}" if cursor else ""
        page = await get_json(client, url + query, viewer)
        ids.extend(item_id(item) for item in page["items"] if item.get("type") != "insight")
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
