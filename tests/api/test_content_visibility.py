"""Visibility, blocks and mutes on every path where content appears, derived from the routes.

Every route of the content, feed and search domains is either about one post, comment or
media file (its path names `{post_id}`, `{comment_id}` or `{media_id}`) or a list of posts (or,
for the people search, of people). For each case where a viewer must not see a post, every
route about it, its comment and its photo must answer 404, exactly as for a post that does not
exist, and no list may show it. A route added later joins the test by itself; a new list must be
added to `LISTS` (the route-table test says so).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar

from selflink_api.app import create_app
from selflink_api.settings import Settings
from tests.api.conftest import make_settings
from tests.api.content_helpers import (
    Client,
    get_json,
    ids_in,
    item_id,
    relate,
    write_comment,
    write_post,
)
from tests.api.media_helpers import uploaded
from tests.api.people import Person, register
from tests.api.test_auth import make_staff

pytestmark = pytest.mark.anyio

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/api/v1/posts/{post_id:uuid}"): {"text": "changed"},
    ("POST", "/api/v1/posts/{post_id:uuid}/comments"): {"text": "hello"},
    ("PATCH", "/api/v1/comments/{comment_id:uuid}"): {"text": "changed"},
}
"""A valid body for each route about one item that needs one."""

LISTS = {
    "/api/v1/users/{handle:str}/posts": "/api/v1/users/{author}/posts",
    "/api/v1/feed/home": "/api/v1/feed/home",
    "/api/v1/feed/for-you": "/api/v1/feed/for-you",
    "/api/v1/search/posts": "/api/v1/search/posts?q=for",  # the posts here all say "for"
}
"""Every list of posts, with how to reach the author's items in it."""


NOT_OF_POSTS = {"/api/v1/search/people"}
"""Lists of these domains that hold no posts (test_search.py checks who they show)."""

DOMAINS = ("selflink_api.content.", "selflink_api.feed.", "selflink_api.search.")


def content_routes(app: Litestar) -> set[tuple[str, str]]:
    """Every (method, path) served by a handler of the content, feed or search domains."""
    return {
        (method, route.path)
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if handler.fn.__module__.startswith(DOMAINS)
        for method in handler.http_methods
    }


ITEMS = ("{post_id:uuid}", "{comment_id:uuid}", "{media_id:uuid}")


def about_one_item(path: str) -> bool:
    return any(item in path for item in ITEMS)


def test_every_content_route_is_about_one_item_or_a_known_list() -> None:
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    routes = content_routes(app)
    assert routes, "the content routes were not found"
    lists = {path for method, path in routes if method == "GET" and not about_one_item(path)}
    assert lists == set(LISTS) | NOT_OF_POSTS
    writes = {(m, p) for m, p in routes if not about_one_item(p) and (m, p) != ("GET", p)}
    assert writes == {("POST", "/api/v1/posts"), ("POST", "/api/v1/media")}


@dataclass
class Scene:
    author: Person
    viewer: Person | None
    post: dict[str, Any]
    comment: dict[str, Any]
    media: dict[str, Any]


Setup = Callable[[Client, Person, Person, Settings], Awaitable[None]]


async def nothing(_client: Client, _author: Person, _viewer: Person, _settings: Settings) -> None:
    return None


async def author_blocks_viewer(
    client: Client, author: Person, viewer: Person, _settings: Settings
) -> None:
    await relate(client, author, "block", viewer)


async def viewer_blocks_author(
    client: Client, author: Person, viewer: Person, _settings: Settings
) -> None:
    await relate(client, viewer, "block", author)


async def follower_of_private_profile(
    client: Client, author: Person, viewer: Person, _settings: Settings
) -> None:
    await relate(client, viewer, "follow", author)
    response = await client.patch(
        "/api/v1/users/me", json={"profile_visibility": "private"}, headers=author.headers
    )
    assert response.status_code == 200, response.text


async def follower(client: Client, author: Person, viewer: Person, _settings: Settings) -> None:
    await relate(client, viewer, "follow", author)


async def author_suspended(
    client: Client, author: Person, viewer: Person, settings: Settings
) -> None:
    await relate(client, viewer, "follow", author)
    staff = await make_staff(client, settings, "staff_member")
    response = await client.post(
        f"/api/v1/staff/users/{author.handle}/suspend", headers=staff.headers
    )
    assert response.status_code == 204, response.text


HIDDEN = {
    # case: (post visibility, set-up, whether the viewer is signed in)
    "followers-only, not a follower": ("followers", nothing, True),
    "followers-only, anonymous": ("followers", nothing, False),
    "private, a follower": ("private", follower, True),
    "public, the author blocked the viewer": ("public", author_blocks_viewer, True),
    "public, the viewer blocked the author": ("public", viewer_blocks_author, True),
    "public, but the author's profile is private": ("public", follower_of_private_profile, True),
    "public, the author is suspended": ("public", author_suspended, True),
}


