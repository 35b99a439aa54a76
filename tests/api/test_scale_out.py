"""Scale-out and faults, with real processes: SelfLink's API servers (`selflink-api run`) and
SAQ workers (`selflink-api workers run`) around this module's own PostgreSQL and Redis
servers (see scaleout.py), which the fault tests stop, restart and kill.

Each test prints how long its phases took (`-s` shows them; docs/operations.md quotes them).
"""

import concurrent.futures
import itertools
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.people import PASSWORD, unique_email
from tests.api.scaleout import (
    OwnPostgres,
    OwnRedis,
    Processes,
    own_postgres,
    own_redis,
    prepared_database,
    selflink_processes,
    wait_for,
)

JOB_SECONDS = 60
"""The longest a test waits for a job's effect (the machine may be busy)."""
PER_IP_LIMIT = 20
Cluster = tuple[OwnPostgres, OwnRedis]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with own_postgres() as postgres, own_redis() as redis:
        yield postgres, redis


@pytest.fixture
def processes(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[Processes, OwnPostgres, str]]:
    postgres, redis = cluster
    database = prepared_database(postgres)
    with selflink_processes(
        tmp_path,
        postgres.dsn(database),
        redis.url,
        TRUSTED_PROXIES="127.0.0.1/32",
        RATE_LIMIT_PER_MINUTE=str(PER_IP_LIMIT),
    ) as started:
        yield started, postgres, database
        output = started.output()
    assert "Traceback" not in output, output[-4000:]


def some_client() -> dict[str, str]:
    """A client address of its own (we are the trusted proxy), so limits stay out of the way."""
    return {"X-Forwarded-For": f"10.{random.randrange(256)}.{random.randrange(256)}.7"}


def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    headers = some_client() | kwargs.pop("headers", {})
    return httpx.request(method, url, headers=headers, timeout=15, **kwargs)


def join(url: str, handle: str) -> dict[str, str]:
    """Register `handle` through `url`; the bearer headers of the session."""
    answer = request(
        "POST",
        f"{url}/api/v1/auth/register",
        json={"email": unique_email(handle), "password": PASSWORD, "handle": handle},
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['session']['access_token']}"}


def runs(postgres: OwnPostgres, database: str, job: str) -> list[tuple[Any, ...]]:
    [rows] = postgres.execute(
        database, f"SELECT key, pid, at FROM probe_runs WHERE job = '{job}' ORDER BY at"
    )
    return rows


def effects(postgres: OwnPostgres, database: str) -> dict[str, int]:
    [rows] = postgres.execute(database, "SELECT key, pid FROM probe_effects")
    return {str(key): int(pid) for key, pid in rows}  # type: ignore[call-overload]


def enqueue(url: str, name: str, seconds: float = 0.0) -> None:
    answer = request("POST", f"{url}/api/v1/probe/jobs", params={"name": name, "seconds": seconds})
    assert answer.status_code == 202, answer.text


def publish(url: str, name: str, seconds: float = 0.0) -> None:
    """`probe.happened`, through the event stream, to the same `probe.record` job."""
    answer = request(
        "POST", f"{url}/api/v1/probe/events", params={"name": name, "seconds": seconds}
    )
    assert answer.status_code == 202, answer.text


def recommended(url: str, headers: dict[str, str]) -> list[str]:
    answer = request(
        "GET", f"{url}/api/v1/matching/recommendations?mode=friends&limit=50", headers=headers
    )
    assert answer.status_code == 200, answer.text
    return [item["handle"] for item in answer.json()["items"]]


def open_to_friends(url: str, headers: dict[str, str]) -> None:
    for method, path, body in (
        ("PATCH", "/api/v1/users/me", {"discoverable": True}),
        ("PATCH", "/api/v1/matching/preferences", {"modes": ["friends"], "values": ["honesty"]}),
    ):
        answer = request(method, f"{url}{path}", json=body, headers=headers)
        assert answer.status_code == 200, answer.text


