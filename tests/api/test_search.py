"""Search: what matches, in which order, for whom, page by page, on both engines.

Every test runs on SQLite (FTS5) and PostgreSQL (tsvector); where the engines' ranks may
order items differently (docs/content.md#search), a test compares sets, never an order."""

from typing import Any

import pytest

from selflink_api.app import create_app
from selflink_api.settings import Settings
from tests.api.conftest import app_client, make_settings
from tests.api.content_helpers import Client, get_json, ids_in, relate, write_post
from tests.api.people import Person, register
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio

POSTS = "/api/v1/search/posts?q="
PEOPLE = "/api/v1/search/people?q="


async def set_profile(client: Client, person: Person, **fields: Any) -> None:
    response = await client.patch("/api/v1/users/me", json=fields, headers=person.headers)
    assert response.status_code == 200, response.text


async def found_people(client: Client, q: str, viewer: Person | None = None) -> list[str]:
    return await ids_in(client, PEOPLE + q, viewer)


async def found_posts(client: Client, q: str, viewer: Person | None = None) -> list[str]:
    return await ids_in(client, POSTS + q, viewer)


# Posts ----------------------------------------------------------------------------------------


async def test_posts_hold_every_word_best_rank_first_then_newest(client: Client) -> None:
    ann = await register(client, "ann")
    often = await write_post(client, ann, "Tulip tulip TULIP in the garden")
    older = await write_post(client, ann, "a tulip in the garden")
    newer = await write_post(client, ann, "a tulip in the garden")
    await write_post(client, ann, "the garden alone")
    await write_post(client, ann, "tulips are another word")
    expected = [often["id"], newer["id"], older["id"]]
    assert await found_posts(client, "tulip", ann) == expected
    assert await found_posts(client, "GARDEN%20tulip", ann) == expected
    assert await found_posts(client, "tulip%20rose", ann) == []
    assert await found_posts(client, "tul", ann) == []  # posts match whole words only


async def test_only_the_newest_matches_are_ranked_whoever_asks(database_url: str) -> None:
    """SEARCH_RANKED_POSTS = 3: the three newest posts holding the word are ranked, and the
    viewer sees those of them they may see; an older, better match is not found."""
    settings = make_settings(database_url, SEARCH_RANKED_POSTS=3)
    async with app_client(create_app(settings)) as client:
        ann, bob = await register(client, "ann"), await register(client, "bob")
        best_but_old = await write_post(client, ann, "tulip tulip tulip tulip")
        await write_post(client, ann, "a tulip")
        twice = await write_post(client, ann, "tulip tulip here")
        once = await write_post(client, ann, "a tulip there")
        await write_post(client, bob, "a tulip of mine", visibility="private")
        assert await found_posts(client, "tulip", ann) == [twice["id"], once["id"]]
        first = await get_json(client, POSTS + "tulip&limit=1", ann)
        second = await get_json(client, f"{POSTS}tulip&limit=1&cursor={first['next_cursor']}", ann)
        assert [first["items"][0]["id"], second["items"][0]["id"]] == [twice["id"], once["id"]]
        assert second["next_cursor"] is None
        assert await found_posts(client, "tulip%20tulip", ann) == [twice["id"], once["id"]]
        assert await found_posts(client, "four", ann) == []
        edited = await client.patch(
            f"/api/v1/posts/{best_but_old['id']}", json={"text": "four tulips"}, headers=ann.headers
        )
        assert edited.status_code == 200, edited.text
        assert await found_posts(client, "four", ann) == [best_but_old["id"]]  # still its time


async def test_the_index_follows_edits_and_deletions(client: Client) -> None:
    ann = await register(client, "ann")
    post = await write_post(client, ann, "tulip")
    response = await client.patch(
        f"/api/v1/posts/{post['id']}", json={"text": "rose"}, headers=ann.headers
    )
    assert response.status_code == 200, response.text
    assert await found_posts(client, "tulip", ann) == []
    assert await found_posts(client, "rose", ann) == [post["id"]]
    response = await client.delete(f"/api/v1/posts/{post['id']}", headers=ann.headers)
    assert response.status_code == 204, response.text
    assert await found_posts(client, "rose", ann) == []


