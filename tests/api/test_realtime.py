"""The realtime gateway through real sockets: sign-in, who hears what, frames, close codes."""

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import websockets
from litestar.channels import ChannelsPlugin
from redis.asyncio import Redis

from selflink_api.app import create_app
from selflink_api.platform.realtime import (
    PRESENCE_SECONDS,
    Inbox,
    LiveBackend,
    Realtime,
    RealtimeState,
    live_channel,
)
from selflink_api.settings import Settings
from tests.api.live import live_server
from tests.api.people import Person, person_from, unique_email
from tests.api.realtime_helpers import FRAME_SECONDS, close_code, connected, next_frame, ws_url
from tests.api.scaleout import OwnRedis
from tests.api.services import REDIS_URL, require_redis
from tests.api.test_feed import counted_statements

pytestmark = pytest.mark.anyio
PASSWORD = "correct horse battery staple"


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    fast = settings.model_copy(
        update={
            "realtime_auth_seconds": 0.5,
            "realtime_session_check_seconds": 0.2,
            "realtime_bad_frames_allowed": 2,
        }
    )
    app = create_app(fast)
    async with live_server(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        http.app = app  # type: ignore[attr-defined]
        yield base_url, http


async def join(http: httpx.AsyncClient, handle: str) -> Person:
    email = unique_email(handle)
    answer = await http.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "handle": handle}
    )
    assert answer.status_code == 201, answer.text
    return person_from(answer.json(), email, PASSWORD)


async def call(http: httpx.AsyncClient, method: str, url: str, who: Person, **kw: Any) -> Any:
    answer = await http.request(method, url, headers=who.headers, **kw)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


async def direct(http: httpx.AsyncClient, me: Person, other: Person) -> str:
    thread = await call(http, "POST", "/api/v1/threads/direct", me, json={"handle": other.handle})
    return str(thread["id"])


async def say(http: httpx.AsyncClient, me: Person, thread_id: str, text: str) -> Any:
    body = {"client_id": f"c{time.monotonic_ns()}", "text": text}
    return await call(http, "POST", f"/api/v1/threads/{thread_id}/messages", me, json=body)


