"""Birth data at /astro/birth-data: validated by the engine's rules, resolved offline, kept in
the encrypted personal-data store, reachable only by its owner; cached charts follow it."""

import pytest

from selflink_api.settings import Settings
from selflink_core import astro
from tests.api.astro_helpers import (
    BERLIN_1990,
    PARIS_1988,
    Client,
    cached_rows,
    natal,
    person_born,
    problem_error,
    put_birth,
)
from tests.api.conftest import drain_jobs
from tests.api.people import PASSWORD, register
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio

BIRTH_DATA = "/api/v1/astro/birth-data"
SPRING_FORWARD_IN_BERLIN = {
    "date": "2021-03-28",
    "time": "02:30",
    "place": "Berlin",
    "country": "DE",
}
FALL_BACK_IN_BERLIN = {"date": "2021-10-31", "time": "02:30", "place": "Berlin", "country": "DE"}


async def test_a_place_name_is_resolved_offline_and_stored_for_its_owner_only(
    client: Client,
) -> None:
    owner = await register(client, "astro_owner")
    other = await register(client, "astro_other")
    stored = await put_birth(client, owner, BERLIN_1990)
    assert stored == {
        "date": "1990-05-17",
        "time": "14:30",
        "timezone": "Europe/Berlin",
        "fold": None,
        "utc_offset": None,
        "place": "Berlin",
        "country": "DE",
        "geonameid": 2950159,
        "latitude": 52.52437,
        "longitude": 13.41053,
    }
    assert (await client.get(BIRTH_DATA, headers=owner.headers)).json() == stored
    assert (await client.get("/api/v1/users/me", headers=owner.headers)).json()["birth"] == stored
    # what the owner got back can be sent again unchanged
    assert await put_birth(client, owner, stored) == stored

    for path in (BIRTH_DATA, "/api/v1/astro/natal/me", "/api/v1/astro/numerology/me"):
        response = await client.get(path, headers=other.headers)
        assert response.status_code == 404, response.text
        assert "1990" not in response.text
    public = await client.get("/api/v1/users/astro_owner", headers=other.headers)
    assert "1990" not in public.text
    assert "Berlin" not in public.text


async def test_an_ambiguous_place_lists_its_candidates_and_an_id_settles_it(
    client: Client,
) -> None:
    person = await register(client, "paris_lover")
    response = await client.put(
        BIRTH_DATA, headers=person.headers, json={"date": "1988-11-02", "place": "Paris"}
    )
    error = problem_error(response)
    assert (error["field"], error["source"], error["code"]) == ("place", "body", "ambiguous_place")
    countries = [choice["country"] for choice in error["choices"]]
    assert countries[0] == "FR"
    assert {"US", "CA"} <= set(countries)
    texas = next(c for c in error["choices"] if c["country"] == "US" and c["admin1"] == "TX")
    stored = await put_birth(
        client, person, {"date": "1988-11-02", "place": "Paris", "geonameid": texas["geonameid"]}
    )
    assert (stored["timezone"], stored["country"]) == ("America/Chicago", "US")

    unknown = await client.put(
        BIRTH_DATA, headers=person.headers, json={"date": "1988-11-02", "place": "Xyzzyville"}
    )
    assert problem_error(unknown)["code"] == "unknown_place"


