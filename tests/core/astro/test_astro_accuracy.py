"""Positions against the Swiss Ephemeris computed with its own data files (not by this engine)."""

import datetime as dt

import pytest
import swisseph as swe
from astro_helpers import swiss_ephemeris_files

from selflink_core.astro import BirthData, ChartOptions, natal_chart

# Noon UTC on dates spread over the guaranteed range, including both ends.
DATES = [dt.date(1800, 1, 1), dt.date(2200, 12, 31)] + [
    dt.date(1800 + 9 * step, 1 + step % 12, 1 + (7 * step) % 28) for step in range(45)
]
BODIES = {
    "sun": swe.SUN,
    "moon": swe.MOON,
    "mercury": swe.MERCURY,
    "venus": swe.VENUS,
    "mars": swe.MARS,
    "jupiter": swe.JUPITER,
    "saturn": swe.SATURN,
    "uranus": swe.URANUS,
    "neptune": swe.NEPTUNE,
    "pluto": swe.PLUTO,
    "mean_node": swe.MEAN_NODE,
    "true_node": swe.TRUE_NODE,
    "mean_lilith": swe.MEAN_APOG,
}
# Moshier against the files over 1800-2200 (docs/astro.md, "Accuracy"): three arcseconds for
# everything but the Moon, Pluto and the osculating (true) node.
MOSHIER_TOLERANCE_ARCSEC = dict.fromkeys(BODIES, 3.0) | {
    "moon": 4.0,
    "pluto": 8.0,
    "true_node": 65.0,
}


def reference_longitudes(day: dt.date) -> dict[str, float]:
    swe.set_ephe_path(str(swiss_ephemeris_files()))
    jd = swe.julday(day.year, day.month, day.day, 12.0)
    longitudes = {}
    for name, number in BODIES.items():
        position, flags = swe.calc_ut(jd, number, swe.FLG_SWIEPH | swe.FLG_SPEED)
        assert flags & swe.FLG_SWIEPH, "the reference must come from the data files"
        longitudes[name] = position[0]
    return longitudes


def arcsec(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0) * 3600.0


def chart_longitudes(day: dt.date, options: ChartOptions | None = None) -> dict[str, float]:
    birth = BirthData(date=day, time=dt.time(12), latitude=0.0, longitude=0.0, zone="UTC")
    chart = natal_chart(birth, options)
    return {body["name"]: body["longitude"] for body in chart.document["bodies"]}


@pytest.mark.parametrize("day", DATES, ids=str)
def test_default_moshier_chart_is_within_documented_arcseconds_of_the_files(day: dt.date) -> None:
    reference = reference_longitudes(day)
    computed = chart_longitudes(day)
    errors = {name: arcsec(computed[name], reference[name]) for name in BODIES}
    assert {
        name: error for name, error in errors.items() if error > MOSHIER_TOLERANCE_ARCSEC[name]
    } == {}


@pytest.mark.parametrize("day", DATES[::4], ids=str)
def test_charts_with_the_files_match_them_to_the_rounding(day: dt.date) -> None:
    reference = reference_longitudes(day)
    computed = chart_longitudes(day, ChartOptions(ephemeris_path=str(swiss_ephemeris_files())))
    assert max(arcsec(computed[name], reference[name]) for name in BODIES) < 0.01
    assert "chiron" in computed


def test_chart_states_the_ephemeris_it_used() -> None:
    day = dt.date(2000, 1, 1)
    birth = BirthData(date=day, time=dt.time(12), latitude=0.0, longitude=0.0, zone="UTC")
    assert natal_chart(birth).document["ephemeris"] == "moshier"
    with_files = ChartOptions(ephemeris_path=str(swiss_ephemeris_files()))
    assert natal_chart(birth, with_files).document["ephemeris"] == "swiss_ephemeris"
