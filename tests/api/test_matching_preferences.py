"""Matching preferences: the vocabulary, a merge patch checked against it field by field,
encrypted storage, and the features they produce appearing and going away."""

import functools
import threading
import typing
from typing import Any

import anyio
import pytest

from selflink_api.app import create_app
from selflink_api.matching import services
from selflink_api.matching.jobs import refresh_features
from selflink_api.matching.schemas import Mode
from selflink_api.platform.crypto import generate_key
from selflink_api.settings import Settings
from selflink_core.matching import vocabulary
from tests.api.astro_helpers import Client, problem_error
from tests.api.conftest import app_client, drain_jobs, make_settings
from tests.api.matching_helpers import (
    PREFERENCES,
    dating,
    join,
    patch_preferences,
    stored_rows,
)
from tests.api.operator import selflink_api
from tests.api.people import PASSWORD, login, register
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio


async def test_the_vocabulary_is_public_and_the_rules_own(client: Client) -> None:
    response = await client.get("/api/v1/matching/vocabulary")
    assert response.status_code == 200
    assert response.json() == vocabulary().to_dict()
    assert list(typing.get_args(Mode)) == list(vocabulary().modes)


async def test_preferences_are_a_merge_patch_kept_in_vocabulary_order(client: Client) -> None:
    person = await register(client, "patcher")
    empty = (await client.get(PREFERENCES, headers=person.headers)).json()
    assert empty == {
        "modes": [],
        "dating": None,
        "values": [],
        "love_languages": [],
        "lifestyle": {},
        "interests": [],
        "updated_at": None,
    }
    first = await patch_preferences(
        client,
        person,
        {
            "modes": ["friends", "dating"],
            "dating": dating("woman", "nonbinary", "man", age_min=30, age_max=45),
            "values": ["loyalty", "honesty"],
            "lifestyle": {"sleep": "night_owl", "smoking": "never"},
            "interests": ["yoga", "books"],
        },
    )
    assert first["modes"] == ["dating", "friends"]
    assert first["dating"] == dating("woman", "man", "nonbinary", age_min=30, age_max=45)
    assert first["values"] == ["honesty", "loyalty"]
    assert first["interests"] == ["books", "yoga"]
    assert first["lifestyle"] == {"smoking": "never", "sleep": "night_owl"}

    second = await patch_preferences(
        client,
        person,
        {
            "dating": {"age_max": 50},
            "lifestyle": {"smoking": None, "pets": "open"},
            "love_languages": ["quality_time"],
        },
    )
    assert second["dating"]["age_max"] == 50
    assert second["dating"]["age_min"] == 30
    assert second["lifestyle"] == {"sleep": "night_owl", "pets": "open"}
    assert (second["values"], second["love_languages"]) == (
        ["honesty", "loyalty"],
        ["quality_time"],
    )
    unchanged = await patch_preferences(client, person, {"values": ["loyalty", "honesty"]})
    assert unchanged == second
    assert (await client.get(PREFERENCES, headers=person.headers)).json() == second

    leaving = await patch_preferences(client, person, {"modes": ["friends"], "dating": None})
    assert (leaving["modes"], leaving["dating"]) == (["friends"], None)


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"values": ["honesty", "wealth"]}, "values", "invalid_profile"),
        ({"values": ["honesty", "honesty"]}, "values", "invalid_profile"),
        ({"interests": vocabulary().interests[:11]}, "interests", "invalid_profile"),
        ({"lifestyle": {"smoking": "daily"}}, "lifestyle.smoking", "invalid_profile"),
        ({"lifestyle": {"astrology": "yes"}}, "lifestyle", "invalid_profile"),
        ({"modes": ["romance"]}, "modes", ""),
        ({"modes": ["friends", "friends"]}, "modes", ""),
        ({"modes": ["dating"]}, "dating", ""),
        ({"dating": dating("robot", "man")}, "dating.gender", "invalid_preferences"),
        ({"dating": dating("woman")}, "dating.interested_in", "invalid_preferences"),
        ({"dating": dating("man", "woman", age_min=17)}, "dating.age_min", "invalid_preferences"),
        (
            {"dating": dating("man", "woman", age_min=40, age_max=30)},
            "dating.age_max",
            "invalid_preferences",
        ),
        ({"dating": {"gender": "man", "interested_in": ["woman"]}}, "dating.age_min", ""),
        ({"values": "honesty"}, "values", ""),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_bad_preferences_are_a_422_naming_the_field_and_change_nothing(
    client: Client, body: dict[str, Any], field: str, code: str
) -> None:
    person = await register(client, "picky")
    before = await patch_preferences(client, person, {"values": ["humor"]})
    error = problem_error(await client.patch(PREFERENCES, headers=person.headers, json=body))
    assert error["field"] == field
    assert error.get("code", "") == code
    assert (await client.get(PREFERENCES, headers=person.headers)).json() == before


