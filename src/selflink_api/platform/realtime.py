"""Live events to people's open connections, and the short-lived state they share.

Every event goes to people, never to topics: the publisher names the user ids that must receive
it, each id is one channel (`user:<id>`) of Litestar's channels (in this process's memory, or
Redis pub/sub when `REDIS_URL` is set, so every API process delivers to its own sockets), and
the gateway subscribes a connection to its own person's channel only. Who may receive what is
therefore decided where the event is published, from the database, in the transaction that
caused it; domains publish through `after_commit`, so rolled-back work never shows.

`RealtimeState` keeps typing (seconds) and presence (a minute) with expiry, in Redis when
configured (shared by every process) or in memory. Presence is kept per connection, so a
person is offline once their last connection, on whichever process, closes or lapses.
"""

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from uuid import UUID

import msgspec
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

from selflink_api.platform.jobs import JobQueue

EVENT_VERSION = 1
TYPING_SECONDS = 7
"""How long a `typing` frame keeps someone shown as typing."""
PRESENCE_SECONDS = 60
"""How long a connection or heartbeat keeps someone online."""


def user_channel(user_id: UUID | str) -> str:
    return f"user:{user_id}"


def event_frame(event_type: str, data: Mapping[str, Any]) -> bytes:
    """The JSON frame of one event: `{"type", "v", "id", "data"}`, ids as strings."""
    return msgspec.json.encode(
        {"type": event_type, "v": EVENT_VERSION, "id": uuid.uuid4().hex, "data": data}
    )


class Realtime:
    """Publishes events to people through the app's channels plugin."""

    def __init__(self, channels: ChannelsPlugin) -> None:
        self.channels = channels

    def send_now(self, user_ids: Iterable[UUID | str], event_type: str, data: Any) -> None:
        """Publish at once: for events that change nothing stored (typing, presence)."""
        channels = [user_channel(user_id) for user_id in user_ids]
        if channels:
            self.channels.publish(event_frame(event_type, data), channels)

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


class PubSubLiveEvents:
    """Live events from a worker process, which holds no sockets: published on the Redis pub/sub
    channels every API process's channels backend listens to (`JobContext.live`)."""

    def __init__(self, redis: Redis) -> None:
        self._backend = RedisChannelsPubSubBackend(redis=redis)

    async def send(self, user_ids: Iterable[UUID | str], event_type: str, data: Any) -> None:
        channels = [user_channel(user_id) for user_id in user_ids]
        if channels:
            await self._backend.publish(event_frame(event_type, data), channels)


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