def test_two_api_processes_and_two_workers_share_one_postgres_and_redis(
    processes: tuple[Processes, OwnPostgres, str],
) -> None:
    started, postgres, database = processes
    clock = time.monotonic()
    started.worker(0), started.worker(1)
    (a, _), (b, _) = started.apis(2)
    started.wait_for_workers(2)
    print(f"2 API processes and 2 workers up in {time.monotonic() - clock:.1f} s")

    # A job enqueued once has its effect once, whichever process enqueued it.
    names = [f"once-{index}" for index in range(10)]
    for index, name in enumerate(names):
        enqueue((a, b)[index % 2], name)
    wait_for(lambda: len(effects(postgres, database)) == len(names), JOB_SECONDS, "10 effects")
    assert sorted(key for key, _, _ in runs(postgres, database, "record")) == sorted(names)

    # So does an event: each reaches its subscriber once, through one worker of the group.
    happened = [f"event-{index}" for index in range(10)]
    for index, name in enumerate(happened):
        publish((a, b)[index % 2], name)
    everything = names + happened
    wait_for(lambda: len(effects(postgres, database)) == len(everything), JOB_SECONDS, "events")
    assert sorted(key for key, _, _ in runs(postgres, database, "record")) == sorted(everything)

    # The matching pool cache of B sees people who joined (and got features) through A.
    asker = join(a, "asker")
    open_to_friends(a, asker)
    bea = join(a, "bea")
    open_to_friends(a, bea)
    wait_for(lambda: recommended(b, asker) == ["bea"], JOB_SECONDS, "bea recommended by B")
    cy = join(a, "cyd")
    open_to_friends(a, cy)
    wait_for(lambda: "cyd" in recommended(b, asker), JOB_SECONDS, "cyd recommended by B")

    # One per-IP limit for both processes: alternating, the limit still holds.
    same_client = {"X-Forwarded-For": "203.0.113.9"}
    statuses = [
        request("GET", f"{(a, b)[index % 2]}/api/v1/matching/vocabulary", headers=same_client)
        for index in range(PER_IP_LIMIT + 2)
    ]
    assert [s.status_code for s in statuses] == [200] * PER_IP_LIMIT + [429, 429]

    # The cron schedule (every 2 s) ran once per tick, not once per worker.
    wait_for(lambda: len(runs(postgres, database, "tick")) >= 3, JOB_SECONDS, "three ticks")
    ticks = [at for _, _, at in runs(postgres, database, "tick")]
    # Ticks fall on even seconds and a run starts at or after its tick (up to a second or so
    # late on a busy machine): two runs in one 2-second slot are one tick run twice.
    slots = [int(at.timestamp()) // 2 for at in ticks]
    assert len(set(slots)) == len(slots), ticks
    print(f"{len(ticks)} ticks in {(ticks[-1] - ticks[0]).total_seconds():.1f} s, none doubled")


@pytest.mark.parametrize(
    ("hand_over", "how"),
    [(enqueue, "a job, retried by SAQ's sweep"), (publish, "an event, claimed from the stream")],
    ids=["job", "event"],
)
def test_a_worker_killed_mid_run_has_its_work_finished_once_by_the_other(
    processes: tuple[Processes, OwnPostgres, str],
    hand_over: Callable[..., None],
    how: str,
) -> None:
    started, postgres, database = processes
    workers = [started.worker(0), started.worker(1)]
    [(url, _)] = started.apis(1)
    started.wait_for_workers(2)
    hand_over(url, "interrupted", seconds=5)
    wait_for(lambda: runs(postgres, database, "record"), JOB_SECONDS, "the work to start")
    [(_, first_pid, _)] = runs(postgres, database, "record")
    [victim] = [w for w in workers if os.getpgid(first_pid) == w.pid]
    killed = time.monotonic()
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)

    wait_for(lambda: "interrupted" in effects(postgres, database), JOB_SECONDS, "the rerun")
    print(f"{how}: finished {time.monotonic() - killed:.1f} s after the kill")
    attempts = runs(postgres, database, "record")
    assert len(attempts) == 2, attempts
    assert attempts[1][1] != first_pid
    assert effects(postgres, database) == {"interrupted": attempts[1][1]}


