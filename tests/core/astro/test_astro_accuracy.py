"""Positions against the Swiss Ephemeris computed with its own data files (not by this engine)."""

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import swisseph as swe
from astro_helpers import swiss_ephemeris_files
from hypothesis import given, settings
from hypothesis import strategies as st

from selflink_core.astro import (
    BirthData,
    ChartOptions,
    EphemerisFilesCorrupt,
    EphemerisSource,
    EphemerisUnavailable,
    InvalidOption,
    ephemeris,
    natal_chart,
    transits,
)
from selflink_core.astro.ephemeris import SHIPPED_DIRECTORY, SHIPPED_FILES
from selflink_core.astro.zodiac import HOUSE_SYSTEMS

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
WITH_CHIRON = BODIES | {"chiron": swe.CHIRON}
# Moshier against the files over 1800-2200 (docs/astro.md, "Accuracy": at most 3.5" for the
# Moon, 6.8" for Pluto, 59" for the osculating node, under 3" for the rest), with some margin.
MOSHIER_TOLERANCE_ARCSEC = dict.fromkeys(BODIES, 3.0) | {
    "moon": 4.0,
    "pluto": 8.0,
    "true_node": 65.0,
}
ONE_ARCSECOND = 1.0
MOSHIER = ChartOptions(ephemeris="moshier")


def arcsec(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0) * 3600.0


def reference_longitudes(jd: float, bodies: dict[str, int]) -> dict[str, float]:
    """pyswisseph itself, on the development dependency's copy of the files."""
    swe.set_ephe_path(str(swiss_ephemeris_files()))
    longitudes = {}
    for name, number in bodies.items():
        position, flags = swe.calc_ut(jd, number, swe.FLG_SWIEPH | swe.FLG_SPEED)
        assert flags & swe.FLG_SWIEPH, "the reference must come from the data files"
        longitudes[name] = position[0]
    return longitudes


def chart_longitudes(day: dt.date, options: ChartOptions | None = None) -> dict[str, float]:
    birth = BirthData(date=day, time=dt.time(12), latitude=0.0, longitude=0.0, zone="UTC")
    chart = natal_chart(birth, options)
    return {body["name"]: body["longitude"] for body in chart.document["bodies"]}


def test_the_shipped_files_are_the_recorded_ones_and_the_references() -> None:
    for name, digest in SHIPPED_FILES.items():
        shipped = (SHIPPED_DIRECTORY / name).read_bytes()
        assert hashlib.sha256(shipped).hexdigest() == digest
        assert (swiss_ephemeris_files() / name).read_bytes() == shipped


@pytest.mark.parametrize("day", DATES, ids=str)
def test_moshier_is_within_documented_arcseconds_of_the_files(day: dt.date) -> None:
    reference = reference_longitudes(swe.julday(day.year, day.month, day.day, 12.0), BODIES)
    computed = chart_longitudes(day, MOSHIER)
    errors = {name: arcsec(computed[name], reference[name]) for name in BODIES}
    assert {
        name: error for name, error in errors.items() if error > MOSHIER_TOLERANCE_ARCSEC[name]
    } == {}


births = st.builds(
    BirthData,
    # The files begin 1800-01-01 05:46 UT (test below); from the next day every moment is in.
    date=st.dates(dt.date(1800, 1, 2), dt.date(2200, 12, 31)),
    time=st.times().map(lambda t: t.replace(microsecond=0)),
    latitude=st.floats(-66, 66),
    longitude=st.floats(-180, 180),
    zone=st.just("UTC"),
)


@settings(max_examples=40, deadline=None)
@given(births, st.sampled_from(sorted(HOUSE_SYSTEMS)))
def test_default_charts_are_within_an_arcsecond_of_pyswisseph_on_the_files(
    birth: BirthData, house_system: str
) -> None:
    """Every body, angle and cusp of a default chart, against pyswisseph called directly."""
    chart = natal_chart(birth, ChartOptions(house_system=house_system)).document
    assert birth.time is not None
    hours = birth.time.hour + birth.time.minute / 60 + birth.time.second / 3600
    jd = swe.julday(birth.date.year, birth.date.month, birth.date.day, hours)
    reference = reference_longitudes(jd, WITH_CHIRON)
    computed = {body["name"]: body["longitude"] for body in chart["bodies"]}
    assert computed.keys() == reference.keys()
    cusps, angles = swe.houses_ex(
        jd, birth.latitude, birth.longitude, HOUSE_SYSTEMS[chart["house_system_used"]]
    )
    reference |= {f"cusp {number}": cusp for number, cusp in enumerate(cusps, 1)}
    computed |= {f"cusp {cusp['house']}": cusp["cusp"] for cusp in chart["houses"]}
    reference |= {
        "ascendant": angles[0],
        "descendant": angles[0] + 180,
        "mc": angles[1],
        "ic": angles[1] + 180,
        "vertex": angles[3],
    }
    computed |= {name: angle["longitude"] for name, angle in chart["angles"].items()}
    errors = {name: arcsec(computed[name], reference[name]) for name in reference}
    assert {name: error for name, error in errors.items() if error > ONE_ARCSECOND} == {}
    assert chart["warnings"] == []


