"""Natal charts: positions, houses, angles, aspects and summaries as one canonical document.

A `Chart` is its document: everything derived later (synastry, composites, transits, matching
features) reads the rounded values in it, so a chart restored from a cache gives the same
answers as a fresh one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from selflink_core.astro.aspects import Point, find_aspects
from selflink_core.astro.canonical import (
    DECIMALS,
    ILLUMINATION_DECIMALS,
    JULIAN_DAY_DECIMALS,
    canonical_json,
    fast_canonical_json,
    plain_text,
    rounded,
)
from selflink_core.astro.ephemeris import Ephemeris, Sky, julian_day, observe
from selflink_core.astro.errors import InvalidInput
from selflink_core.astro.inputs import BirthData, ChartOptions, ResolvedBirth, resolve_birth
from selflink_core.astro.zodiac import (
    ASPECTING_ANGLES,
    ELEMENTS,
    FALLBACK_HOUSE_SYSTEM,
    MODALITIES,
    MODERN_RULERS,
    MOON_PHASES,
    PLANET_NAMES,
    PLANETS,
    RULES_VERSION,
    SIGNS,
    TRADITIONAL_RULERS,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

NATAL_CHART: Final = "natal_chart"
_MOON: Final = (PLANETS[1],)


def hash_document(kind: str, payload: Mapping[str, Any], free_text: Iterable[str]) -> str:
    """`input_hash`: SHA-256 of the canonical JSON of kind, rules version and normalized input."""
    import hashlib  # noqa: PLC0415

    document = {"kind": kind, "rules_version": RULES_VERSION, **payload}
    serialize = fast_canonical_json if all(map(plain_text, free_text)) else canonical_json
    return hashlib.sha256(serialize(document)).hexdigest()


def sign_of(longitude: float) -> tuple[int, float]:
    """Sign index and degree within the sign of a rounded longitude."""
    index = int(longitude // 30.0)
    return index, rounded(longitude - 30.0 * index)


def normalized_longitude(value: float) -> float:
    """Rounded longitude in [0, 360)."""
    result = rounded(value % 360.0)
    return 0.0 if result >= 360.0 else result


def _rounded_array(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """`canonical.rounded` applied to an array (same rule, same results)."""
    rounded_values = np.asarray(values, dtype=np.float64).round(DECIMALS)
    return rounded_values + 0.0


def _longitudes(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    result = _rounded_array(np.asarray(values, dtype=np.float64) % 360.0)
    result[result >= 360.0] = 0.0
    return result


class HouseFinder:
    """House of a longitude among 12 cusps (cusp n starts house n; cusps wrap at 360)."""

    __slots__ = ("_first", "_offsets")

    def __init__(self, cusps: list[float]) -> None:
        self._first = cusps[0]
        self._offsets = np.array([(cusp - cusps[0]) % 360.0 for cusp in cusps])

    def houses(self, longitudes: npt.NDArray[np.float64]) -> list[int]:
        offsets = (longitudes - self._first) % 360.0
        return np.searchsorted(self._offsets, offsets, side="right").tolist()  # type: ignore[no-any-return]


def body_records(
    names: list[str],
    longitudes: npt.ArrayLike,
    latitudes: npt.ArrayLike,
    speeds: npt.ArrayLike | None,
    houses: HouseFinder | None,
) -> list[dict[str, Any]]:
    """Result records of bodies; `speeds` None marks points whose motion means nothing."""
    lon = _longitudes(longitudes)
    sign = (lon // 30.0).astype(np.intp)
    degree = _rounded_array(lon - 30.0 * sign).tolist()
    count = len(names)
    house = houses.houses(lon) if houses is not None else [None] * count
    latitude = _rounded_array(latitudes).tolist()
    speed: list[float | None] = (
        _rounded_array(speeds).tolist() if speeds is not None else [None] * count
    )
    return [
        {
            "degree_in_sign": degree[index],
            "house": house[index],
            "latitude": latitude[index],
            "longitude": longitude,
            "name": names[index],
            "retrograde": _retrograde(speed[index]),
            "sign": SIGNS[sign_index],
            "speed": speed[index],
        }
        for index, (longitude, sign_index) in enumerate(
            zip(lon.tolist(), sign.tolist(), strict=True)
        )
    ]


def _retrograde(speed: float | None) -> bool | None:
    return None if speed is None else speed < 0.0


def angle_records(
    longitudes: dict[str, float], speeds: dict[str, float] | None
) -> dict[str, dict[str, Any]]:
    names = list(longitudes)
    lon = _longitudes(list(longitudes.values()))
    sign = (lon // 30.0).astype(np.intp)
    degree = _rounded_array(lon - 30.0 * sign).tolist()
    speed = _rounded_array([speeds[name] for name in names]).tolist() if speeds else None
    return {
        name: {
            "degree_in_sign": degree[index],
            "longitude": longitude,
            "sign": SIGNS[sign_index],
            "speed": None if speed is None else speed[index],
        }
        for index, (name, longitude, sign_index) in enumerate(
            zip(names, lon.tolist(), sign.tolist(), strict=True)
        )
    }


def cusp_records(cusps: npt.ArrayLike) -> list[dict[str, Any]]:
    lon = _longitudes(cusps)
    sign = (lon // 30.0).astype(np.intp)
    degree = _rounded_array(lon - 30.0 * sign).tolist()
    return [
        {
            "cusp": longitude,
            "degree_in_sign": degree[index],
            "house": index + 1,
            "sign": SIGNS[sign_index],
        }
        for index, (longitude, sign_index) in enumerate(
            zip(lon.tolist(), sign.tolist(), strict=True)
        )
    ]


def summary(bodies: list[dict[str, Any]], angles: Mapping[str, Any] | None) -> dict[str, Any]:
    """Element and modality balance of the ten planets, chart ruler and Moon phase."""
    by_name = {body["name"]: body for body in bodies}
    elements = dict.fromkeys(ELEMENTS, 0)
    modalities = dict.fromkeys(MODALITIES, 0)
    for name in PLANET_NAMES:
        sign = SIGNS.index(by_name[name]["sign"])
        elements[ELEMENTS[sign % 4]] += 1
        modalities[MODALITIES[sign % 3]] += 1
    ruler = None
    if angles is not None:
        rising = SIGNS.index(angles["ascendant"]["sign"])
        ruler = {
            "sign": SIGNS[rising],
            "traditional": TRADITIONAL_RULERS[rising],
            "modern": MODERN_RULERS[rising],
        }
    elongation = normalized_longitude(by_name["moon"]["longitude"] - by_name["sun"]["longitude"])
    return {
        "elements": elements,
        "modalities": modalities,
        "chart_ruler": ruler,
        "moon_phase": {
            "name": MOON_PHASES[int(elongation // 45.0)],
            "angle": elongation,
            "illumination": rounded(
                (1.0 - math.cos(math.radians(elongation))) / 2.0, ILLUMINATION_DECIMALS
            ),
        },
    }


def chart_points(document: Mapping[str, Any], *, with_speed: bool = True) -> list[Point]:
    """Bodies then aspecting angles of a chart document, as aspect points."""
    points = [
        Point(body["name"], body["longitude"], body["speed"] if with_speed else None)
        for body in document["bodies"]
    ]
    angles = document["angles"]
    if angles is not None:
        points.extend(
            Point(name, angles[name]["longitude"], angles[name]["speed"] if with_speed else None)
            for name in ASPECTING_ANGLES
        )
    return points


def warning(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _format_position(longitude: float) -> str:
    sign, degree = sign_of(normalized_longitude(longitude))
    minutes = min(round((degree % 1) * 60), 59)
    return f"{int(degree)}°{minutes:02d}' {SIGNS[sign]}"


@dataclass(frozen=True, slots=True)
class Result:
    """An engine result. `document` is the canonical content: treat it as read-only."""

    document: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.document["kind"])

    @property
    def input_hash(self) -> str:
        return str(self.document["input_hash"])

    def to_dict(self) -> dict[str, Any]:
        return self.document

    def to_json(self) -> bytes:
        """The canonical (RFC 8785) JSON bytes."""
        return document_json(self.document)


@dataclass(frozen=True, slots=True)
class Chart(Result):
    """A natal chart."""

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Chart:
        """Restore a chart from its document (for instance a cached canonical JSON)."""
        if document.get("kind") != NATAL_CHART:
            raise InvalidInput("chart", "not a natal chart document")
        if document.get("rules_version") != RULES_VERSION:
            raise InvalidInput(
                "chart", f"computed under {document.get('rules_version')!r}, not {RULES_VERSION!r}"
            )
        return cls(dict(document))

    @property
    def time_known(self) -> bool:
        return bool(self.document["time_known"])

    @property
    def zodiac(self) -> tuple[str, str | None]:
        options = self.document["options"]
        return options["zodiac"], options["ayanamsa"]


def free_text_of(document: Mapping[str, Any]) -> list[str]:
    """Strings in a document that do not come from the engine's fixed vocabulary."""
    texts = [item["message"] for item in document.get("warnings", ())]
    section = document.get("input")
    if section is not None and "zone" in section:
        texts.append(section["zone"])
        place = section["place"]
        if place is not None:
            texts.extend((place["name"], place["admin1"]))
    return texts