async def test_posts_follow_the_content_visibility_rule(client: Client) -> None:
    author, follower, stranger = [await register(client, h) for h in ("author", "fan", "other")]
    await relate(client, follower, "follow", author)
    public = await write_post(client, author, "tulip for all")
    followers = await write_post(client, author, "tulip for fans", visibility="followers")
    private = await write_post(client, author, "tulip for me", visibility="private")
    assert set(await found_posts(client, "tulip", author)) == {
        public["id"],
        followers["id"],
        private["id"],
    }
    assert set(await found_posts(client, "tulip", follower)) == {public["id"], followers["id"]}
    assert await found_posts(client, "tulip", stranger) == [public["id"]]
    assert await found_posts(client, "tulip") == [public["id"]]


@pytest.mark.parametrize("edge", ["block", "blocked by", "mute"])
async def test_blocked_and_muted_authors_are_left_out(client: Client, edge: str) -> None:
    me, pest = await register(client, "me_myself"), await register(client, "pest")
    await write_post(client, pest, "tulip")
    if edge == "blocked by":
        await relate(client, pest, "block", me)
    else:
        await relate(client, me, edge, pest)
    assert await found_posts(client, "tulip", me) == []
    assert await found_people(client, "pest", me) == []
    assert len(await found_posts(client, "tulip")) == 1  # others still find it


# People ---------------------------------------------------------------------------------------


async def test_people_handle_first_then_handle_prefix_then_text(client: Client) -> None:
    viewer = await register(client, "viewer", display_name="Viewer")
    for handle, name, bio in (
        ("bob", "Ann Smith", ""),
        ("carol", "Carol", "I paint with ann"),
        ("annabel", "Belle", ""),
        ("ann", "Someone Else", ""),
        ("ann_lee", "Lee", ""),
        ("dan", "Dan", "nothing here"),
    ):
        person = await register(client, handle, display_name=name)
        if bio:
            await set_profile(client, person, bio=bio)
    found = await found_people(client, "ann", viewer)
    assert found[0] == "ann"  # the handle itself
    assert set(found[1:3]) == {"annabel", "ann_lee"}  # handles starting with the query
    assert found[3:] == ["bob", "carol"]  # names weigh more than a bio
    assert (await found_people(client, "@ANN", viewer))[0] == "ann"


async def test_people_ties_newest_account_first(client: Client) -> None:
    one = await register(client, "zq_one", display_name="Zed Quill")
    await register(client, "zq_two", display_name="Zed Quill")
    assert await found_people(client, "quill", one) == ["zq_two", "zq_one"]


async def test_people_words_all_match_the_last_as_a_prefix(client: Client) -> None:
    await register(client, "painter", display_name="Ann Marie Lee")
    assert await found_people(client, "ann%20ma") == ["painter"]
    assert await found_people(client, "lee%20ann") == ["painter"]
    assert await found_people(client, "an%20marie") == []  # only the last word is a prefix


async def test_handle_prefixes_are_literal(client: Client) -> None:
    await register(client, "ab_cd", display_name="Quiet")
    await register(client, "abxcd", display_name="Quiet")
    assert await found_people(client, "ab_c") == ["ab_cd"]  # `_` is no wildcard


async def test_people_are_active_and_neither_blocked_nor_muted(
    client: Client, settings: Settings
) -> None:
    me = await register(client, "me_myself")
    for handle in ("tulip_a", "tulip_b", "tulip_c", "tulip_d"):
        await register(client, handle, display_name="Tulip")
    await relate(client, me, "block", await register(client, "tulip_e"))
    await relate(client, me, "mute", await register(client, "tulip_f"))
    await sql(settings, "UPDATE users SET status = 'suspended' WHERE handle = 'tulip_a'")
    await sql(settings, "UPDATE users SET status = 'deleted' WHERE handle = 'tulip_b'")
    found = await found_people(client, "tulip", me)
    assert set(found) == {"tulip_c", "tulip_d"}


