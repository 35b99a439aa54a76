"""Birth data validation, daylight-saving edge cases and offline place and zone lookup."""

import datetime as dt

import pytest

from selflink_core.astro import (
    AmbiguousLocalTime,
    AmbiguousPlace,
    BirthData,
    ChartOptions,
    InvalidBirthData,
    InvalidOption,
    NonexistentLocalTime,
    UnknownPlace,
    input_hash,
    natal_chart,
    parse_utc_offset,
    resolve_place,
    search_places,
    zone_at,
)


def berlin(time: dt.time | None, day: dt.date, **extra: object) -> BirthData:
    return BirthData(
        date=day, time=time, latitude=52.52, longitude=13.405, zone="Europe/Berlin", **extra
    )


SPRING_FORWARD = dt.date(2021, 3, 28)  # 02:00 CET -> 03:00 CEST
FALL_BACK = dt.date(2021, 10, 31)  # 03:00 CEST -> 02:00 CET


def test_a_time_in_the_spring_forward_gap_is_refused_with_both_readings() -> None:
    with pytest.raises(NonexistentLocalTime) as refused:
        natal_chart(berlin(dt.time(2, 30), SPRING_FORWARD))
    assert refused.value.choices == [
        {"fold": 0, "utc_offset": "+01:00"},
        {"fold": 1, "utc_offset": "+02:00"},
    ]


@pytest.mark.parametrize(
    ("disambiguation", "utc"),
    [
        ({"fold": 0}, "2021-03-28T01:30:00Z"),
        ({"fold": 1}, "2021-03-28T00:30:00Z"),
        ({"utc_offset": dt.timedelta(hours=2)}, "2021-03-28T00:30:00Z"),
    ],
)
def test_fold_or_offset_settles_a_gap_time(disambiguation: dict[str, object], utc: str) -> None:
    chart = natal_chart(berlin(dt.time(2, 30), SPRING_FORWARD, **disambiguation))
    assert chart.document["input"]["utc"] == utc


def test_a_repeated_fall_back_time_is_ambiguous_until_fold_picks_one() -> None:
    with pytest.raises(AmbiguousLocalTime):
        natal_chart(berlin(dt.time(2, 30), FALL_BACK))
    first = natal_chart(berlin(dt.time(2, 30), FALL_BACK, fold=0)).document["input"]
    second = natal_chart(berlin(dt.time(2, 30), FALL_BACK, fold=1)).document["input"]
    assert (first["utc"], first["utc_offset"]) == ("2021-10-31T00:30:00Z", "+02:00")
    assert (second["utc"], second["utc_offset"]) == ("2021-10-31T01:30:00Z", "+01:00")


def test_an_offset_that_the_zone_never_had_then_is_refused() -> None:
    with pytest.raises(InvalidBirthData) as refused:
        natal_chart(berlin(dt.time(12), dt.date(2021, 6, 1), utc_offset=dt.timedelta(hours=1)))
    assert refused.value.field == "utc_offset"


def test_fold_is_irrelevant_for_an_ordinary_time_and_does_not_change_the_hash() -> None:
    day = dt.date(2021, 6, 1)
    assert input_hash(berlin(dt.time(12), day, fold=1)) == input_hash(berlin(dt.time(12), day))


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("date", {"date": dt.date(1799, 12, 31)}),
        ("date", {"date": dt.date(2201, 1, 1)}),
        ("latitude", {"latitude": 90.5}),
        ("longitude", {"longitude": -180.01}),
        ("latitude", {"latitude": float("nan")}),
        ("zone", {"zone": "Mars/Olympus_Mons"}),
        ("fold", {"fold": 2}),
        ("time", {"time": dt.time(12, 0, 0, 5)}),
    ],
)
def test_bad_birth_data_names_the_field(field: str, changes: dict[str, object]) -> None:
    values: dict[str, object] = {
        "date": dt.date(1990, 1, 1),
        "time": dt.time(12),
        "latitude": 10.0,
        "longitude": 10.0,
        "zone": "UTC",
    }
    with pytest.raises(InvalidBirthData) as refused:
        BirthData(**(values | changes))  # type: ignore[arg-type]
    assert refused.value.field == field


