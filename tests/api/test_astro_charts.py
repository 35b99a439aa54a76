"""Charts through the API: my natal chart from the cache, charts for any input, transits,
numerology, synastry, and the job that recomputes charts made under older rules."""

import datetime as dt
import json
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
import swisseph as swe
from sqlalchemy import select, update

from selflink_api.app import create_app
from selflink_api.astro import services
from selflink_api.astro.jobs import refresh_stale_charts
from selflink_api.astro.models import CachedChart
from selflink_api.platform.jobs import JobContext
from selflink_api.settings import Settings
from selflink_core import astro
from tests.api.astro_helpers import (
    BERLIN_1990,
    PARIS_1988,
    Client,
    cached_rows,
    natal,
    on_app_loop,
    person_born,
    problem_error,
    put_birth,
)
from tests.api.conftest import app_client, drain_jobs, make_settings
from tests.api.people import Person, register
from tests.core.astro.astro_helpers import swiss_ephemeris_files

pytestmark = pytest.mark.anyio

CHARTS = "/api/v1/astro/charts"
SYNASTRY = "/api/v1/astro/synastry"


def refuse_to_compute(*_args: object) -> bytes:
    raise AssertionError("the chart was computed instead of served from the cache")


def arcseconds_between(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0) * 3600.0


# My natal chart, cached ---------------------------------------------------------------------


async def test_my_chart_matches_the_swiss_ephemeris_files(client: Client) -> None:
    person = await person_born(client, "referenced", BERLIN_1990)
    chart = await natal(client, person)
    assert chart["input"]["utc"] == "1990-05-17T12:30:00Z"
    assert (chart["rules_version"], chart["kind"], chart["ephemeris"]) == (
        "astro-1",
        "natal_chart",
        "swiss_ephemeris",
    )
    swe.set_ephe_path(str(swiss_ephemeris_files()))
    julian_day = swe.julday(1990, 5, 17, 12.5)
    bodies = {body["name"]: body for body in chart["bodies"]}
    for name, number in (("sun", swe.SUN), ("moon", swe.MOON), ("chiron", swe.CHIRON)):
        position, flags = swe.calc_ut(julian_day, number, swe.FLG_SWIEPH | swe.FLG_SPEED)
        assert flags & swe.FLG_SWIEPH
        assert arcseconds_between(bodies[name]["longitude"], position[0]) < 0.01
    assert (bodies["sun"]["sign"], bodies["sun"]["house"]) == ("taurus", 9)
    assert chart["angles"]["ascendant"]["sign"] == "virgo"