async def test_daylight_saving_gaps_and_overlaps_must_be_settled(client: Client) -> None:
    person = await register(client, "dst_person")
    gap = problem_error(
        await client.put(BIRTH_DATA, headers=person.headers, json=SPRING_FORWARD_IN_BERLIN)
    )
    assert (gap["field"], gap["code"]) == ("time", "nonexistent_local_time")
    assert gap["choices"] == [
        {"fold": 0, "utc_offset": "+01:00"},
        {"fold": 1, "utc_offset": "+02:00"},
    ]
    await put_birth(client, person, SPRING_FORWARD_IN_BERLIN | {"fold": 1})
    assert (await natal(client, person))["input"]["utc"] == "2021-03-28T00:30:00Z"

    overlap = problem_error(
        await client.put(BIRTH_DATA, headers=person.headers, json=FALL_BACK_IN_BERLIN)
    )
    assert (overlap["field"], overlap["code"]) == ("time", "ambiguous_local_time")
    await put_birth(client, person, FALL_BACK_IN_BERLIN | {"utc_offset": "+0100"})
    chart_input = (await natal(client, person))["input"]
    assert (chart_input["utc"], chart_input["utc_offset"]) == ("2021-10-31T01:30:00Z", "+01:00")


BAD_BIRTH_DATA = [
    ({"date": "1799-12-31", "latitude": 1, "longitude": 1}, "date", "invalid_birth_data"),
    ({"date": "2201-01-01"}, "date", "invalid_birth_data"),
    ({"date": "1990-01-01", "latitude": 91, "longitude": 1}, "latitude", None),
    ({"date": "1990-01-01", "latitude": 10}, "longitude", "invalid_birth_data"),
    ({"date": "1990-01-01", "timezone": "Mars/Olympus"}, "timezone", "invalid_birth_data"),
    ({"date": "1990-01-01", "place": "Paris", "country": "XX"}, "country", "invalid_birth_data"),
    (
        {"date": "1990-01-01", "latitude": 1, "longitude": 1, "country": "FR"},
        "country",
        "invalid_birth_data",
    ),
    (
        {"date": "1990-01-01", "place": "Berlin", "country": "DE", "timezone": "Asia/Tokyo"},
        "timezone",
        "invalid_birth_data",
    ),
    (
        {"date": "1990-01-01", "geonameid": 2950159, "latitude": 1.5},
        "latitude",
        "invalid_birth_data",
    ),
    ({"date": "1990-01-01", "utc_offset": "+25:00"}, "utc_offset", "invalid_birth_data"),
    ({"date": "1990-01-01", "fold": 2}, "fold", None),
]


async def test_bad_birth_data_is_a_422_naming_the_field(client: Client) -> None:
    person = await register(client, "bad_birth")
    for birth, field, code in BAD_BIRTH_DATA:
        error = problem_error(await client.put(BIRTH_DATA, headers=person.headers, json=birth))
        assert (error["field"], error.get("code")) == (field, code), birth
    assert (await client.get(BIRTH_DATA, headers=person.headers)).status_code == 404