def document_json(document: Mapping[str, Any]) -> bytes:
    if all(map(plain_text, free_text_of(document))):
        return fast_canonical_json(document)
    return canonical_json(document)


def input_hash(birth: BirthData, options: ChartOptions | None = None) -> str:
    """The `input_hash` a natal chart for these inputs carries (a cheap cache key)."""
    resolved = resolve_birth(birth)
    return _natal_hash(resolved, options or ChartOptions())


def _natal_hash(resolved: ResolvedBirth, options: ChartOptions) -> str:
    payload = {"input": resolved.to_dict(), "options": options.to_dict()}
    return hash_document(NATAL_CHART, payload, resolved.free_text())


def natal_chart(birth: BirthData, options: ChartOptions | None = None) -> Chart:
    """Cast the natal chart for a birth. Pure apart from reading bundled data files."""
    options = options or ChartOptions()
    resolved = resolve_birth(birth)
    utc = resolved.utc
    jd_ut = julian_day(utc.year, utc.month, utc.day, utc.hour * 3600 + utc.minute * 60 + utc.second)
    ephemeris = Ephemeris.for_options(options.ephemeris_path, options.ayanamsa)
    at_pole = abs(birth.latitude) == 90
    with_houses = birth.time_known and not at_pole
    sky = observe(
        jd_ut,
        ephemeris,
        house_system=options.house_system if with_houses else None,
        fallback_house_system=FALLBACK_HOUSE_SYSTEM,
        latitude=birth.latitude,
        longitude=birth.longitude,
    )
    warnings = _warnings(birth, options, sky, at_pole)
    if not birth.time_known:
        warnings.append(_moon_range_warning(jd_ut, ephemeris))
    return Chart(_natal_document(resolved, options, jd_ut, sky, warnings))