async def test_unknown_fields_are_refused(client: Client) -> None:
    person = await register(client, "typo")
    response = await client.patch(PREFERENCES, headers=person.headers, json={"colour": "blue"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "colour", "source": "body", "message": "is not a known field"}
    ]


async def test_preferences_and_features_are_stored_encrypted_and_deleted_on_request(
    client: Client, settings: Settings
) -> None:
    person = await join(
        client,
        "sealed_heart",
        birth={"date": "1990-05-17", "time": "14:30", "latitude": 52.52, "longitude": 13.405},
        dating=dating("nonbinary", "woman"),
        values=["faith"],
    )
    await drain_jobs(client)
    for table in ("matching_preferences", "matching_features"):
        [row] = await sql(settings, f"SELECT * FROM {table}")
        clear = repr(row) + bytes(row.ciphertext).decode("latin-1")
        for secret in ("faith", "nonbinary", "woman", "1990", "friends", "56.34"):
            assert secret not in clear, (table, secret)
    [features] = await sql(settings, "SELECT rules_version, layout FROM matching_features")
    assert tuple(features) == ("match-1", 1)

    deleted = await client.delete(PREFERENCES, headers=person.headers)
    assert deleted.status_code == 204
    assert await stored_rows(settings, "matching_preferences") == []
    assert await stored_rows(settings, "matching_features") == []
    assert (await client.get(PREFERENCES, headers=person.headers)).json()["updated_at"] is None


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite: one writer
async def test_a_refresh_that_found_no_preferences_leaves_features_stored_meanwhile(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Birth data saved just before the first preferences enqueues a refresh that can look
    before the preferences exist and finish after their own refresh stored the features (seen
    under load: `join`, then a 404 from /matching/with); it must leave those features alone."""
    person = await register(client, "early_bird")
    await drain_jobs(client)
    looked, resume = threading.Event(), threading.Event()
    compute = services._computed

    def paused_when_nobody_is_found(inputs: Any, ephemeris_path: str | None) -> Any:
        if not inputs:
            looked.set()
            resume.wait(60)
        return compute(inputs, ephemeris_path)

    monkeypatch.setattr(services, "_computed", paused_when_nobody_is_found)
    context = client.app.state.job_runner.context
    early = client.blocking_portal.start_task_soon(
        functools.partial(refresh_features, context, user_id=person.id)
    )
    try:
        assert await anyio.to_thread.run_sync(looked.wait, 60)
        await patch_preferences(client, person, {"modes": ["friends"]})
        await drain_jobs(client)
        assert await stored_rows(settings, "matching_features") == [("early_bird",)]
    finally:
        resume.set()
    await anyio.to_thread.run_sync(early.result)
    assert await stored_rows(settings, "matching_features") == [("early_bird",)]


async def test_deleting_the_account_deletes_matching_data(
    client: Client, settings: Settings
) -> None:
    leaver = await join(client, "leaver", birth={"date": "1990-05-17"})
    await join(client, "stayer", birth={"date": "1991-06-18"})
    await drain_jobs(client)
    deleted = await client.request(
        "DELETE", "/api/v1/users/me", headers=leaver.headers, json={"password": PASSWORD}
    )
    assert deleted.status_code == 204
    await drain_jobs(client)
    for table in ("matching_preferences", "matching_features"):
        assert await stored_rows(settings, table) == [("stayer",)]


async def test_rotating_the_key_reseals_matching_data(database_url: str) -> None:
    old_key, new_key, index_key = generate_key(), generate_key(), generate_key()
    settings = make_settings(database_url, PII_KEYS=f"k1:{old_key}", PII_INDEX_KEY=index_key)
    async with app_client(create_app(settings)) as client:
        person = await join(client, "rotated", birth={"date": "1990-05-17"}, values=["faith"])
        await drain_jobs(client)
        before = (await client.get(PREFERENCES, headers=person.headers)).json()
    both = {"PII_KEYS": f"k1:{old_key},k2:{new_key}", "PII_ACTIVE_KEY_ID": "k2"}
    rotated = await anyio.to_thread.run_sync(
        lambda: selflink_api(database_url, "pii", "rotate-key", PII_INDEX_KEY=index_key, **both)
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "1 matching preferences, 1 matching features" in rotated.stdout
    new_only = make_settings(database_url, PII_KEYS=f"k2:{new_key}", PII_INDEX_KEY=index_key)
    async with app_client(create_app(new_only)) as client:
        again = await login(client, person.email)
        assert (await client.get(PREFERENCES, headers=again.headers)).json() == before
        page = await client.get(
            "/api/v1/matching/recommendations", headers=again.headers, params={"mode": "friends"}
        )
        assert page.status_code == 200, page.text
    for table in ("matching_preferences", "matching_features"):
        assert await sql(new_only, f"SELECT key_id FROM {table}") == [("k2",)]
