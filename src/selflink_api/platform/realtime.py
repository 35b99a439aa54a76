"""Live events to people's open connections, and the short-lived state they share.

Every event goes to people, never to topics: the publisher names the user ids that must receive
it, and each API process hands the event to the connections of those people it holds
(`LiveConnections`, keyed by the person each connection signed in as). Who may receive what is
therefore decided where the event is published, from the database, in the transaction that
caused it; domains publish through `after_commit`, so rolled-back work never shows.

With `REDIS_URL`, an event also goes out once, as one envelope naming its recipients, on one
channel of Litestar's channels plugin (Redis pub/sub, `live_channel`) that every API process
listens to; each process delivers it to the recipients connected there and ignores the
envelopes it sent itself, which it delivered already. One envelope per event instead of one
message per recipient is what lets one process carry a group's fan-out (docs/messaging.md,
"Several processes").

`RealtimeState` keeps typing (seconds) and presence (a minute) with expiry, in Redis when
configured (shared by every process) or in memory. Presence is kept per connection, so a
person is offline once their last connection, on whichever process, closes or lapses.
"""

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from uuid import UUID

import msgspec
import structlog
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis
from redis.exceptions import RedisError

from selflink_api.platform.jobs import JobQueue

logger = structlog.get_logger("selflink.realtime")

EVENT_VERSION = 1
TYPING_SECONDS = 7
"""How long a `typing` frame keeps someone shown as typing."""
PRESENCE_SECONDS = 60
"""How long a connection or heartbeat keeps someone online."""
LISTEN_RETRY_SECONDS = 1.0
"""How long a process waits before listening to the live channel again after Redis failed."""


def live_channel(queue_name: str) -> str:
    """The pub/sub channel of a deployment (named like its job queue) that every API process
    listens to for the events published elsewhere."""
    return f"selflink:{queue_name}:live"


def event_frame(event_type: str, data: Mapping[str, Any]) -> bytes:
    """The JSON frame of one event: `{"type", "v", "id", "data"}`, ids as strings."""
    return msgspec.json.encode(
        {"type": event_type, "v": EVENT_VERSION, "id": uuid.uuid4().hex, "data": data}
    )


class Envelope(msgspec.Struct, frozen=True):
    """One event on the live channel: who sent it (a process's `origin`), to whom (user ids as
    strings) and the frame itself, verbatim."""

    origin: str
    to: list[str]
    frame: msgspec.Raw


_read_envelope = msgspec.json.Decoder(Envelope)


def envelope(origin: str, recipients: list[str], frame: bytes) -> bytes:
    return msgspec.json.encode(Envelope(origin, recipients, msgspec.Raw(frame)))


class Inbox:
    """One connection's bounded queue of frames. When it is full the connection fell behind:
    `behind` is set (the gateway closes it, telling it to resync) and frames are dropped, so
    memory never grows with a slow reader."""

    def __init__(self, limit: int) -> None:
        self.frames: asyncio.Queue[str] = asyncio.Queue(maxsize=limit)
        self.behind = asyncio.Event()

    def offer(self, frame: str) -> None:
        try:
            self.frames.put_nowait(frame)
        except asyncio.QueueFull:
            self.behind.set()


class LiveConnections:
    """The inboxes of this process's connections, by the person each signed in as."""

    def __init__(self) -> None:
        self._by_person: dict[str, set[Inbox]] = {}

    @contextlib.contextmanager
    def connected(self, user_id: UUID, inbox: Inbox) -> Iterator[Inbox]:
        person = str(user_id)
        self._by_person.setdefault(person, set()).add(inbox)
        try:
            yield inbox
        finally:
            inboxes = self._by_person[person]
            inboxes.discard(inbox)
            if not inboxes:
                del self._by_person[person]

    def deliver(self, recipients: Iterable[str], frame: str) -> None:
        for person in recipients:
            for inbox in self._by_person.get(person, ()):
                inbox.offer(frame)