async def test_sign_in_by_frame_or_subprotocol_never_by_url(server: Any) -> None:
    base_url, http = server
    ana = await join(http, "ana")
    async with connected(base_url, ana, via="frame") as ws:
        await ws.send(json.dumps({"type": "heartbeat"}))
        assert (await next_frame(ws))["type"] == "heartbeat.ack"
    async with connected(base_url, ana, via="subprotocol") as ws:
        assert ws.subprotocol == "selflink.v1"
    async with websockets.connect(ws_url(base_url) + f"?token={ana.access_token}") as ws:
        assert await close_code(ws) == 4001  # the query string is never read
    async with websockets.connect(ws_url(base_url)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": "not-a-token"}))
        assert await close_code(ws) == 4001
    async with websockets.connect(ws_url(base_url)) as ws:
        await ws.send(json.dumps({"type": "heartbeat"}))
        assert await close_code(ws) == 4001


async def test_members_hear_a_thread_and_nobody_else_does(server: Any) -> None:
    base_url, http = server
    ana, ben, eve = [await join(http, h) for h in ("ana", "ben", "eve")]
    with_ben = await direct(http, ana, ben)
    with_eve = await direct(http, ana, eve)
    async with (
        connected(base_url, ana) as ana_ws,
        connected(base_url, ben) as ben_ws,
        connected(base_url, eve) as eve_ws,
    ):
        sent = await say(http, ana, with_ben, "for ben")
        heard = await next_frame(ben_ws, "message.created")
        assert heard["v"] == 1
        assert isinstance(heard["id"], str)
        assert heard["data"]["id"] == sent["id"]
        assert heard["data"]["text"] == "for ben"
        assert (await next_frame(ana_ws, "message.created"))["data"]["id"] == sent["id"]
        await say(http, ana, with_eve, "for eve")
        first = await next_frame(eve_ws, "message.created")
        assert first["data"]["text"] == "for eve"  # never ben's message before it


async def test_a_removed_member_stops_hearing_the_group_at_once(server: Any) -> None:
    base_url, http = server
    ana, ben, _cara = [await join(http, h) for h in ("ana", "ben", "cara")]
    group = await call(
        http, "POST", "/api/v1/threads/groups", ana, json={"title": "g", "members": ["ben", "cara"]}
    )
    with_ben = await direct(http, ana, ben)
    async with connected(base_url, ben) as ben_ws:
        await say(http, ana, group["id"], "before")
        assert (await next_frame(ben_ws, "message.created"))["data"]["text"] == "before"
        await call(http, "DELETE", f"/api/v1/threads/{group['id']}/members/ben", ana)
        left = await next_frame(ben_ws, "member.left")
        assert left["data"] == {"thread_id": group["id"], "handle": "ben"}
        await say(http, ana, group["id"], "after")
        await say(http, ana, with_ben, "marker")
        assert (await next_frame(ben_ws, "message.created"))["data"]["text"] == "marker"


async def test_typing_reaches_the_others_only_and_expires(server: Any) -> None:
    base_url, http = server
    ana, ben, eve = [await join(http, h) for h in ("ana", "ben", "eve")]
    thread_id = await direct(http, ana, ben)
    async with connected(base_url, ana) as ana_ws, connected(base_url, ben) as ben_ws:
        await ana_ws.send(json.dumps({"type": "typing", "thread_id": thread_id}))
        typing = await next_frame(ben_ws, "typing")
        assert typing["data"] == {"thread_id": thread_id, "handle": "ana", "expires_in": 7}
        detail = await call(http, "GET", f"/api/v1/threads/{thread_id}", ben)
        assert detail["typing"] == ["ana"]
        await say(http, ben, thread_id, "next")
        # ana's own typing was not echoed: the next event she gets is ben's message
        assert (await next_frame(ana_ws))["type"] == "message.created"
        state = http.app.state.shared.realtime_state  # type: ignore[attr-defined]
        later = time.time() + 8
        state.clock = lambda: later
        assert (await call(http, "GET", f"/api/v1/threads/{thread_id}", ben))["typing"] == []
        state.clock = time.time
    async with connected(base_url, eve) as eve_ws:
        await eve_ws.send(json.dumps({"type": "typing", "thread_id": thread_id}))
        refused = await next_frame(eve_ws, "error")
        assert refused["data"]["code"] == "not_found"


async def test_presence_is_shown_to_people_sharing_a_thread(server: Any) -> None:
    base_url, http = server
    ana, ben = await join(http, "ana"), await join(http, "ben")
    thread_id = await direct(http, ana, ben)

    async def shown_online() -> dict[str, bool]:
        detail = await call(http, "GET", f"/api/v1/threads/{thread_id}", ben)
        return {m["person"]["handle"]: m["online"] for m in detail["members"]}

    async with connected(base_url, ben) as ben_ws:
        async with connected(base_url, ana):
            online = await next_frame(ben_ws, "presence", skip_presence=False)
            assert online["data"] == {"handle": "ana", "online": True}
            async with connected(base_url, ana) as phone:  # a second device: no new event
                await phone.send(json.dumps({"type": "heartbeat"}))
                await next_frame(phone, "heartbeat.ack")
            assert await shown_online() == {"ana": True, "ben": True}
        # her last connection closed: she is offline, and ben is told
        offline = await next_frame(ben_ws, "presence", skip_presence=False)
        assert offline["data"] == {"handle": "ana", "online": False}
        assert await shown_online() == {"ana": False, "ben": True}


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_presence_counts_connections_and_lapses_without_heartbeats(backend: str) -> None:
    redis = None
    if backend == "redis":
        require_redis()
        redis = Redis.from_url(REDIS_URL)
    state = RealtimeState(redis, namespace=f"test:{uuid.uuid4().hex}")
    ana, ben = uuid.uuid4(), uuid.uuid4()
    try:
        assert await state.seen(ana, "laptop") is True
        assert await state.seen(ana, "phone") is False
        assert await state.seen(ana, "laptop") is False  # a heartbeat
        assert await state.online([ana, ben]) == {ana}
        assert await state.gone(ana, "laptop") is False
        assert await state.gone(ana, "phone") is True
        assert await state.online([ana]) == set()
        # a connection that stops beating (its process died) lapses after a minute
        assert await state.seen(ben, "tablet") is True
        now = time.time()
        state.clock = lambda: now + PRESENCE_SECONDS + 1
        assert await state.online([ben]) == set()
        assert await state.seen(ben, "desk") is True  # coming back is news again
    finally:
        if redis is not None:
            await redis.aclose()


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        (["{not json", '{"type": "shout"}', "[1, 2]", '{"type": "typing"}'], 1008),
        (['{"type": "heartbeat", "pad": "' + "x" * 5000 + '"}'], 1009),
    ],
    ids=["refused-frames", "oversized"],
)
async def test_bad_frames_get_errors_then_a_close(
    server: Any, frames: list[str], code: int
) -> None:
    base_url, http = server
    ana = await join(http, "ana")
    async with connected(base_url, ana) as ws:
        errors = []
        for frame in frames:
            await ws.send(frame)
        if code == 1008:
            for _ in range(3):
                errors.append((await next_frame(ws, "error"))["data"]["code"])
            assert errors == ["malformed", "unknown_type", "malformed"]
        assert await close_code(ws) == code


