"""The home feed: whose posts, in which order, page by page, and what a page costs."""

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.api.content_helpers import Client, get_json, ids_in, relate, write_post
from tests.api.people import register

pytestmark = pytest.mark.anyio

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextlib.contextmanager
def counted_statements() -> Iterator[list[str]]:
    """The SQL statements every engine runs inside the block (all of the app's, since the
    test client serves it in this process)."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", count)


async def test_home_shows_mine_and_whom_i_follow_newest_first(client: Client) -> None:
    me, ann, bob = [await register(client, n) for n in ("me_myself", "ann", "bob")]
    await relate(client, me, "follow", ann)
    first = await write_post(client, ann, "one")
    mine = await write_post(client, me, "two")
    await write_post(client, bob, "not followed")
    private = await write_post(client, ann, "private", visibility="private")
    followers_only = await write_post(client, ann, "for followers", visibility="followers")
    assert private["id"]
    assert await ids_in(client, "/api/v1/feed/home", me) == [
        followers_only["id"],
        mine["id"],
        first["id"],
    ]
    await relate(client, me, "mute", ann)
    assert await ids_in(client, "/api/v1/feed/home", me) == [mine["id"]]


async def test_pages_neither_repeat_nor_skip_while_posts_arrive(client: Client) -> None:
    me, ann = await register(client, "me_myself"), await register(client, "ann")
    await relate(client, me, "follow", ann)
    written = [(await write_post(client, ann, f"post {n}"))["id"] for n in range(7)]
    page = await get_json(client, "/api/v1/feed/home?limit=3", me)
    seen = [item["id"] for item in page["items"]]
    await write_post(client, ann, "arrived meanwhile")
    while page["next_cursor"]:
        page = await get_json(client, f"/api/v1/feed/home?limit=3&cursor={page['next_cursor']}", me)
        seen.extend(item["id"] for item in page["items"])
    assert seen == written[::-1]


@pytest.mark.parametrize("size", [1, 20])
async def test_a_page_costs_the_same_few_queries_whatever_its_size(
    client: Client, size: int
) -> None:
    me = await register(client, "me_myself")
    authors = [await register(client, f"author_{n}") for n in range(4)]
    for author in authors:
        await relate(client, me, "follow", author)
        for n in range(5):
            post = await write_post(client, author, f"hi @me_myself {n}")
            await client.put(f"/api/v1/posts/{post['id']}/like", headers=me.headers)
    with counted_statements() as statements:
        page = await get_json(client, f"/api/v1/feed/home?limit={size}", me)
    assert len(page["items"]) == size
    assert all(item["viewer_has_liked"] and item["mentions"] for item in page["items"])
    queries = [s for s in statements if not s.startswith(TRANSACTION_CONTROL)]
    assert len(queries) <= 5, queries  # the caller's session check, then 4 for the page
