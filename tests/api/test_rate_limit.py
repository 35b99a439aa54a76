"""Rate limiting per client address, and who the client is behind trusted proxies."""

import asyncio
import random
import uuid
from ipaddress import ip_network

import httpx
import pytest
from litestar import get
from redis.asyncio import Redis

from selflink_api.app import create_app
from selflink_api.platform.http import client_ip_from
from selflink_api.platform.problems import ProblemError
from selflink_api.platform.ratelimit import AttemptLimiter, WindowCounter, lease_size
from tests.api.conftest import make_settings

pytestmark = pytest.mark.anyio

PROXIES = (ip_network("10.0.0.0/8"), ip_network("2001:db8::/32"))


@get("/api/v1/probe/ping", exclude_from_auth=True)
async def ping() -> dict[str, str]:
    return {"pong": "yes"}


def limited_client(peer: str, *, trusted: str = "", per_minute: int = 3) -> httpx.AsyncClient:
    settings = make_settings(
        "sqlite+aiosqlite:///:memory:", RATE_LIMIT_PER_MINUTE=per_minute, TRUSTED_PROXIES=trusted
    )
    app = create_app(settings)
    app.register(ping)
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://selflink.test")


async def test_requests_over_the_limit_get_429_with_retry_after() -> None:
    async with limited_client("203.0.113.7") as client:
        answers = [await client.get("/api/v1/probe/ping") for _ in range(3)]
        refused = await client.get("/api/v1/probe/ping")
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [answer.headers["ratelimit-remaining"] for answer in answers] == ["2", "1", "0"]
    assert {answer.headers["ratelimit-limit"] for answer in answers} == {"3"}
    assert {answer.headers["ratelimit-policy"] for answer in answers} == {"3; w=60"}
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:selflink:problem:rate-limited"
    assert 0 < int(refused.headers["retry-after"]) <= 60


async def test_operator_endpoints_are_not_limited() -> None:
    async with limited_client("203.0.113.7", per_minute=1) as client:
        statuses = {(await client.get("/health")).status_code for _ in range(5)}
    assert statuses == {200}


async def test_forwarded_for_from_an_untrusted_peer_cannot_dodge_the_limit() -> None:
    async with limited_client("203.0.113.7", per_minute=2) as client:
        statuses = [
            (
                await client.get(
                    "/api/v1/probe/ping", headers={"x-forwarded-for": f"198.51.100.{i}"}
                )
            ).status_code
            for i in range(3)
        ]
    assert statuses == [200, 200, 429]


async def test_clients_behind_a_trusted_proxy_are_limited_separately() -> None:
    async with limited_client("10.1.2.3", trusted="10.0.0.0/8", per_minute=1) as client:
        first = await client.get("/api/v1/probe/ping", headers={"x-forwarded-for": "198.51.100.1"})
        second = await client.get("/api/v1/probe/ping", headers={"x-forwarded-for": "198.51.100.2"})
        again = await client.get("/api/v1/probe/ping", headers={"x-forwarded-for": "198.51.100.1"})
    assert (first.status_code, second.status_code, again.status_code) == (200, 200, 429)


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.7", None, "203.0.113.7"),
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # untrusted peer: header ignored
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1, 10.9.9.9", "198.51.100.1"),  # skip our own proxies
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # a client-made hop is not trusted
        ("10.0.0.2", "garbage, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "10.0.0.3", "10.0.0.3"),  # all hops trusted: the farthest one
        ("10.0.0.2", "not-an-ip", "10.0.0.2"),
        ("2001:db8::1", "2001:0db8:0:0:0:0:0:2, 2a00::5", "2a00::5"),
        ("testclient", "198.51.100.1", "unknown"),  # never text a client could have written
        ("not-an-ip", None, "unknown"),
        ("1" * 6000, "198.51.100.1", "unknown"),
        (None, "198.51.100.1", "unknown"),
    ],
)
def test_client_ip_trusts_forwarded_for_only_through_trusted_proxies(
    peer: str | None, forwarded: str | None, expected: str
) -> None:
    assert client_ip_from(peer, forwarded, PROXIES) == expected


def test_a_lease_is_a_thirty_second_of_the_limit_at_most_64() -> None:
    assert [lease_size(limit) for limit in (None, 1, 20, 63, 64, 600, 2048, 10**7)] == [
        1, 1, 1, 1, 2, 18, 64, 64
    ]  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
async def test_leased_counts_are_shared_exactly_and_never_exceed_the_limit(
    redis_url: str, seed: int
) -> None:
    """Two processes' counters, bursts of concurrent requests to one or the other at random:
    no count is handed out twice, at most the limit are allowed and at most one lease per
    process is lost (a burst waits for one claim rather than claim a lease per request), Redis
    is asked once per lease, and past the limit neither asks it again."""
    limit, size = 640, lease_size(640)
    namespace = f"test-leases-{uuid.uuid4().hex}"
    one, other = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        counters = [WindowCounter(one, namespace), WindowCounter(other, namespace)]
        rng = random.Random(seed)
        counts: list[int] = []
        while len(counts) < 800:  # bursts of concurrent requests to one process or the other
            counter, burst = rng.choice(counters), rng.randint(1, 30)
            counted = await asyncio.gather(
                *(counter.count("client", 60, limit) for _ in range(burst))
            )
            counts += [count for count, _ in counted]
        claimed = int(await one.get(f"{namespace}:client"))
        allowed = [count for count in counts if count <= limit]
        assert len(set(allowed)) == len(allowed)
        assert limit - 2 * (size - 1) <= len(allowed) <= limit
        assert claimed <= limit + 2 * size  # no claim once a counter saw the limit reached
        assert claimed % size == 0  # every round trip claimed a whole lease
    finally:
        await one.aclose()
        await other.aclose()


async def test_attempts_are_counted_once_each_across_processes_and_expire(redis_url: str) -> None:
    """Two processes' limiters on one Redis share a window's count exactly, concurrent hits
    included, and the window's key expires after the window."""
    namespace = f"test-attempts-{uuid.uuid4().hex}"
    one, other = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        limiters = [AttemptLimiter(one, namespace), AttemptLimiter(other, namespace)]
        outcomes = await asyncio.gather(
            *(limiters[n % 2].hit("someone", limit=25, window_seconds=600) for n in range(30)),
            return_exceptions=True,
        )
        refused = [outcome for outcome in outcomes if isinstance(outcome, ProblemError)]
        assert len(refused) == 5
        assert all(outcome is None or outcome in refused for outcome in outcomes)
        (key,) = [key async for key in one.scan_iter(f"{namespace}:someone:*")]
        assert int(await one.get(key)) == 30
        assert 0 < await one.ttl(key) <= 601
    finally:
        await one.aclose()
        await other.aclose()