async def test_my_chart_is_served_from_the_cache_as_the_canonical_bytes(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = await person_born(client, "cached", BERLIN_1990)
    first = await client.get("/api/v1/astro/natal/me", headers=person.headers)
    assert first.headers["content-type"] == "application/json"
    document = first.json()
    assert first.content == astro.canonical_json(document)  # RFC 8785 bytes, as computed
    await drain_jobs(client)  # a job caches it (see test_read_only_gets)
    [row] = await cached_rows(settings)

    monkeypatch.setattr(services, "_chart_json", refuse_to_compute)
    again = await client.get("/api/v1/astro/natal/me", headers=person.headers)
    assert again.status_code == 200, again.text
    assert again.content == first.content
    assert await cached_rows(settings) == [row]

    monkeypatch.undo()
    koch = await natal(client, person, house_system="koch", aspects="all")
    assert koch["options"]["house_system"] == "koch"
    assert koch["input_hash"] != document["input_hash"]
    assert len(await cached_rows(settings)) == 2


async def test_options_unknown_time_polar_houses_and_the_sidereal_zodiac(client: Client) -> None:
    person = await person_born(client, "optioned", {"date": "1990-05-17", "place": "Longyearbyen"})
    chart = await natal(client, person)
    assert chart["time_known"] is False
    assert (chart["houses"], chart["angles"], chart["house_system_used"]) == (None, None, None)
    assert "time_unknown" in {warning["code"] for warning in chart["warnings"]}

    await put_birth(
        client, person, {"date": "1990-05-17", "time": "14:30", "place": "Longyearbyen"}
    )
    polar = await natal(client, person)
    assert polar["input"]["latitude"] > 78
    assert polar["house_system_used"] == "whole_sign"
    assert "house_system_fallback" in {warning["code"] for warning in polar["warnings"]}

    sidereal = await natal(client, person, zodiac="sidereal")
    assert (sidereal["options"]["zodiac"], sidereal["options"]["ayanamsa"]) == (
        "sidereal",
        "lahiri",
    )
    assert 23.5 < sidereal["ayanamsa_degrees"] < 24.0
    tropical_sun = next(b for b in polar["bodies"] if b["name"] == "sun")["longitude"]
    sidereal_sun = next(b for b in sidereal["bodies"] if b["name"] == "sun")["longitude"]
    assert abs(tropical_sun - sidereal_sun - sidereal["ayanamsa_degrees"]) < 1e-5

    for query, field in (
        ({"house_system": "egyptian"}, "house_system"),
        ({"zodiac": "tropical", "ayanamsa": "lahiri"}, "ayanamsa"),
        ({"aspects": "some"}, "aspects"),
    ):
        response = await client.get("/api/v1/astro/natal/me", headers=person.headers, params=query)
        error = problem_error(response)
        assert (error["field"], error["source"], error["code"]) == (
            field,
            "query",
            "invalid_option",
        )


async def test_stale_cached_charts_are_recomputed_in_batches(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = await register(client, "stale")
    without_birth = await register(client, "no_birth")
    await put_birth(client, person, BERLIN_1990)
    placidus = (await client.get("/api/v1/astro/natal/me", headers=person.headers)).content
    sidereal = (
        await client.get(
            "/api/v1/astro/natal/me", headers=person.headers, params={"zodiac": "sidereal"}
        )
    ).content
    await drain_jobs(client)  # the charts are cached

    async def make_stale(context: JobContext) -> None:
        async with context.session() as session:
            await session.execute(
                update(CachedChart).values(rules_version="astro-0", ciphertext=b"old rules")
            )
            session.add(
                CachedChart(
                    user_id=UUID(without_birth.id),
                    options_key="{}",
                    input_hash_index="0" * 64,
                    rules_version="astro-0",
                    ephemeris="moshier",
                    key_id="retired",
                    ciphertext=b"old rules",
                )
            )

    await on_app_loop(client, make_stale)
    assert {row[2] for row in await cached_rows(settings)} == {"astro-0"}

    await on_app_loop(client, lambda context: refresh_stale_charts(context, batch_size=1))

    rows = await cached_rows(settings)
    assert len(rows) == 2  # the person without birth data lost theirs
    assert {row[2] for row in rows} == {"astro-1"}
    monkeypatch.setattr(services, "_chart_json", refuse_to_compute)
    assert (await client.get("/api/v1/astro/natal/me", headers=person.headers)).content == placidus
    assert (
        await client.get(
            "/api/v1/astro/natal/me", headers=person.headers, params={"zodiac": "sidereal"}
        )
    ).content == sidereal

    async def owners(context: JobContext) -> list[UUID]:
        async with context.session() as session:
            return list((await session.scalars(select(CachedChart.user_id))).all())

    assert set(await on_app_loop(client, owners)) == {UUID(person.id)}


# Charts for any input -------------------------------------------------------------------------


async def test_a_chart_for_any_input_is_the_engines_document_and_nothing_is_stored(
    client: Client, settings: Settings
) -> None:
    body = {
        "birth": PARIS_1988,
        "options": {"house_system": "whole_sign", "aspects": "all", "orbs": {"trine": 6}},
    }
    response = await client.post(CHARTS, json=body)  # no sign-in needed
    assert response.status_code == 200, response.text
    expected = astro.natal_chart(
        astro.BirthData(
            date=dt.date(1988, 11, 2),
            time=dt.time(6, 5, 30),
            latitude=48.8566,
            longitude=2.3522,
        ),
        astro.ChartOptions(
            house_system="whole_sign", aspects=astro.AspectOptions(aspects="all", orbs={"trine": 6})
        ),
    )
    assert response.content == expected.to_json()
    assert await cached_rows(settings) == []

    for bad, field in (
        ({"birth": {"date": "1988-11-02"}}, "birth.place"),
        ({"birth": PARIS_1988, "options": {"orbs": {"trine": 40}}}, "options.orbs.trine"),
        ({"birth": PARIS_1988 | {"time": "25:00"}}, "birth.time"),
    ):
        error = problem_error(await client.post(CHARTS, json=bad))
        assert error["field"] == field


async def test_charts_for_any_input_are_limited_per_client() -> None:
    settings = make_settings("sqlite+aiosqlite:///:memory:", ASTRO_CHARTS_PER_MINUTE=2)
    async with app_client(create_app(settings)) as client:
        statuses = [
            (await client.post(CHARTS, json={"birth": PARIS_1988})).status_code for _ in range(2)
        ]
        refused = await client.post(CHARTS, json={"birth": PARIS_1988})
    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert refused.json()["type"] == "urn:selflink:problem:rate-limited"
    assert 0 < int(refused.headers["retry-after"]) <= 60


async def test_charts_cached_under_another_ephemeris_are_recomputed(
    client: Client, settings: Settings
) -> None:
    person = await person_born(client, "moshier_era", BERLIN_1990)
    await natal(client, person)

    async def from_moshier(context: JobContext) -> None:
        async with context.session() as session:
            await session.execute(update(CachedChart).values(ephemeris="moshier"))

    await on_app_loop(client, from_moshier)
    await on_app_loop(client, lambda context: refresh_stale_charts(context, batch_size=10))
    [row] = await cached_rows(settings)
    assert row[3] == astro.EphemerisSource().identity()


async def test_the_server_may_use_moshier_whatever_the_path() -> None:
    settings = make_settings(
        "sqlite+aiosqlite:///:memory:",
        SELFLINK_EPHEMERIS="moshier",
        SELFLINK_EPHEMERIS_PATH="/nonexistent",
    )
    async with Client(app=create_app(settings)) as client:
        chart = (await client.post(CHARTS, json={"birth": PARIS_1988})).json()
    assert (chart["ephemeris"], chart["options"]["ephemeris_files"]) == ("moshier", {})
    assert [warning["code"] for warning in chart["warnings"]] == ["chiron_unavailable"]


async def test_an_ephemeris_that_does_not_cover_the_date_is_a_422(tmp_path: Path) -> None:
    settings = make_settings("sqlite+aiosqlite:///:memory:", SELFLINK_EPHEMERIS_PATH=str(tmp_path))
    async with app_client(create_app(settings)) as client:
        error = problem_error(await client.post(CHARTS, json={"birth": PARIS_1988}))
    assert (error["field"], error["code"]) == ("birth.date", "ephemeris_unavailable")


# Transits and numerology ----------------------------------------------------------------------


async def test_transits_at_a_moment_or_now(client: Client) -> None:
    person = await person_born(client, "transited", BERLIN_1990)
    chart = await natal(client, person)
    response = await client.get(
        "/api/v1/astro/transits/me",
        headers=person.headers,
        params={"at": "2026-03-01T13:00:00+01:00"},
    )
    assert response.status_code == 200, response.text
    transits = response.json()
    assert (transits["kind"], transits["at"]) == ("transits", "2026-03-01T12:00:00Z")
    assert transits["natal_input_hash"] == chart["input_hash"]
    assert {aspect["second"] for aspect in transits["aspects"]} <= {
        point["name"] for point in chart["bodies"]
    } | {"ascendant", "mc"}

    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    now = (await client.get("/api/v1/astro/transits/me", headers=person.headers)).json()
    moment = dt.datetime.fromisoformat(now["at"].replace("Z", "+00:00"))
    assert before <= moment <= dt.datetime.now(dt.UTC)

    for at in ("yesterday", "2026-03-01T12:00:00.5Z", "2300-01-01T00:00:00Z"):
        error = problem_error(
            await client.get("/api/v1/astro/transits/me", headers=person.headers, params={"at": at})
        )
        assert (error["field"], error["source"]) == ("at", "query")


async def test_numerology_defaults_to_the_current_year_where_i_live(client: Client) -> None:
    person = await register(client, "numbered")
    await client.patch(
        "/api/v1/users/me", headers=person.headers, json={"timezone": "Pacific/Kiritimati"}
    )
    await put_birth(client, person, {"date": "1984-11-29"})
    explicit = await client.get(
        "/api/v1/astro/numerology/me", headers=person.headers, params={"year": 2026}
    )
    numbers = explicit.json()
    assert (numbers["life_path"], numbers["birthday_number"], numbers["personal_year"]) == (
        8,
        11,
        5,
    )
    current = (await client.get("/api/v1/astro/numerology/me", headers=person.headers)).json()
    assert current["input"]["year"] == dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).year


# Synastry -------------------------------------------------------------------------------------


async def person_with_chart(
    client: Client, handle: str, birth: dict[str, Any], *, discoverable: bool = True
) -> Person:
    person = await register(client, handle)
    await client.patch(
        "/api/v1/users/me", headers=person.headers, json={"discoverable": discoverable}
    )
    await put_birth(client, person, birth)
    return person


async def test_synastry_with_a_person_open_to_matching_discloses_none_of_their_data(
    client: Client,
) -> None:
    me = await person_with_chart(client, "seeker", BERLIN_1990)
    them = await person_with_chart(client, "open_one", PARIS_1988)
    their_chart = await natal(client, them)
    response = await client.post(SYNASTRY, headers=me.headers, json={"handle": "@Open_One"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["composite"] is None
    synastry = body["synastry"]
    assert synastry["kind"] == "synastry"
    assert synastry["first_input_hash"] == (await natal(client, me))["input_hash"]
    assert (synastry["second_input_hash"], synastry["input_hash"]) == (None, None)
    assert synastry["aspects"]
    for private in (their_chart["input_hash"], "1988", "48.8566", "Europe/Paris"):
        assert private not in response.text

    composite = await client.post(
        SYNASTRY, headers=me.headers, json={"handle": "open_one", "composite": True}
    )
    assert problem_error(composite)["field"] == "composite"
    myself = await client.post(SYNASTRY, headers=me.headers, json={"handle": "seeker"})
    assert problem_error(myself)["field"] == "handle"


async def test_synastry_is_refused_alike_for_closed_blocking_blocked_and_unknown_people(
    client: Client,
) -> None:
    me = await person_with_chart(client, "asker", BERLIN_1990)
    await person_with_chart(client, "closed", PARIS_1988, discoverable=False)
    blocker = await person_with_chart(client, "blocker", PARIS_1988)
    await person_with_chart(client, "blocked", PARIS_1988)
    await person_with_chart(client, "no_birth", {"date": "1988-11-02"})
    await client.post("/api/v1/users/asker/block", headers=blocker.headers)
    await client.post("/api/v1/users/blocked/block", headers=me.headers)

    answers = set()
    for handle in ("closed", "blocker", "blocked", "no_birth", "nobody_here"):
        response = await client.post(SYNASTRY, headers=me.headers, json={"handle": handle})
        body = response.json()
        answers.add((response.status_code, body["type"], body["detail"].replace(handle, "…")))
    assert answers == {(404, "urn:selflink:problem:not-found", "@… is not available for synastry.")}


async def test_synastry_and_composite_for_two_explicit_inputs(client: Client) -> None:
    me = await register(client, "explicit")
    response = await client.post(
        SYNASTRY,
        headers=me.headers,
        json={"first": BERLIN_1990, "second": PARIS_1988, "composite": True},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.content == astro.canonical_json(body)
    first = astro.Chart.from_dict(
        json.loads((await client.post(CHARTS, json={"birth": BERLIN_1990})).content)
    )
    second = astro.Chart.from_dict(
        json.loads((await client.post(CHARTS, json={"birth": PARIS_1988})).content)
    )
    assert body["synastry"] == astro.synastry(first, second).to_dict()
    assert body["composite"] == astro.composite_chart(first, second).to_dict()

    missing = await client.post(SYNASTRY, headers=me.headers, json={"first": BERLIN_1990})
    assert problem_error(missing)["field"] == "second"
    ambiguous = await client.post(
        SYNASTRY,
        headers=me.headers,
        json={"first": BERLIN_1990, "second": {"date": "1988-11-02", "place": "Paris"}},
    )
    error = problem_error(ambiguous)
    assert (error["field"], error["code"]) == ("second.place", "ambiguous_place")
