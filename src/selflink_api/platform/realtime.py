"""Live events to people's open connections, and the short-lived state they share.

Every event goes to people, never to topics: the publisher names the user ids that must receive
it, each id is one channel (`user:<id>`) of Litestar's channels (in this process's memory, or
Redis pub/sub when `REDIS_URL` is set, so every API process delivers to its own sockets), and
the gateway subscribes a connection to its own person's channel only. Who may receive what is
therefore decided where the event is published, from the database, in the transaction that
caused it; domains publish through `after_commit`, so rolled-back work never shows.

`RealtimeState` keeps typing (seconds) and presence (a minute) with expiry, in Redis when
configured (shared by every process) or in memory.
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
        self._presence: dict[str, float] = {}

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

    async def seen(self, user_id: UUID) -> None:
        """Mark a person online for the next minute (a connection opened, or a heartbeat)."""
        until = self.clock() + PRESENCE_SECONDS
        if self._redis is None:
            self._presence[str(user_id)] = until
            return
        await self._redis.set(f"{self._namespace}:presence:{user_id}", "1", ex=PRESENCE_SECONDS)

    async def online(self, user_ids: Iterable[UUID]) -> set[UUID]:
        wanted = list(user_ids)
        if not wanted:
            return set()
        if self._redis is None:
            now = self.clock()
            return {u for u in wanted if self._presence.get(str(u), 0) > now}
        keys = [f"{self._namespace}:presence:{user_id}" for user_id in wanted]
        values = await self._redis.mget(keys)
        return {user_id for user_id, value in zip(wanted, values, strict=True) if value}
