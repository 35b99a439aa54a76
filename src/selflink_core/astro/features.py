"""Per-person features for matching: the longitudes a compatibility score compares, element and
modality balance, and the life path, for one chart or a batch of births.

`batch_features` skips everything a score does not read (aspects, summaries, JSON) and agrees
exactly with `chart_features` of the full chart.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import polars as pl

from selflink_core.astro.chart import Chart, normalized_longitudes
from selflink_core.astro.ephemeris import Ephemeris, EphemerisSource, julian_day, observe
from selflink_core.astro.inputs import BirthData, ChartOptions, resolve_birth
from selflink_core.astro.numerology import life_path
from selflink_core.astro.zodiac import ELEMENTS, FALLBACK_HOUSE_SYSTEM, MODALITIES, PLANETS

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from concurrent.futures import Executor

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


def _computed(
    birth: BirthData, house_system: str, ephemeris: Ephemeris
) -> tuple[list[float], float | None, float | None]:
    """The ten planets' longitudes and the ascendant and mc (None without a time), as rounded
    as in a chart, computed without the rest of a chart."""
    utc = resolve_birth(birth).utc
    jd_ut = julian_day(utc.year, utc.month, utc.day, utc.hour * 3600 + utc.minute * 60 + utc.second)
    with_houses = birth.time_known and abs(birth.latitude) != 90
    sky = observe(
        jd_ut,
        ephemeris,
        bodies=PLANETS,
        house_system=house_system if with_houses else None,
        fallback_house_system=FALLBACK_HOUSE_SYSTEM,
        latitude=birth.latitude,
        longitude=birth.longitude,
    )
    longitudes = normalized_longitudes([position[0] for position in sky.positions.values()])
    houses = sky.houses
    if houses is None:
        return longitudes, None, None
    ascendant, mc = normalized_longitudes((houses.ascendant, houses.mc))
    return longitudes, ascendant, mc


def birth_features(birth: BirthData, options: ChartOptions | None = None) -> ChartFeatures:
    """Features straight from birth data: only the ten planets and the angles are computed."""
    options = options or ChartOptions()
    ephemeris = Ephemeris.for_options(options.source, options.ayanamsa)
    longitudes, ascendant, mc = _computed(birth, options.house_system, ephemeris)
    elements, modalities = _balance(int(longitude // 30.0) for longitude in longitudes)
    return ChartFeatures(
        sun=longitudes[0],
        moon=longitudes[1],
        mercury=longitudes[2],
        venus=longitudes[3],
        mars=longitudes[4],
        ascendant=ascendant,
        mc=mc,
        elements=elements,
        modalities=modalities,
        life_path=life_path(birth.date),
        time_known=birth.time_known,
    )


def features_frame(features: Sequence[ChartFeatures]) -> pl.DataFrame:
    """One row per person, in input order, with `FEATURE_SCHEMA` columns."""
    return pl.DataFrame([item.row() for item in features], schema=FEATURE_SCHEMA, orient="row")


# Births per task when a batch is spread over an executor's workers: large enough that
# pickling is negligible, small enough to keep both of two busy cores fed to the end.
BATCH_CHUNK: Final = 500


def _feature_rows(
    births: Sequence[BirthData], settings: tuple[str, str | None, str, str | None]
) -> list[tuple[float | int | bool | None, ...]]:
    """`batch_features` rows for (house system, ayanamsa, ephemeris, ephemeris path):
    module-level and with plain arguments so that workers can run it (chart options do not
    pickle)."""
    house_system, ayanamsa, name, path = settings
    ephemeris = Ephemeris.for_options(EphemerisSource(name, path), ayanamsa)
    rows = []
    for birth in births:
        longitudes, ascendant, mc = _computed(birth, house_system, ephemeris)
        elements, modalities = _balance(int(longitude // 30.0) for longitude in longitudes)
        rows.append(
            (
                *longitudes[: len(FEATURE_BODIES)],
                ascendant,
                mc,
                *elements,
                *modalities,
                life_path(birth.date),
                birth.time_known,
            )
        )
    return rows


def batch_features(
    births: Sequence[BirthData],
    options: ChartOptions | None = None,
    *,
    executor: Executor | None = None,
) -> pl.DataFrame:
    """Features of many births (the matching precompute), rows in input order; the same values
    as `birth_features`, without a `ChartFeatures` object per birth.

    With an `executor` the caller owns (a `ProcessPoolExecutor`: threads cannot run the
    ephemeris in parallel), births are computed in chunks by its workers; the frame is the
    same. The engine never starts processes itself.
    """
    options = options or ChartOptions()
    settings = (options.house_system, options.ayanamsa, options.ephemeris, options.ephemeris_path)
    if executor is None:
        rows = _feature_rows(births, settings)
    else:
        chunks = [
            births[start : start + BATCH_CHUNK] for start in range(0, len(births), BATCH_CHUNK)
        ]
        compute = functools.partial(_feature_rows, settings=settings)
        rows = [row for part in executor.map(compute, chunks) for row in part]
    return pl.DataFrame(rows, schema=FEATURE_SCHEMA, orient="row")
