"""Natal chart behaviour: houses and their fallbacks, unknown times, sidereal charts, aspects,
summaries, and the canonical document."""

import datetime as dt
import json

import pytest
from astro_helpers import BERLIN_1990, PARIS_1988, expected_input_hash, utc_births
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.hash_seeds import outputs_across_hash_seeds

from selflink_core.astro import (
    HOUSE_SYSTEMS,
    AspectOptions,
    BirthData,
    Chart,
    ChartOptions,
    canonical_json,
    input_hash,
    natal_chart,
)

TROMSO_WINTER = BirthData(dt.date(2000, 12, 21), dt.time(12), 69.6492, 18.9553, "Europe/Oslo")


@pytest.mark.parametrize("system", sorted(HOUSE_SYSTEMS))
def test_every_house_system_gives_twelve_ordered_cusps_and_houses_for_bodies(system: str) -> None:
    document = natal_chart(BERLIN_1990, ChartOptions(house_system=system)).document
    assert document["house_system_used"] == system
    assert [cusp["house"] for cusp in document["houses"]] == list(range(1, 13))
    assert all(1 <= body["house"] <= 12 for body in document["bodies"])


def test_placidus_inside_the_polar_circle_falls_back_to_whole_sign_and_says_so() -> None:
    document = natal_chart(TROMSO_WINTER).document
    assert document["options"]["house_system"] == "placidus"
    assert document["house_system_used"] == "whole_sign"
    assert [item["code"] for item in document["warnings"]] == ["house_system_fallback"]
    assert all(cusp["degree_in_sign"] == 0 for cusp in document["houses"])


def test_systems_defined_at_polar_latitudes_are_kept() -> None:
    document = natal_chart(TROMSO_WINTER, ChartOptions(house_system="porphyry")).document
    assert document["house_system_used"] == "porphyry"
    assert document["warnings"] == []


def test_at_the_pole_angles_are_undefined_and_omitted() -> None:
    pole = BirthData(dt.date(2000, 1, 1), dt.time(12), -90.0, 0.0, "Antarctica/McMurdo")
    document = natal_chart(pole).document
    assert (document["angles"], document["houses"], document["house_system_used"]) == (
        None,
        None,
        None,
    )
    assert document["warnings"][0]["code"] == "angles_undefined"


def test_an_unknown_time_gives_a_flagged_noon_chart_without_houses_or_angles() -> None:
    unknown = BirthData(
        BERLIN_1990.date, None, BERLIN_1990.latitude, BERLIN_1990.longitude, "Europe/Berlin"
    )
    document = natal_chart(unknown).document
    noon = natal_chart(
        BirthData(
            BERLIN_1990.date,
            dt.time(12),
            BERLIN_1990.latitude,
            BERLIN_1990.longitude,
            "Europe/Berlin",
        )
    ).document
    assert document["time_known"] is False
    assert document["input"]["time"] is None
    assert document["input"]["utc"] == "1990-05-17T10:00:00Z"
    assert document["angles"] is None
    assert document["houses"] is None
    assert all(body["house"] is None for body in document["bodies"])
    assert {aspect["second"] for aspect in document["aspects"]}.isdisjoint({"ascendant", "mc"})
    assert document["summary"]["chart_ruler"] is None
    assert [body["longitude"] for body in document["bodies"]] == [
        body["longitude"] for body in noon["bodies"]
    ]
    codes = [item["code"] for item in document["warnings"]]
    assert codes[0] == "time_unknown"
    assert codes[1] in {"moon_sign_uncertain", "moon_position_uncertain"}


