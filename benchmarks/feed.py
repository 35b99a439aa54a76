"""Feed and search latency at community size: home, for-you and search through the real API.

Run: `uv run python benchmarks/feed.py` (PostgreSQL: 10,000 people, 1,000,000 posts over a
year, 5,000,000 likes, the reader following 500) or
`uv run python benchmarks/feed.py --sqlite --posts 100000 --likes 500000` (the embedded
default). The data are made once per size by SQL and kept (PostgreSQL database
`selflink_feed_bench_<people>_<posts>_<likes>`, or a SQLite file under benchmarks/data/);
`--fresh` makes them again.

A real uvicorn server on 127.0.0.1 (one worker, in a thread of this process) and one keep-alive
client sending requests one after another, every request signed in. The floor is a bare
Litestar app answering a constant JSON body, served and called the same way in the same run.
Each row also reports the SQL statements one request runs (transaction control left out).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import socket
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import uvicorn
from litestar import Litestar, get
from sqlalchemy import event, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import create_async_engine

from selflink_api.accounts.models import User
from selflink_api.app import create_app
from selflink_api.content.models import Post, PostLike
from selflink_api.platform.database import build_sqlalchemy_config, upgrade_schema
from selflink_api.settings import Settings, load_settings

if TYPE_CHECKING:
    from collections.abc import Callable

PASSWORD = "a long benchmark passphrase 42"
DATA = Path(__file__).parent / "data"
SYLLABLES = ("ka", "lo", "mi", "ren", "sa", "tu", "vel", "no", "ari", "es", "po", "di")
WORDS = [
    *[a + b + c for a in SYLLABLES for b in SYLLABLES for c in ("", "n", "s")][:400],
    "coffee", "stars", "music", "books", "sea", "mountains", "bread", "code", "today", "moon",
]  # fmt: skip
"""A vocabulary of 410 words; posts draw 6 to 12 of them (Zipf-like: early words are
commoner), so a word is in a few per cent of posts, as in real text."""
WORDS_PER_POST = (6, 12)
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def settings_for(database_url: str) -> Settings:
    return load_settings(
        _env_file=None,
        SELFLINK_PROFILE="test",
        DATABASE_URL=database_url,
        SECRET_KEY="benchmark-secret-key-that-is-long-enough-for-jwt",
        RATE_LIMIT_PER_MINUTE=1_000_000,
        LOG_LEVEL="WARNING",
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(app: Litestar, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


# Data ---------------------------------------------------------------------------------------


async def fill_postgres(dsn: str, people: int, posts: int, likes: int) -> None:
    """People, a year of posts (2% private, 8% for followers) and likes skewed to a few
    popular posts, all by SQL; counts set from the likes."""
    spread = WORDS_PER_POST[1] - WORDS_PER_POST[0] + 1
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            f"""
            INSERT INTO users (id, handle, display_name, bio, avatar_url, role, status,
                profile_visibility, message_policy, discoverable, locale, timezone,
                created_at, updated_at)
            SELECT gen_random_uuid(), 'bench_' || g, 'Bench person ' || g, '', '', 'user',
                'active', CASE WHEN g % 20 = 0 THEN 'followers' ELSE 'public' END,
                'followers', false, 'en', 'UTC', now(), now()
            FROM generate_series(1, {people}) g
            """
        )
        await connection.execute(
            f"""
            WITH authors AS (SELECT array_agg(id ORDER BY handle) AS ids FROM users
                             WHERE handle LIKE 'bench\\_%')
            INSERT INTO posts (id, author_id, text, language, visibility, like_count,
                comment_count, created_at, updated_at)
            SELECT gen_random_uuid(), authors.ids[1 + g % {people}],
                (SELECT string_agg(v.words[1 + floor(power(random(), 2) * {len(WORDS)})::int], ' ')
                 FROM (SELECT ARRAY{WORDS} AS words) v,
                      generate_series(1, {WORDS_PER_POST[0]} + g % {spread}) s),
                'en',
                CASE WHEN g % 50 = 0 THEN 'private' WHEN g % 12 = 0 THEN 'followers'
                     ELSE 'public' END,
                0, 0, now() - random() * interval '365 days', now()
            FROM generate_series(1, {posts}) g, authors
            """
        )
        await connection.execute(
            f"""
            WITH p AS (SELECT array_agg(id ORDER BY created_at DESC) AS ids FROM posts),
                 u AS (SELECT array_agg(id) AS ids FROM users WHERE handle LIKE 'bench\\_%')
            INSERT INTO post_likes (id, post_id, user_id, created_at, updated_at)
            SELECT gen_random_uuid(),
                p.ids[1 + floor({posts} * power(random(), 3))::int],
                u.ids[1 + floor({people} * random())::int], now(), now()
            FROM generate_series(1, {likes}) g, p, u
            ON CONFLICT DO NOTHING
            """
        )
        await connection.execute(
            """
            UPDATE posts SET like_count = counted.n
            FROM (SELECT post_id, count(*) AS n FROM post_likes GROUP BY post_id) AS counted
            WHERE posts.id = counted.post_id
            """
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def fill_sqlite(url: str, people: int, posts: int, likes: int) -> None:
    """The same shape for the embedded default, made in Python (seeded) through the tables."""
    engine = create_async_engine(url)
    draw = random.Random(7)
    now = datetime.now(UTC)
    users = [uuid.uuid4() for _ in range(people)]
    post_ids = [uuid.uuid4() for _ in range(posts)]
    pairs = {
        (post_ids[int(posts * draw.random() ** 3)], users[draw.randrange(people)])
        for _ in range(likes)
    }
    async with engine.begin() as connection:
        await connection.execute(
            insert(User),
            [
                {
                    "id": user,
                    "handle": f"bench_{n}",
                    "display_name": f"Bench person {n}",
                    "profile_visibility": "followers" if n % 20 == 0 else "public",
                }
                for n, user in enumerate(users, 1)
            ],
        )
        await connection.execute(
            insert(Post),
            [
                {
                    "id": post,
                    "author_id": users[n % people],
                    "text": " ".join(
                        WORDS[int(draw.random() ** 2 * len(WORDS))]
                        for _ in range(draw.randint(*WORDS_PER_POST))
                    ),
                    "language": "en",
                    "visibility": "private"
                    if n % 50 == 0
                    else "followers"
                    if n % 12 == 0
                    else "public",
                    "created_at": now - timedelta(seconds=draw.random() * 365 * 86400),
                }
                for n, post in enumerate(post_ids, 1)
            ],
        )
        await connection.execute(insert(PostLike), [{"post_id": p, "user_id": u} for p, u in pairs])
        await connection.execute(
            text(
                "UPDATE posts SET like_count = (SELECT count(*) FROM post_likes "
                "WHERE post_likes.post_id = posts.id)"
            )
        )
        await connection.execute(text("ANALYZE"))
    await engine.dispose()


def prepare(arguments: argparse.Namespace) -> str:
    """The benchmark database's URL, made (migrated and filled) if it is not there yet."""
    size = f"{arguments.people}_{arguments.posts}_{arguments.likes}"
    if arguments.sqlite:
        path = DATA / f"feed_{size}.sqlite3"
        if arguments.fresh:
            path.unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
        existed = path.exists()
        DATA.mkdir(exist_ok=True)
        upgrade(url)
        if existed:
            return url
        asyncio.run(fill_sqlite(url, arguments.people, arguments.posts, arguments.likes))
        return url
    name = f"selflink_feed_bench_{size}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"

    async def database_exists() -> bool:
        connection = await asyncpg.connect(admin)
        try:
            if arguments.fresh:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            found = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not found:
                await connection.execute(f'CREATE DATABASE "{name}"')
            return bool(found)
        finally:
            await connection.close()

    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    existed = asyncio.run(database_exists())
    upgrade(url)  # data made by an older revision gain the newer tables and indexes
    if not existed:
        started = time.perf_counter()
        asyncio.run(
            fill_postgres(
                f"postgresql://postgres@127.0.0.1:5432/{name}",
                arguments.people,
                arguments.posts,
                arguments.likes,
            )
        )
        print(f"made the data in {time.perf_counter() - started:.0f} s")
    return url


