"""`parse_birth`: the one set of birth-data input rules the CLI and the API share."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selflink_core.astro import (
    BirthForm,
    CountryWithoutPlace,
    InvalidBirthData,
    LoneCoordinate,
    MissingPlace,
    PlaceWithCoordinates,
    TimeWithoutPlace,
    parse_birth,
)
from selflink_core.astro.canonical import rounded

forms = st.sampled_from(list(BirthForm))
latitudes = st.floats(-90, 90)
longitudes = st.floats(-180, 180)
dates = st.dates(dt.date(1800, 1, 1), dt.date(2200, 12, 31))
times = st.none() | st.times().map(lambda t: t.strftime("%H:%M:%S"))
zones = st.none() | st.sampled_from(["Europe/Berlin", "america/new_york", "UTC"])
folds = st.none() | st.sampled_from([0, 1])
not_dates = st.sampled_from(["1790-01-01", "1990-02-30", "yesterday"])


@given(dates, times, latitudes, longitudes, zones, folds, forms)
def test_a_coordinate_pair_always_parses_to_a_located_birth(
    date: dt.date,
    time: str | None,
    latitude: float,
    longitude: float,
    zone: str | None,
    fold: int | None,
    form: BirthForm,
) -> None:
    parsed = parse_birth(
        date=date.isoformat(),
        time=time,
        zone=zone,
        latitude=latitude,
        longitude=longitude,
        fold=fold,
        form=form,
    )
    located = parsed.for_chart()
    assert (located.date, located.latitude, located.longitude) == (
        date,
        rounded(latitude, 6),
        rounded(longitude, 6),
    )
    assert located.zone == parsed.zone
    assert (located.fold, located.place, parsed.label) == (fold, None, None)


@given(dates, latitudes, forms, st.booleans())
def test_one_coordinate_alone_always_names_the_missing_one(
    date: dt.date, value: float, form: BirthForm, latitude_given: bool
) -> None:
    given_one = {"latitude": value} if latitude_given else {"longitude": value}
    with pytest.raises(LoneCoordinate) as refused:
        parse_birth(date=date, form=form, **given_one)
    assert refused.value.field == ("longitude" if latitude_given else "latitude")
    assert refused.value.code == "invalid_birth_data"


@given(not_dates, latitudes, forms)
def test_which_fields_go_together_is_checked_before_their_values(
    date: str, latitude: float, form: BirthForm
) -> None:
    with pytest.raises(LoneCoordinate):
        parse_birth(date=date, latitude=latitude, form=form)
    with pytest.raises(InvalidBirthData) as refused:
        parse_birth(date=date, latitude=latitude, longitude=0.0, form=form)
    assert refused.value.field == "date"


@given(dates, st.none() | latitudes, st.none() | longitudes, forms)
def test_a_country_without_a_place_name_is_refused(
    date: dt.date, latitude: float | None, longitude: float | None, form: BirthForm
) -> None:
    with pytest.raises(CountryWithoutPlace) as refused:
        parse_birth(date=date, latitude=latitude, longitude=longitude, country="FR", form=form)
    assert refused.value.field == "country"


@given(
    dates,
    st.text(min_size=1, max_size=20),
    st.fixed_dictionaries(
        {},
        optional={"latitude": latitudes, "longitude": longitudes, "zone": st.just("UTC")},
    ).filter(bool),
)
def test_a_person_gives_a_place_or_coordinates_never_both(
    date: dt.date, place: str, where: dict[str, object]
) -> None:
    with pytest.raises(PlaceWithCoordinates) as refused:
        parse_birth(date=date, place=place, **where)
    assert refused.value.field == "place"


@given(dates, latitudes, longitudes, st.text(max_size=20))
def test_a_record_keeps_a_place_name_beside_coordinates_as_a_label(
    date: dt.date, latitude: float, longitude: float, label: str
) -> None:
    parsed = parse_birth(
        date=date, latitude=latitude, longitude=longitude, place=label, form=BirthForm.RECORD
    )
    assert parsed.label == (label.strip() or None)
    assert parsed.for_chart().place is None


@given(dates, times, zones, folds)
def test_a_time_without_a_place_is_refused_from_a_person_and_kept_in_a_record(
    date: dt.date, time: str | None, zone: str | None, fold: int | None
) -> None:
    if time is not None or zone is not None:
        with pytest.raises(TimeWithoutPlace) as refused:
            parse_birth(date=date, time=time, zone=zone, fold=fold)
        assert refused.value.field == ("time" if time is not None else "zone")
    parsed = parse_birth(date=date, time=time, zone=zone, fold=fold, form=BirthForm.RECORD)
    assert (parsed.date, parsed.located, parsed.fold) == (date, None, fold)
    with pytest.raises(MissingPlace):
        parsed.for_chart()


def test_a_place_name_is_looked_up_and_what_else_is_given_must_be_its_own() -> None:
    berlin = parse_birth(date="1990-05-17", time="14:30", place="Berlin", country="de")
    located = berlin.for_chart()
    assert located.place is not None
    assert (located.place.geonameid, berlin.zone, berlin.time) == (
        2950159,
        "Europe/Berlin",
        dt.time(14, 30),
    )
    stored = {"date": "1990-05-17", "time": "14:30", "geonameid": 2950159, "form": BirthForm.RECORD}
    assert parse_birth(**stored, place="Berlin", latitude=52.52437).located == located
    for field, mismatch in (
        ("latitude", {"latitude": 1.5}),
        ("country", {"country": "FR"}),
        ("place", {"place": "Paris"}),
        ("zone", {"zone": "Asia/Tokyo"}),
    ):
        with pytest.raises(InvalidBirthData) as refused:
            parse_birth(**stored, **mismatch)
        assert refused.value.field == field
