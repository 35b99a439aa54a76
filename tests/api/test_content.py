"""Posts, comments, likes and mentions through HTTP, on SQLite and PostgreSQL."""

import uuid
from typing import Any

import pytest

from selflink_api.content.jobs import reconcile
from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.events import EventBus
from selflink_api.platform.jobs import JobContext
from selflink_api.settings import Settings
from tests.api.conftest import drain_jobs, logged
from tests.api.content_helpers import Client, get_json, ids_in, relate, write_comment, write_post
from tests.api.people import PASSWORD, register
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every domain event published while the test runs, in order."""
    seen: list[tuple[str, dict[str, Any]]] = []
    original = EventBus.publish

    async def recording(self: EventBus, jobs: Any, event: str, **payload: Any) -> None:
        seen.append((event, payload))
        await original(self, jobs, event, **payload)

    monkeypatch.setattr(EventBus, "publish", recording)
    return seen


async def test_a_post_is_written_read_edited_and_deleted(
    client: Client, published: list[tuple[str, dict[str, Any]]]
) -> None:
    ann = await register(client, "ann")
    post = await write_post(client, ann, "Cafe\u0301 at dawn", language="PT-br")
    assert post["text"] == "Caf\u00e9 at dawn"  # stored as NFC
    assert post["language"] == "pt-BR"
    assert (post["visibility"], post["edited_at"], post["deleted"]) == ("public", None, False)
    assert post["author"]["handle"] == "ann"
    assert ("post.created", {"post_id": post["id"], "author_id": ann.id}) in published
    assert await get_json(client, f"/api/v1/posts/{post['id']}") == post  # anyone may read it

    edited = await client.patch(
        f"/api/v1/posts/{post['id']}", json={"text": "Sunrise"}, headers=ann.headers
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["text"] == "Sunrise"
    assert edited.json()["edited_at"] is not None
    unchanged = await client.patch(
        f"/api/v1/posts/{post['id']}", json={"visibility": "followers"}, headers=ann.headers
    )
    assert unchanged.json()["edited_at"] == edited.json()["edited_at"]  # only text is an edit

    assert (
        await client.delete(f"/api/v1/posts/{post['id']}", headers=ann.headers)
    ).status_code == 204
    gone = await client.get(f"/api/v1/posts/{post['id']}", headers=ann.headers)
    assert gone.status_code == 404
    assert await ids_in(client, "/api/v1/users/ann/posts", ann) == []


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"text": ""}, "text", ""),
        ({"text": "   \n "}, "text", "blank"),
        ({"text": "x" * 5001}, "text", "5,000 characters"),
        ({"text": "x" * 20001}, "text", ""),
        ({"text": "evil \u202etxt.exe"}, "text", "U+202E"),
        ({"text": "bell \u0007"}, "text", "control character"),
        ({"text": "hi", "language": "xx-nonsense-tag-!"}, "language", "BCP 47"),
        ({"text": "hi", "language": "zz"}, "language", "BCP 47"),
        ({"text": "hi", "visibility": "secret"}, "visibility", ""),
        ({"text": "hi", "author_id": "someone"}, "author_id", ""),
    ],
)
async def test_bad_posts_are_refused_naming_the_field(
    client: Client, body: dict[str, Any], field: str, words: str
) -> None:
    ann = await register(client, "ann")
    response = await client.post("/api/v1/posts", json=body, headers=ann.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert words in problem["errors"][0]["message"]
    assert await ids_in(client, "/api/v1/users/ann/posts", ann) == []


async def test_text_length_counts_characters_after_nfc(client: Client) -> None:
    ann = await register(client, "ann")
    assert (await write_post(client, ann, "e\u0301" * 5000))["text"] == "\u00e9" * 5000
    newlines = await write_post(client, ann, "line one\nline two")
    assert newlines["text"] == "line one\nline two"


async def test_only_the_author_edits_or_deletes_a_post(client: Client) -> None:
    ann, bob = await register(client, "ann"), await register(client, "bob")
    post = await write_post(client, ann)
    url = f"/api/v1/posts/{post['id']}"
    assert (await client.patch(url, json={"text": "mine"}, headers=bob.headers)).status_code == 403
    assert (await client.delete(url, headers=bob.headers)).status_code == 403
    assert (await get_json(client, url))["text"] == "hello"


async def test_likes_are_idempotent_and_counted(
    client: Client, published: list[tuple[str, dict[str, Any]]]
) -> None:
    ann, bob, cy = [await register(client, name) for name in ("ann", "bob", "cyd")]
    post = await write_post(client, ann)
    url = f"/api/v1/posts/{post['id']}"
    for _ in range(2):
        assert (await client.put(f"{url}/like", headers=bob.headers)).status_code == 204
    await client.put(f"{url}/like", headers=cy.headers)
    seen_by_bob = await get_json(client, url, bob)
    assert (seen_by_bob["like_count"], seen_by_bob["viewer_has_liked"]) == (2, True)
    assert (await get_json(client, url, ann))["viewer_has_liked"] is False
    assert sorted(await ids_in(client, f"{url}/likes")) == ["bob", "cyd"]
    liked = [p for e, p in published if e == "post.liked"]
    assert liked == [
        {"post_id": post["id"], "user_id": bob.id, "author_id": ann.id},
        {"post_id": post["id"], "user_id": cy.id, "author_id": ann.id},
    ]  # a repeated like tells nobody twice
    for _ in range(2):
        assert (await client.delete(f"{url}/like", headers=bob.headers)).status_code == 204
    assert (await get_json(client, url, bob))["like_count"] == 1


async def test_only_posts_one_may_see_can_be_liked(
    client: Client, published: list[tuple[str, dict[str, Any]]]
) -> None:
    """The same 404 for a missing post, one for followers only, and one behind a block."""
    ann, bob, cy = [await register(client, name) for name in ("ann", "bob", "cyd")]
    for_followers = await write_post(client, ann, "friends only", visibility="followers")
    public = await write_post(client, ann, "to all")
    await relate(client, ann, "block", cy)
    refused = [
        (bob, f"/api/v1/posts/{for_followers['id']}/like"),
        (cy, f"/api/v1/posts/{public['id']}/like"),
        (bob, f"/api/v1/posts/{uuid.uuid4()}/like"),
    ]
    for person, url in refused:
        answer = await client.put(url, headers=person.headers)
        assert (answer.status_code, answer.json()["detail"]) == (404, "No such post.")
    await relate(client, bob, "follow", ann)
    liked = await client.put(f"/api/v1/posts/{for_followers['id']}/like", headers=bob.headers)
    assert liked.status_code == 204
    seen = await get_json(client, f"/api/v1/posts/{for_followers['id']}", ann)
    assert seen["like_count"] == 1
    assert (await get_json(client, f"/api/v1/posts/{public['id']}", ann))["like_count"] == 0
    assert [p["user_id"] for e, p in published if e == "post.liked"] == [bob.id]


async def test_comments_replies_and_their_limits(client: Client) -> None:
    ann, bob = await register(client, "ann"), await register(client, "bob")
    post = await write_post(client, ann)
    other_post = await write_post(client, ann, "another")
    first = await write_comment(client, bob, post["id"], "first!")
    reply = await write_comment(client, ann, post["id"], "thanks", reply_to=first["id"])
    assert (reply["reply_to"], first["reply_to"]) == (first["id"], None)
    too_deep = await client.post(
        f"/api/v1/posts/{post['id']}/comments",
        json={"text": "deeper", "reply_to": reply["id"]},
        headers=bob.headers,
    )
    assert too_deep.status_code == 422
    assert too_deep.json()["errors"][0]["field"] == "reply_to"
    elsewhere = await client.post(
        f"/api/v1/posts/{other_post['id']}/comments",
        json={"text": "lost", "reply_to": first["id"]},
        headers=bob.headers,
    )
    assert elsewhere.status_code == 422
    listing = await get_json(client, f"/api/v1/posts/{post['id']}/comments")
    assert [c["id"] for c in listing["items"]] == [first["id"], reply["id"]]
    assert (await get_json(client, f"/api/v1/posts/{post['id']}"))["comment_count"] == 2

    edited = await client.patch(
        f"/api/v1/comments/{first['id']}", json={"text": "first, edited"}, headers=bob.headers
    )
    assert edited.status_code == 200
    assert edited.json()["edited_at"] is not None
    not_yours = await client.patch(
        f"/api/v1/comments/{first['id']}", json={"text": "hijack"}, headers=ann.headers
    )
    assert not_yours.status_code == 403
    # The post's author removes bob's comment; it stays a tombstone because it has a reply.
    assert (
        await client.delete(f"/api/v1/comments/{first['id']}", headers=ann.headers)
    ).status_code == 204
    listing = await get_json(client, f"/api/v1/posts/{post['id']}/comments")
    tombstone = listing["items"][0]
    assert (tombstone["deleted"], tombstone["author"], tombstone["text"]) == (True, None, "")
    assert (await get_json(client, f"/api/v1/posts/{post['id']}"))["comment_count"] == 1
    # Its reply deleted by its own author: nothing is left to show.
    assert (
        await client.delete(f"/api/v1/comments/{reply['id']}", headers=ann.headers)
    ).status_code == 204
    assert (await get_json(client, f"/api/v1/posts/{post['id']}/comments"))["items"] == []
    assert (await get_json(client, f"/api/v1/posts/{post['id']}"))["comment_count"] == 0


async def test_comment_likes(client: Client) -> None:
    ann, bob = await register(client, "ann"), await register(client, "bob")
    post = await write_post(client, ann)
    comment = await write_comment(client, ann, post["id"])
    url = f"/api/v1/comments/{comment['id']}/like"
    for _ in range(2):
        assert (await client.put(url, headers=bob.headers)).status_code == 204
    listing = await get_json(client, f"/api/v1/posts/{post['id']}/comments", bob)
    assert (listing["items"][0]["like_count"], listing["items"][0]["viewer_has_liked"]) == (1, True)
    for _ in range(2):
        assert (await client.delete(url, headers=bob.headers)).status_code == 204
    listing = await get_json(client, f"/api/v1/posts/{post['id']}/comments", bob)
    assert (listing["items"][0]["like_count"], listing["items"][0]["viewer_has_liked"]) == (
        0,
        False,
    )


async def test_mentions_are_resolved_stored_and_announced_once(
    client: Client, published: list[tuple[str, dict[str, Any]]]
) -> None:
    ann, bob = await register(client, "ann"), await register(client, "bob")
    await register(client, "cyd")
    post = await write_post(
        client, ann, "hi @Bob and @cyd, not @nobody_here nor me@ann.example @ann"
    )
    assert post["mentions"] == ["bob", "cyd"]
    mentioned = [p["user_id"] for e, p in published if e == "person.mentioned"]
    assert len(mentioned) == 2
    assert bob.id in mentioned
    published.clear()
    edited = await client.patch(
        f"/api/v1/posts/{post['id']}", json={"text": "just @bob now"}, headers=ann.headers
    )
    assert edited.json()["mentions"] == ["bob"]
    assert [e for e, _ in published if e == "person.mentioned"] == []  # bob was told already
    comment = await write_comment(client, bob, post["id"], "thanks @ann")
    mention = [p for e, p in published if e == "person.mentioned"]
    assert mention == [
        {"user_id": ann.id, "author_id": bob.id, "post_id": post["id"], "comment_id": comment["id"]}
    ]


async def test_nobody_blocked_is_mentioned(
    client: Client, published: list[tuple[str, dict[str, Any]]]
) -> None:
    ann, bob = await register(client, "ann"), await register(client, "bob")
    await relate(client, bob, "block", ann)
    post = await write_post(client, ann, "hey @bob")
    assert post["mentions"] == []
    assert [e for e, _ in published if e == "person.mentioned"] == []


async def test_only_people_who_may_see_the_post_are_told_they_are_named(
    client: Client, published: list[tuple[str, dict[str, Any]]]
) -> None:
    ann, bob, cyd = [await register(client, handle) for handle in ("ann", "bob", "cyd")]
    await relate(client, cyd, "follow", ann)

    def told() -> list[str]:
        named = [p["user_id"] for e, p in published if e == "person.mentioned"]
        published.clear()
        return named

    followers = await write_post(client, ann, "hi @bob and @cyd", visibility="followers")
    assert followers["mentions"] == ["bob", "cyd"]  # stored for everyone it names
    assert told() == [cyd.id]  # bob does not follow ann: he may not read it
    private = await write_post(client, ann, "note to self about @cyd", visibility="private")
    assert private["mentions"] == ["cyd"]
    assert told() == []
    await write_comment(client, cyd, followers["id"], "@bob you cannot see this")
    assert told() == []
    widened = await client.patch(
        f"/api/v1/posts/{private['id']}",
        json={"text": "note to @bob about @cyd", "visibility": "public"},
        headers=ann.headers,
    )
    assert widened.status_code == 200, widened.text
    assert told() == [bob.id]  # newly named, and the post is public by then
    profile = await client.patch(
        "/api/v1/users/me", json={"profile_visibility": "followers"}, headers=ann.headers
    )
    assert profile.status_code == 200, profile.text
    await write_post(client, ann, "public words, @bob and @cyd")
    assert told() == [cyd.id]  # a followers-only profile keeps its public posts to followers


async def test_a_deleted_account_takes_its_content_and_counts_are_repaired(
    client: Client,
) -> None:
    ann, bob = await register(client, "ann"), await register(client, "bob")
    ann_post = await write_post(client, ann)
    bob_post = await write_post(client, bob)
    await client.put(f"/api/v1/posts/{ann_post['id']}/like", headers=bob.headers)
    bob_comment = await write_comment(client, bob, ann_post["id"])
    await client.put(f"/api/v1/comments/{bob_comment['id']}/like", headers=ann.headers)
    await write_comment(client, ann, bob_post["id"])
    await client.put(f"/api/v1/posts/{bob_post['id']}/like", headers=ann.headers)

    deleted = await client.request(
        "DELETE", "/api/v1/users/me", json={"password": PASSWORD}, headers=bob.headers
    )
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/posts/{bob_post['id']}")).status_code == 404
    await drain_jobs(client)
    seen = await get_json(client, f"/api/v1/posts/{ann_post['id']}", ann)
    assert (seen["like_count"], seen["comment_count"]) == (0, 0)
    assert (await get_json(client, f"/api/v1/posts/{ann_post['id']}/comments"))["items"] == []
    export = await get_json(client, "/api/v1/users/me/export", ann)
    assert [p["id"] for p in export["content"]["posts"]] == [ann_post["id"]]
    assert export["content"]["liked_posts"] == []  # bob's post went, and ann's like with it
    assert len(export["content"]["comments"]) == 0


async def test_the_reconciliation_job_reports_and_repairs_drifted_counts(
    client: Client, settings: Settings
) -> None:
    ann, bob = await register(client, "ann"), await register(client, "bob")
    post = await write_post(client, ann)
    comment = await write_comment(client, bob, post["id"])
    await client.put(f"/api/v1/posts/{post['id']}/like", headers=bob.headers)
    config = build_sqlalchemy_config(settings)
    context = JobContext(settings, config.create_session_maker(), client.app.state.job_runner)
    try:
        assert await reconcile(context) == {}  # counts kept in the same transaction: no drift
        await sql(settings, "UPDATE posts SET like_count = 7, comment_count = 0")
        await sql(settings, "UPDATE comments SET like_count = 3")
        assert await reconcile(context) == {
            "posts.like_count": 1,
            "posts.comment_count": 1,
            "comments.like_count": 1,
        }
    finally:
        await config.get_engine().dispose()
    seen = await get_json(client, f"/api/v1/posts/{post['id']}", ann)
    assert (seen["like_count"], seen["comment_count"]) == (1, 1)
    listing = await get_json(client, f"/api/v1/posts/{post['id']}/comments", ann)
    assert listing["items"][0]["id"] == comment["id"]
    assert listing["items"][0]["like_count"] == 0
    assert logged("content_count_drift", level="error", table="posts", column="like_count")
