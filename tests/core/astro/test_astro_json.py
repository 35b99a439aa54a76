"""The natal chart's own JSON writer and input hash against the rfc8785 reference, across every
option, unknown times, polar and pole latitudes, Swiss Ephemeris files (Chiron) and places whose
names need escaping or look like numbers."""

import datetime as dt
import json

from astro_helpers import expected_input_hash, swiss_ephemeris_files
from hypothesis import given, settings
from hypothesis import strategies as st

from selflink_core.astro import (
    AYANAMSAS,
    HOUSE_SYSTEMS,
    AspectOptions,
    BirthData,
    Chart,
    ChartOptions,
    Place,
    canonical_json,
    input_hash,
    natal_chart,
)
from selflink_core.astro.zodiac import ASPECT_KINDS

ZONES = ["UTC", "Europe/Berlin", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham"]
PLACE_NAMES = [
    "São Paulo",
    'Quote " and \\ backslash',
    "Tab\there, 5.0] and 1e-05,",
    "Zürich\u2028",
    "東京",
]

latitudes = (
    st.floats(-90, 90)
    | st.sampled_from([90.0, -90.0, 0.0, 66.5, -89.9999])
    | st.floats(60, 90).map(lambda x: -x)
)
times = st.none() | st.times().map(lambda t: t.replace(microsecond=0))
dates = st.dates(dt.date(1800, 1, 2), dt.date(2200, 12, 30))


@st.composite
def births(draw: st.DrawFn) -> BirthData:
    day, time, latitude = draw(dates), draw(times), draw(latitudes)
    longitude = draw(st.floats(-180, 180))
    if draw(st.booleans()):
        place = Place(
            geonameid=draw(st.integers(1, 10**8)),
            name=draw(st.sampled_from(PLACE_NAMES)),
            country=draw(st.sampled_from(["BR", "JP", "CH"])),
            admin1=draw(st.sampled_from(["27", "4.0", ""])),
            latitude=latitude,
            longitude=longitude,
            zone=draw(st.sampled_from(ZONES)),
            population=1,
        )
        return BirthData.at_place(place, day, time, fold=0)
    return BirthData(day, time, latitude, longitude, draw(st.sampled_from(ZONES)), fold=1)


@st.composite
def chart_options(draw: st.DrawFn) -> ChartOptions:
    zodiac = draw(st.sampled_from(["tropical", "sidereal"]))
    which = draw(st.sampled_from(["major", "all"]))
    names = [kind.name for kind in ASPECT_KINDS if kind.major or which == "all"]
    orbs = draw(st.dictionaries(st.sampled_from(names), st.floats(0, 15)))
    return ChartOptions(
        house_system=draw(st.sampled_from(sorted(HOUSE_SYSTEMS))),
        zodiac=zodiac,
        ayanamsa=draw(st.sampled_from(sorted(AYANAMSAS))) if zodiac == "sidereal" else None,
        aspects=AspectOptions(which, orbs, draw(st.floats(0, 15))),
        **draw(
            st.sampled_from(
                [
                    {},
                    {"ephemeris": "moshier"},
                    {"ephemeris_path": str(swiss_ephemeris_files())},
                ]
            )
        ),
    )


@settings(max_examples=120, deadline=None)
@given(births(), chart_options())
def test_a_natal_chart_writes_the_rfc8785_bytes_of_its_document(
    birth: BirthData, options: ChartOptions
) -> None:
    chart = natal_chart(birth, options)
    document = chart.to_dict()
    assert chart.to_json() == canonical_json(document)
    assert chart.input_hash == expected_input_hash(document) == input_hash(birth, options)
    restored = Chart.from_dict(json.loads(chart.to_json()))
    assert restored.to_json() == chart.to_json()
