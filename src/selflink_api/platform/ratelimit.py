"""Fixed-window counters: every request per client address (the middleware limit), and
attempts at sensitive actions (sign-in, registration, resets).

The global middleware limit protects the service; attempt limits protect accounts: they count
per client address and per account. Both count in Redis when configured (shared by every API
process) or in this process's memory, which also counts while Redis is unreachable (the API
keeps serving, limited per process). Keys never contain personal data: callers pass a blind
index.
"""

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    RateLimitConfig,
    RateLimitMiddleware,
)
from litestar.types import Message, Receive, Scope, Send
from redis.exceptions import RedisError

from selflink_api.platform.problems import RATE_LIMITED, ProblemError

if TYPE_CHECKING:
    from litestar.connection import Request

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


class WindowCounter:
    """Requests per client in a fixed window that starts at the client's first request:
    one atomic round trip to Redis per request (`SET NX EX`, `INCR`, `TTL` in a transaction),
    or this process's memory without Redis and while it is unreachable."""

    def __init__(self, redis: Any | None = None, namespace: str = "selflink:requests") -> None:
        self._redis = redis
        self._namespace = namespace
        self._memory: dict[str, tuple[int, float]] = {}
        self._falling_back = False

    async def count(self, key: str, window_seconds: int) -> tuple[int, int]:
        """Count one request of `key`: how many its window holds now, and in how many
        seconds the window ends."""
        slot = f"{self._namespace}:{key}"
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.set(slot, 0, ex=window_seconds, nx=True)
                    pipe.incr(slot)
                    pipe.ttl(slot)
                    _, count, ttl = await pipe.execute()
            except (RedisError, OSError) as exc:
                if not self._falling_back:  # once per outage, not once per request
                    logger.warning("requests_counted_in_memory", error=type(exc).__name__)
                    self._falling_back = True
            else:
                if self._falling_back:
                    logger.info("requests_counted_in_redis_again")
                    self._falling_back = False
                return int(count), max(1, int(ttl))
        now = time.monotonic()
        count, ends = self._memory.get(slot, (0, 0.0))
        if ends <= now:
            if len(self._memory) > 100_000:  # pruned rarely: then empty if all still live
                self._memory = {k: v for k, v in self._memory.items() if v[1] > now}
                if len(self._memory) > 100_000:
                    self._memory.clear()
            count, ends = 0, now + window_seconds
        self._memory[slot] = (count + 1, ends)
        return count + 1, max(1, math.ceil(ends - now))


class RequestRateLimit(RateLimitMiddleware):
    """Litestar's limit middleware, counting with `WindowCounter`.

    Litestar's own keeps the timestamp of every request of the window in one JSON list that
    it reads and rewrites whole on every request, under a process-wide lock: its cost grows
    with the requests in the window, requests queue for two store round trips each, and two
    processes can overwrite each other's counts. The same limit, headers and 429 here cost
    one atomic increment."""

    config: "RequestRateLimitConfig"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        request: Request[Any, Any, Any] = app.request_class(scope)
        if await self.should_check_request(request=request):
            window = DURATION_VALUES[self.unit]
            count, reset_in = await self.config.counter.count(
                self.cache_key_from_request(request), window
            )
            headers = {
                self.config.rate_limit_policy_header_key: f"{self.max_requests}; w={window}",
                self.config.rate_limit_limit_header_key: str(self.max_requests),
                self.config.rate_limit_remaining_header_key: str(max(0, self.max_requests - count)),
                self.config.rate_limit_reset_header_key: str(reset_in),
            }
            if count > self.max_requests:
                raise TooManyRequestsException(headers=headers)
            send = _with_headers(send, headers)
        await self.app(scope, receive, send)


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            response_headers = MutableScopeHeaders(message)
            for name, value in headers.items():
                response_headers[name] = value
        await send(message)

    return send_with_headers


@dataclass
class RequestRateLimitConfig(RateLimitConfig):
    """Litestar's limit configuration, served by `RequestRateLimit` with this counter."""

    counter: WindowCounter = field(default_factory=WindowCounter)
    middleware_class: type[RateLimitMiddleware] = RequestRateLimit