async def test_signing_out_closes_the_connection(server: Any) -> None:
    base_url, http = server
    ana = await join(http, "ana")
    async with connected(base_url, ana) as ws:
        await call(http, "POST", "/api/v1/auth/logout", ana)
        assert await close_code(ws) == 4003


async def test_one_statement_checks_every_open_sign_in_and_only_ended_ones_close(
    server: Any,
) -> None:
    base_url, http = server
    ana, ben, cara = [await join(http, handle) for handle in ("ana", "ben", "cara")]
    watch = http.app.state.messaging.session_watch  # type: ignore[attr-defined]
    async with (
        connected(base_url, ana) as ana_ws,
        connected(base_url, ben) as ben_ws,
        connected(base_url, cara) as cara_ws,
    ):
        for ws in (ana_ws, ben_ws, cara_ws):  # answered once serving, hence watching
            await ws.send(json.dumps({"type": "heartbeat"}))
            await next_frame(ws, "heartbeat.ack")
        assert len(watch) == 3
        with counted_statements() as statements:
            await watch.check()
        checks = [s for s in statements if "auth_sessions" in s]
        assert len(checks) == 1
        assert checks[0].count("?") + checks[0].count("$") >= 3  # the three sign-ins at once
        await call(http, "POST", "/api/v1/auth/logout", ana)
        assert await close_code(ana_ws) == 4003
        for ws in (ben_ws, cara_ws):  # still served
            await ws.send(json.dumps({"type": "heartbeat"}))
            assert (await next_frame(ws, "heartbeat.ack"))["type"] == "heartbeat.ack"


async def test_a_renewed_token_keeps_the_connection_past_the_first_expiry(
    server: Any, settings: Settings
) -> None:
    base_url, http = server
    ana = await join(http, "ana")
    claims = jwt.decode(ana.access_token, options={"verify_signature": False})
    full_token = ana.access_token
    claims["exp"] = int(time.time()) + 2
    ana.access_token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")
    async with connected(base_url, ana) as ws:
        await ws.send(json.dumps({"type": "auth", "token": full_token}))
        assert (await next_frame(ws, "auth.ok"))["type"] == "auth.ok"
        with pytest.raises(TimeoutError):  # nothing, no 4008, past the first token's expiry
            await asyncio.wait_for(ws.recv(), 2.5)
        await ws.send(json.dumps({"type": "heartbeat"}))
        assert (await next_frame(ws, "heartbeat.ack"))["type"] == "heartbeat.ack"
        ana.access_token = full_token
        await call(http, "POST", "/api/v1/auth/logout", ana)  # the sign-in is still watched
        assert await close_code(ws) == 4003


async def test_an_expired_token_closes_the_connection(server: Any, settings: Settings) -> None:
    base_url, http = server
    ana = await join(http, "ana")
    claims = jwt.decode(ana.access_token, options={"verify_signature": False})
    # At least two whole seconds ahead (`exp` counts whole seconds): with one, a loaded
    # machine could still be connecting when the token expired, and the sign-in was refused
    # (4001) before there was a connection to close.
    claims["exp"] = int(time.time()) + 3
    short = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")
    ana.access_token = short
    async with connected(base_url, ana) as ws:
        assert await close_code(ws) == 4008