def _natal_document(
    resolved: ResolvedBirth,
    options: ChartOptions,
    jd_ut: float,
    sky: Sky,
    warnings: list[dict[str, str]],
) -> dict[str, Any]:
    houses = sky.houses
    finder = None
    angles = cusps = None
    if houses is not None:
        cusps = cusp_records(houses.cusps)
        finder = HouseFinder([cusp["cusp"] for cusp in cusps])
        angles = angle_records(
            {
                "ascendant": houses.ascendant,
                "descendant": houses.ascendant + 180.0,
                "ic": houses.mc + 180.0,
                "mc": houses.mc,
                "vertex": houses.vertex,
            },
            {
                "ascendant": houses.ascendant_speed,
                "descendant": houses.ascendant_speed,
                "ic": houses.mc_speed,
                "mc": houses.mc_speed,
                "vertex": houses.vertex_speed,
            },
        )
    positions = np.array(list(sky.positions.values()))
    bodies = body_records(
        list(sky.positions), positions[:, 0], positions[:, 1], positions[:, 3], finder
    )
    document: dict[str, Any] = {
        "angles": angles,
        "aspects": [],
        "ayanamsa_degrees": None if sky.ayanamsa is None else rounded(sky.ayanamsa),
        "bodies": bodies,
        "ephemeris": options.ephemeris,
        "house_system_used": None if houses is None else houses.system,
        "houses": cusps,
        "input": resolved.to_dict(),
        "input_hash": _natal_hash(resolved, options),
        "julian_day_ut": rounded(jd_ut, JULIAN_DAY_DECIMALS),
        "kind": NATAL_CHART,
        "options": options.to_dict(),
        "rules_version": RULES_VERSION,
        "summary": summary(bodies, angles),
        "time_known": resolved.birth.time_known,
        "warnings": warnings,
    }
    document["aspects"] = find_aspects(chart_points(document), None, options.aspects)
    return document


def _warnings(
    birth: BirthData, options: ChartOptions, sky: Sky, at_pole: bool
) -> list[dict[str, str]]:
    warnings = []
    if not birth.time_known:
        warnings.append(
            warning(
                "time_unknown",
                "birth time unknown: positions are for 12:00 local time; "
                "houses, angles and aspects to them are omitted",
            )
        )
    if birth.time_known and at_pole:
        warnings.append(
            warning(
                "angles_undefined",
                "the ascendant and house cusps are undefined at the geographic poles; "
                "houses and angles are omitted",
            )
        )
    if sky.house_fallback:
        warnings.append(
            warning(
                "house_system_fallback",
                f"{options.house_system} houses are undefined at latitude "
                f"{birth.latitude:g}; whole sign houses are used instead",
            )
        )
    if sky.chiron_missing:
        warnings.append(
            warning(
                "chiron_unavailable",
                "the ephemeris directory has no asteroid file for this date; Chiron is omitted",
            )
        )
    return warnings


def _moon_range_warning(jd_ut: float, ephemeris: Ephemeris) -> dict[str, str]:
    before = observe(jd_ut - 0.5, ephemeris, bodies=_MOON).positions["moon"][0]
    after = observe(jd_ut + 0.5, ephemeris, bodies=_MOON).positions["moon"][0]
    same_sign = int(normalized_longitude(before) // 30) == int(normalized_longitude(after) // 30)
    return warning(
        "moon_position_uncertain" if same_sign else "moon_sign_uncertain",
        f"without a birth time the Moon lies between {_format_position(before)} and "
        f"{_format_position(after)} (12 hours either side of noon)",
    )