async def test_bio_counts_only_where_the_whole_profile_shows(client: Client) -> None:
    closed = await register(client, "closed", display_name="Closed Door")
    await set_profile(client, closed, bio="secret gardener", profile_visibility="private")
    friends = await register(client, "friends", display_name="Friendly")
    await set_profile(client, friends, bio="secret gardener", profile_visibility="followers")
    fan, stranger = await register(client, "fan"), await register(client, "stranger")
    await relate(client, fan, "follow", friends)
    await relate(client, fan, "follow", closed)

    assert await found_people(client, "gardener", stranger) == []
    assert await found_people(client, "gardener") == []
    assert await found_people(client, "gardener", fan) == ["friends"]
    assert await found_people(client, "gardener", closed) == ["closed"]  # one's own
    # By name anyone finds them; what shows is what GET /users/{handle} shows.
    page = await get_json(client, PEOPLE + "door", stranger)
    assert page["items"] == [
        {"handle": "closed", "display_name": "Closed Door", "restricted": True}
    ]
    page = await get_json(client, PEOPLE + "friendly", fan)
    assert page["items"][0]["bio"] == "secret gardener"
    assert page["items"][0]["restricted"] is False


# Refusals and hostile text ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["", "?q=", "?q=%20%20", "?q=!!!", "?q=-", "?q=_", "?q=" + "a" * 201]
)
@pytest.mark.parametrize("kind", ["people", "posts"])
async def test_a_query_without_words_is_a_422_naming_q(
    client: Client, query: str, kind: str
) -> None:
    response = await client.get(f"/api/v1/search/{kind}{query}")
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["q"]


HOSTILE = [
    '"',
    '"unbalanced',
    "a*",
    "*",
    "NEAR(a b)",
    "NEAR(",
    "-a",
    "a -b",
    "text:a",
    "{text} : a",
    "a AND",
    "OR",
    "NOT a",
    "a' OR 1=1 --",
    "^a",
    "a + b",
    "(a",
    "a)",
    "\\",
    "%",
    "'",
    ":*",
    "a:*",
    "!a",
    "a & b",
    "a | b",
    "a <-> b",
    "@",
    "日本語",
    "\U0001d518\U0001d52b\U0001d526",  # mathematical letters: words on both engines
    "café",
]


@pytest.mark.parametrize("kind", ["people", "posts"])
async def test_hostile_queries_are_words_or_a_422_never_a_500(client: Client, kind: str) -> None:
    me = await register(client, "me_myself")
    await write_post(client, me, 'say "NEAR(x)" -now: a*b OR {text}')
    for query in HOSTILE:
        response = await client.get(
            f"/api/v1/search/{kind}", params={"q": query}, headers=me.headers
        )
        has_words = any(c.isalnum() for c in query)
        assert response.status_code == (200 if has_words else 422), (query, response.text)


async def test_operator_characters_are_only_separators(client: Client) -> None:
    me = await register(client, "me_myself")
    post = await write_post(client, me, 'say "NEAR(x)" -now: a*b OR {text}')
    for query in ('"near(x)"', "-now", "a*b", "text:", "{text}", "or say", "NEAR( x"):
        response = await client.get(POSTS.rstrip("?q="), params={"q": query})
        assert [i["id"] for i in response.json()["items"]] == [post["id"]], query


# Pages ----------------------------------------------------------------------------------------


async def test_pages_are_stable_and_complete(client: Client) -> None:
    ann = await register(client, "ann")
    for n in range(7):
        await write_post(client, ann, "tulip " * (1 + n % 3) + f"number {n}")
    whole = await get_json(client, POSTS + "tulip&limit=100", ann)
    assert len(whole["items"]) == 7
    assert whole["next_cursor"] is None
    paged = await found_posts(client, "tulip&limit=2", ann)
    assert paged == [item["id"] for item in whole["items"]]

    for n in range(5):
        await register(client, f"tulip_{n}", display_name="Tulip " * (1 + n % 2))
    people = [p["handle"] for p in (await get_json(client, PEOPLE + "tulip&limit=100"))["items"]]
    assert len(people) == 5
    assert await found_people(client, "tulip&limit=2") == people


async def test_a_cursor_belongs_to_its_query(client: Client) -> None:
    ann = await register(client, "ann")
    for _ in range(3):
        await write_post(client, ann, "tulip rose")
    cursor = (await get_json(client, POSTS + "tulip&limit=1", ann))["next_cursor"]
    for other in (POSTS + "rose", PEOPLE + "tulip"):
        response = await client.get(f"{other}&cursor={cursor}", headers=ann.headers)
        assert response.status_code == 400, response.text
