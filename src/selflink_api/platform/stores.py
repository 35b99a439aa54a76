"""Key-value stores with expiry, shared by every process when Redis is configured.

Anything an API process keeps between requests (rate-limit windows, frozen rankings) lives
here, so a request may land on any process: in Redis when `REDIS_URL` is set, else in this
process's memory (one process, as without Redis jobs run in-process too).
"""

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis


def shared_store(redis: Redis | None, name: str) -> Store:
    """The store called `name`: keys under `selflink:<name>:` in Redis, or in memory."""
    if redis is None:
        return MemoryStore()
    return RedisStore(redis, namespace=f"selflink:{name}", handle_client_shutdown=False)