async def test_patch_users_me_applies_the_same_rules_and_resolution(client: Client) -> None:
    person = await register(client, "patcher")
    refused = await client.patch(
        "/api/v1/users/me", headers=person.headers, json={"birth": SPRING_FORWARD_IN_BERLIN}
    )
    error = problem_error(refused)
    assert (error["field"], error["code"]) == ("birth.time", "nonexistent_local_time")
    changed = await client.patch(
        "/api/v1/users/me", headers=person.headers, json={"birth": BERLIN_1990}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["birth"]["geonameid"] == 2950159
    assert (await client.get(BIRTH_DATA, headers=person.headers)).json() == changed.json()["birth"]


async def test_a_date_alone_serves_numerology_but_a_chart_needs_a_place(client: Client) -> None:
    person = await person_born(client, "date_only", {"date": "1990-05-17"})
    numbers = await client.get(
        "/api/v1/astro/numerology/me", headers=person.headers, params={"year": 2026}
    )
    assert (numbers.json()["life_path"], numbers.json()["personal_year"]) == (5, 5)
    chart = await client.get("/api/v1/astro/natal/me", headers=person.headers)
    assert chart.status_code == 409
    assert "place or coordinates" in chart.json()["detail"]


# The chart cache follows the birth data -------------------------------------------------------


async def test_changing_birth_data_drops_cached_charts_and_the_next_chart_is_new(
    client: Client, settings: Settings
) -> None:
    person = await person_born(client, "changer", BERLIN_1990)
    before = await natal(client, person)
    await natal(client, person, zodiac="sidereal")
    assert len(await cached_rows(settings)) == 2

    await put_birth(client, person, BERLIN_1990)  # the same data: nothing to forget
    assert len(await cached_rows(settings)) == 2

    await put_birth(client, person, BERLIN_1990 | {"time": "14:31"})
    assert await cached_rows(settings) == []
    after = await natal(client, person)
    assert after["input"]["time"] == "14:31:00"
    assert after["input_hash"] != before["input_hash"]
    assert len(await cached_rows(settings)) == 1


async def test_deleting_birth_data_deletes_cached_charts(
    client: Client, settings: Settings
) -> None:
    person = await person_born(client, "forgetter", PARIS_1988)
    await natal(client, person)
    assert len(await cached_rows(settings)) == 1
    deleted = await client.delete(BIRTH_DATA, headers=person.headers)
    assert deleted.status_code == 204
    assert await cached_rows(settings) == []
    assert (await client.get(BIRTH_DATA, headers=person.headers)).status_code == 404
    assert (await client.get("/api/v1/astro/natal/me", headers=person.headers)).status_code == 404
    assert (await client.delete(BIRTH_DATA, headers=person.headers)).status_code == 204


async def test_birth_data_changed_through_patch_users_me_drops_cached_charts(
    client: Client, settings: Settings
) -> None:
    person = await person_born(client, "patch_changer", PARIS_1988)
    await natal(client, person)
    await client.patch("/api/v1/users/me", headers=person.headers, json={"bio": "unrelated"})
    await drain_jobs(client)
    assert len(await cached_rows(settings)) == 1
    await client.patch("/api/v1/users/me", headers=person.headers, json={"birth": None})
    await drain_jobs(client)
    assert await cached_rows(settings) == []


async def test_a_chart_cached_right_after_a_birth_change_outlives_the_late_forget_job(
    client: Client, settings: Settings
) -> None:
    person = await person_born(client, "quick_changer", PARIS_1988)
    await put_birth(client, person, BERLIN_1990)  # publishes birth_data.changed
    chart = await natal(client, person)  # cached before or after the subscribers ran
    await drain_jobs(client)
    [row] = await cached_rows(settings)
    assert row.rules_version == chart["rules_version"]
    again = await client.get("/api/v1/astro/natal/me", headers=person.headers)
    assert again.json()["input_hash"] == chart["input_hash"]


async def test_deleting_the_account_deletes_cached_charts(
    client: Client, settings: Settings
) -> None:
    person = await register(client, "leaver")
    stayer = await register(client, "stayer")
    for someone in (person, stayer):
        await put_birth(client, someone, PARIS_1988)
        await natal(client, someone)
    deleted = await client.request(
        "DELETE", "/api/v1/users/me", headers=person.headers, json={"password": PASSWORD}
    )
    assert deleted.status_code == 204
    await drain_jobs(client)
    assert await sql(
        settings,
        "SELECT u.handle FROM astro_chart_cache c JOIN users u ON u.id = c.user_id",
    ) == [("stayer",)]


async def test_cached_charts_hold_no_birth_data_or_hash_in_clear(
    client: Client, settings: Settings
) -> None:
    person = await person_born(client, "sealed", BERLIN_1990)
    chart = await natal(client, person)
    [row] = await cached_rows(settings)
    options_key, index, rules_version, ephemeris, _key_id, ciphertext = row
    raw = repr(row) + bytes(ciphertext).decode("latin-1")
    for plaintext in ("1990-05-17", "Berlin", "52.52437", chart["input_hash"], "taurus"):
        assert plaintext not in raw
    assert index != chart["input_hash"]
    assert (rules_version, ephemeris) == ("astro-1", astro.EphemerisSource().identity())
    assert "placidus" in options_key
