"""From API requests to the engine's inputs, checked by the engine's own rules.

The API and the personal-data store speak `accounts.schemas.BirthData`; the engine speaks
`selflink_core.astro.BirthData`. Everything here is synchronous and may read the bundled
gazetteer (seconds on first use), so callers run it in a worker thread.

Every engine error becomes a 422 problem naming the field in the API's terms, with the engine's
`code` and, for an ambiguous place or a daylight-saving gap or overlap, the `choices`.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import msgspec

from selflink_api.accounts.schemas import BirthData
from selflink_api.astro.schemas import ChartOptionsInput
from selflink_api.platform.problems import VALIDATION, ProblemError
from selflink_core import astro
from selflink_core.astro.canonical import rounded
from selflink_core.astro.errors import (
    AmbiguousLocalTime,
    AmbiguousPlace,
    AstroError,
    InvalidBirthData,
    InvalidInput,
    NeedsDisambiguation,
    NonexistentLocalTime,
    UnknownPlace,
)
from selflink_core.astro.inputs import (
    COORDINATE_DECIMALS,
    canonical_zone,
    format_utc_offset,
    resolve_birth,
)
from selflink_core.astro.zodiac import LUMINARY_ORB_BONUS

API_FIELD_NAMES = {"zone": "timezone"}
"""Engine field names that the API spells differently."""


@dataclass(frozen=True)
class Where:
    """Where an input came from, so errors point at it: `prefix` + field, and the source."""

    source: str = "body"
    prefix: str = ""


BODY = Where()
QUERY = Where(source="query")
STORED = Where(source="birth-data")
"""The signed-in person's stored birth data (it no longer passes the rules)."""


def _field_of(error: AstroError) -> str:
    if isinstance(error, InvalidInput):
        return API_FIELD_NAMES.get(error.field, error.field)
    if isinstance(error, UnknownPlace | AmbiguousPlace):
        return "place"
    if isinstance(error, NonexistentLocalTime | AmbiguousLocalTime):
        return "time"
    return "date"  # EphemerisUnavailable: the configured files do not cover the date


def _choices(error: NeedsDisambiguation) -> list[dict[str, Any]]:
    if isinstance(error, AmbiguousPlace):
        return [
            {
                "geonameid": place.geonameid,
                "place": place.name,
                "country": place.country,
                "admin1": place.admin1,
                "latitude": place.latitude,
                "longitude": place.longitude,
                "timezone": place.zone,
                "population": place.population,
            }
            for place in error.candidates
        ]
    return error.choices


def astro_problem(error: AstroError, where: Where) -> ProblemError:
    """The 422 problem for an engine error, in the API's field names."""
    field = where.prefix + _field_of(error)
    message = error.message
    if isinstance(error, InvalidInput):
        message = message.removeprefix(f"{error.field}: ")
    entry: dict[str, Any] = {
        "field": field,
        "source": where.source,
        "message": message,
        "code": error.code,
    }
    if isinstance(error, NeedsDisambiguation):
        entry["choices"] = _choices(error)
    return ProblemError(VALIDATION, f"{field}: {message}", errors=[entry])


@contextmanager
def engine_errors(where: Where) -> Iterator[None]:
    """Turn engine errors raised in the block into 422 problems about `where`."""
    try:
        yield
    except AstroError as error:
        raise astro_problem(error, where) from None


def has_location(birth: BirthData) -> bool:
    return birth.geonameid is not None or (
        birth.latitude is not None and birth.longitude is not None
    )


def normalize_birth(birth: BirthData, where: Where = BODY) -> BirthData:
    """Birth data as it is stored: checked, zone spelled canonically, a place name resolved.

    A place name without coordinates is looked up in the gazetteer and replaced by the place's
    name, country, GeoNames id, coordinates and zone; with coordinates it is only a label. When
    a location is known, the wall-clock time must resolve to one instant (a daylight-saving gap
    or overlap needs `fold` or `utc_offset`).
    """
    with engine_errors(where):
        normalized = _normalized(birth)
        if has_location(normalized):
            resolve_birth(core_birth(normalized))
    return normalized


