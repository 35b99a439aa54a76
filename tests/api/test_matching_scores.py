"""A score with one person: the worked example of docs/matching.md through the API, features
that follow birth data, refusals that tell nothing, and the stale-features job."""

from typing import Any
from uuid import UUID

import anyio
import pytest
from sqlalchemy import delete, select, update

from selflink_api.matching.jobs import refresh_stale_features
from selflink_api.matching.models import MatchingFeatures, MatchingPreferences
from selflink_api.platform.jobs import JobContext
from selflink_api.settings import Settings
from selflink_core import astro
from tests.api.astro_helpers import Client, on_app_loop, put_birth
from tests.api.conftest import drain_jobs
from tests.api.matching_helpers import FIRST, SECOND, born, join, stored_rows
from tests.api.operator import selflink_api
from tests.api.people import Person, register
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio

WITH = "/api/v1/matching/with/"


async def match_with(client: Client, person: Person, handle: str) -> dict[str, Any]:
    response = await client.get(WITH + handle, headers=person.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_the_worked_example_through_the_api(client: Client) -> None:
    first = await join(client, "first", birth=FIRST["birth"], **FIRST["profile"])
    second = await join(client, "second", birth=SECOND["birth"], **SECOND["profile"])
    await drain_jobs(client)
    result = await match_with(client, first, "@Second")
    assert (result["handle"], result["kind"], result["rules_version"]) == (
        "second",
        "match",
        "match-1",
    )
    assert result["scores"] == {
        "synastry": 52.04,
        "elements": 63.8,
        "numerology": 70.0,
        "profile": 40.61,
    }
    assert (result["total"], result["ranking_score"], result["lens"]) == (51.6, 51.6, "synastry")
    assert [(r["impact"], r["text"]) for r in result["reasons"]] == [
        (5.25, "You share a love language: quality time"),
        (3.28, "Your Moon trines their Venus (orb 3.5°)"),
        (-2.95, "Your Moon squares their Mars (orb 2.2°)"),
    ]
    assert len(result["details"]["synastry"]["contacts"]) == 8
    mirrored = await match_with(client, second, "first")
    for symmetric in ("total", "ranking_score", "scores", "coverage", "lens"):
        assert mirrored[symmetric] == result[symmetric]


async def test_features_follow_birth_data_wherever_it_changes(client: Client) -> None:
    asker = await join(client, "asker", birth=born("1990-05-17"), values=["honesty"])
    other = await join(client, "other_one", values=["honesty"])
    await drain_jobs(client)
    assert (await match_with(client, asker, "other_one"))["coverage"] == ["profile"]

    await put_birth(client, other, born("1991-02-03"))
    await drain_jobs(client)
    covered = ["synastry", "elements", "numerology", "profile"]
    assert (await match_with(client, asker, "other_one"))["coverage"] == covered

    await client.patch(
        "/api/v1/users/me", headers=other.headers, json={"birth": {"date": "1991-02-03"}}
    )
    await drain_jobs(client)
    assert (await match_with(client, asker, "other_one"))["coverage"] == ["numerology", "profile"]

    assert (
        await client.delete("/api/v1/astro/birth-data", headers=other.headers)
    ).status_code == 204
    await drain_jobs(client)
    assert (await match_with(client, asker, "other_one"))["coverage"] == ["profile"]


async def test_refusals_read_the_same_whoever_is_behind_them(
    client: Client, settings: Settings
) -> None:
    asker = await join(client, "asker", birth=born("1990-05-17"))
    await join(client, "hidden", discoverable=False)
    blocker = await join(client, "blocker")
    await join(client, "blocked")
    await join(client, "suspended")
    await join(client, "open_one")
    bystander = await register(client, "bystander")  # discoverable, no matching preferences
    await client.patch("/api/v1/users/me", headers=bystander.headers, json={"discoverable": True})
    await drain_jobs(client)
    await sql(settings, "UPDATE users SET status = 'suspended' WHERE handle = 'suspended'")
    for who, whom in ((blocker, "asker"), (asker, "blocked")):
        blocking = await client.post(f"/api/v1/users/{whom}/block", headers=who.headers)
        assert blocking.status_code == 204

    answers = []
    for handle in ("nobody_here", "hidden", "blocker", "blocked", "suspended", "bystander"):
        response = await client.get(WITH + handle, headers=asker.headers)
        assert response.status_code == 404, (handle, response.text)
        body = response.json()
        answers.append((body["type"], body["title"], body["detail"].replace(handle, "X")))
    assert len(set(answers)) == 1
    assert (await client.get(WITH + "open_one", headers=asker.headers)).status_code == 200

    myself = await client.get(WITH + "asker", headers=asker.headers)
    assert myself.status_code == 422
    assert myself.json()["errors"][0]["field"] == "handle"
    newcomer = await register(client, "newcomer")
    not_ready = await client.get(WITH + "open_one", headers=newcomer.headers)
    assert not_ready.status_code == 409
    assert "PATCH /api/v1/matching/preferences" in not_ready.json()["detail"]


async def test_stale_features_are_recomputed_in_batches(client: Client, settings: Settings) -> None:
    people = [
        await join(client, f"stale_{n}", birth=born(f"199{n}-0{n + 1}-1{n}"), values=["humor"])
        for n in range(4)
    ]
    departed = await join(client, "departed")
    await drain_jobs(client)
    expected = await match_with(client, people[0], "stale_1")
    before = {
        row[0]: row[1]
        for row in await sql(settings, "SELECT user_id, revision FROM matching_features")
    }

    async def make_stale(context: JobContext) -> None:
        async with context.session() as session:
            await session.execute(
                update(MatchingFeatures)
                .where(MatchingFeatures.user_id == UUID(people[0].id))
                .values(rules_version="match-0", ciphertext=b"old rules")
            )
            await session.execute(
                update(MatchingFeatures)
                .where(MatchingFeatures.user_id == UUID(people[1].id))
                .values(key_id="retired", ciphertext=b"old key")
            )
            await session.execute(
                delete(MatchingFeatures).where(MatchingFeatures.user_id == UUID(people[2].id))
            )
            await session.execute(
                update(MatchingFeatures)
                .where(MatchingFeatures.user_id == UUID(people[3].id))
                .values(ephemeris="moshier", ciphertext=b"other ephemeris")
            )
            await session.execute(
                update(MatchingPreferences)
                .where(MatchingPreferences.user_id == UUID(departed.id))
                .values(key_id="gone")
            )

    await on_app_loop(client, make_stale)
    await sql(settings, "UPDATE users SET status = 'deleted' WHERE handle = 'departed'")
    await on_app_loop(client, lambda context: refresh_stale_features(context, batch_size=1))

    stale = [("stale_0",), ("stale_1",), ("stale_2",), ("stale_3",)]
    assert await stored_rows(settings, "matching_features") == stale
    assert await stored_rows(settings, "matching_preferences") == stale
    rows = await sql(
        settings,
        "SELECT user_id, rules_version, key_id, revision, ephemeris FROM matching_features",
    )
    assert {(row[1], row[2], row[4]) for row in rows} == {
        ("match-1", "derived-1", astro.EphemerisSource().identity())
    }
    assert all(row[3] > max(before.values()) for row in rows)
    assert await match_with(client, people[0], "stale_1") == expected

    async def untouched(context: JobContext) -> list[int]:
        async with context.session() as session:
            return list((await session.scalars(select(MatchingFeatures.revision))).all())

    revisions = await on_app_loop(client, untouched)
    await on_app_loop(client, refresh_stale_features)
    assert await on_app_loop(client, untouched) == revisions


async def test_operators_refresh_stale_features_from_the_command_line(
    client: Client, settings: Settings, database_url: str
) -> None:
    first = await join(client, "first", birth=born("1990-05-17"))
    await join(client, "second", birth=born("1991-06-18"))
    await drain_jobs(client)
    await sql(
        settings,
        "UPDATE matching_features SET rules_version = 'match-0' "
        "WHERE user_id = (SELECT id FROM users WHERE handle = 'second')",
    )
    assert (await client.get(WITH + "second", headers=first.headers)).status_code == 404
    refreshed = await anyio.to_thread.run_sync(
        lambda: selflink_api(database_url, "matching", "refresh-features")
    )
    assert refreshed.returncode == 0, refreshed.stderr
    assert refreshed.stdout.strip() == "refreshed the matching data of 1 people"
    assert (await client.get(WITH + "second", headers=first.headers)).status_code == 200
