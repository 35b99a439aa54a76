"""Fixed-window counters: every request per client address (the middleware limit), and
attempts at sensitive actions (sign-in, registration, resets).

The global middleware limit protects the service; attempt limits protect accounts: they count
per client address and per account. Both count in Redis when configured (shared by every API
process) or in this process's memory, which also counts while Redis is unreachable (the API
keeps serving, limited per process). Keys never contain personal data: callers pass a blind
index.
"""

import asyncio
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


_COUNT_ATTEMPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
"""One attempt counted in its window's key, which expires after the window: one command and
one reply, where a MULTI/EXEC pipeline sent four and parsed four."""


class AttemptLimiter:
    def __init__(self, redis: Any | None = None, namespace: str = "selflink:attempts") -> None:
        self._namespace = namespace
        self._memory: dict[str, int] = {}
        self._count_attempt = None if redis is None else redis.register_script(_COUNT_ATTEMPT)

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
        if self._count_attempt is not None:
            try:
                return int(await self._count_attempt(keys=[slot], args=[window_seconds + 1]))
            except (RedisError, OSError) as exc:
                logger.warning("attempts_counted_in_memory", error=type(exc).__name__)
        if len(self._memory) > 100_000:
            self._memory.clear()
        self._memory[slot] = self._memory.get(slot, 0) + 1
        return self._memory[slot]


LEASE_SHARE = 32
"""A process claims at most this fraction (1/32) of a client's limit per Redis round trip."""
LEASE_MAX = 64


def lease_size(limit: int | None) -> int:
    """Counts claimed per round trip: 1/32 of the limit, at most 64; one below a limit of 64,
    so small limits count exactly, one round trip per request."""
    return 1 if limit is None else max(1, min(limit // LEASE_SHARE, LEASE_MAX))


@dataclass
class _Lease:
    """Counts of one client's window that this process claimed and hands out in turn."""

    next: int
    last: int
    ends: float
    """When the window ends, on this process's monotonic clock."""


@dataclass
class _Claim:
    """A claim of a lease in flight; requests for the same client wait for it."""

    done: asyncio.Event = field(default_factory=asyncio.Event)
    failed: bool = False
    """Redis was unreachable (a claim cancelled mid-flight has not failed: a waiter claims)."""


class WindowCounter:
    """Requests per client in a fixed window that starts at the client's first request, in
    Redis (shared by every API process) or this process's memory without Redis and while it
    is unreachable.

    In Redis a process claims a lease of counts at once (`SET NX EX`, `INCRBY`, `PTTL` in one
    transaction; `lease_size`) and hands them out one per request, so a client's requests
    cost one round trip per lease instead of one each. A count is never handed out twice, and
    a lease ends no later than its Redis window, so a window never allows more than the limit.
    Counts claimed and not used by the window's end are lost (a lease per process, and per
    claim cancelled mid-flight), so a client may be refused early, by about processes *
    (lease - 1) requests: 1/32 of the limit per process. Once this process's claim reached the
    limit, it refuses that client until the window ends without asking Redis again. With
    several processes, `RateLimit-Remaining` is this process's view, so approximate.
    """

    def __init__(self, redis: Any | None = None, namespace: str = "selflink:requests") -> None:
        self._redis = redis
        self._namespace = namespace
        self._memory: dict[str, tuple[int, float]] = {}
        self._leases: dict[str, _Lease] = {}
        self._claiming: dict[str, _Claim] = {}
        self._falling_back = False

    async def count(
        self, key: str, window_seconds: int, limit: int | None = None
    ) -> tuple[int, int]:
        """Count one request of `key`: its number in the window, and in how many seconds the
        window ends. `limit` sizes the lease (none: one count per round trip)."""
        slot = f"{self._namespace}:{key}"
        if self._redis is not None:
            counted = await self._count_leased(self._redis, slot, window_seconds, limit)
            if counted is not None:
                return counted
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

    async def _count_leased(
        self, redis: Any, slot: str, window_seconds: int, limit: int | None
    ) -> tuple[int, int] | None:
        """The next count of this process's lease, claiming a lease when it has none left;
        None if Redis is unreachable. Leases of several counts are claimed once per slot at a
        time: requests arriving meanwhile wait for that claim rather than claim their own, and
        count in memory if it failed."""
        size = lease_size(limit)
        while True:
            now = time.monotonic()
            lease = self._leases.get(slot)
            if (
                lease is not None
                and lease.ends > now
                and (lease.next <= lease.last or (limit is not None and lease.last >= limit))
            ):
                lease.next += 1
                return lease.next - 1, max(1, math.ceil(lease.ends - now))
            pending = self._claiming.get(slot) if size > 1 else None
            if pending is None:
                break
            await pending.done.wait()
            if pending.failed:
                return None
        if size == 1:  # nothing to share with requests arriving meanwhile
            return await self._claim_lease(redis, slot, window_seconds, size, now)
        claim = self._claiming[slot] = _Claim()
        try:
            counted = await self._claim_lease(redis, slot, window_seconds, size, now)
            claim.failed = counted is None
            return counted
        finally:
            del self._claiming[slot]
            claim.done.set()

    async def _claim_lease(
        self, redis: Any, slot: str, window_seconds: int, size: int, now: float
    ) -> tuple[int, int] | None:
        """Claim a lease, keep what this request does not use; its first count."""
        claimed = await self._claim(redis, slot, window_seconds, size)
        if claimed is None:
            return None
        last, seconds_left = claimed
        ends = now + seconds_left  # `now` is from before the claim: never past the window
        self._keep(slot, _Lease(next=last - size + 2, last=last, ends=ends), now)
        return last - size + 1, max(1, math.ceil(seconds_left))

    async def _claim(
        self, redis: Any, slot: str, window_seconds: int, size: int
    ) -> tuple[int, float] | None:
        """Claim `size` counts of the slot's window in Redis: the last one claimed and the
        seconds the window has left (`PTTL`, not rounded up); None (logged once per outage)
        if Redis is unreachable."""
        try:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.set(slot, 0, ex=window_seconds, nx=True)
                pipe.incrby(slot, size)
                pipe.pttl(slot)
                _, last, milliseconds_left = await pipe.execute()
        except (RedisError, OSError) as exc:
            if not self._falling_back:  # once per outage, not once per request
                logger.warning("requests_counted_in_memory", error=type(exc).__name__)
                self._falling_back = True
            return None
        if self._falling_back:
            logger.info("requests_counted_in_redis_again")
            self._falling_back = False
        return int(last), max(0, int(milliseconds_left)) / 1000

    def _keep(self, slot: str, lease: _Lease, now: float) -> None:
        if len(self._leases) > 100_000:  # as the memory counts: pruned rarely
            self._leases = {k: v for k, v in self._leases.items() if v.ends > now}
            if len(self._leases) > 100_000:
                self._leases.clear()
        self._leases[slot] = lease


class RequestRateLimit(RateLimitMiddleware):
    """Litestar's limit middleware, counting with `WindowCounter`.

    Litestar's own keeps the timestamp of every request of the window in one JSON list that
    it reads and rewrites whole on every request, under a process-wide lock: its cost grows
    with the requests in the window, requests queue for two store round trips each, and two
    processes can overwrite each other's counts. The same limit, headers and 429 here cost
    one atomic increment per lease of counts (`WindowCounter`)."""

    config: "RequestRateLimitConfig"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        request: Request[Any, Any, Any] = app.request_class(scope)
        if await self.should_check_request(request=request):
            window = DURATION_VALUES[self.unit]
            count, reset_in = await self.config.counter.count(
                self.cache_key_from_request(request), window, self.max_requests
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
