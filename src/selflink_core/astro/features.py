"""Per-person features for matching: the longitudes a compatibility score compares, element and
modality balance, and the life path, for one chart or a batch of births.

`batch_features` skips everything a score does not read (aspects, summaries, JSON) and agrees
exactly with `chart_features` of the full chart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import polars as pl

from selflink_core.astro.chart import Chart, normalized_longitude
from selflink_core.astro.ephemeris import Ephemeris, julian_day, observe
from selflink_core.astro.inputs import BirthData, ChartOptions, resolve_birth
from selflink_core.astro.numerology import life_path
from selflink_core.astro.zodiac import ELEMENTS, FALLBACK_HOUSE_SYSTEM, MODALITIES, PLANETS

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

FEATURE_BODIES: Final = ("sun", "moon", "mercury", "venus", "mars")
FEATURE_SCHEMA: Final = {
    **dict.fromkeys(FEATURE_BODIES, pl.Float64),
    "ascendant": pl.Float64,
    "mc": pl.Float64,
    **dict.fromkeys(ELEMENTS, pl.Int8),
    **dict.fromkeys(MODALITIES, pl.Int8),
    "life_path": pl.Int8,
    "time_known": pl.Boolean,
}


@dataclass(frozen=True, slots=True)
class ChartFeatures:
    """Longitudes in degrees [0, 360); ascendant and mc are None without a birth time."""

    sun: float
    moon: float
    mercury: float
    venus: float
    mars: float
    ascendant: float | None
    mc: float | None
    elements: tuple[int, int, int, int]
    modalities: tuple[int, int, int]
    life_path: int
    time_known: bool

    def row(self) -> tuple[float | int | bool | None, ...]:
        return (
            self.sun,
            self.moon,
            self.mercury,
            self.venus,
            self.mars,
            self.ascendant,
            self.mc,
            *self.elements,
            *self.modalities,
            self.life_path,
            self.time_known,
        )


def _balance(signs: Iterable[int]) -> tuple[tuple[int, int, int, int], tuple[int, int, int]]:
    elements = [0, 0, 0, 0]
    modalities = [0, 0, 0]
    for sign in signs:
        elements[sign % 4] += 1
        modalities[sign % 3] += 1
    return (elements[0], elements[1], elements[2], elements[3]), (
        modalities[0],
        modalities[1],
        modalities[2],
    )


def chart_features(chart: Chart) -> ChartFeatures:
    """Features of a full chart (fresh or restored from a cache)."""
    document = chart.document
    longitudes = {body["name"]: body["longitude"] for body in document["bodies"]}
    planets = [name for name, _ in PLANETS]
    elements, modalities = _balance(int(longitudes[name] // 30.0) for name in planets)
    angles = document["angles"]
    birth_date = document["input"]["date"]
    return ChartFeatures(
        sun=longitudes["sun"],
        moon=longitudes["moon"],
        mercury=longitudes["mercury"],
        venus=longitudes["venus"],
        mars=longitudes["mars"],
        ascendant=None if angles is None else angles["ascendant"]["longitude"],
        mc=None if angles is None else angles["mc"]["longitude"],
        elements=elements,
        modalities=modalities,
        life_path=life_path(dt.date.fromisoformat(birth_date)),
        time_known=bool(document["time_known"]),
    )


def birth_features(birth: BirthData, options: ChartOptions | None = None) -> ChartFeatures:
    """Features straight from birth data: only the ten planets and the angles are computed."""
    options = options or ChartOptions()
    resolved = resolve_birth(birth)
    utc = resolved.utc
    jd_ut = julian_day(utc.year, utc.month, utc.day, utc.hour * 3600 + utc.minute * 60 + utc.second)
    with_houses = birth.time_known and abs(birth.latitude) != 90
    sky = observe(
        jd_ut,
        Ephemeris.for_options(options.ephemeris_path, options.ayanamsa),
        bodies=PLANETS,
        house_system=options.house_system if with_houses else None,
        fallback_house_system=FALLBACK_HOUSE_SYSTEM,
        latitude=birth.latitude,
        longitude=birth.longitude,
    )
    longitudes = {
        name: normalized_longitude(position[0]) for name, position in sky.positions.items()
    }
    elements, modalities = _balance(int(longitudes[name] // 30.0) for name, _ in PLANETS)
    houses = sky.houses
    return ChartFeatures(
        sun=longitudes["sun"],
        moon=longitudes["moon"],
        mercury=longitudes["mercury"],
        venus=longitudes["venus"],
        mars=longitudes["mars"],
        ascendant=None if houses is None else normalized_longitude(houses.ascendant),
        mc=None if houses is None else normalized_longitude(houses.mc),
        elements=elements,
        modalities=modalities,
        life_path=life_path(birth.date),
        time_known=birth.time_known,
    )


def features_frame(features: Sequence[ChartFeatures]) -> pl.DataFrame:
    """One row per person, in input order, with `FEATURE_SCHEMA` columns."""
    return pl.DataFrame([item.row() for item in features], schema=FEATURE_SCHEMA, orient="row")


def batch_features(
    births: Sequence[BirthData], options: ChartOptions | None = None
) -> pl.DataFrame:
    """Features of many births (the matching precompute), rows in input order."""
    return features_frame([birth_features(birth, options) for birth in births])
