"""Matching API latency: GET /api/v1/matching/recommendations for one user against N seeded
candidates (default 10,000), with the candidate pool cached, refreshed after one change, and
decoded in full as in a process's first request; next to GET /matching/with/{handle} and
GET /users/me. Also the throughput of the job that precomputes the candidates' features
(`matching.refresh_stale_features`).

Run: `uv run python benchmarks/matching_api.py [--candidates N] [--requests N]
[--database-url URL]` (a fresh SQLite file by default; for PostgreSQL pass an empty database,
e.g. `postgresql://postgres@127.0.0.1:5432/matching_bench`).

Candidates are written straight into the database (accounts, encrypted birth data and
preferences; random but seeded): 75% with a located birth (70% of those with a time), 10%
with a birth date only, 80% with profile answers, everyone in friends mode and 60% also in
dating mode. Their features are then computed by the real job, timed. A real uvicorn server
(one worker, in a thread of this process) answers one keep-alive HTTP client sending requests
one after another; figures are per request, client to client, including the sign-in checks.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
from astro_api import free_port, report, serve, settings_for, timed
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from selflink_api.accounts.models import User, UserPersonalData
from selflink_api.accounts.schemas import BirthData, PersonalData
from selflink_api.accounts.services import PersonalDataStore
from selflink_api.matching.candidates import CandidateCache
from selflink_api.matching.jobs import refresh_stale_features
from selflink_api.matching.models import MatchingPreferences
from selflink_api.matching.schemas import DatingPreferences, PreferencesDocument
from selflink_api.matching.services import PreferencesStore
from selflink_api.platform.crypto import build_cipher
from selflink_api.platform.database import build_sqlalchemy_config, upgrade_schema
from selflink_api.platform.jobs import InProcessJobRunner
from selflink_core.matching import vocabulary

if TYPE_CHECKING:
    from selflink_api.settings import Settings

PASSWORD = "a long benchmark passphrase 42"
VOCABULARY = vocabulary()
ASKER_BIRTH = {"date": "1990-05-17", "time": "14:30", "latitude": 52.52, "longitude": 13.405}
ASKER_PREFERENCES = {
    "modes": ["dating", "friends"],
    "dating": {
        "gender": "woman",
        "interested_in": ["man", "nonbinary"],
        "age_min": 25,
        "age_max": 45,
    },
    "values": ["honesty", "humor", "learning"],
    "love_languages": ["quality_time"],
    "lifestyle": {"smoking": "never", "sleep": "early_bird", "exercise": "often"},
    "interests": ["hiking", "books", "music", "cooking"],
}


def random_birth(rng: random.Random) -> BirthData | None:
    kind = rng.random()
    if kind >= 0.85:
        return None
    day = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(45 * 365))
    if kind >= 0.75:
        return BirthData(date=day)
    time_of_day = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}" if rng.random() < 0.7 else None
    return BirthData(
        date=day,
        time=time_of_day,
        latitude=round(rng.uniform(-55, 65), 4),
        longitude=round(rng.uniform(-180, 180), 4),
        timezone="UTC",
    )


def random_preferences(rng: random.Random) -> PreferencesDocument:
    dating = None
    if rng.random() < 0.6:
        low = rng.randrange(18, 50)
        dating = DatingPreferences(
            gender=rng.choice(VOCABULARY.genders),
            interested_in=rng.sample(VOCABULARY.genders, rng.randrange(1, 3)),
            age_min=low,
            age_max=min(99, low + rng.randrange(5, 30)),
        )
    document = PreferencesDocument(
        modes=["friends"] + (["dating"] if dating else []), dating=dating
    )
    if rng.random() < 0.8:
        for part in ("values", "love_languages", "interests"):
            words = VOCABULARY.words(part)
            setattr(
                document, part, rng.sample(words, rng.randrange(1, VOCABULARY.limits[part] + 1))
            )
        document.lifestyle = {
            question: rng.choice(options)
            for question, options in VOCABULARY.lifestyle.items()
            if rng.random() < 0.7
        }
    return document


SEED_CHUNK = 2_000


async def seed_candidates(settings: Settings, count: int) -> None:
    """Accounts, birth data and preferences of `count` discoverable people (no features),
    sealed as the stores seal them and inserted a chunk at a time (100,000 in minutes, where
    the stores' one-person `save` took ten)."""
    rng = random.Random(42)
    cipher = build_cipher(settings)
    config = build_sqlalchemy_config(settings)
    async with config.get_session() as session, session.begin():
        people, preferences = PersonalDataStore(session, cipher), PreferencesStore(session, cipher)
        for start in range(0, count, SEED_CHUNK):
            users = [
                User(
                    handle=f"candidate_{n:06d}",
                    display_name=f"Candidate {n}",
                    discoverable=True,
                    password_hash=None,
                )
                for n in range(start, min(count, start + SEED_CHUNK))
            ]
            session.add_all(users)
            await session.flush()
            rows: list[Any] = []
            for user in users:
                data = PersonalData(email=f"{user.handle}@example.org", birth=random_birth(rng))
                sealed = cipher.encrypt(msgspec.json.encode(data), context=people.context(user.id))
                rows.append(
                    UserPersonalData(
                        user_id=user.id,
                        key_id=sealed.key_id,
                        ciphertext=sealed.blob,
                        email_index=people.email_index(data.email),
                    )
                )
                chosen = MatchingPreferences(user_id=user.id)
                preferences.seal(chosen, random_preferences(rng))
                rows.append(chosen)
            session.add_all(rows)
            await session.flush()
            session.expunge_all()
    await config.get_engine().dispose()


async def precompute(settings: Settings) -> float:
    """Seconds the stale-features job takes to compute every candidate's features."""
    config = build_sqlalchemy_config(settings)
    runner = InProcessJobRunner(settings, config.create_session_maker())
    started = time.perf_counter()
    await refresh_stale_features(runner.context)
    elapsed = time.perf_counter() - started
    await config.get_engine().dispose()
    return elapsed


def run_sql(settings: Settings, *statements: str) -> None:
    async def execute() -> None:
        engine = create_async_engine(settings.sqlalchemy_url)
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(execute())


# One candidate's row rewritten, as the job does after a change: the next request decrypts
# that record only.
BUMP = "UPDATE matching_revision SET revision = revision + 1"
TOUCH_ONE = (
    "UPDATE matching_features SET revision = (SELECT revision FROM matching_revision) "
    "WHERE user_id = (SELECT user_id FROM matching_features ORDER BY user_id LIMIT 1)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--precompute-only", action="store_true", help="seed and time the job, no requests"
    )
    arguments = parser.parse_args()
    url = arguments.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    settings = settings_for(url)
    config = build_sqlalchemy_config(settings)
    upgrade_schema(config)
    asyncio.run(config.get_engine().dispose())
    started = time.perf_counter()
    asyncio.run(seed_candidates(settings, arguments.candidates))
    print(f"seeded {arguments.candidates:,} candidates in {time.perf_counter() - started:.1f} s")
    seconds = asyncio.run(precompute(settings))
    print(
        f"precompute job: {arguments.candidates:,} people in {seconds:.2f} s "
        f"({arguments.candidates / seconds:,.0f} people/s)"
    )
    if arguments.precompute_only:
        return
    port = free_port()
    server = serve(settings, port)
    app = server.config.app
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as client:
        email = f"bench.{time.time_ns()}@example.org"
        signed_in = client.post("/auth/register", json={"email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {signed_in.json()['session']['access_token']}"}
        client.patch("/users/me", headers=headers, json={"discoverable": True}).raise_for_status()
        client.put("/astro/birth-data", headers=headers, json=ASKER_BIRTH).raise_for_status()
        client.patch(
            "/matching/preferences", headers=headers, json=ASKER_PREFERENCES
        ).raise_for_status()
        for _ in range(200):  # the features job runs right after the response
            ready = client.get(
                "/matching/recommendations", headers=headers, params={"mode": "friends"}
            )
            if ready.status_code != 409:
                break
            time.sleep(0.05)
        ready.raise_for_status()
        friends = {"mode": "friends"}
        first = client.get("/matching/recommendations", headers=headers, params=friends).json()
        second = {"mode": "friends", "cursor": first["next_cursor"]}
        dating = client.get(
            "/matching/recommendations", headers=headers, params={"mode": "dating"}
        ).json()
        print(
            f"first friends page: {len(first['items'])} people, lenses "
            f"{sorted({item['lens'] for item in first['items']})}; "
            f"first dating page: {len(dating['items'])} people"
        )
        someone = first["items"][0]["handle"]

        def get(path: str, params: dict[str, Any] | None = None) -> Any:
            return lambda: client.get(path, headers=headers, params=params)

        def nothing() -> None:
            pass

        def forget_pool() -> None:  # as in a process that just started
            toolkit = app.state.matching
            app.state.matching = replace(toolkit, candidates=CandidateCache(toolkit.cipher))

        requests = arguments.requests
        rows = {
            "GET /users/me (auth, personal data; the baseline)": timed(
                requests, get("/users/me"), nothing
            ),
            "GET /matching/with/{handle}": timed(
                requests, get(f"/matching/with/{someone}"), nothing
            ),
            "recommendations, friends, first page (pool cached)": timed(
                requests, get("/matching/recommendations", friends), nothing
            ),
            "recommendations, friends, next page with the cursor": timed(
                requests, get("/matching/recommendations", second), nothing
            ),
            "recommendations, dating, first page (pool cached)": timed(
                requests, get("/matching/recommendations", {"mode": "dating"}), nothing
            ),
            "recommendations, friends, after one candidate changed": timed(
                requests,
                get("/matching/recommendations", friends),
                lambda: run_sql(settings, BUMP, TOUCH_ONE),
            ),
            "recommendations, friends, first request of a process (pool decoded)": timed(
                max(10, requests // 10), get("/matching/recommendations", friends), forget_pool
            ),
        }
    server.should_exit = True
    database = "PostgreSQL" if "postgres" in url else "SQLite"
    print(
        f"{arguments.candidates:,} candidates; {requests} sequential requests per row "
        f"({max(10, requests // 10)} for a process's first request); {database}; "
        f"Python {platform.python_version()}"
    )
    print("| request | median ms | p95 ms | requests/s |")
    print("|---|---|---|---|")
    for name, times in rows.items():
        report(name, times)


if __name__ == "__main__":
    main()