def test_the_files_cover_1800_from_05_46_ut() -> None:
    """Earlier moments (Pluto's light-time reaches before the planet file) need Moshier."""
    first = BirthData(
        date=dt.date(1800, 1, 1), time=dt.time(5, 46), latitude=0.0, longitude=0.0, zone="UTC"
    )
    natal_chart(first)
    earlier = BirthData(
        date=dt.date(1800, 1, 1), time=dt.time(5, 45), latitude=0.0, longitude=0.0, zone="UTC"
    )
    with pytest.raises(EphemerisUnavailable, match="moshier"):
        natal_chart(earlier)
    assert natal_chart(earlier, MOSHIER).document["ephemeris"] == "moshier"


def test_chart_states_the_ephemeris_and_its_files() -> None:
    birth = BirthData(dt.date(2000, 1, 1), dt.time(12), latitude=0.0, longitude=0.0, zone="UTC")
    default = natal_chart(birth).document
    assert default["ephemeris"] == default["options"]["ephemeris"] == "swiss_ephemeris"
    assert default["options"]["ephemeris_files"] == SHIPPED_FILES
    assert "chiron" in {body["name"] for body in default["bodies"]}
    assert default["warnings"] == []
    moshier = natal_chart(birth, MOSHIER).document
    assert moshier["options"]["ephemeris_files"] == {}
    assert [warning["code"] for warning in moshier["warnings"]] == ["chiron_unavailable"]
    assert "chiron" not in {body["name"] for body in moshier["bodies"]}
    elsewhere = ChartOptions(ephemeris_path=str(swiss_ephemeris_files()))
    same_files = natal_chart(birth, elsewhere).document
    assert same_files["options"] == default["options"]
    assert same_files["input_hash"] == default["input_hash"] != moshier["input_hash"]
    at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert transits(natal_chart(birth), at).document["options"]["ephemeris_files"] == SHIPPED_FILES


def test_a_directory_without_the_asteroid_file_warns_that_chiron_is_missing(
    tmp_path: Path,
) -> None:
    for name in ("sepl_18.se1", "semo_18.se1"):
        (tmp_path / name).write_bytes((SHIPPED_DIRECTORY / name).read_bytes())
    birth = BirthData(dt.date(2000, 1, 1), dt.time(12), latitude=0.0, longitude=0.0, zone="UTC")
    document = natal_chart(birth, ChartOptions(ephemeris_path=str(tmp_path))).document
    assert set(document["options"]["ephemeris_files"]) == {"sepl_18.se1", "semo_18.se1"}
    assert [warning["code"] for warning in document["warnings"]] == ["chiron_unavailable"]
    assert "asteroid file" in document["warnings"][0]["message"]


def test_moshier_reads_no_files() -> None:
    with pytest.raises(InvalidOption, match="reads no files"):
        EphemerisSource("moshier", str(swiss_ephemeris_files()))
    with pytest.raises(InvalidOption, match="not one of"):
        ChartOptions(ephemeris="jpl")


def test_a_damaged_shipped_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SHIPPED_FILES:
        (tmp_path / name).write_bytes((SHIPPED_DIRECTORY / name).read_bytes())
    damaged = bytearray((tmp_path / "semo_18.se1").read_bytes())
    damaged[5000] ^= 1
    (tmp_path / "semo_18.se1").write_bytes(bytes(damaged))
    monkeypatch.setattr(ephemeris, "SHIPPED_DIRECTORY", tmp_path)
    check = ephemeris.shipped_directory.__wrapped__  # the cached result is the real directory's
    with pytest.raises(EphemerisFilesCorrupt, match=r"semo_18\.se1 has SHA-256 .*expected ecfa54"):
        check()
    (tmp_path / "seas_18.se1").unlink()
    (tmp_path / "semo_18.se1").write_bytes((SHIPPED_DIRECTORY / "semo_18.se1").read_bytes())
    with pytest.raises(EphemerisFilesCorrupt, match=r"cannot read .*seas_18\.se1"):
        check()
    (tmp_path / "seas_18.se1").write_bytes((SHIPPED_DIRECTORY / "seas_18.se1").read_bytes())
    assert check() == str(tmp_path)


def test_a_chart_does_not_depend_on_what_pyswisseph_did_before(tmp_path: Path) -> None:
    """The ephemeris path is set again only when its planet file is no longer open: charts after
    one another, after Moshier, another directory, a foreign path or closed files are the same
    bytes as charts cast after setting the path anew."""
    births = [
        BirthData(dt.date(1801 + 66 * step, 1 + step, 3 * step + 1), dt.time(step), 10.0, 20.0)
        for step in range(6)
    ]
    elsewhere = ChartOptions(ephemeris_path=str(swiss_ephemeris_files()))
    options = [ChartOptions(), ChartOptions(zodiac="sidereal"), MOSHIER, elsewhere]

    def fresh(birth: BirthData, chosen: ChartOptions) -> bytes:
        ephemeris._opened_by_path.clear()  # as if another path had been set in between
        return natal_chart(birth, chosen).to_json()

    cases = [(birth, chosen) for birth in births for chosen in options]
    expected = [fresh(birth, chosen) for birth, chosen in cases]
    disturbances = [
        lambda: None,
        lambda: swe.set_ephe_path(str(tmp_path)),
        lambda: swe.set_ephe_path(str(swiss_ephemeris_files())),
        swe.close,
    ]
    for step, index in enumerate(reversed(range(len(cases)))):
        disturbances[step % len(disturbances)]()
        birth, chosen = cases[index]
        assert natal_chart(birth, chosen).to_json() == expected[index]
        assert natal_chart(birth, chosen).to_json() == expected[index]