def test_sidereal_defaults_to_lahiri_and_shifts_every_longitude_by_the_ayanamsa() -> None:
    tropical = natal_chart(BERLIN_1990).document
    sidereal = natal_chart(BERLIN_1990, ChartOptions(zodiac="sidereal")).document
    assert sidereal["options"]["ayanamsa"] == "lahiri"
    ayanamsa = sidereal["ayanamsa_degrees"]
    assert 23.6 < ayanamsa < 23.8  # Lahiri in 1990
    for before, after in zip(tropical["bodies"], sidereal["bodies"], strict=True):
        shift = (before["longitude"] - after["longitude"]) % 360.0
        assert shift == pytest.approx(ayanamsa, abs=0.001), before["name"]
    ascendant_shift = (
        tropical["angles"]["ascendant"]["longitude"] - sidereal["angles"]["ascendant"]["longitude"]
    ) % 360.0
    assert ascendant_shift == pytest.approx(ayanamsa, abs=0.001)
    fagan = natal_chart(BERLIN_1990, ChartOptions(zodiac="sidereal", ayanamsa="fagan_bradley"))
    assert fagan.document["ayanamsa_degrees"] > ayanamsa


def test_sidereal_mode_does_not_leak_into_the_next_tropical_chart() -> None:
    before = natal_chart(BERLIN_1990).to_json()
    natal_chart(BERLIN_1990, ChartOptions(zodiac="sidereal", ayanamsa="raman"))
    assert natal_chart(BERLIN_1990).to_json() == before


def test_chart_records_are_consistent() -> None:
    document = natal_chart(BERLIN_1990).document
    for body in document["bodies"]:
        sign = [
            "aries",
            "taurus",
            "gemini",
            "cancer",
            "leo",
            "virgo",
            "libra",
            "scorpio",
            "sagittarius",
            "capricorn",
            "aquarius",
            "pisces",
        ].index(body["sign"])
        assert body["degree_in_sign"] == pytest.approx(body["longitude"] - 30 * sign, abs=1e-6)
        assert body["retrograde"] == (body["speed"] < 0)
    angles = document["angles"]
    assert angles["ascendant"]["longitude"] == document["houses"][0]["cusp"]
    assert (
        angles["descendant"]["longitude"] - angles["ascendant"]["longitude"]
    ) % 360 == pytest.approx(180)
    assert sum(document["summary"]["elements"].values()) == 10
    assert sum(document["summary"]["modalities"].values()) == 10


def test_aspect_orbs_are_recomputable_from_the_published_longitudes() -> None:
    document = natal_chart(BERLIN_1990, ChartOptions(aspects=AspectOptions("all"))).document
    where = {body["name"]: body["longitude"] for body in document["bodies"]}
    where |= {name: document["angles"][name]["longitude"] for name in ("ascendant", "mc")}
    angle = {
        "conjunction": 0,
        "opposition": 180,
        "trine": 120,
        "square": 90,
        "sextile": 60,
        "quincunx": 150,
        "semisextile": 30,
        "semisquare": 45,
        "sesquiquadrate": 135,
    }
    assert document["aspects"]
    for aspect in document["aspects"]:
        separation = abs((where[aspect["first"]] - where[aspect["second"]] + 180) % 360 - 180)
        assert aspect["orb"] == pytest.approx(abs(separation - angle[aspect["aspect"]]), abs=1e-6)
        assert {aspect["first"], aspect["second"]} != {"mean_node", "true_node"}


def test_orbs_are_configurable_and_luminaries_get_wider_ones() -> None:
    tight = natal_chart(
        BERLIN_1990,
        ChartOptions(aspects=AspectOptions(orbs={"square": 1.0}, luminary_orb_bonus=0.0)),
    )
    squares = [aspect for aspect in tight.document["aspects"] if aspect["aspect"] == "square"]
    assert all(aspect["orb"] <= 1.0 for aspect in squares)
    assert tight.document["options"]["aspects"]["orbs"]["square"] == 1.0
    default = natal_chart(BERLIN_1990).document["aspects"]
    sun_moon = next(a for a in default if {a["first"], a["second"]} == {"sun", "moon"})
    assert sun_moon["aspect"] == "square"
    assert 3 < sun_moon["orb"] < 7 + 2


