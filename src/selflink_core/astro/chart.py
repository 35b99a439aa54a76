"""Natal charts: positions, houses, angles, aspects and summaries as one canonical document.

A `Chart` is its document: everything derived later (synastry, composites, transits, matching
features) reads the rounded values in it, so a chart restored from a cache gives the same
answers as a fresh one.
"""

from __future__ import annotations

import hashlib
import math
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from selflink_core.astro.aspects import Point, find_aspects
from selflink_core.astro.canonical import (
    DEGREE_SCALE,
    ILLUMINATION_DECIMALS,
    JULIAN_DAY_DECIMALS,
    ROUNDING_SHIFT,
    canonical_json,
    engine_json,
    fast_canonical_json,
    float_json,
    json_string,
    plain_text,
    rounded,
)
from selflink_core.astro.ephemeris import MOSHIER, Ephemeris, Houses, Sky, julian_day, observe
from selflink_core.astro.errors import InvalidInput
from selflink_core.astro.inputs import (
    AspectOptions,
    BirthData,
    ChartOptions,
    resolve_birth,
)
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
    from collections.abc import Iterable, Mapping, Sequence

NATAL_CHART: Final = "natal_chart"
_MOON: Final = (PLANETS[1],)
_SIGN_INDEX: Final = {sign: index for index, sign in enumerate(SIGNS)}
_PLANET_COUNT: Final = len(PLANETS)


def hash_document(kind: str, payload: Mapping[str, Any], free_text: Iterable[str]) -> str:
    """`input_hash`: SHA-256 of the canonical JSON of kind, rules version and normalized input."""
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


def normalized_longitudes(values: Iterable[float]) -> list[float]:
    """`normalized_longitude` of each value (the rounding written out: this is the hot path)."""
    result = []
    for value in values:
        longitude = ((value % 360.0) * DEGREE_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT) / (
            DEGREE_SCALE
        )
        result.append(0.0 if longitude >= 360.0 else longitude)
    return result


def _rounded_values(values: Iterable[float]) -> list[float]:
    """`rounded` of each value."""
    return [
        (value * DEGREE_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT) / DEGREE_SCALE for value in values
    ]


def _degree_in_sign(longitude: float, sign: int) -> float:
    return ((longitude - 30.0 * sign) * DEGREE_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT) / (
        DEGREE_SCALE
    )


class HouseFinder:
    """House of a longitude among 12 cusps (cusp n starts house n; cusps wrap at 360)."""

    __slots__ = ("_first", "_in_order", "_offsets")

    def __init__(self, cusps: Sequence[float]) -> None:
        first = cusps[0]
        self._first = first
        self._offsets = [(cusp - first) % 360.0 for cusp in cusps]
        self._in_order = self._offsets == sorted(self._offsets)

    def houses(self, longitudes: Sequence[float]) -> list[int]:
        first = self._first
        if self._in_order:
            offsets = self._offsets
            return [bisect_right(offsets, (longitude - first) % 360.0) for longitude in longitudes]
        # Near the poles some systems give cusps out of zodiac order; NumPy's binary search
        # over all longitudes at once defines the answer there (as it always has).
        found = np.searchsorted(
            np.array(self._offsets),
            (np.array(longitudes, dtype=np.float64) - first) % 360.0,
            side="right",
        )
        return found.tolist()  # type: ignore[no-any-return]