class LiveBackend(RedisChannelsPubSubBackend):
    """Litestar's Redis pub/sub channels backend, whose publishing outlives a Redis outage.

    The channels plugin publishes from one task, which the first failed publish would end for
    good: no event would leave the process again, and its shutdown would wait forever for the
    queue behind it. Here a publish that fails is logged and the event dropped (pub/sub keeps
    nothing for later anyway; clients catch up with `…/changes`)."""

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        try:
            await super().publish(data, channels)
        except (RedisError, OSError) as error:
            logger.warning("live_event_not_published", error=type(error).__name__)


class Realtime:
    """Delivers events to people: to this process's connections at once, and, with Redis, to
    every other API process through the live `channel`."""

    def __init__(
        self, channels: ChannelsPlugin, redis: Redis | None = None, channel: str = ""
    ) -> None:
        self.channels = channels
        self.channel = channel if redis is not None else None
        self.connections = LiveConnections()
        self.origin = uuid.uuid4().hex
        self._listener = LiveBackend(redis=redis) if redis is not None else None
        self._listening: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        """Set while the live channel is listened to (tests wait for it)."""

    def send_now(self, user_ids: Iterable[UUID | str], event_type: str, data: Any) -> None:
        """Publish at once: for events that change nothing stored (typing, presence)."""
        recipients = [str(user_id) for user_id in user_ids]
        if not recipients:
            return
        frame = event_frame(event_type, data)
        self.connections.deliver(recipients, frame.decode())
        if self.channel is not None:
            self.channels.publish(envelope(self.origin, recipients, frame), self.channel)

    async def send(self, user_ids: Iterable[UUID | str], event_type: str, data: Any) -> None:
        """`send_now` for jobs run in this process (`JobContext.live`)."""
        self.send_now(user_ids, event_type, data)

    def send_after_commit(
        self, jobs: JobQueue, user_ids: Iterable[UUID | str], event_type: str, data: Any
    ) -> None:
        """Publish once the request's transaction committed; never for rolled-back work."""
        recipients = list(user_ids)

        async def publish() -> None:
            self.send_now(recipients, event_type, data)

        jobs.after_commit(publish)

    async def listen(self) -> None:
        """Start delivering what other processes publish (at the app's start). The listening
        runs in the background on a pub/sub connection of its own, so a Redis that is away
        delays it without stopping the app from starting."""
        if self._listener is not None and self.channel is not None and self._listening is None:
            self._listening = asyncio.create_task(self._listen(self._listener, self.channel))

    async def stop_listening(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
            self._listening = None
        if self._listener is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._listener.on_shutdown()

    async def _listen(self, listener: LiveBackend, channel: str) -> None:
        """Subscribe and relay; while Redis is away, try again every second. Events published
        meanwhile are lost to the other processes, as pub/sub loses them; clients catch up
        with `…/changes` after they reconnect."""
        while True:
            try:
                await listener.subscribe([channel])
                self.subscribed.set()
                async for _, payload in listener.stream_events():
                    self._relay(payload)
            except (RedisError, OSError) as error:
                self.subscribed.clear()
                logger.warning("live_channel_unavailable", error=type(error).__name__)
                await asyncio.sleep(LISTEN_RETRY_SECONDS)

    def _relay(self, payload: bytes) -> None:
        try:
            event = _read_envelope.decode(payload)
        except msgspec.DecodeError:  # ValidationError included
            logger.warning("live_envelope_unreadable", size=len(payload))
            return
        if event.origin != self.origin:
            self.connections.deliver(event.to, bytes(event.frame).decode())


class PubSubLiveEvents:
    """Live events from a worker process, which holds no sockets: published on the Redis pub/sub
    channel every API process listens to (`JobContext.live`)."""

    def __init__(self, redis: Redis, channel: str) -> None:
        self._backend = RedisChannelsPubSubBackend(redis=redis)
        self._channel = channel
        self._origin = f"worker-{uuid.uuid4().hex}"

    async def send(self, user_ids: Iterable[UUID | str], event_type: str, data: Any) -> None:
        recipients = [str(user_id) for user_id in user_ids]
        if recipients:
            frame = event_frame(event_type, data)
            await self._backend.publish(envelope(self._origin, recipients, frame), [self._channel])


class RealtimeState:
    """Typing and presence, each with an expiry; Redis sorted sets and keys, or memory."""

    def __init__(
        self,
        redis: Redis | None,
        namespace: str = "selflink:realtime",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._namespace = namespace
        self.clock = clock
        self._typing: dict[str, dict[str, float]] = {}
        self._presence: dict[str, dict[str, float]] = {}
        """Person → their connections → until when each counts as live."""

    async def set_typing(self, thread_id: UUID, user_id: UUID) -> None:
        now = self.clock()
        key = f"{self._namespace}:typing:{thread_id}"
        if self._redis is None:
            typers = self._typing.setdefault(key, {})
            typers[str(user_id)] = now + TYPING_SECONDS
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {str(user_id): now + TYPING_SECONDS})
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.expire(key, TYPING_SECONDS + 1)
            await pipe.execute()

    async def typing(self, thread_id: UUID) -> set[str]:
        """The user ids typing in the thread now."""
        now = self.clock()
        key = f"{self._namespace}:typing:{thread_id}"
        if self._redis is None:
            typers = self._typing.get(key, {})
            for user_id in [u for u, until in typers.items() if until <= now]:
                del typers[user_id]
            return set(typers)
        found = await self._redis.zrangebyscore(key, f"({now}", "+inf")
        return {item.decode() if isinstance(item, bytes) else str(item) for item in found}

    def _connections_key(self, user_id: UUID) -> str:
        return f"{self._namespace}:connections:{user_id}"

    def _live_connections(self, user_id: UUID, now: float) -> dict[str, float]:
        """A person's live connections in memory; the lapsed ones, and a person left with
        none, are dropped, so asking about people never grows the map."""
        connections = {
            c: until for c, until in self._presence.get(str(user_id), {}).items() if until > now
        }
        if connections:
            self._presence[str(user_id)] = connections
        else:
            self._presence.pop(str(user_id), None)
        return connections

    async def seen(self, user_id: UUID, connection_id: str) -> bool:
        """Keep one connection of a person alive for the next minute (it opened, or sent a
        heartbeat); whether the person just came online (no other live connection)."""
        now = self.clock()
        until = now + PRESENCE_SECONDS
        if self._redis is None:
            connections = self._live_connections(user_id, now)
            self._presence[str(user_id)] = connections | {connection_id: until}
            return not connections
        key = self._connections_key(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zcard(key)
            pipe.zadd(key, {connection_id: until})
            pipe.expire(key, PRESENCE_SECONDS + 1)
            _, before, _, _ = await pipe.execute()
        return int(before) == 0

    async def gone(self, user_id: UUID, connection_id: str) -> bool:
        """Forget a closed connection; whether the person is now offline (none left)."""
        now = self.clock()
        if self._redis is None:
            connections = self._live_connections(user_id, now)
            connections.pop(connection_id, None)
            if not connections:
                self._presence.pop(str(user_id), None)
            return not connections
        key = self._connections_key(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(key, connection_id)
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zcard(key)
            _, _, left = await pipe.execute()
        return int(left) == 0

    async def online(self, user_ids: Iterable[UUID]) -> set[UUID]:
        """Those of `user_ids` with a live connection."""
        wanted = list(user_ids)
        if not wanted:
            return set()
        now = self.clock()
        if self._redis is None:
            return {u for u in wanted if self._live_connections(u, now)}
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in wanted:
                pipe.zcount(self._connections_key(user_id), f"({now}", "+inf")
            counts = await pipe.execute()
        return {user_id for user_id, count in zip(wanted, counts, strict=True) if count}