def upgrade(url: str) -> None:
    config = build_sqlalchemy_config(settings_for(url))
    upgrade_schema(config)
    asyncio.run(config.get_engine().dispose())


# Measuring ----------------------------------------------------------------------------------


class StatementCounter:
    """Counts the SQL statements the server runs between `start` and `stop`."""

    def __init__(self) -> None:
        self.count = 0
        self.counting = False
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.counting and not statement.startswith(TRANSACTION_CONTROL):
            self.count += 1

    def measure(self, send: Callable[[], httpx.Response]) -> int:
        self.count, self.counting = 0, True
        send().raise_for_status()
        self.counting = False
        return self.count


def timed(requests: int, send: Callable[[], httpx.Response]) -> list[float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = send()
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def percentile(ordered: list[float], share: float) -> float:
    return ordered[round(share * (len(ordered) - 1))]


def floor_app() -> Litestar:
    @get("/floor", sync_to_thread=False)
    def constant() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar([constant])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--likes", type=int, default=5_000_000)
    parser.add_argument("--following", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--fresh", action="store_true", help="make the data again")
    arguments = parser.parse_args()
    url = prepare(arguments)
    settings = settings_for(url)
    counter = StatementCounter()
    port, floor_port = free_port(), free_port()
    server, floor = serve(create_app(settings), port), serve(floor_app(), floor_port)
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as client,
        httpx.Client(base_url=f"http://127.0.0.1:{floor_port}", timeout=60) as bare,
    ):
        email = f"bench.{time.time_ns()}@example.org"
        signed_in = client.post("/auth/register", json={"email": email, "password": PASSWORD})
        signed_in.raise_for_status()
        headers = {"Authorization": f"Bearer {signed_in.json()['session']['access_token']}"}
        followed = 0
        for n in random.Random(11).sample(range(1, arguments.people + 1), arguments.following):
            client.post(f"/users/bench_{n}/follow", headers=headers).raise_for_status()
            followed += 1
        home = client.get("/feed/home", headers=headers).json()
        deep = home["next_cursor"]
        for_you = client.get("/feed/for-you", headers=headers).json()
        rows: dict[str, Callable[[], httpx.Response]] = {
            "bare Litestar app, constant JSON (the floor)": lambda: bare.get("/floor"),
            "GET /users/me (sign-in check + personal data)": lambda: client.get(
                "/users/me", headers=headers
            ),
            "GET /feed/home, first page of 20": lambda: client.get("/feed/home", headers=headers),
            "GET /feed/home, second page (cursor)": lambda: client.get(
                f"/feed/home?cursor={deep}", headers=headers
            ),
            "GET /feed/for-you, first page (ranks 500 posts, freezes 10 pages)": lambda: client.get(
                "/feed/for-you", headers=headers
            ),
            "GET /feed/for-you, second page (frozen)": lambda: client.get(
                f"/feed/for-you?cursor={for_you['next_cursor']}", headers=headers
            ),
            "GET /search/posts?q=kalo misa (two words), first page": lambda: client.get(
                "/search/posts", params={"q": "kalo misa"}, headers=headers
            ),
            "GET /search/posts?q=coffee (one word, in 1% of posts), first page": lambda: client.get(
                "/search/posts", params={"q": "coffee"}, headers=headers
            ),
            "GET /search/posts?q=kaka (the commonest word, in 36% of posts)": lambda: client.get(
                "/search/posts", params={"q": "kaka"}, headers=headers
            ),
            "GET /search/people?q=bench_12, first page": lambda: client.get(
                "/search/people", params={"q": "bench_12"}, headers=headers
            ),
        }
        results = {}
        for name, send in rows.items():
            for _ in range(5):  # warm caches and the planner
                send().raise_for_status()
            statements = counter.measure(send)
            results[name] = (sorted(timed(arguments.requests, send)), statements)
    server.should_exit = floor.should_exit = True
    engine = "SQLite" if arguments.sqlite else "PostgreSQL"
    floor_p50 = statistics.median(results[next(iter(results))][0])
    print(
        f"{engine}: {arguments.people:,} people, {arguments.posts:,} posts, "
        f"{arguments.likes:,} likes drawn, following {followed}; {arguments.requests} "
        f"sequential requests per row; Python {platform.python_version()}"
    )
    print("| request | p50 ms | p99 ms | p50 x floor | SQL statements |")
    print("|---|---|---|---|---|")
    for name, (times, statements) in results.items():
        p50 = statistics.median(times)
        print(
            f"| {name} | {p50:.2f} | {percentile(times, 0.99):.2f} | "
            f"{p50 / floor_p50:.1f} | {statements or '—'} |"
        )


if __name__ == "__main__":
    main()
