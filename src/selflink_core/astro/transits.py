"""Transits: where the bodies are at a given moment, and how they aspect a natal chart.

The moment is always an argument (the CLI or API supplies "now"); the core never reads a clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from selflink_core.astro.aspects import Point, find_aspects
from selflink_core.astro.canonical import JULIAN_DAY_DECIMALS, rounded
from selflink_core.astro.chart import (
    Chart,
    HouseFinder,
    Result,
    body_records,
    chart_points,
    chiron_warning,
    hash_document,
)
from selflink_core.astro.ephemeris import (
    SWISS_EPHEMERIS,
    Ephemeris,
    EphemerisSource,
    julian_day,
    observe,
)
from selflink_core.astro.inputs import AspectOptions, check_moment, transit_aspect_options
from selflink_core.astro.zodiac import RULES_VERSION

if TYPE_CHECKING:
    import datetime as dt

TRANSITS: Final = "transits"


def transits(
    natal: Chart,
    at: dt.datetime,
    aspects: AspectOptions | None = None,
    *,
    ephemeris: str = SWISS_EPHEMERIS,
    ephemeris_path: str | None = None,
) -> Result:
    """Positions at `at` (an aware datetime, whole seconds) in the natal chart's zodiac, the
    natal house each falls in, and aspects from each transiting body (`first`) to each natal
    point (`second`). Natal points stand still, so `applying` follows the transiting body.
    `ephemeris` and `ephemeris_path` are as in `ChartOptions`.
    """
    moment = check_moment(at)
    options = aspects or transit_aspect_options()
    zodiac, ayanamsa = natal.zodiac
    source = EphemerisSource(ephemeris, ephemeris_path)
    computing = Ephemeris.for_options(source, ayanamsa if zodiac == "sidereal" else None)
    jd_ut = julian_day(
        moment.year,
        moment.month,
        moment.day,
        moment.hour * 3600 + moment.minute * 60 + moment.second,
    )
    sky = observe(jd_ut, computing, chiron=True)
    cusps = natal.document["houses"]
    finder = None if cusps is None else HouseFinder([cusp["cusp"] for cusp in cusps])
    positions = list(sky.positions.values())
    bodies = body_records(
        list(sky.positions),
        [position[0] for position in positions],
        [position[1] for position in positions],
        [position[3] for position in positions],
        finder,
    )
    transiting = [Point(body["name"], body["longitude"], body["speed"]) for body in bodies]
    natal_points = [
        Point(point.name, point.longitude, 0.0) for point in chart_points(natal.document)
    ]
    payload = {
        "at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "natal_input_hash": natal.input_hash,
        "options": {
            "aspects": options.to_dict(),
            "ayanamsa": ayanamsa,
            "ephemeris": ephemeris,
            "ephemeris_files": source.files,
            "zodiac": zodiac,
        },
    }
    warnings = [chiron_warning(ephemeris)] if sky.chiron_missing else []
    document: dict[str, Any] = {
        "aspects": find_aspects(transiting, natal_points, options),
        "bodies": bodies,
        "ephemeris": ephemeris,
        "input_hash": hash_document(TRANSITS, payload, ()),
        "julian_day_ut": rounded(jd_ut, JULIAN_DAY_DECIMALS),
        "kind": TRANSITS,
        "rules_version": RULES_VERSION,
        "warnings": warnings,
        **payload,
    }
    return Result(document)