def test_range_edges_are_accepted() -> None:
    for day in (dt.date(1800, 1, 1), dt.date(2200, 12, 31)):
        assert natal_chart(BirthData(day, dt.time(12), 0.0, 0.0, "UTC")).document["bodies"]


@pytest.mark.parametrize(
    ("field", "options"),
    [
        ("house_system", {"house_system": "egyptian"}),
        ("zodiac", {"zodiac": "draconic"}),
        ("ayanamsa", {"zodiac": "tropical", "ayanamsa": "lahiri"}),
        ("ayanamsa", {"zodiac": "sidereal", "ayanamsa": "nonsense"}),
    ],
)
def test_bad_options_name_the_option(field: str, options: dict[str, str]) -> None:
    with pytest.raises(InvalidOption) as refused:
        ChartOptions(**options)
    assert refused.value.field == field


def test_zone_names_are_matched_case_insensitively_and_spelled_canonically() -> None:
    assert BirthData(dt.date(1990, 1, 1), None, 1.0, 1.0, "europe/paris").zone == "Europe/Paris"


def test_coordinates_without_a_zone_get_it_offline_and_say_so() -> None:
    birth = BirthData(dt.date(1990, 7, 1), dt.time(12), 40.7128, -74.006)
    source = natal_chart(birth).document["input"]
    assert (source["zone"], source["zone_source"], source["utc_offset"]) == (
        "America/New_York",
        "coordinates",
        "-04:00",
    )
    assert zone_at(-33.8688, 151.2093) == "Australia/Sydney"


def test_local_mean_time_before_standard_zones_is_kept_to_the_second() -> None:
    birth = BirthData(dt.date(1850, 6, 1), dt.time(12), 48.8566, 2.3522, "Europe/Paris")
    assert natal_chart(birth).document["input"]["utc_offset"] == "+00:09:21"


def test_offsets_parse_with_and_without_colons() -> None:
    assert parse_utc_offset("+05:30") == dt.timedelta(hours=5, minutes=30)
    assert parse_utc_offset("-0300") == -dt.timedelta(hours=3)
    with pytest.raises(InvalidBirthData):
        parse_utc_offset("+25:00")


def test_an_ambiguous_place_lists_candidates_by_population() -> None:
    with pytest.raises(AmbiguousPlace) as refused:
        resolve_place("Paris")
    candidates = refused.value.candidates
    assert candidates[0].country == "FR"
    assert {"US", "CA"} <= {place.country for place in candidates}
    assert [place.population for place in candidates] == sorted(
        (place.population for place in candidates), reverse=True
    )


def test_a_country_or_a_geonames_id_settles_the_place() -> None:
    paris = resolve_place("paris", "fr")
    assert (paris.name, paris.zone) == ("Paris", "Europe/Paris")
    assert resolve_place(f"geonames:{paris.geonameid}") == paris
    assert resolve_place("München").name == "Munich"
    assert resolve_place("Sao Paulo", "BR").name == "São Paulo"


def test_unknown_places_and_countries_are_errors_never_a_default() -> None:
    with pytest.raises(UnknownPlace):
        resolve_place("Xyzzyville")
    with pytest.raises(InvalidBirthData) as refused:
        resolve_place("Paris", "XX")
    assert refused.value.field == "country"
    assert search_places("Xyzzyville") == []


def test_a_place_supplies_coordinates_zone_and_its_identity_to_the_chart() -> None:
    place = resolve_place("Berlin", "DE")
    chart = natal_chart(BirthData.at_place(place, dt.date(1990, 5, 17), dt.time(14, 30)))
    source = chart.document["input"]
    assert source["zone_source"] == "place"
    assert source["place"]["geonameid"] == place.geonameid
    assert (source["latitude"], source["longitude"]) == (place.latitude, place.longitude)
