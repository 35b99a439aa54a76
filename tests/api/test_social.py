"""Follow, block and mute, with the visibility rules they imply."""

import asyncio

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.app import create_app
from selflink_api.settings import Settings
from tests.api.conftest import app_client, drain_jobs
from tests.api.live import live_server
from tests.api.people import Person, login, register
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


async def profile(client: Client, handle: str, viewer: Person | None = None) -> dict[str, object]:
    response = await client.get(f"/api/v1/users/{handle}", headers=viewer.headers if viewer else {})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_follow_is_idempotent_and_counted(client: Client) -> None:
    ann, bob = await register(client, "ann"), await register(client, "bob")
    for _ in range(2):
        assert (
            await client.post("/api/v1/users/bob/follow", headers=ann.headers)
        ).status_code == 204
    bob_seen_by_ann = await profile(client, "bob", ann)
    assert bob_seen_by_ann["counts"] == {"followers": 1, "following": 0}
    assert (bob_seen_by_ann["is_following"], bob_seen_by_ann["follows_you"]) == (True, False)
    ann_seen_by_bob = await profile(client, "ann", bob)
    assert (ann_seen_by_bob["is_following"], ann_seen_by_bob["follows_you"]) == (False, True)
    for _ in range(2):
        assert (
            await client.delete("/api/v1/users/bob/follow", headers=ann.headers)
        ).status_code == 204
    assert (await profile(client, "bob"))["counts"] == {"followers": 0, "following": 0}


async def test_nobody_follows_themselves_or_the_missing(client: Client) -> None:
    ann = await register(client, "ann")
    assert (await client.post("/api/v1/users/ann/follow", headers=ann.headers)).status_code == 422
    assert (
        await client.post("/api/v1/users/nobody_here/follow", headers=ann.headers)
    ).status_code == 404
    assert (await client.post("/api/v1/users/@ANN/follow", headers=ann.headers)).status_code == 422
    await register(client, "bob")
    assert (await client.post("/api/v1/users/@Bob/follow", headers=ann.headers)).status_code == 204
    assert (await profile(client, "bob"))["counts"] == {"followers": 1, "following": 0}


async def test_block_cuts_follows_both_ways_and_prevents_new_ones(client: Client) -> None:
    ann, bob = await register(client, "ann"), await register(client, "bob")
    await client.post("/api/v1/users/bob/follow", headers=ann.headers)
    await client.post("/api/v1/users/ann/follow", headers=bob.headers)
    assert (await client.post("/api/v1/users/bob/block", headers=ann.headers)).status_code == 204
    assert (await profile(client, "ann", ann))["counts"] == {"followers": 0, "following": 0}
    assert (await client.post("/api/v1/users/bob/follow", headers=ann.headers)).status_code == 403
    assert (await client.post("/api/v1/users/ann/follow", headers=bob.headers)).status_code == 403
    for viewer, other in ((ann, "bob"), (bob, "ann")):  # minimal profile, in both directions
        seen = await profile(client, other, viewer)
        assert seen["restricted"] is True
        assert set(seen) == {"handle", "display_name", "restricted"}
        listing = await client.get(f"/api/v1/users/{other}/followers", headers=viewer.headers)
        assert listing.status_code == 403
    blocked = (await client.get("/api/v1/users/me/blocked", headers=ann.headers)).json()
    assert blocked["items"] == [{"handle": "bob", "display_name": "bob", "restricted": True}]
    assert (await client.delete("/api/v1/users/bob/block", headers=ann.headers)).status_code == 204
    assert (await client.post("/api/v1/users/bob/follow", headers=ann.headers)).status_code == 204


async def test_mute_is_private_to_the_muter(client: Client) -> None:
    ann, bob = await register(client, "ann"), await register(client, "bob")
    assert (await client.post("/api/v1/users/bob/mute", headers=ann.headers)).status_code == 204
    assert (await client.post("/api/v1/users/bob/mute", headers=ann.headers)).status_code == 204
    muted = (await client.get("/api/v1/users/me/muted", headers=ann.headers)).json()
    assert [p["handle"] for p in muted["items"]] == ["bob"]
    assert (await client.get("/api/v1/users/me/muted", headers=bob.headers)).json()["items"] == []
    assert (await profile(client, "ann", bob))["restricted"] is False
    assert (await client.delete("/api/v1/users/bob/mute", headers=ann.headers)).status_code == 204
    assert (await client.get("/api/v1/users/me/muted", headers=ann.headers)).json()["items"] == []


async def test_follower_lists_page_newest_first(client: Client) -> None:
    star = await register(client, "star")
    fans = [await register(client, f"fan_{i}") for i in range(5)]
    for fan in fans:
        await client.post("/api/v1/users/star/follow", headers=fan.headers)
    seen, cursor = [], None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/users/star/followers", params=params)).json()
        seen += [p["handle"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"fan_{i}" for i in reversed(range(5))]
    following = (await client.get("/api/v1/users/fan_0/following", headers=star.headers)).json()
    assert [p["handle"] for p in following["items"]] == ["star"]


@pytest.mark.parametrize(
    ("visibility", "anonymous", "stranger", "follower"),
    [
        ("public", False, False, False),
        ("followers", True, True, False),
        ("private", True, True, True),
    ],
)
async def test_profile_visibility(
    client: Client, visibility: str, anonymous: bool, stranger: bool, follower: bool
) -> None:
    owner = await register(client, "owner")
    fan, other = await register(client, "fan"), await register(client, "other")
    await client.post("/api/v1/users/owner/follow", headers=fan.headers)
    await client.patch(
        "/api/v1/users/me", headers=owner.headers, json={"profile_visibility": visibility}
    )
    assert (await profile(client, "owner"))["restricted"] is anonymous
    assert (await profile(client, "owner", other))["restricted"] is stranger
    assert (await profile(client, "owner", fan))["restricted"] is follower
    assert (await profile(client, "owner", owner))["restricted"] is False


async def test_concurrent_follows_make_one_follow_and_one_notification_on_postgresql(
    postgres_settings: Settings,
) -> None:
    """A double tap sent twice at once: every answer is 204, one row, one notification."""
    settings = postgres_settings
    async with app_client(create_app(settings)) as client:
        ann, _ = await register(client, "ann"), await register(client, "bob")
    # A real server, so the follows really run in parallel on several connections.
    async with live_server(create_app(settings)) as base_url, httpx.AsyncClient() as http:
        answers = await asyncio.gather(
            *(
                http.post(f"{base_url}/api/v1/users/bob/follow", headers=ann.headers)
                for _ in range(12)
            )
        )
    assert {a.status_code for a in answers} == {204}, [a.text for a in answers]
    async with app_client(create_app(settings)) as client:
        await drain_jobs(client)
        bob = await login(client, "bob")
        told = await client.get("/api/v1/notifications", headers=bob.headers)
    assert [n["kind"] for n in told.json()["items"]] == ["follow"]
    assert (await sql(settings, "SELECT count(*) FROM follows"))[0][0] == 1
