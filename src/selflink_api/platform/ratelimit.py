"""Fixed-window attempt counters for sensitive actions (sign-in, registration, resets).

The global middleware limit protects the service; these protect accounts: they count per
client address and per account, in Redis when configured (shared by every API process) or in
this process's memory, which also counts while Redis is unreachable (sign-in keeps working,
limited per process). Keys never contain personal data: callers pass a blind index.
"""

import time
from typing import Any

import structlog
from redis.exceptions import RedisError

from selflink_api.platform.problems import RATE_LIMITED, ProblemError

logger = structlog.get_logger("selflink.ratelimit")


class AttemptLimiter:
    def __init__(self, redis: Any | None = None, namespace: str = "selflink:attempts") -> None:
        self._redis = redis
        self._namespace = namespace
        self._memory: dict[str, int] = {}

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> None:
        """Count one attempt; raise a 429 problem once `limit` attempts fill the window."""
        now = time.time()
        window = int(now // window_seconds)
        slot = f"{self._namespace}:{key}:{window}"
        retry_after = max(1, int((window + 1) * window_seconds - now))
        count = await self._increment(slot, window_seconds)
        if count > limit:
            raise ProblemError(
                RATE_LIMITED,
                "Too many attempts; wait before trying again.",
                headers={"Retry-After": str(retry_after)},
            )

    async def _increment(self, slot: str, window_seconds: int) -> int:
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(slot)
                    pipe.expire(slot, window_seconds + 1)
                    count, _ = await pipe.execute()
                return int(count)
            except (RedisError, OSError) as exc:
                logger.warning("attempts_counted_in_memory", error=type(exc).__name__)
        if len(self._memory) > 100_000:
            self._memory.clear()
        self._memory[slot] = self._memory.get(slot, 0) + 1
        return self._memory[slot]