async def hidden_scene(client: Client, settings: Settings, case: str) -> Scene:
    visibility, setup, signed_in = HIDDEN[case]
    author, viewer = await register(client, "author"), await register(client, "viewer")
    media = await uploaded(client, author)
    post = await write_post(
        client, author, "for some eyes only", visibility=visibility, media=[media["id"]]
    )
    comment = await write_comment(client, author, post["id"])
    await client.put(f"/api/v1/posts/{post['id']}/like", headers=author.headers)
    await setup(client, author, viewer, settings)
    return Scene(author, viewer if signed_in else None, post, comment, media)


@pytest.mark.parametrize("case", sorted(HIDDEN))
async def test_a_hidden_post_is_a_404_on_every_route_and_in_no_list(
    client: Client, settings: Settings, case: str
) -> None:
    scene = await hidden_scene(client, settings, case)
    headers = scene.viewer.headers if scene.viewer else {}
    for method, path in sorted(content_routes(client.app)):
        if not about_one_item(path):
            continue
        url = (
            path.replace("{post_id:uuid}", scene.post["id"])
            .replace("{comment_id:uuid}", scene.comment["id"])
            .replace("{media_id:uuid}", scene.media["id"])
            .replace("{variant:str}", "original")
        )
        response = await client.request(
            method, url, headers=headers, json=BODIES.get((method, path))
        )
        expected = 401 if scene.viewer is None and method not in {"GET", "HEAD"} else 404
        assert response.status_code == expected, (method, path, response.text)
    for path, url in LISTS.items():
        response = await client.get(url.format(author=scene.author.handle), headers=headers)
        if response.status_code in {401, 404}:  # the feed needs a viewer; a suspended author
            continue
        assert response.status_code == 200, (path, response.text)
        assert scene.post["id"] not in [item_id(i) for i in response.json()["items"]], path
    # Nothing changed behind the refusals.
    if case != "public, the author is suspended":
        seen = await get_json(client, f"/api/v1/posts/{scene.post['id']}", scene.author)
        assert (seen["text"], seen["like_count"], seen["comment_count"]) == (
            "for some eyes only",
            1,
            1,
        )
        assert [m["id"] for m in seen["media"]] == [scene.media["id"]]


async def test_followers_see_followers_only_posts_everywhere(client: Client) -> None:
    author, viewer = await register(client, "author"), await register(client, "viewer")
    post = await write_post(client, author, "for followers", visibility="followers")
    await relate(client, viewer, "follow", author)
    assert (await get_json(client, f"/api/v1/posts/{post['id']}", viewer))["id"] == post["id"]
    for url in LISTS.values():
        assert post["id"] in await ids_in(client, url.format(author=author.handle), viewer)


@pytest.mark.parametrize("edge", ["mute", "block"])
async def test_people_hidden_from_me_vanish_from_lists_and_counts(
    client: Client, edge: str
) -> None:
    me, friend, pest = [await register(client, n) for n in ("me_myself", "friend", "pest")]
    post = await write_post(client, friend)
    await client.put(f"/api/v1/posts/{post['id']}/like", headers=pest.headers)
    await write_comment(client, pest, post["id"], "noise")
    mine = await write_comment(client, me, post["id"], "signal")
    await relate(client, me, "follow", friend)
    await relate(client, me, "follow", pest)
    pest_post = await write_post(client, pest, "look at me")
    await relate(client, me, edge, pest)

    seen = await get_json(client, f"/api/v1/posts/{post['id']}", me)
    assert (seen["like_count"], seen["comment_count"]) == (0, 1)
    assert await ids_in(client, f"/api/v1/posts/{post['id']}/likes", me) == []
    assert await ids_in(client, f"/api/v1/posts/{post['id']}/comments", me) == [mine["id"]]
    assert pest_post["id"] not in await ids_in(client, "/api/v1/feed/home", me)
    assert pest_post["id"] not in await ids_in(client, "/api/v1/search/posts?q=look", me)
    # Others still see everything.
    seen_by_friend = await get_json(client, f"/api/v1/posts/{post['id']}", friend)
    assert (seen_by_friend["like_count"], seen_by_friend["comment_count"]) == (1, 2)
    # A muted person's own posts stay reachable when asked for directly; a blocked one's not.
    direct = await client.get(f"/api/v1/posts/{pest_post['id']}", headers=me.headers)
    assert direct.status_code == (200 if edge == "mute" else 404)
