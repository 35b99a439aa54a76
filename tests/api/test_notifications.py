"""Notifications through HTTP and their jobs: collapsing, reading, preferences, mutes and blocks,
quiet hours across a DST change, Web Push to a real endpoint, the digest, retention, export."""

import base64
import contextlib
import dataclasses
import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
import anyio.lowlevel
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.testing import AsyncTestClient
from py_vapid import Vapid02
from redis.asyncio import Redis
from uuid_utils.compat import uuid7

from selflink_api.app import create_app
from selflink_api.messaging import services as messaging_services
from selflink_api.notifications import jobs, push
from selflink_api.notifications.batches import GroupCommit, group_commit_for
from selflink_api.notifications.models import NotificationKind as Kind
from selflink_api.notifications.services import Event, Told, notify
from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.events import MATCH_FEATURES_READY, MESSAGE_SENT, MODERATION_DECIDED
from selflink_api.platform.jobs import JobContext, JobDefinition
from selflink_api.platform.realtime import PubSubLiveEvents, live_channel
from selflink_api.rewards.models import RewardContributor, RewardPayout
from selflink_api.settings import Settings
from tests.api.conftest import app_client, drain_jobs, make_settings
from tests.api.content_helpers import relate, write_comment, write_post
from tests.api.live import live_server
from tests.api.messaging_helpers import direct_thread, group, send
from tests.api.people import Person, register
from tests.api.realtime_helpers import connected, next_frame
from tests.api.test_auth import make_staff, sql
from tests.api.test_feed import counted_statements
from tests.api.test_realtime import join
from tests.servers import PushEndpoint, push_endpoint

Client = AsyncTestClient[Litestar]
pytestmark = pytest.mark.anyio


def vapid_private_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PushEndpoint]:
    with push_endpoint(tmp_path_factory.mktemp("push")) as running:
        yield running


@pytest.fixture
def push_settings(database_url: str) -> Settings:
    return make_settings(
        database_url, VAPID_PRIVATE_KEY=vapid_private_key(), VAPID_SUBJECT="mailto:ops@example.org"
    )


@pytest.fixture
async def pclient(push_settings: Settings) -> Any:
    async with app_client(create_app(push_settings)) as test_client:
        yield test_client