def _normalized(birth: BirthData) -> BirthData:
    astro.parse_date(birth.date.isoformat())
    if birth.time is not None:
        astro.parse_time(birth.time)
    checked = msgspec.structs.replace(
        birth,
        utc_offset=None
        if birth.utc_offset is None
        else format_utc_offset(astro.parse_utc_offset(birth.utc_offset)),
        timezone=None if birth.timezone is None else canonical_zone(birth.timezone),
        place=(birth.place.strip() or None) if birth.place is not None else None,
    )
    given_coordinates = birth.latitude is not None or birth.longitude is not None
    if checked.geonameid is not None or (checked.place is not None and not given_coordinates):
        place = _place_of(checked)
        if checked.timezone is not None and checked.timezone != place.zone:
            raise InvalidBirthData(
                "zone", f"{place.name} keeps {place.zone} time, not {checked.timezone}"
            )
        return msgspec.structs.replace(
            checked,
            timezone=place.zone,
            place=place.name,
            country=place.country,
            geonameid=place.geonameid,
            latitude=rounded(place.latitude, COORDINATE_DECIMALS),
            longitude=rounded(place.longitude, COORDINATE_DECIMALS),
        )
    if checked.country is not None:
        raise InvalidBirthData("country", "narrows a place name; it cannot go with coordinates")
    if not given_coordinates:
        return checked
    if checked.latitude is None or checked.longitude is None:
        missing = "longitude" if checked.longitude is None else "latitude"
        raise InvalidBirthData(missing, "give latitude and longitude together")
    return msgspec.structs.replace(
        checked,
        latitude=rounded(checked.latitude, COORDINATE_DECIMALS),
        longitude=rounded(checked.longitude, COORDINATE_DECIMALS),
    )


def _place_of(birth: BirthData) -> astro.Place:
    """The gazetteer entry that `geonameid`, or else the place name and country, designate."""
    label = birth.place
    if birth.geonameid is None:
        assert label is not None
        return astro.resolve_place(label, birth.country)
    place = astro.resolve_place(f"geonames:{birth.geonameid}")
    if birth.country is not None and birth.country.upper() != place.country:
        raise InvalidBirthData("country", f"geonames:{place.geonameid} is in {place.country}")
    if label is not None and label not in {place.name, f"geonames:{place.geonameid}"}:
        raise InvalidBirthData("place", f"geonames:{place.geonameid} is {place.name}")
    for name, given, own in (
        ("latitude", birth.latitude, place.latitude),
        ("longitude", birth.longitude, place.longitude),
    ):
        if given is not None and rounded(given, COORDINATE_DECIMALS) != rounded(
            own, COORDINATE_DECIMALS
        ):
            raise InvalidBirthData(name, f"{place.name} lies at {own}, not {given}")
    return place


def core_birth(birth: BirthData) -> astro.BirthData:
    """The engine's birth data for normalized, located birth data (`has_location`)."""
    time = astro.parse_time(birth.time) if birth.time is not None else None
    offset = astro.parse_utc_offset(birth.utc_offset) if birth.utc_offset is not None else None
    if birth.geonameid is not None:
        place = astro.resolve_place(f"geonames:{birth.geonameid}")
        return astro.BirthData.at_place(place, birth.date, time, fold=birth.fold, utc_offset=offset)
    if birth.latitude is None or birth.longitude is None:
        raise InvalidBirthData("place", "the birth data has no place or coordinates")
    return astro.BirthData(
        date=birth.date,
        time=time,
        latitude=birth.latitude,
        longitude=birth.longitude,
        zone=birth.timezone,
        fold=birth.fold,
        utc_offset=offset,
    )


def chart_options(
    choice: ChartOptionsInput, ephemeris_path: str | None, where: Where
) -> astro.ChartOptions:
    """The engine's chart options for a request's choice (the ephemeris is the server's)."""
    with engine_errors(where):
        return astro.ChartOptions(
            house_system=choice.house_system,
            zodiac=choice.zodiac,
            ayanamsa=choice.ayanamsa,
            aspects=astro.AspectOptions(
                aspects=choice.aspects,
                orbs=choice.orbs or {},
                luminary_orb_bonus=LUMINARY_ORB_BONUS
                if choice.luminary_orb_bonus is None
                else choice.luminary_orb_bonus,
            ),
            ephemeris_path=ephemeris_path,
        )


def options_key(options: astro.ChartOptions) -> str:
    """What tells apart the cached charts of one person: the options, not the ephemeris."""
    return json.dumps(
        {
            "aspects": options.aspects.aspects,
            "ayanamsa": options.ayanamsa,
            "house_system": options.house_system,
            "zodiac": options.zodiac,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def options_from_key(key: str, ephemeris_path: str | None) -> astro.ChartOptions:
    chosen = json.loads(key)
    return astro.ChartOptions(
        house_system=chosen["house_system"],
        zodiac=chosen["zodiac"],
        ayanamsa=chosen["ayanamsa"],
        aspects=astro.AspectOptions(aspects=chosen["aspects"]),
        ephemeris_path=ephemeris_path,
    )