async def test_a_reader_that_falls_behind_is_told_to_resync(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"realtime_queue_limit": 4}))
    async with live_server(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        ana = await join(http, "ana")
        async with connected(base_url, ana, tiny_buffer=True) as ws:
            realtime = app.state.shared.realtime
            for _ in range(400):
                realtime.send_now([ana.id], "flood", {"pad": "x" * 65536})
                await asyncio.sleep(0)
            assert await close_code(ws) == 4010


@contextlib.asynccontextmanager
async def api_process(
    redis_url: str, channel: str, *, wait: bool = True
) -> AsyncIterator[Realtime]:
    """The realtime part of one API process on a shared Redis, listening (once it is
    listening, unless `wait` is False)."""
    redis = Redis.from_url(redis_url)
    channels = ChannelsPlugin(backend=LiveBackend(redis=redis), arbitrary_channels_allowed=True)
    realtime = Realtime(channels, redis, channel)
    async with channels:
        await realtime.listen()
        if wait:
            async with asyncio.timeout(FRAME_SECONDS):
                await realtime.subscribed.wait()
        try:
            yield realtime
        finally:
            await realtime.stop_listening()
            await redis.aclose()


async def next_types(inbox: Inbox, count: int) -> list[str]:
    types = []
    async with asyncio.timeout(FRAME_SECONDS):
        for _ in range(count):
            types.append(json.loads(await inbox.frames.get())["type"])
    return types


async def test_each_process_delivers_an_event_once_to_the_people_it_names(
    redis_url: str,
) -> None:
    """One envelope per event crosses Redis; a process delivers its own events at once and
    skips their echo; an envelope reaches only the people it names; an unreadable one is
    skipped and the relay goes on."""
    channel = live_channel(f"test-{uuid.uuid4().hex}")
    ana, ben = uuid.uuid4(), uuid.uuid4()
    on_a, ana_on_b, ben_on_b = Inbox(10), Inbox(10), Inbox(10)
    async with api_process(redis_url, channel) as a, api_process(redis_url, channel) as b:
        with (
            a.connections.connected(ana, on_a),
            b.connections.connected(ana, ana_on_b),
            b.connections.connected(ben, ben_on_b),
        ):
            a.send_now([ana], "first", {})
            assert json.loads(on_a.frames.get_nowait())["type"] == "first"  # at once
            assert await next_types(ana_on_b, 1) == ["first"]
            # Redis has now sent "first" back to process A too; "marker" follows it there.
            b.send_now([ana, ben], "marker", {})
            assert await next_types(ana_on_b, 1) == ["marker"]
            assert await next_types(on_a, 1) == ["marker"]
            assert await next_types(ben_on_b, 1) == ["marker"]

            await b.channels.wait_published(b"not an envelope", channel)
            await b.channels.wait_published(b'{"origin": 1}', channel)
            b.send_now([ana], "after", {})
            assert await next_types(on_a, 1) == ["after"]
    assert ben_on_b.frames.empty()
    assert not on_a.behind.is_set()


async def heard(sender: Realtime, inbox: Inbox, person: uuid.UUID) -> bool:
    """Whether an event `sender` publishes now reaches `inbox`: sent again every half second
    (a publish into a Redis still reconnecting is dropped), for a few seconds at most."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(FRAME_SECONDS):
            while True:
                sender.send_now([person], "probe", {})
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        return bool(await inbox.frames.get())
    return False


async def test_a_process_hears_the_others_again_once_redis_is_back(tmp_path: Any) -> None:
    """A process starts while Redis is away and listens once it answers; Redis restarted,
    publishing and listening both come back, without restarting the process."""
    redis = OwnRedis(tmp_path)
    channel = live_channel(f"test-{uuid.uuid4().hex}")
    ana, inbox = uuid.uuid4(), Inbox(100)
    try:
        async with api_process(redis.url, channel, wait=False) as a:
            assert not a.subscribed.is_set()
            redis.start()
            async with asyncio.timeout(FRAME_SECONDS):
                await a.subscribed.wait()
            async with api_process(redis.url, channel) as b:
                with a.connections.connected(ana, inbox):
                    assert await heard(b, inbox, ana)
                    redis.stop()
                    # What the plugin's publishing task does: a failed publish is dropped.
                    await b.channels.wait_published(b"lost", channel)
                    redis.start()
                    assert await heard(b, inbox, ana)
    finally:
        redis.stop()