async def listed(client: Client, person: Person, **query: Any) -> list[dict[str, Any]]:
    await drain_jobs(client)
    response = await client.get("/api/v1/notifications", params=query, headers=person.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def unread(client: Client, person: Person) -> int:
    response = await client.get("/api/v1/notifications/unread-count", headers=person.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["unread"])


async def like(client: Client, person: Person, post_id: str) -> None:
    response = await client.put(f"/api/v1/posts/{post_id}/like", headers=person.headers)
    assert response.status_code in {200, 204}, response.text


async def publish(client: Client, event: str, **payload: Any) -> None:
    """Publish a domain event as its publisher would, after a commit."""
    runner = client.app.state.job_runner
    for job in client.app.state.shared.events.subscribers_of(event):
        submit = functools.partial(runner.submit, job, payload)
        await anyio.to_thread.run_sync(client.blocking_portal.call, submit)
    await drain_jobs(client)


@contextlib.contextmanager
def push_worker(settings: Settings, delivery_id: UUID) -> "Iterator[subprocess.Popen[bytes]]":
    """`tests/push_worker.py` sending one delivery, killed with SIGKILL when the block ends."""
    env = {
        **os.environ,
        "SELFLINK_PROFILE": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": "",
        "SECRET_KEY": settings.secret_key.get_secret_value(),
        "VAPID_PRIVATE_KEY": settings.vapid_private_key.get_secret_value(),
        "VAPID_SUBJECT": settings.vapid_subject,
        "LOG_FILE": "",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.push_worker", str(delivery_id)],
        cwd=Path(__file__).parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield worker
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)


def moment(value: Any) -> datetime:
    """A timestamp read by `sql` (a string on SQLite, a datetime on PostgreSQL), in UTC."""
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def job_context(settings: Settings, clock: Callable[[], datetime]) -> JobContext:
    """A job context on its own engine and clock, whose follow-up jobs run at once."""

    class Inline:
        async def submit(self, job: JobDefinition, kwargs: dict[str, Any]) -> None:
            await job(context, **kwargs)

    config = build_sqlalchemy_config(settings)
    context = JobContext(settings, config.create_session_maker(), Inline(), clock=clock)
    return context


async def subscribe(client: Client, person: Person, endpoint: PushEndpoint, name: str) -> str:
    registration = endpoint.subscribe(name)
    response = await client.put(
        "/api/v1/notifications/push/devices", json=registration, headers=person.headers
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def test_likes_collapse_into_one_notification_until_it_is_read(client: Client) -> None:
    ana = await register(client, "ana")
    others = [await register(client, h) for h in ("ben", "cara", "dan")]
    post = await write_post(client, ana, "my first chart")
    for person in others:
        await like(client, person, post["id"])
    await like(client, ana, post["id"])  # one's own like tells nobody
    (told,) = await listed(client, ana)
    assert told["kind"] == "like"
    assert told["text"] == "@dan and 2 others liked your post"
    assert (told["actor_count"], told["post_id"], told["unread"]) == (3, post["id"], True)
    assert [a["handle"] for a in told["actors"]] == ["dan", "cara", "ben"]
    assert await unread(client, ana) == 1

    read = await client.post(f"/api/v1/notifications/{told['id']}/read", headers=ana.headers)
    assert read.status_code == 204
    assert await unread(client, ana) == 0
    eve = await register(client, "eve")
    await like(client, eve, post["id"])
    newest, older = await listed(client, ana)
    assert newest["text"] == "@eve liked your post"
    assert newest["unread"]
    assert older["id"] == told["id"]
    assert not older["unread"]
    stranger = await register(client, "zed")
    foreign = await client.post(
        f"/api/v1/notifications/{told['id']}/read", headers=stranger.headers
    )
    assert foreign.status_code == 404
    marked = await client.post("/api/v1/notifications/read-all", headers=ana.headers)
    assert marked.json() == {"marked": 1}
    assert await unread(client, ana) == 0


async def test_follows_comments_replies_mentions_and_messages(client: Client) -> None:
    ana, ben, cara = [await register(client, h) for h in ("ana", "ben", "cara")]
    await relate(client, ben, "follow", ana)
    await relate(client, cara, "follow", ana)
    await relate(client, cara, "follow", ana)  # not new: nothing more
    post = await write_post(client, ana, "saturn return")
    first = await write_comment(client, ben, post["id"], "same here")
    await write_comment(client, cara, post["id"], "me too", reply_to=first["id"])
    await write_post(client, cara, "thanks @ana")
    thread = await direct_thread(client, ben, ana)
    for text in ("hi", "are you there", "coffee?"):
        await send(client, ben, thread["id"], text)
    texts = {n["kind"]: n["text"] for n in await listed(client, ana)}
    assert texts == {
        "follow": "@cara and 1 other followed you",
        "comment": "@cara and 1 other commented on your post",
        "mention": "@cara mentioned you",
        "message": "3 new messages from @ben",
    }
    (reply,) = await listed(client, ben)
    assert reply["text"] == "@cara replied to your comment"


@pytest.mark.parametrize("named", [True, False], ids=["named", "large group"])
async def test_a_message_tells_the_members_it_was_sent_to(
    client: Client, named: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message's event names its recipients (the thread's other members when it was sent),
    or, in a group too large to name them, the job reads those who had joined before it; its
    notifications go to them alone: someone added before the worker ran is not told of a
    message sent before they joined (and that they cannot read)."""
    if not named:
        monkeypatch.setattr(messaging_services, "RECIPIENTS_IN_EVENT", 1)
    ana, ben, cara, dan = [await register(client, h) for h in ("ana", "ben", "cara", "dan")]
    thread_id = await group(client, ben, ana, dan)
    runner = client.app.state.job_runner
    announced: list[tuple[str, dict[str, Any]]] = []

    async def held(event: str, payload: Any) -> None:  # the worker has not run yet
        announced.append((event, dict(payload)))

    runner.announce = held
    message = await send(client, ben, thread_id, "before cara")
    assert message["sender"]["handle"] == "ben"
    added = await client.post(
        f"/api/v1/threads/{thread_id}/members", json={"handles": [cara.handle]}, headers=ben.headers
    )
    assert added.status_code == 200, added.text
    del runner.announce
    ((event, payload),) = [(e, p) for e, p in announced if e == MESSAGE_SENT]
    named_ids = payload["recipient_ids"]
    assert {**payload, "recipient_ids": named_ids and sorted(named_ids)} == {
        "message_id": message["id"],
        "thread_id": thread_id,
        "sender_id": ben.id,
        "recipient_ids": sorted([ana.id, dan.id]) if named else None,
    }
    await publish(client, event, **payload)
    for member in (ana, dan):
        assert [n["text"] for n in await listed(client, member)] == ["1 new message from @ben"]
    assert await listed(client, cara) == []


async def test_a_message_notification_goes_live_once_until_it_is_read(client: Client) -> None:
    """Later messages collapse into the unread row without a live frame of their own (each
    already reached the sockets as `message.created`); a like still goes live each time."""
    ana, ben = await register(client, "ana"), await register(client, "ben")
    thread = await direct_thread(client, ben, ana)
    sent: list[tuple[list[str], dict[str, Any]]] = []

    class Recorder:
        async def send(self, user_ids: Any, event_type: str, data: Any) -> None:
            assert event_type == jobs.LIVE_EVENT
            sent.append(([str(u) for u in user_ids], data))

    client.app.state.job_runner.live = Recorder()
    for text in ("hi", "are you there", "coffee?"):
        await send(client, ben, thread["id"], text)
        await drain_jobs(client)
    assert [(who, data["notification"]["text"]) for who, data in sent] == [
        ([ana.id], "1 new message from @ben")
    ]
    (collapsed,) = await listed(client, ana)
    assert collapsed["text"] == "3 new messages from @ben"

    await client.post("/api/v1/notifications/read-all", headers=ana.headers)
    await send(client, ben, thread["id"], "hello again")
    await drain_jobs(client)
    post = await write_post(client, ana, "saturn return")
    await client.put(f"/api/v1/posts/{post['id']}/like", headers=ben.headers)
    await drain_jobs(client)
    assert [data["notification"]["text"] for _, data in sent[1:]] == [
        "1 new message from @ben",
        "@ben liked your post",
    ]
    assert sent[-1][1]["unread"] == 2


async def test_one_event_for_many_people_costs_statements_that_do_not_grow_with_them(
    client: Client, settings: Settings
) -> None:
    sender = await register(client, "host")
    context = job_context(settings, lambda: datetime.now(UTC))
    statements_for: dict[int, int] = {}
    for size in (2, 7):
        members = [await register(client, f"guest_{size}_{n}") for n in range(size)]
        await relate(client, members[0], "mute", sender)
        thread_id = await group(client, sender, *members, title=f"Of {size}")
        await drain_jobs(client)  # nothing else runs statements while these are counted
        key = f"message:thread:{thread_id}"
        events = [
            Event(UUID(m.id), Kind.MESSAGE, key, UUID(sender.id), UUID(thread_id)) for m in members
        ]
        with counted_statements() as statements:
            async with context.session() as session:
                told = await notify(session, events, datetime.now(UTC))
        statements_for[size] = len(statements)
        assert {t.recipient for t in told} == {UUID(m.id) for m in members[1:]}  # one muted
        assert await listed(client, members[0]) == []
        for member in members[1:]:
            (shown,) = await listed(client, member)
            assert shown["text"] == "1 new message from @host"
    assert statements_for[7] == statements_for[2], statements_for


async def test_mutes_blocks_and_preferences_suppress(client: Client) -> None:
    ana, ben, cara, dan = [await register(client, h) for h in ("ana", "ben", "cara", "dan")]
    await relate(client, ana, "mute", ben)
    await relate(client, cara, "block", ana)
    changed = await client.patch(
        "/api/v1/notifications/preferences",
        json={"kinds": {"follow": {"in_app": False}}},
        headers=ana.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["kinds"]["follow"] == {"in_app": False, "push": True, "email": False}
    assert changed.json()["kinds"]["like"] == {"in_app": True, "push": False, "email": False}
    post = await write_post(client, ana, "hello")
    await like(client, ben, post["id"])  # muted
    await relate(client, dan, "follow", ana)  # follows are off
    await publish(
        client,
        MODERATION_DECIDED,
        decision_id=str(uuid7()),
        user_id=ana.id,
        action="warn",
        reason="spam",
    )
    (only,) = await listed(client, ana)
    assert (only["kind"], only["detail"]) == ("moderation", "warn")
    assert only["text"] == "a moderation decision about you: warn"
    bad = await client.patch(
        "/api/v1/notifications/preferences",
        json={"kinds": {"nonsense": {"push": True}}, "quiet_hours": {"start": "25:00", "end": "7"}},
        headers=ana.headers,
    )
    assert bad.status_code == 422


async def test_pages_newest_first_or_unread_first(client: Client) -> None:
    ana = await register(client, "ana")
    people = [await register(client, f"fan{i}") for i in range(3)]
    posts = [await write_post(client, ana, f"post {i}") for i in range(3)]
    for person, post in zip(people, posts, strict=True):
        await like(client, person, post["id"])
    newest = await listed(client, ana)
    await client.post(f"/api/v1/notifications/{newest[0]['id']}/read", headers=ana.headers)
    unread_first = [n["id"] for n in await listed(client, ana, order="unread")]
    assert unread_first == [newest[1]["id"], newest[2]["id"], newest[0]["id"]]
    first = await client.get("/api/v1/notifications?limit=2", headers=ana.headers)
    second = await client.get(
        "/api/v1/notifications",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=ana.headers,
    )
    paged = [n["id"] for n in first.json()["items"] + second.json()["items"]]
    assert paged == [n["id"] for n in newest]
    assert second.json()["next_cursor"] is None
    wrong = await client.get(
        "/api/v1/notifications",
        params={"order": "unread", "cursor": first.json()["next_cursor"]},
        headers=ana.headers,
    )
    assert wrong.status_code == 400


async def test_push_is_signed_encrypted_sent_once_retried_and_pruned(
    pclient: Client, push_settings: Settings, endpoint: PushEndpoint
) -> None:
    ana, ben = await register(pclient, "ana"), await register(pclient, "ben")
    key = await pclient.get("/api/v1/notifications/push/key", headers=ana.headers)
    assert len(base64.urlsafe_b64decode(key.json()["application_server_key"] + "=")) == 65
    ok = f"ok-{ana.id}"
    await subscribe(pclient, ana, endpoint, ok)
    await subscribe(pclient, ana, endpoint, f"gone-{ana.id}")
    await subscribe(pclient, ana, endpoint, f"flaky-{ana.id}")
    await relate(pclient, ben, "follow", ana)
    await drain_jobs(pclient)
    mine = [r for r in endpoint.received() if ana.id in r["name"]]
    delivered = [r for r in mine if "payload" in r]
    assert [r["name"] for r in delivered] == [ok]
    assert delivered[0]["payload"]["notification"]["text"] == "@ben followed you"
    assert delivered[0]["topic"]
    assert delivered[0]["ttl"] == "86400"
    assert {r["refused"] for r in mine if "refused" in r} == {"gone", "flaky"}
    devices = await pclient.get("/api/v1/notifications/push/devices", headers=ana.headers)
    assert len(devices.json()) == 2  # the gone one was pruned

    later = datetime.now(UTC) + timedelta(minutes=5)  # after the first back-off
    assert await jobs.sweep_pushes(job_context(push_settings, lambda: later)) == 1
    flaky = [r for r in endpoint.received() if r["name"] == f"flaky-{ana.id}" and "payload" in r]
    assert len(flaky) == 1
    assert await jobs.sweep_pushes(job_context(push_settings, lambda: later)) == 0
    rows = await sql(
        push_settings, "SELECT status, attempts FROM push_deliveries ORDER BY attempts"
    )
    assert [tuple(r) for r in rows] == [("sent", 1), ("sent", 2)]


async def test_a_sender_dying_between_claim_and_mark_leaves_one_push(
    pclient: Client, push_settings: Settings, endpoint: PushEndpoint
) -> None:
    ana, ben = await register(pclient, "ana"), await register(pclient, "ben")
    name = f"ok-{ana.id}"
    await subscribe(pclient, ana, endpoint, name)
    quiet = await pclient.patch(  # hold the push so that the test claims it first
        "/api/v1/notifications/preferences",
        json={"quiet_hours": {"start": "00:00", "end": "23:59"}},
        headers=ana.headers,
    )
    assert quiet.status_code == 200
    await relate(pclient, ben, "follow", ana)
    await drain_jobs(pclient)
    ((raw_id, not_before),) = await sql(push_settings, "SELECT id, not_before FROM push_deliveries")
    delivery_id = UUID(bytes=raw_id) if isinstance(raw_id, bytes) else UUID(str(raw_id))
    due = moment(not_before) + timedelta(seconds=1)
    context = job_context(push_settings, lambda: due)
    async with context.session() as session:  # the worker that dies: claimed, committed, gone
        dying = await push.claim(session, delivery_id, uuid7(), due, 60)
    assert dying is not None
    assert await jobs.send_push(context, delivery_id=str(delivery_id)) == "skipped"
    after_lease = job_context(push_settings, lambda: due + timedelta(seconds=61))
    assert await jobs.sweep_pushes(after_lease) == 1
    assert await jobs.sweep_pushes(after_lease) == 0
    async with context.session() as session:  # the dead worker's late mark changes nothing
        await push.settle(session, dying, uuid7(), push.Outcome.RETRY, "late", due, push_settings)
    assert [r["name"] for r in endpoint.received() if r["name"] == name] == [name]
    ((status, attempts),) = await sql(push_settings, "SELECT status, attempts FROM push_deliveries")
    assert (status, attempts) == ("sent", 2)


async def test_quiet_hours_hold_push_until_they_end_across_a_dst_change(
    pclient: Client, push_settings: Settings, endpoint: PushEndpoint
) -> None:
    """Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 29 March 2026: 07:00 that morning is
    05:00 UTC, not 06:00."""
    ana, ben = await register(pclient, "ana"), await register(pclient, "ben")
    await pclient.patch("/api/v1/users/me", json={"timezone": "Europe/Berlin"}, headers=ana.headers)
    await pclient.patch(
        "/api/v1/notifications/preferences",
        json={"quiet_hours": {"start": "22:00", "end": "07:00"}},
        headers=ana.headers,
    )
    name = f"ok-{ana.id}"
    await subscribe(pclient, ana, endpoint, name)
    evening = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    context = job_context(push_settings, lambda: evening)
    await jobs.on_followed(context, follower_id=ben.id, followee_id=ana.id)
    ((not_before,),) = await sql(push_settings, "SELECT not_before FROM push_deliveries")
    assert moment(not_before) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    before_end = datetime(2026, 3, 29, 4, 59, tzinfo=UTC)
    assert await jobs.sweep_pushes(job_context(push_settings, lambda: before_end)) == 0
    at_end = datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    assert await jobs.sweep_pushes(job_context(push_settings, lambda: at_end)) == 1
    assert [r["name"] for r in endpoint.received() if r["name"] == name] == [name]
    assert (await listed(pclient, ana))[0]["kind"] == "follow"  # in-app is never held


async def test_devices_upsert_and_go_with_logout_all_and_deletion(
    pclient: Client, push_settings: Settings, endpoint: PushEndpoint
) -> None:
    ana, ben = await register(pclient, "ana"), await register(pclient, "ben")
    registration = endpoint.subscribe(f"ok-{ana.id}")
    url = "/api/v1/notifications/push/devices"
    first = await pclient.put(url, json=registration, headers=ana.headers)
    again = await pclient.put(url, json=registration, headers=ana.headers)
    assert first.json()["id"] == again.json()["id"]
    taken = await pclient.put(url, json=registration, headers=ben.headers)  # a shared browser
    assert taken.json()["id"] == first.json()["id"]
    assert (await pclient.get(url, headers=ana.headers)).json() == []
    assert (
        await pclient.delete(f"{url}/{first.json()['id']}", headers=ana.headers)
    ).status_code == 404
    await pclient.put(url, json=endpoint.subscribe(f"ok2-{ana.id}"), headers=ana.headers)
    export = await pclient.get("/api/v1/users/me/export", headers=ana.headers)
    assert len(export.json()["notifications"]["devices"]) == 1
    await pclient.post("/api/v1/auth/logout-all", headers=ana.headers)
    await drain_jobs(pclient)
    mine = (
        "SELECT count(*) FROM push_devices d JOIN users u ON u.id = d.user_id WHERE u.handle = :h"
    )
    assert [tuple(r) for r in await sql(push_settings, mine, h="ana")] == [(0,)]
    deleted = await pclient.request(
        "DELETE", "/api/v1/users/me", json={"password": ben.password}, headers=ben.headers
    )
    assert deleted.status_code == 204, deleted.text
    assert [tuple(r) for r in await sql(push_settings, "SELECT count(*) FROM push_devices")] == [
        (0,)
    ]


async def test_digest_goes_through_the_outbox_and_old_read_ones_go(
    client: Client, settings: Settings
) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    staff = await make_staff(client, settings)
    await client.patch(
        "/api/v1/notifications/preferences",
        json={"kinds": {"follow": {"email": True}}},
        headers=ana.headers,
    )
    await relate(client, ben, "follow", ana)
    await drain_jobs(client)
    now = datetime.now(UTC)
    assert await jobs.send_daily_digests(job_context(settings, lambda: now)) == 1
    assert await jobs.send_daily_digests(job_context(settings, lambda: now)) == 0  # once a day
    held = await client.get("/api/v1/staff/outbox", headers=staff.headers)
    (digest,) = [m for m in held.json() if m["kind"] == "digest"]
    assert "@ben followed you" in digest["body"]

    await client.post("/api/v1/notifications/read-all", headers=ana.headers)
    export = await client.get("/api/v1/users/me/export", headers=ana.headers)
    assert [n["kind"] for n in export.json()["notifications"]["notifications"]] == ["follow"]
    soon = now + timedelta(days=89)
    assert await jobs.remove_old_read_notifications(job_context(settings, lambda: soon)) == 0
    late = now + timedelta(days=91)
    assert await jobs.remove_old_read_notifications(job_context(settings, lambda: late)) == 1


async def test_a_like_is_told_live_on_the_realtime_gateway(settings: Settings) -> None:
    app = create_app(settings)
    async with live_server(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        ana, ben = await join(http, "ana"), await join(http, "ben")
        async with connected(base_url, ana) as ws:
            post = (
                await http.post("/api/v1/posts", json={"text": "hi"}, headers=ana.headers)
            ).json()
            await http.put(f"/api/v1/posts/{post['id']}/like", headers=ben.headers)
            frame = await next_frame(ws, "notification")
        assert frame["data"]["notification"]["text"] == "@ben liked your post"
        assert frame["data"]["unread"] == 1


def test_the_push_endpoint_refuses_a_push_signed_by_another_key(endpoint: PushEndpoint) -> None:
    """The endpoint's checks can fail: a JWT signed by one key but naming another is refused."""
    name = f"forged-{uuid7()}"
    endpoint.subscribe(name)
    signer, named = Vapid02(), Vapid02()
    signer.generate_keys()
    named.generate_keys()
    claims = {"sub": "mailto:x@example.org", "aud": endpoint.base_url}
    header = signer.sign(claims)["Authorization"].split(",k=")[0]
    forged = f"{header},k={named.sign(claims)['Authorization'].split(',k=')[1]}"
    response = httpx.post(
        f"{endpoint.base_url}/push/{name}",
        content=b"x" * 100,
        headers={"Authorization": forged, "Content-Encoding": "aes128gcm"},
    )
    assert response.status_code == 403
    assert [r.get("refused") for r in endpoint.received() if r["name"] == name] == ["bad signature"]


async def test_a_payout_moving_and_refreshed_match_suggestions_are_told(
    client: Client, settings: Settings
) -> None:
    ana = await register(client, "ana")
    staff = await make_staff(client, settings)
    config = build_sqlalchemy_config(settings)
    async with config.create_session_maker()() as session, session.begin():
        session.add(RewardContributor(key="github:7", user_id=UUID(ana.id)))
        payout = RewardPayout(
            period="2026-10",
            contributor="github:7",
            amount_cents=1250,
            currency="USD",
            state="pending",
        )
        session.add(payout)
    url = f"/api/v1/staff/rewards/payouts/{payout.id}/transitions"
    for state in ("processing", "processing", "paid"):  # the repeated one publishes nothing
        moved = await client.post(url, json={"to": state}, headers=staff.headers)
        assert moved.status_code == 200, moved.text
    (told,) = await listed(client, ana)
    assert (told["kind"], told["text"]) == ("payout", "your rewards payout is now paid")
    assert (told["event_count"], told["subject_id"]) == (2, str(payout.id))

    await publish(client, MATCH_FEATURES_READY, user_id=ana.id)
    assert (await listed(client, ana))[0]["text"] == "your match suggestions were updated"


async def test_concurrent_jobs_collapse_into_one_row(client: Client, settings: Settings) -> None:
    ana = await register(client, "ana")
    fans = [await register(client, f"fan{i}") for i in range(5)]
    post = await write_post(client, ana, "popular")
    await drain_jobs(client)
    now = datetime.now(UTC)
    contexts = [job_context(settings, lambda: now) for _ in fans]  # one engine each
    async with anyio.create_task_group() as group:
        for context, fan in zip(contexts, fans, strict=True):
            group.start_soon(
                functools.partial(
                    jobs.on_post_liked,
                    context,
                    post_id=post["id"],
                    user_id=fan.id,
                    author_id=ana.id,
                )
            )
    (told,) = await listed(client, ana)
    assert (told["actor_count"], told["event_count"]) == (5, 5)


async def jobs_at_once(*runs: Callable[[], Awaitable[Any]]) -> list[BaseException | None]:
    """Start the jobs in this order in one process; what each raised (None if nothing)."""
    raised: list[BaseException | None] = [None] * len(runs)

    async def run(index: int) -> None:
        try:
            await runs[index]()
        except Exception as exc:
            raised[index] = exc

    async with anyio.create_task_group() as group:
        for index in range(len(runs)):
            group.start_soon(run, index)
    return raised


async def test_jobs_arriving_while_a_batch_commits_commit_together(
    client: Client, settings: Settings
) -> None:
    """The first job commits alone at once; the four started meanwhile wait for it and then
    commit in one transaction, and each fan still counts once."""
    ana = await register(client, "ana")
    fans = [await register(client, f"fan{i}") for i in range(5)]
    post = await write_post(client, ana, "popular")
    await drain_jobs(client)
    context = job_context(settings, lambda: datetime.now(UTC))  # one process, one database
    liked = [
        functools.partial(
            jobs.on_post_liked, context, post_id=post["id"], user_id=fan.id, author_id=ana.id
        )
        for fan in fans
    ]
    with counted_statements() as statements:
        assert await jobs_at_once(*liked) == [None] * 5
    upserts = [s for s in statements if s.lstrip().startswith("INSERT INTO notifications ")]
    assert len(upserts) == 2, upserts
    (told,) = await listed(client, ana)
    assert (told["actor_count"], told["event_count"]) == (5, 5)


async def test_a_job_that_cannot_be_recorded_fails_alone(
    client: Client, settings: Settings
) -> None:
    """A follow by an account gone before its job ran breaks the batch it joined (its actor no
    longer exists); the batch's other job records its follow alone, and only the bad job fails.
    Four upserts: the first job's, the failed batch's, then each of its two jobs alone."""
    ana, ben, cara = [await register(client, h) for h in ("ana", "ben", "cara")]
    await drain_jobs(client)
    context = job_context(settings, lambda: datetime.now(UTC))

    def followed(follower_id: str) -> Callable[[], Awaitable[None]]:
        return functools.partial(
            jobs.on_followed, context, follower_id=follower_id, followee_id=ana.id
        )

    with counted_statements() as statements:
        raised = await jobs_at_once(followed(ben.id), followed(str(uuid7())), followed(cara.id))
    assert [type(error).__name__ for error in raised] == ["NoneType", "IntegrityError", "NoneType"]
    upserts = [s for s in statements if s.lstrip().startswith("INSERT INTO notifications ")]
    assert len(upserts) == 4, upserts
    (told,) = await listed(client, ana)
    assert (told["text"], told["actor_count"]) == ("@cara and 1 other followed you", 2)


async def test_a_job_cancelled_while_its_batch_gathers_leaves_it() -> None:
    """Cara's job times out while her batch waits for the one committing: the batch commits
    without her event (her job's retry records it, once)."""
    ana, ben, cara = uuid7(), uuid7(), uuid7()
    batches = GroupCommit()
    committed: list[list[UUID]] = []
    first_commits = anyio.Event()

    async def commit(events: list[Event]) -> list[Told]:
        committed.append([event.recipient for event in events])
        if len(committed) == 1:
            await first_commits.wait()
        return []

    async def told(recipient: UUID) -> None:
        await batches.record([Event(recipient, Kind.MATCH, "match")], commit)

    async with anyio.create_task_group() as group:
        group.start_soon(told, ana)  # commits at once, held until `first_commits` is set
        await anyio.wait_all_tasks_blocked()
        group.start_soon(told, ben)  # opens the next batch, which waits for its turn
        async with anyio.create_task_group() as timed_out:
            timed_out.start_soon(told, cara)  # joins ben's batch
            await anyio.wait_all_tasks_blocked()
            timed_out.cancel_scope.cancel()
        first_commits.set()
    assert committed == [[ana], [ben]]


async def test_messages_that_start_a_notification_in_one_batch_go_live_once(
    client: Client, settings: Settings
) -> None:
    """Three messages whose jobs meet in one batch start ana's message notification together:
    it goes live once, with their count; the follow in the same batch goes live too, each row
    sent by the job whose event went into it first."""
    ana, ben, cara = [await register(client, h) for h in ("ana", "ben", "cara")]
    thread = await direct_thread(client, ben, ana)
    messages = [await send(client, ben, thread["id"], text) for text in ("a", "b", "c")]
    await drain_jobs(client)
    await client.post("/api/v1/notifications/read-all", headers=ana.headers)
    sent: list[tuple[list[str], str]] = []

    class Recorder:
        async def send(self, user_ids: Any, event_type: str, data: Any) -> None:
            sent.append(([str(u) for u in user_ids], data["notification"]["text"]))

    context = dataclasses.replace(job_context(settings, lambda: datetime.now(UTC)), live=Recorder())
    first = functools.partial(jobs.on_followed, context, follower_id=ana.id, followee_id=cara.id)
    told_of = [
        functools.partial(
            jobs.on_message,
            context,
            message_id=message["id"],
            thread_id=thread["id"],
            sender_id=ben.id,
        )
        for message in messages
    ]
    batches = group_commit_for(context.session_maker)
    # The batches' turn is held until the four jobs wait in one batch (the message jobs read
    # their thread's members first, on the database).
    async with anyio.create_task_group() as group, batches._turn:
        for run in (first, *told_of):
            group.start_soon(run)
        with anyio.fail_after(30):
            while batches._gathering is None or len(batches._gathering.parts) < 4:
                await anyio.lowlevel.checkpoint()
    assert sorted(sent) == sorted(
        [([cara.id], "@ana followed you"), ([ana.id], "3 new messages from @ben")]
    )


async def test_a_worker_sends_live_events_through_redis_to_api_processes(redis_url: str) -> None:
    """A SAQ worker holds no sockets: its live events go on the Redis channel every API
    process's channels backend listens to, as one envelope naming the recipients."""
    user_id = uuid7()
    listener = RedisChannelsPubSubBackend(redis=Redis.from_url(redis_url))
    worker_redis = Redis.from_url(redis_url)
    await listener.on_startup()
    try:
        channel = live_channel(f"test-{uuid7().hex}")
        await listener.subscribe([channel])
        await PubSubLiveEvents(worker_redis, channel).send([user_id], "notification", {"unread": 1})
        with anyio.fail_after(5):
            heard_on, data = await anext(aiter(listener.stream_events()))
        assert heard_on == channel
        envelope = json.loads(data)
        assert envelope["to"] == [str(user_id)]
        assert envelope["origin"].startswith("worker-")
        frame = envelope["frame"]
        assert (frame["type"], frame["data"]) == ("notification", {"unread": 1})
    finally:
        await listener.on_shutdown()
        await worker_redis.aclose()


async def test_a_worker_killed_mid_send_leaves_exactly_one_push(
    pclient: Client, push_settings: Settings, endpoint: PushEndpoint
) -> None:
    """A real sender process claims a push and is killed (SIGKILL) while the push service holds
    its request; once the lease expires the sweep sends it, and the device gets it once."""
    ana, ben = await register(pclient, "ana"), await register(pclient, "ben")
    name = f"stall-{ana.id}"
    await subscribe(pclient, ana, endpoint, name)
    await pclient.patch(  # held, so that the test's own worker process is the sender
        "/api/v1/notifications/preferences",
        json={"quiet_hours": {"start": "00:00", "end": "23:59"}},
        headers=ana.headers,
    )
    await relate(pclient, ben, "follow", ana)
    await drain_jobs(pclient)
    ((raw_id,),) = await sql(push_settings, "SELECT id FROM push_deliveries")
    delivery_id = UUID(bytes=raw_id) if isinstance(raw_id, bytes) else UUID(str(raw_id))
    await sql(push_settings, "UPDATE push_deliveries SET not_before = created_at")  # due now
    with push_worker(push_settings, delivery_id) as worker:
        with anyio.fail_after(60):
            while not any(r["name"] == name for r in endpoint.received()):
                assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
                await anyio.sleep(0.05)
    ((lease_until,),) = await sql(push_settings, "SELECT lease_until FROM push_deliveries")
    assert lease_until is not None  # claimed, never marked
    early = job_context(push_settings, lambda: datetime.now(UTC))
    assert await jobs.sweep_pushes(early) == 0  # the lease still runs
    expired = moment(lease_until) + timedelta(seconds=1)
    assert await jobs.sweep_pushes(job_context(push_settings, lambda: expired)) == 1
    pushes = [r for r in endpoint.received() if r["name"] == name]
    assert [("stalled" in r, "payload" in r) for r in pushes] == [(True, False), (False, True)]
    assert pushes[1]["payload"]["delivery_id"] == str(delivery_id)
    ((status, attempts),) = await sql(push_settings, "SELECT status, attempts FROM push_deliveries")
    assert (status, attempts) == ("sent", 2)
