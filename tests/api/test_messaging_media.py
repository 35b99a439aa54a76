"""Photos and videos in messages: held for the message, shown to its thread at signed URLs,
released with the message."""

import pytest

from tests.api.conftest import MEDIA_ROOT, drain_jobs
from tests.api.content_helpers import Client, write_post
from tests.api.media_helpers import path_of, uploaded, video
from tests.api.messaging_helpers import direct_thread, group, send
from tests.api.people import register
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio


def without_urls(message: dict[str, object]) -> dict[str, object]:
    """A message view with its media's signed URLs left out (they change by the minute)."""
    media = message["media"]
    assert isinstance(media, list)
    return message | {"media": [{**m, "urls": None} for m in media]}


async def test_a_message_carries_up_to_four_photos_shown_to_its_members_only(
    client: Client,
) -> None:
    ana, ben, cara, eve = [await register(client, h) for h in ("ana", "ben", "cara", "eve")]
    thread_id = await group(client, ana, ben, cara)
    photos = [await uploaded(client, ana) for _ in range(4)]
    sent = await send(client, ana, thread_id, "", media=[p["id"] for p in reversed(photos)])
    assert sent["text"] == ""
    assert [m["id"] for m in sent["media"]] == [p["id"] for p in reversed(photos)]
    history = await client.get(f"/api/v1/threads/{thread_id}/messages", headers=ben.headers)
    shown = history.json()["items"][0]
    assert without_urls(shown) == without_urls(sent)
    first = shown["media"][0]
    assert "signature=" in first["urls"]["original"]  # never a plain URL
    fetched = await client.get(path_of(first["urls"]["original"]))
    assert fetched.status_code == 200
    assert fetched.headers["cache-control"].startswith("private")
    # outsiders get nothing: the plain URL, with or without a token, is a 404
    plain = f"/api/v1/media/{first['id']}/original"
    assert (await client.get(plain, headers=eve.headers)).status_code == 404
    assert (await client.get(plain, headers=ben.headers)).status_code == 404
    assert (await client.get(plain)).status_code == 404
    # the sender still reaches their own upload with their token
    assert (await client.get(plain, headers=ana.headers)).status_code == 200


async def test_media_rules_are_a_posts_and_an_upload_goes_to_one_place_only(
    client: Client,
) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    thread = await direct_thread(client, ana, ben)
    url = f"/api/v1/threads/{thread['id']}/messages"
    five = [(await uploaded(client, ana))["id"] for _ in range(5)]
    clip = (await uploaded(client, ana, video(), filename="c.mp4", content_type="video/mp4"))["id"]
    bens = (await uploaded(client, ben))["id"]
    refused = {
        "five": {"media": five},
        "video and photo": {"media": [clip, five[0]]},
        "twice": {"media": [five[0], five[0]]},
        "not mine": {"media": [bens]},
        "no text, no media": {"text": ""},
        "blank": {"text": "   "},
    }
    for name, body in refused.items():
        answer = await client.post(
            url, json={"client_id": name.replace(" ", "-"), **body}, headers=ana.headers
        )
        assert answer.status_code == 422, (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    sent = await send(client, ana, thread["id"], "a clip", media=[clip])
    assert sent["media"][0]["kind"] == "video"
    # held by a message, it goes on no post and in no other message
    on_post = await client.post(
        "/api/v1/posts", json={"text": "x", "media": [clip]}, headers=ana.headers
    )
    assert on_post.status_code == 422
    again = await client.post(
        url, json={"client_id": "again", "media": [clip]}, headers=ana.headers
    )
    assert again.status_code == 422
    # and one on a post goes in no message
    posted = await uploaded(client, ana)
    await write_post(client, ana, media=[posted["id"]])
    into_message = await client.post(
        url, json={"client_id": "posted", "media": [posted["id"]]}, headers=ana.headers
    )
    assert into_message.status_code == 422


async def test_a_resend_holds_nothing_twice_and_returns_the_same_message(client: Client) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    thread = await direct_thread(client, ana, ben)
    media = (await uploaded(client, ana))["id"]
    url = f"/api/v1/threads/{thread['id']}/messages"
    body = {"client_id": "phone-7", "text": "look", "media": [media]}
    first = await client.post(url, json=body, headers=ana.headers)
    again = await client.post(url, json=body, headers=ana.headers)
    assert first.status_code == again.status_code == 201
    assert without_urls(first.json()) == without_urls(again.json())
    rows = await sql(client.app.state.settings, "SELECT count(*) FROM message_media")
    assert rows[0][0] == 1


async def test_deleting_a_message_removes_its_files_and_the_sweep_leaves_held_ones(
    client: Client,
) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    thread = await direct_thread(client, ana, ben)
    kept, gone = (await uploaded(client, ana))["id"], (await uploaded(client, ana))["id"]
    await send(client, ana, thread["id"], "stays", media=[kept])
    doomed = await send(client, ana, thread["id"], "goes", media=[gone])
    await drain_jobs(client)
    signed = path_of(doomed["media"][0]["urls"]["original"])
    assert (await client.get(signed)).status_code == 200
    deleted = await client.delete(f"/api/v1/messages/{doomed['id']}", headers=ana.headers)
    assert deleted.status_code == 204
    assert (await client.get(signed)).status_code == 404  # at once, even at a signed URL
    await drain_jobs(client)
    assert not list((MEDIA_ROOT / gone).glob("*"))
    assert (MEDIA_ROOT / kept / "original.jpg").exists()
    history = await client.get(f"/api/v1/threads/{thread['id']}/messages", headers=ben.headers)
    by_text = {m["text"]: m for m in history.json()["items"]}
    assert by_text[""]["media"] == []
    assert by_text[""]["deleted"]
    assert [m["id"] for m in by_text["stays"]["media"]] == [kept]
    held = await sql(
        client.app.state.settings, "SELECT held_by FROM media WHERE removed_at IS NULL"
    )
    assert held == [("messaging",)]


async def test_the_export_lists_each_sent_messages_media(client: Client) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    thread = await direct_thread(client, ana, ben)
    first, second = (await uploaded(client, ana))["id"], (await uploaded(client, ana))["id"]
    await send(client, ana, thread["id"], "two", media=[second, first])
    await send(client, ana, thread["id"], "none")
    export = (await client.get("/api/v1/users/me/export", headers=ana.headers)).json()
    sent = {m["text"]: m["media"] for m in export["messaging"]["messages_sent"]}
    assert sent == {"two": [second, first], "none": []}
    held = {m["id"]: m["held_by"] for m in export["content"]["media"]}
    assert held == {first: "messaging", second: "messaging"}