def body_records(
    names: Sequence[str],
    longitudes: Iterable[float],
    latitudes: Iterable[float],
    speeds: Iterable[float] | None,
    houses: HouseFinder | None,
) -> list[dict[str, Any]]:
    """Result records of bodies; `speeds` None marks points whose motion means nothing."""
    lon = normalized_longitudes(longitudes)
    count = len(names)
    house: Sequence[int | None] = houses.houses(lon) if houses is not None else [None] * count
    latitude = _rounded_values(latitudes)
    speed: Sequence[float | None] = (
        _rounded_values(speeds) if speeds is not None else [None] * count
    )
    records = []
    for name, longitude, body_latitude, body_speed, body_house in zip(
        names, lon, latitude, speed, house, strict=True
    ):
        sign = int(longitude // 30.0)
        records.append(
            {
                "degree_in_sign": _degree_in_sign(longitude, sign),
                "house": body_house,
                "latitude": body_latitude,
                "longitude": longitude,
                "name": name,
                "retrograde": None if body_speed is None else body_speed < 0.0,
                "sign": SIGNS[sign],
                "speed": body_speed,
            }
        )
    return records


def _angle(longitude: float, speed: float | None) -> dict[str, Any]:
    """The record of an angle at an unrounded longitude (rounding written out: the hot path)."""
    longitude = ((longitude % 360.0) * DEGREE_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT) / (
        DEGREE_SCALE
    )
    if longitude >= 360.0:
        longitude = 0.0
    sign = int(longitude // 30.0)
    return {
        "degree_in_sign": _degree_in_sign(longitude, sign),
        "longitude": longitude,
        "sign": SIGNS[sign],
        "speed": None
        if speed is None
        else (speed * DEGREE_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT) / DEGREE_SCALE,
    }


def angle_records(
    longitudes: dict[str, float], speeds: dict[str, float] | None
) -> dict[str, dict[str, Any]]:
    return {
        name: _angle(longitude, None if speeds is None else speeds[name])
        for name, longitude in longitudes.items()
    }


def cusp_records(cusps: Iterable[float]) -> list[dict[str, Any]]:
    return _cusp_records(normalized_longitudes(cusps))


def _cusp_records(longitudes: Iterable[float]) -> list[dict[str, Any]]:
    """Cusp records of already rounded longitudes."""
    records = []
    for house, longitude in enumerate(longitudes, start=1):
        sign = int(longitude // 30.0)
        records.append(
            {
                "cusp": longitude,
                "degree_in_sign": _degree_in_sign(longitude, sign),
                "house": house,
                "sign": SIGNS[sign],
            }
        )
    return records


_ELEMENT_OF: Final = tuple(sign % 4 for sign in range(12))
_MODALITY_OF: Final = tuple(sign % 3 for sign in range(12))
_ILLUMINATION_SCALE: Final = 10.0**ILLUMINATION_DECIMALS


def _summary(
    planet_signs: Iterable[int], sun: float, moon: float, rising: int | None
) -> dict[str, Any]:
    signs = list(planet_signs)
    elements = [_ELEMENT_OF[sign] for sign in signs]
    modalities = [_MODALITY_OF[sign] for sign in signs]
    ruler = None
    if rising is not None:
        ruler = {
            "sign": SIGNS[rising],
            "traditional": TRADITIONAL_RULERS[rising],
            "modern": MODERN_RULERS[rising],
        }
    elongation = ((moon - sun) % 360.0 * DEGREE_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT) / (
        DEGREE_SCALE
    )
    if elongation >= 360.0:
        elongation = 0.0
    illumination = (1.0 - math.cos(math.radians(elongation))) / 2.0
    return {
        "elements": {name: elements.count(index) for index, name in enumerate(ELEMENTS)},
        "modalities": {name: modalities.count(index) for index, name in enumerate(MODALITIES)},
        "chart_ruler": ruler,
        "moon_phase": {
            "name": MOON_PHASES[int(elongation // 45.0)],
            "angle": elongation,
            "illumination": (illumination * _ILLUMINATION_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT)
            / _ILLUMINATION_SCALE,
        },
    }


def summary(bodies: list[dict[str, Any]], angles: Mapping[str, Any] | None) -> dict[str, Any]:
    """Element and modality balance of the ten planets, chart ruler and Moon phase."""
    by_name = {body["name"]: body for body in bodies}
    return _summary(
        (_SIGN_INDEX[by_name[name]["sign"]] for name in PLANET_NAMES),
        by_name["sun"]["longitude"],
        by_name["moon"]["longitude"],
        None if angles is None else _SIGN_INDEX[angles["ascendant"]["sign"]],
    )


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

    # Set by `natal_chart` only: the canonical JSON of the chart's input and options, made while
    # casting; it also marks a document this module built, which the natal writer may write.
    _json_parts: tuple[str, str] | None = field(default=None, init=False, repr=False, compare=False)

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

    def to_json(self) -> bytes:
        """The canonical (RFC 8785) JSON bytes."""
        if self._json_parts is None:
            return document_json(self.document)
        return _natal_chart_json(self.document, *self._json_parts)


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


_JSON_BOOLEAN: Final = {True: "true", False: "false", None: "null"}
_SUMMARY_JSON: Final = (
    '{"chart_ruler":%s,"elements":{"air":%d,"earth":%d,"fire":%d,"water":%d},'
    '"modalities":{"cardinal":%d,"fixed":%d,"mutable":%d},'
    '"moon_phase":{"angle":%s,"illumination":%s,"name":"%s"}}'
)
_RULER_JSON: Final = '{"modern":"%s","sign":"%s","traditional":"%s"}'
_INPUT_JSON: Final = (
    '{"date":"%s","latitude":%s,"longitude":%s,"place":%s,"time":%s,"time_known":%s,'
    '"utc":"%s","utc_offset":"%s","zone":%s,"zone_source":"%s"}'
)
_PLACE_JSON: Final = '{"admin1":%s,"country":%s,"geonameid":%d,"name":%s}'
_WARNING_JSON: Final = '{"code":"%s","message":%s}'


def _input_json(section: Mapping[str, Any]) -> str:
    """Canonical JSON of a natal chart's normalized input."""
    place = section["place"]
    time = section["time"]
    return _INPUT_JSON % (
        section["date"],
        float_json(section["latitude"]),
        float_json(section["longitude"]),
        "null"
        if place is None
        else _PLACE_JSON
        % (
            json_string(place["admin1"]),
            json_string(place["country"]),
            place["geonameid"],
            json_string(place["name"]),
        ),
        "null" if time is None else f'"{time}"',
        _JSON_BOOLEAN[section["time_known"]],
        section["utc"],
        section["utc_offset"],
        json_string(section["zone"]),
        section["zone_source"],
    )


def _natal_chart_json(document: Mapping[str, Any], input_json: str, options_json: str) -> bytes:
    """Canonical JSON of a natal chart document built by `natal_chart`: the positions section
    (angles to houses) through `engine_json`, for which `_natal_document` inserts every record's
    keys in sorted order and rounds every float to 6 decimals (never to -0.0); the rest from the
    document's fixed shape."""
    positions = engine_json(
        {
            "angles": document["angles"],
            "aspects": document["aspects"],
            "ayanamsa_degrees": document["ayanamsa_degrees"],
            "bodies": document["bodies"],
            "ephemeris": document["ephemeris"],
            "house_system_used": document["house_system_used"],
            "houses": document["houses"],
        }
    )
    facts = document["summary"]
    ruler = facts["chart_ruler"]
    elements = facts["elements"]
    modalities = facts["modalities"]
    phase = facts["moon_phase"]
    summary_json = _SUMMARY_JSON % (
        "null"
        if ruler is None
        else _RULER_JSON % (ruler["modern"], ruler["sign"], ruler["traditional"]),
        elements["air"],
        elements["earth"],
        elements["fire"],
        elements["water"],
        modalities["cardinal"],
        modalities["fixed"],
        modalities["mutable"],
        float_json(phase["angle"]),
        float_json(phase["illumination"]),
        phase["name"],
    )
    warnings = ",".join(
        [
            _WARNING_JSON % (item["code"], json_string(item["message"]))
            for item in document["warnings"]
        ]
    )
    return (
        positions[:-1]
        + "".join(
            (
                ',"input":',
                input_json,
                ',"input_hash":"',
                document["input_hash"],
                '","julian_day_ut":',
                float_json(document["julian_day_ut"]),
                ',"kind":"natal_chart","options":',
                options_json,
                ',"rules_version":"',
                RULES_VERSION,
                '","summary":',
                summary_json,
                ',"time_known":',
                _JSON_BOOLEAN[document["time_known"]],
                ',"warnings":[',
                warnings,
                "]}",
            )
        ).encode()
    )


@dataclass(frozen=True, slots=True)
class _CastingPlan:
    """Everything about a set of chart options that does not depend on the birth."""

    ephemeris: Ephemeris
    options_json: str

    @classmethod
    def of(cls, options: ChartOptions) -> _CastingPlan:
        return cls(
            ephemeris=Ephemeris.for_options(options.source, options.ayanamsa),
            options_json=canonical_json(options.to_dict()).decode(),
        )

    def hash_text(self, input_json: str) -> bytes:
        """The canonical JSON that `input_hash` digests, around the input's canonical JSON."""
        return (
            f'{{"input":{input_json},"kind":"{NATAL_CHART}","options":{self.options_json},'
            f'"rules_version":"{RULES_VERSION}"}}'
        ).encode()


_DEFAULT_OPTIONS: Final = ChartOptions()
_PLAN_CACHE_SIZE: Final = 256
_plans: dict[tuple[Any, ...], _CastingPlan] = {}
_plans_lock = threading.Lock()


def _options_key(options: ChartOptions) -> tuple[Any, ...]:
    aspects: AspectOptions = options.aspects
    return (
        options.house_system,
        options.zodiac,
        options.ayanamsa,
        options.ephemeris,
        options.ephemeris_path,
        aspects.aspects,
        tuple(aspects.orbs.items()),
        aspects.luminary_orb_bonus,
    )


def _casting_plan(options: ChartOptions) -> _CastingPlan:
    """The plan for these options, made once per distinct value (options are immutable)."""
    key = _options_key(options)
    plan = _plans.get(key)
    if plan is None:
        plan = _CastingPlan.of(options)
        with _plans_lock:
            if len(_plans) >= _PLAN_CACHE_SIZE:
                _plans.clear()
            _plans[key] = plan
    return plan


def input_hash(birth: BirthData, options: ChartOptions | None = None) -> str:
    """The `input_hash` a natal chart for these inputs carries (a cheap cache key)."""
    plan = _casting_plan(options or _DEFAULT_OPTIONS)
    section = resolve_birth(birth).to_dict()
    return hashlib.sha256(plan.hash_text(_input_json(section))).hexdigest()


def natal_chart(birth: BirthData, options: ChartOptions | None = None) -> Chart:
    """Cast the natal chart for a birth. Pure apart from reading bundled data files."""
    options = options or _DEFAULT_OPTIONS
    plan = _casting_plan(options)
    resolved = resolve_birth(birth)
    utc = resolved.utc
    jd_ut = julian_day(utc.year, utc.month, utc.day, utc.hour * 3600 + utc.minute * 60 + utc.second)
    at_pole = abs(birth.latitude) == 90
    with_houses = birth.time_known and not at_pole
    sky = observe(
        jd_ut,
        plan.ephemeris,
        house_system=options.house_system if with_houses else None,
        fallback_house_system=FALLBACK_HOUSE_SYSTEM,
        latitude=birth.latitude,
        longitude=birth.longitude,
        chiron=True,
    )
    warnings = _warnings(birth, options, sky, at_pole)
    if not birth.time_known:
        warnings.append(_moon_range_warning(jd_ut, plan.ephemeris))
    section = resolved.to_dict()
    input_json = _input_json(section)
    document = _natal_document(section, input_json, options, plan, jd_ut, sky, warnings)
    chart = Chart(document)
    object.__setattr__(chart, "_json_parts", (input_json, plan.options_json))
    return chart


def _check_finite(sky: Sky) -> None:
    """A chart is a JSON document: an infinite or NaN ephemeris value (never seen in 1800-2200)
    fails here, with the JSON encoder's error, rather than as invalid JSON later."""
    total = sum(map(sum, sky.positions.values()))
    if sky.ayanamsa is not None:
        total += sky.ayanamsa
    houses = sky.houses
    if houses is not None:
        total += sum(houses.cusps) + houses.ascendant + houses.mc + houses.vertex
        total += houses.ascendant_speed + houses.mc_speed + houses.vertex_speed
    if not math.isfinite(total):
        raise ValueError("Out of range float values are not JSON compliant")


def _natal_angles(houses: Houses) -> dict[str, dict[str, Any]]:
    return {
        "ascendant": _angle(houses.ascendant, houses.ascendant_speed),
        "descendant": _angle(houses.ascendant + 180.0, houses.ascendant_speed),
        "ic": _angle(houses.mc + 180.0, houses.mc_speed),
        "mc": _angle(houses.mc, houses.mc_speed),
        "vertex": _angle(houses.vertex, houses.vertex_speed),
    }


def _natal_document(
    section: dict[str, Any],
    input_json: str,
    options: ChartOptions,
    plan: _CastingPlan,
    jd_ut: float,
    sky: Sky,
    warnings: list[dict[str, str]],
) -> dict[str, Any]:
    _check_finite(sky)
    houses = sky.houses
    names = list(sky.positions)
    positions = list(sky.positions.values())
    longitudes = normalized_longitudes([position[0] for position in positions])
    angles = cusps = None
    house_numbers: Sequence[int | None] = [None] * len(names)
    rising = None
    if houses is not None:
        cusp_longitudes = normalized_longitudes(houses.cusps)
        cusps = _cusp_records(cusp_longitudes)
        house_numbers = HouseFinder(cusp_longitudes).houses(longitudes)
        angles = _natal_angles(houses)
        rising = _SIGN_INDEX[angles["ascendant"]["sign"]]
    bodies = []
    points = []
    signs = []
    for name, longitude, position, house in zip(
        names, longitudes, positions, house_numbers, strict=True
    ):
        sign = int(longitude // 30.0)
        speed = (position[3] * DEGREE_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT) / DEGREE_SCALE
        bodies.append(
            {
                "degree_in_sign": (
                    (longitude - 30.0 * sign) * DEGREE_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT
                )
                / DEGREE_SCALE,
                "house": house,
                "latitude": (position[1] * DEGREE_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT)
                / DEGREE_SCALE,
                "longitude": longitude,
                "name": name,
                "retrograde": speed < 0.0,
                "sign": SIGNS[sign],
                "speed": speed,
            }
        )
        points.append((name, longitude, speed))
        signs.append(sign)
    if angles is not None:
        points.extend(
            (name, angles[name]["longitude"], angles[name]["speed"]) for name in ASPECTING_ANGLES
        )
    return {
        "angles": angles,
        "aspects": find_aspects(points, None, options.aspects),
        "ayanamsa_degrees": None if sky.ayanamsa is None else rounded(sky.ayanamsa),
        "bodies": bodies,
        "ephemeris": options.ephemeris,
        "house_system_used": None if houses is None else houses.system,
        "houses": cusps,
        "input": section,
        "input_hash": hashlib.sha256(plan.hash_text(input_json)).hexdigest(),
        "julian_day_ut": rounded(jd_ut, JULIAN_DAY_DECIMALS),
        "kind": NATAL_CHART,
        "options": options.to_dict(),
        "rules_version": RULES_VERSION,
        "summary": _summary(signs[:_PLANET_COUNT], longitudes[0], longitudes[1], rising),
        "time_known": section["time_known"],
        "warnings": warnings,
    }


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
        warnings.append(chiron_warning(options.ephemeris))
    return warnings


def chiron_warning(ephemeris: str) -> dict[str, str]:
    """Why a chart or transit has no Chiron: Moshier never computes it; other files may lack
    the asteroid file."""
    if ephemeris == MOSHIER:
        return warning(
            "chiron_unavailable", "the Moshier ephemeris does not compute Chiron; Chiron is omitted"
        )
    return warning(
        "chiron_unavailable",
        "the ephemeris directory has no asteroid file for this date; Chiron is omitted",
    )


def _moon_range_warning(jd_ut: float, ephemeris: Ephemeris) -> dict[str, str]:
    before = observe(jd_ut - 0.5, ephemeris, bodies=_MOON).positions["moon"][0]
    after = observe(jd_ut + 0.5, ephemeris, bodies=_MOON).positions["moon"][0]
    same_sign = int(normalized_longitude(before) // 30) == int(normalized_longitude(after) // 30)
    return warning(
        "moon_position_uncertain" if same_sign else "moon_sign_uncertain",
        f"without a birth time the Moon lies between {_format_position(before)} and "
        f"{_format_position(after)} (12 hours either side of noon)",
    )
