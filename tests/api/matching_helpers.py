"""People who take part in matching, made through the real endpoints."""

from typing import Any

from tests.api.astro_helpers import Client, put_birth
from tests.api.conftest import drain_jobs
from tests.api.people import Person, register
from tests.api.test_auth import sql

PREFERENCES = "/api/v1/matching/preferences"
RECOMMENDATIONS = "/api/v1/matching/recommendations"

# The worked example of docs/matching.md, with coordinates instead of place names (the
# planets depend only on the moment; the second birth time is unknown, so angles take no part).
FIRST = {
    "birth": {
        "date": "1990-05-17",
        "time": "14:30",
        "latitude": 52.52437,
        "longitude": 13.41053,
        "timezone": "Europe/Berlin",
    },
    "profile": {
        "values": ["honesty", "family", "humor", "loyalty", "growth"],
        "love_languages": ["quality_time"],
        "lifestyle": {"smoking": "never", "sleep": "early_bird", "exercise": "often"},
        "interests": ["hiking", "books", "music", "cooking"],
    },
}
SECOND = {
    "birth": {
        "date": "1996-05-30",
        "latitude": 38.71667,
        "longitude": -9.13333,
        "timezone": "Europe/Lisbon",
    },
    "profile": {
        "values": ["honesty", "adventure", "freedom", "creativity", "justice"],
        "love_languages": ["quality_time", "physical_touch"],
        "lifestyle": {"smoking": "never", "sleep": "night_owl", "exercise": "daily"},
        "interests": ["hiking", "film", "travel", "dance"],
    },
}


def born(date: str, time: str | None = "12:00") -> dict[str, Any]:
    """A birth in Berlin (coordinates, so no gazetteer lookup) on `date`."""
    birth: dict[str, Any] = {
        "date": date,
        "latitude": 52.52,
        "longitude": 13.405,
        "timezone": "Europe/Berlin",
    }
    if time is not None:
        birth["time"] = time
    return birth


def dating(
    gender: str, *interested_in: str, age_min: int = 18, age_max: int = 99
) -> dict[str, Any]:
    return {
        "gender": gender,
        "interested_in": list(interested_in),
        "age_min": age_min,
        "age_max": age_max,
    }


async def patch_preferences(client: Client, person: Person, body: dict[str, Any]) -> Any:
    response = await client.patch(PREFERENCES, headers=person.headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def join(
    client: Client,
    handle: str,
    *,
    birth: dict[str, Any] | None = None,
    discoverable: bool = True,
    **preferences: Any,
) -> Person:
    """Register someone, make them discoverable, store their birth data and preferences (modes
    default to friends). Call `drain_jobs` before relying on their features."""
    person = await register(client, handle)
    if discoverable:
        response = await client.patch(
            "/api/v1/users/me", headers=person.headers, json={"discoverable": True}
        )
        assert response.status_code == 200, response.text
    if birth is not None:
        await put_birth(client, person, birth)
    await patch_preferences(client, person, {"modes": ["friends"], **preferences})
    return person


async def recommendations(client: Client, person: Person, **query: Any) -> Any:
    response = await client.get(RECOMMENDATIONS, headers=person.headers, params=query)
    assert response.status_code == 200, response.text
    return response.json()


async def handles(client: Client, person: Person, mode: str = "friends") -> list[str]:
    """Every handle recommended to `person`, following the cursor to the last page."""
    await drain_jobs(client)
    seen: list[str] = []
    cursor = None
    while True:
        query: dict[str, Any] = {"mode": mode, "limit": 5}
        if cursor is not None:
            query["cursor"] = cursor
        page = await recommendations(client, person, **query)
        seen.extend(item["handle"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def stored_rows(settings: Any, table: str) -> list[Any]:
    return await sql(
        settings, f"SELECT u.handle FROM {table} t JOIN users u ON u.id = t.user_id ORDER BY 1"
    )
