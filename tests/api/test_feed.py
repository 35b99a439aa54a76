"""The home feed: whose posts, in which order, page by page, and what a page costs."""

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.api.conftest import drain_jobs
from tests.api.content_helpers import Client, get_json, ids_in, relate, write_post
from tests.api.matching_helpers import born, join
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
    await drain_jobs(client)  # the notifications of the likes and mentions are not the page's
    with counted_statements() as statements:
        page = await get_json(client, f"/api/v1/feed/home?limit={size}", me)
    assert len(page["items"]) == size
    assert all(item["viewer_has_liked"] and item["mentions"] for item in page["items"])
    queries = [s for s in statements if not s.startswith(TRANSACTION_CONTROL)]
    assert len(queries) <= 5, queries  # the caller's session check, then 4 for the page


# For you ------------------------------------------------------------------------------------


async def for_you_pages(client: Client, viewer: Any, limit: int) -> list[list[dict[str, Any]]]:
    pages = []
    url = f"/api/v1/feed/for-you?limit={limit}"
    while True:
        page = await get_json(client, url, viewer)
        pages.append(page["items"])
        if page["next_cursor"] is None:
            return pages
        url = f"/api/v1/feed/for-you?cursor={page['next_cursor']}"


def posts_of(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in page if item["type"] == "post"]


async def test_for_you_ranks_explains_and_spreads_authors(client: Client) -> None:
    me, ann, bob, cyd = [await register(client, n) for n in ("me_myself", "ann", "bob", "cyd")]
    await relate(client, me, "follow", ann)
    for author in (ann, bob, cyd):
        for n in range(3):
            await write_post(client, author, f"{author.handle} {n}")
    popular = await write_post(client, bob, "everyone loves this")
    for fan in (ann, cyd):
        await client.put(f"/api/v1/posts/{popular['id']}/like", headers=fan.headers)
    await write_post(client, me, "my own post is not for me")

    pages = await for_you_pages(client, me, limit=4)
    items = [item for page in pages for item in posts_of(page)]
    assert len(items) == 10  # everything in the pool, once
    assert len({item["post"]["id"] for item in items}) == 10
    assert "me_myself" not in {item["post"]["author"]["handle"] for item in items}
    for page in pages:
        authors = [item["post"]["author"]["handle"] for item in posts_of(page)]
        assert all(authors.count(a) <= 2 for a in authors), authors
    first = posts_of(pages[0])
    assert first[0]["post"]["author"]["handle"] == "ann"  # followed: the strongest signal here
    why = first[0]["why"]
    assert why["weights_version"] == "feed-1"
    assert set(why["signals"]) == {"recency", "engagement", "affinity", "compatibility"}
    assert "You follow @ann" in why["reasons"]
    scores = [item["why"]["score"] for item in items]
    assert scores[0] == max(scores)
    liked = next(i for i in items if i["post"]["id"] == popular["id"])
    assert liked["why"]["signals"]["engagement"] > 0


async def test_for_you_pages_stay_frozen_while_scores_move(client: Client) -> None:
    me, ann, bob = [await register(client, n) for n in ("me_myself", "ann", "bob")]
    written = [(await write_post(client, author, "x"))["id"] for author in (ann, bob) * 4]
    first = await get_json(client, "/api/v1/feed/for-you?limit=3", me)
    seen = [item["post"]["id"] for item in posts_of(first["items"])]
    # Scores move (a like, a follow) and a new post arrives: later pages do not change.
    await client.put(f"/api/v1/posts/{written[-1]}/like", headers=ann.headers)
    await relate(client, me, "follow", bob)
    late = await write_post(client, bob, "too late for this reading")
    cursor = first["next_cursor"]
    while cursor:
        page = await get_json(client, f"/api/v1/feed/for-you?cursor={cursor}", me)
        seen.extend(item["post"]["id"] for item in posts_of(page["items"]))
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(written)
    assert late["id"] not in seen
    fresh = await get_json(client, "/api/v1/feed/for-you?limit=3", me)
    assert (
        late["id"] in [item["post"]["id"] for item in posts_of(fresh["items"])]
        or fresh["next_cursor"]
    )


async def test_a_for_you_cursor_is_the_readers_own(client: Client) -> None:
    me, ann = await register(client, "me_myself"), await register(client, "ann")
    for n in range(3):
        await write_post(client, ann, f"post {n}")
    cursor = (await get_json(client, "/api/v1/feed/for-you?limit=1", me))["next_cursor"]
    assert cursor
    stolen = await client.get(f"/api/v1/feed/for-you?cursor={cursor}", headers=ann.headers)
    assert stolen.status_code == 400
    assert "start again" in stolen.json()["detail"]
    forged = await client.get("/api/v1/feed/for-you?cursor=bm9wZQ", headers=me.headers)
    assert forged.status_code == 400


async def test_insight_cards_sit_at_their_slots_after_the_first_post(client: Client) -> None:
    me, ann, bob = [await register(client, n) for n in ("me_myself", "ann", "bob")]
    birth = {"date": "1990-05-17", "latitude": 52.52, "longitude": 13.405, "timezone": "UTC"}
    saved = await client.put("/api/v1/astro/birth-data", json=birth, headers=me.headers)
    assert saved.status_code == 200, saved.text
    first = await get_json(client, "/api/v1/feed/for-you", me)
    assert [item["type"] for item in first["items"]] == ["insight"]  # no posts yet: the card
    for author in (ann, bob, ann, bob):  # two each: a page holds two posts of one author
        await write_post(client, author, "post")
    items = (await get_json(client, "/api/v1/feed/for-you", me))["items"]
    assert [item["type"] for item in items] == ["post", "post", "insight", "post", "post"]
    card = items[2]["insight"]
    assert card["kind"] == "personal_day"
    assert 1 <= card["number"] <= 9


async def test_people_open_to_matching_get_a_soulmatch_card_and_a_compatibility_signal(
    client: Client,
) -> None:
    me = await join(client, "me_myself", birth=born("1990-05-17"))
    ann = await join(client, "ann", birth=born("1991-02-03"))
    bob = await register(client, "bob")  # not open to matching
    await drain_jobs(client)
    ann_post = await write_post(client, ann, "from ann")
    await write_post(client, bob, "from bob")
    items = (await get_json(client, "/api/v1/feed/for-you", me))["items"]
    kinds = [item["insight"]["kind"] for item in items if item["type"] == "insight"]
    assert kinds == ["personal_day", "soulmatch"]
    card = next(i["insight"] for i in items if i["type"] == "insight" and i["insight"]["handle"])
    assert card["handle"] == "ann"
    assert items[0]["type"] == "post"
    signals = {i["post"]["id"]: i["why"]["signals"] for i in items if i["type"] == "post"}
    assert signals[ann_post["id"]]["compatibility"] > 0
    assert [s["compatibility"] for p, s in signals.items() if p != ann_post["id"]] == [0]
