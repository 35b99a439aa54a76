"""Synastry, composite charts, transits, matching features and thread safety."""

import datetime as dt
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from astro_helpers import BERLIN_1990, PARIS_1988, utc_births
from hypothesis import given, settings
from hypothesis import strategies as st

from selflink_core.astro import (
    BirthData,
    ChartFeatures,
    ChartOptions,
    InvalidBirthData,
    InvalidOption,
    batch_features,
    birth_features,
    chart_features,
    composite_chart,
    natal_chart,
    synastry,
    transits,
)
from selflink_core.astro.features import BATCH_CHUNK
from selflink_core.astro.synastry import midpoint

births = utc_births(dt.date(1900, 1, 1), dt.date(2100, 12, 31), max_latitude=60)


@settings(max_examples=25, deadline=None)
@given(births, births)
def test_synastry_is_symmetric(first: BirthData, second: BirthData) -> None:
    one, two = natal_chart(first), natal_chart(second)
    forward = synastry(one, two).document
    backward = synastry(two, one).document

    def pairs(aspects: list[dict[str, object]], swap: bool) -> set[tuple[object, ...]]:
        return {
            (a["second"], a["first"], a["aspect"], a["orb"])
            if swap
            else (a["first"], a["second"], a["aspect"], a["orb"])
            for a in aspects
        }

    assert pairs(forward["aspects"], False) == pairs(backward["aspects"], True)
    assert forward["first_in_second_houses"] == backward["second_in_first_houses"]


def test_synastry_needs_the_same_zodiac() -> None:
    with pytest.raises(InvalidOption):
        synastry(natal_chart(BERLIN_1990), natal_chart(PARIS_1988, ChartOptions(zodiac="sidereal")))


@settings(max_examples=200)
@given(st.floats(0, 360, exclude_max=True), st.floats(0, 360, exclude_max=True))
def test_midpoint_lies_on_the_shorter_arc(a: float, b: float) -> None:
    middle = midpoint(a, b)
    to_a = abs((middle - a + 180) % 360 - 180)
    to_b = abs((middle - b + 180) % 360 - 180)
    assert to_a == pytest.approx(to_b, abs=1e-9)
    assert to_a <= 90 + 1e-9


def test_composite_places_every_point_at_the_midpoint() -> None:
    one, two = natal_chart(BERLIN_1990), natal_chart(PARIS_1988)
    document = composite_chart(one, two).document
    first = {body["name"]: body["longitude"] for body in one.document["bodies"]}
    second = {body["name"]: body["longitude"] for body in two.document["bodies"]}
    for body in document["bodies"]:
        expected = midpoint(first[body["name"]], second[body["name"]])
        assert body["longitude"] == pytest.approx(expected, abs=1e-6)
        assert body["speed"] is None
    assert document["house_system_used"] == "placidus"
    assert document["angles"]["ascendant"]["longitude"] == document["houses"][0]["cusp"]


def test_composite_with_an_unknown_time_has_no_houses() -> None:
    unknown = BirthData(
        PARIS_1988.date, None, PARIS_1988.latitude, PARIS_1988.longitude, "Europe/Paris"
    )
    document = composite_chart(natal_chart(BERLIN_1990), natal_chart(unknown)).document
    assert (document["time_known"], document["houses"], document["angles"]) == (False, None, None)


def test_transits_use_the_given_moment_and_the_natal_houses() -> None:
    natal = natal_chart(BERLIN_1990)
    at = dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    document = transits(natal, at).document
    assert document["at"] == "2026-03-01T12:00:00Z"
    assert document["natal_input_hash"] == natal.input_hash
    assert all(1 <= body["house"] <= 12 for body in document["bodies"])
    for aspect in document["aspects"]:
        assert aspect["orb"] <= 2.0
        assert isinstance(aspect["applying"], bool)
    later = transits(natal, at + dt.timedelta(days=1)).document
    assert later["input_hash"] != document["input_hash"]


def test_a_transit_to_a_natal_point_applies_before_it_is_exact() -> None:
    natal = natal_chart(BERLIN_1990)
    sun = natal.document["bodies"][0]["longitude"]
    # The Sun returns to its natal longitude around May 17 each year.
    before = transits(natal, dt.datetime(2026, 5, 16, tzinfo=dt.UTC)).document["aspects"]
    after = transits(natal, dt.datetime(2026, 5, 19, tzinfo=dt.UTC)).document["aspects"]

    def solar_return(aspects: list[dict[str, object]]) -> dict[str, object]:
        return next(a for a in aspects if (a["first"], a["second"]) == ("sun", "sun"))

    assert solar_return(before)["applying"] is True
    assert solar_return(after)["applying"] is False
    assert 50 < sun < 60


def test_transit_moments_must_be_aware_and_in_range() -> None:
    natal = natal_chart(BERLIN_1990)
    with pytest.raises(InvalidBirthData):
        transits(natal, dt.datetime(2026, 1, 1))
    with pytest.raises(InvalidBirthData):
        transits(natal, dt.datetime(2300, 1, 1, tzinfo=dt.UTC))


def test_features_from_births_equal_features_of_full_charts() -> None:
    people = [
        BERLIN_1990,
        PARIS_1988,
        BirthData(dt.date(1975, 1, 9), None, -23.55, -46.63, "America/Sao_Paulo"),
        BirthData(dt.date(2000, 12, 21), dt.time(12), 69.6492, 18.9553, "Europe/Oslo"),
    ]
    for person in people:
        assert birth_features(person) == chart_features(natal_chart(person))
    frame = batch_features(people)
    assert frame.height == len(people)
    assert frame["ascendant"].null_count() == 1
    assert frame["life_path"].to_list()[0] == 5
    assert (frame.select(["fire", "earth", "air", "water"]).sum_horizontal() == 10).all()


def test_threads_get_the_same_charts_as_sequential_calls() -> None:
    options = [
        ChartOptions(),
        ChartOptions(zodiac="sidereal"),
        ChartOptions(zodiac="sidereal", ayanamsa="raman"),
    ]
    jobs = [(BERLIN_1990 if index % 2 else PARIS_1988, options[index % 3]) for index in range(24)]
    sequential = [natal_chart(birth, option).to_json() for birth, option in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda job: natal_chart(*job).to_json(), jobs))
    assert threaded == sequential


@settings(max_examples=10, deadline=None)
@given(st.lists(births, max_size=12), st.sampled_from(["placidus", "koch", "whole_sign"]))
def test_batch_rows_are_the_birth_features_in_order(people: list[BirthData], system: str) -> None:
    options = ChartOptions(house_system=system, zodiac="sidereal")
    frame = batch_features(people, options)
    assert [ChartFeatures(*row[:7], row[7:11], row[11:14], *row[14:]) for row in frame.rows()] == [
        birth_features(person, options) for person in people
    ]


def test_a_batch_spread_over_workers_is_the_same_frame() -> None:
    people = [
        BirthData(
            dt.date(1800, 1, 1) + dt.timedelta(days=97 * index),
            None if index % 5 == 0 else dt.time(index % 24, index % 60),
            -60.0 + index % 120,
            -180.0 + (7 * index) % 360,
            "UTC",
        )
        for index in range(BATCH_CHUNK * 2 + 7)
    ]
    options = ChartOptions(house_system="koch", zodiac="sidereal", ayanamsa="raman")
    serial = batch_features(people, options)
    with ThreadPoolExecutor(max_workers=2) as threads:
        assert batch_features(people, options, executor=threads).equals(serial)
    with ProcessPoolExecutor(max_workers=2) as processes:
        assert batch_features(people[:40], options, executor=processes).equals(serial.head(40))
