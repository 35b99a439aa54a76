"""Chart wheels through the API: my natal chart and two explicit births as SVG, with headers
that keep the picture inert, and never another person's chart."""

import json
import xml.etree.ElementTree as ET

import pytest
from httpx import Headers

from selflink_core import astro
from tests.api.astro_helpers import (
    BERLIN_1990,
    PARIS_1988,
    Client,
    natal,
    person_born,
    problem_error,
)
from tests.api.people import register

pytestmark = pytest.mark.anyio

WHEEL = "/api/v1/astro/natal/me/wheel"
BIWHEEL = "/api/v1/astro/synastry/wheel"
CHARTS = "/api/v1/astro/charts"
SYNASTRY = "/api/v1/astro/synastry"


def check_picture_headers(headers: Headers) -> None:
    assert headers["content-type"] == "image/svg+xml"
    assert headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert headers["x-content-type-options"] == "nosniff"


async def test_my_wheel_is_drawn_from_my_cached_chart_with_the_same_options(
    client: Client,
) -> None:
    person = await person_born(client, "wheeled", BERLIN_1990)
    response = await client.get(WHEEL, headers=person.headers)
    assert response.status_code == 200, response.text
    check_picture_headers(response.headers)
    assert response.content == astro.wheel_svg(await natal(client, person)).encode()
    ET.fromstring(response.content)

    options = {"house_system": "whole_sign", "zodiac": "sidereal", "aspects": "all"}
    sidereal = await client.get(WHEEL, headers=person.headers, params=options)
    assert sidereal.status_code == 200, sidereal.text
    assert sidereal.content == astro.wheel_svg(await natal(client, person, **options)).encode()
    assert sidereal.content != response.content
    assert b"Sidereal (lahiri) zodiac, whole sign houses." in sidereal.content

    wrong = await client.get(WHEEL, headers=person.headers, params={"ayanamsa": "lahiri"})
    assert problem_error(wrong)["field"] == "ayanamsa"
    nobody = await register(client, "unborn")
    assert (await client.get(WHEEL, headers=nobody.headers)).status_code == 404
    assert (await client.get(WHEEL)).status_code == 401


async def test_a_bi_wheel_of_two_explicit_births(client: Client) -> None:
    me = await register(client, "biwheeler")
    body = {"first": BERLIN_1990, "second": PARIS_1988, "options": {"aspects": "all"}}
    response = await client.post(BIWHEEL, headers=me.headers, json=body)
    assert response.status_code == 200, response.text
    check_picture_headers(response.headers)
    options = {"aspects": "all"}
    first, second = [
        astro.Chart.from_dict(
            json.loads((await client.post(CHARTS, json={"birth": b, "options": options})).content)
        )
        for b in (BERLIN_1990, PARIS_1988)
    ]
    relation = astro.synastry(first, second, astro.AspectOptions("all"))
    expected = astro.biwheel_svg(first.to_dict(), second.to_dict(), relation.to_dict())
    assert response.content == expected.encode()

    missing = await client.post(BIWHEEL, headers=me.headers, json={"first": BERLIN_1990})
    assert problem_error(missing)["field"] == "second"
    composite = await client.post(BIWHEEL, headers=me.headers, json=body | {"composite": True})
    assert problem_error(composite)["field"] == "composite"
    bad = await client.post(
        BIWHEEL, headers=me.headers, json={"first": BERLIN_1990, "second": {"date": "1988-13-02"}}
    )
    assert problem_error(bad)["field"].startswith("second.")
    assert (await client.post(BIWHEEL, json=body)).status_code == 401


async def test_a_bi_wheel_with_a_handle_is_refused_it_would_draw_their_chart(
    client: Client,
) -> None:
    me = await person_born(client, "drawer", BERLIN_1990)
    them = await person_born(client, "drawn_one", PARIS_1988)
    await client.patch("/api/v1/users/me", headers=them.headers, json={"discoverable": True})
    assert (
        await client.post(SYNASTRY, headers=me.headers, json={"handle": "drawn_one"})
    ).is_success
    response = await client.post(BIWHEEL, headers=me.headers, json={"handle": "drawn_one"})
    error = problem_error(response)
    assert error["field"] == "handle"
    assert "disclose" in error["message"]