def test_applying_follows_the_speeds() -> None:
    document = natal_chart(BERLIN_1990).document
    # The Moon (13 deg/day) closes on its square to the Sun (3.64 deg off, Moon behind).
    sun_moon = next(a for a in document["aspects"] if {a["first"], a["second"]} == {"sun", "moon"})
    assert sun_moon["applying"] is True


def test_moon_phase_summary() -> None:
    phase = natal_chart(BERLIN_1990).document["summary"]["moon_phase"]
    assert phase["name"] == "disseminating"  # 266 degrees: between 225 and 270
    assert 0.5 < phase["illumination"] < 0.6


def test_chart_ruler_is_the_ruler_of_the_rising_sign() -> None:
    document = natal_chart(PARIS_1988).document
    rising = document["angles"]["ascendant"]["sign"]
    ruler = document["summary"]["chart_ruler"]
    assert ruler["sign"] == rising
    if rising == "scorpio":
        assert (ruler["traditional"], ruler["modern"]) == ("mars", "pluto")


def test_input_hash_is_the_hash_of_the_normalized_input_and_options() -> None:
    chart = natal_chart(BERLIN_1990)
    expected = expected_input_hash(chart.document)
    assert chart.input_hash == expected == input_hash(BERLIN_1990)
    assert input_hash(BERLIN_1990, ChartOptions(house_system="koch")) != expected


def test_a_chart_restored_from_its_json_is_the_same_chart() -> None:
    chart = natal_chart(BERLIN_1990)
    restored = Chart.from_dict(json.loads(chart.to_json()))
    assert restored.to_json() == chart.to_json()


births = utc_births(dt.date(1800, 1, 1), dt.date(2200, 12, 31), max_latitude=89.9)


@settings(max_examples=60, deadline=None)
@given(births, st.sampled_from(sorted(HOUSE_SYSTEMS)), st.sampled_from(["tropical", "sidereal"]))
def test_fast_canonical_json_equals_the_rfc8785_reference(
    birth: BirthData, system: str, zodiac: str
) -> None:
    chart = natal_chart(
        birth, ChartOptions(house_system=system, zodiac=zodiac, aspects=AspectOptions("all"))
    )
    assert chart.to_json() == canonical_json(chart.to_dict())


SCRIPT = """
import datetime as dt, hashlib, sys
from selflink_core.astro import BirthData, ChartOptions, natal_chart, resolve_place, synastry
berlin = resolve_place("Berlin", "DE")
a = natal_chart(BirthData.at_place(berlin, dt.date(1990, 5, 17), dt.time(14, 30)))
b = natal_chart(BirthData(dt.date(1955, 2, 24), None, 37.77, -122.42, "America/Los_Angeles"),
                ChartOptions(house_system="koch"))
c = natal_chart(BirthData(dt.date(2150, 8, 1), dt.time(3), -33.9, 18.4),
                ChartOptions(zodiac="sidereal"))
payload = b"".join(x.to_json() for x in (a, b, c, synastry(a, b)))
sys.stdout.write(hashlib.sha256(payload).hexdigest())
"""


def test_same_bytes_across_hash_seeds() -> None:
    assert len(outputs_across_hash_seeds(SCRIPT)) == 1


@settings(max_examples=300)
@given(
    st.lists(st.floats(0, 360, exclude_max=True), min_size=12, max_size=12),
    st.lists(st.floats(0, 360, exclude_max=True), max_size=16),
)
def test_houses_are_numpys_binary_search_over_the_cusp_offsets(
    cusps: list[float], longitudes: list[float]
) -> None:
    """The house finder's rule, for cusps in zodiac order and for the out-of-order cusps some
    systems give near the poles (where the binary search over all bodies decides)."""
    import numpy as np

    from selflink_core.astro.chart import HouseFinder

    for ordered in (cusps, sorted(cusps)):
        offsets = np.array([(cusp - ordered[0]) % 360.0 for cusp in ordered])
        expected = np.searchsorted(
            offsets, (np.array(longitudes, dtype=np.float64) - ordered[0]) % 360.0, side="right"
        )
        assert HouseFinder(ordered).houses(longitudes) == expected.tolist()
