"""Key-value stores with expiry, shared by every process when Redis is configured.

Anything an API process keeps between requests (rate-limit windows, frozen feed readings)
lives here, so a request may land on any process: in Redis when `REDIS_URL` is set, else in
this process's memory (one process, as without Redis jobs run in-process too). While Redis is
unreachable the store answers from this process's memory instead of failing the request: the
API keeps serving (limits count per process meanwhile, and a reading frozen in Redis reads as
expired), and Redis takes over again as soon as it answers.
"""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import structlog
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = structlog.get_logger("selflink.stores")
T = TypeVar("T")


def shared_store(redis: Redis | None, name: str) -> Store:
    """The store called `name`: keys under `selflink:<name>:` in Redis, or in memory."""
    if redis is None:
        return MemoryStore()
    return RedisOrMemoryStore(
        RedisStore(redis, namespace=f"selflink:{name}", handle_client_shutdown=False), name
    )


class RedisOrMemoryStore(Store):
    """A Redis store that falls back to this process's memory while Redis is unreachable."""

    def __init__(self, redis: RedisStore, name: str) -> None:
        self._redis = redis
        self._memory = MemoryStore()
        self._name = name
        self._falling_back = False

    async def _either(
        self, on_redis: Callable[[], Awaitable[T]], in_memory: Callable[[], Awaitable[T]]
    ) -> T:
        try:
            result = await on_redis()
        except (RedisError, OSError) as exc:
            if not self._falling_back:
                logger.warning("store_in_memory", store=self._name, error=type(exc).__name__)
                self._falling_back = True
            return await in_memory()
        if self._falling_back:
            logger.info("store_in_redis_again", store=self._name)
            self._falling_back = False
        return result

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        await self._either(
            lambda: self._redis.set(key, value, expires_in),
            lambda: self._memory.set(key, value, expires_in),
        )

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await self._either(
            lambda: self._redis.get(key, renew_for), lambda: self._memory.get(key, renew_for)
        )

    async def delete(self, key: str) -> None:
        await self._either(lambda: self._redis.delete(key), lambda: self._memory.delete(key))

    async def delete_all(self) -> None:
        await self._memory.delete_all()
        await self._redis.delete_all()

    async def exists(self, key: str) -> bool:
        return await self._either(lambda: self._redis.exists(key), lambda: self._memory.exists(key))

    async def expires_in(self, key: str) -> int | None:
        return await self._either(
            lambda: self._redis.expires_in(key), lambda: self._memory.expires_in(key)
        )