def test_postgresql_restarted_under_load_is_a_503_then_recovers_without_a_restart(
    processes: tuple[Processes, OwnPostgres, str],
) -> None:
    started, postgres, _ = processes
    [(url, api)] = started.apis(1)
    me = join(url, "loaded")
    stopping = time.monotonic()
    answers: list[tuple[str, int, str, float]] = []
    posted: list[str] = []  # ids of the posts answered 201: each must be stored
    numbers = itertools.count()

    def load(path: str, headers: dict[str, str]) -> None:
        while time.monotonic() - stopping < 12:
            sent = time.monotonic()
            if path == "/api/v1/posts":
                answer = request(
                    "POST", f"{url}{path}", headers=headers, json={"text": f"post {next(numbers)}"}
                )
                if answer.status_code == 201:
                    posted.append(answer.json()["id"])
            else:
                answer = request("GET", f"{url}{path}", headers=headers)
            answers.append(
                (path, answer.status_code, answer.headers["content-type"], time.monotonic() - sent)
            )

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        loaders = [pool.submit(load, "/api/v1/users/me", me) for _ in range(3)]
        loaders.append(pool.submit(load, "/api/v1/posts", me))
        loaders.append(pool.submit(load, "/ready", {}))
        time.sleep(1)
        postgres.stop()
        wait_for(
            lambda: any(status == 503 and path == "/ready" for path, status, _, _ in answers),
            15,
            "/ready to answer 503",
        )
        down = time.monotonic() - stopping
        time.sleep(2)
        postgres.start()
        for loader in loaders:
            loader.result(timeout=60)
    print(f"PostgreSQL down {down:.1f} s in, {len(answers)} answers under load")

    statuses = {status for _, status, _, _ in answers}
    assert statuses <= {200, 201, 503}, statuses
    assert 503 in {status for path, status, _, _ in answers if path == "/api/v1/users/me"}
    for _, status, content_type, _ in answers:
        if status == 503:
            assert content_type.startswith("application/problem+json")
    assert max(seconds for _, _, _, seconds in answers) < 10  # never a hang
    recovered = time.monotonic()
    wait_for(
        lambda: (
            request("GET", f"{url}/api/v1/users/me", headers=me).status_code == 200
            and request("GET", f"{url}/ready").status_code == 200
        ),
        30,
        "recovery",
    )
    print(f"recovered {time.monotonic() - recovered:.1f} s after PostgreSQL was back")
    assert api.poll() is None  # the same process: no restart
    print(f"{len(posted)} posts answered 201")
    assert posted
    for post_id in posted:  # acknowledged means stored
        answer = request("GET", f"{url}/api/v1/posts/{post_id}", headers=me)
        assert answer.status_code == 200, (post_id, answer.text)


def test_with_redis_stopped_reads_and_sign_in_work_and_acknowledged_jobs_run_later(
    processes: tuple[Processes, OwnPostgres, str], cluster: Cluster
) -> None:
    started, postgres, database = processes
    _, redis = cluster
    started.worker(0)
    [(url, _)] = started.apis(1)
    started.wait_for_workers(1)
    me = join(url, "outlasting")
    redis.stop()
    try:
        assert request("GET", f"{url}/api/v1/users/me", headers=me).status_code == 200
        signed_in = request(
            "POST", f"{url}/api/v1/auth/login", json={"login": "outlasting", "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        assert request("GET", f"{url}/ready").status_code == 503
        enqueue(url, "acknowledged-during-outage")
        time.sleep(1)
        assert effects(postgres, database) == {}
    finally:
        redis.start()
    back = time.monotonic()
    wait_for(
        lambda: "acknowledged-during-outage" in effects(postgres, database),
        JOB_SECONDS,
        "the job acknowledged during the outage",
    )
    print(f"the deferred job ran {time.monotonic() - back:.1f} s after Redis came back")
    assert len(runs(postgres, database, "record")) == 1


def test_sigterm_lets_requests_and_jobs_in_flight_finish(
    processes: tuple[Processes, OwnPostgres, str],
) -> None:
    started, postgres, database = processes
    worker = started.worker(0)
    [(url, api)] = started.apis(1)
    started.wait_for_workers(1)
    enqueue(url, "in-flight", seconds=3)
    wait_for(lambda: runs(postgres, database, "record"), JOB_SECONDS, "the job to start")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(request, "GET", f"{url}/api/v1/probe/slow", params={"seconds": 3})
        time.sleep(1)  # the request is in flight
        stopping = time.monotonic()
        for process in (api, worker):
            os.killpg(process.pid, signal.SIGTERM)
        assert slow.result(timeout=30).json() == {"slept": 3.0}
    for process in (api, worker):
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("a process outlived its shutdown grace")
    print(f"both processes stopped {time.monotonic() - stopping:.1f} s after SIGTERM")
    assert effects(postgres, database) == {"in-flight": runs(postgres, database, "record")[0][1]}
    assert len(runs(postgres, database, "record")) == 1  # finished, not cut off and retried
