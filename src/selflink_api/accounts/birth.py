"""Birth data in the API: the stored schema read by the engine's input rules, and the engine's
errors as 422 problems.

The API and the personal-data store speak `schemas.BirthData`; the engine speaks
`selflink_core.astro.BirthData`, and `selflink_core.astro.parse_birth` (in its `RECORD` form)
holds every rule between the two. Reading a place name may load the bundled gazetteer (seconds
on first use), so callers run these functions in a worker thread.

Every engine error becomes a 422 problem naming the field in the API's terms, with the engine's
`code` and, for an ambiguous place or a daylight-saving gap or overlap, the `choices`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from selflink_api.accounts.schemas import BirthData
from selflink_api.platform.problems import ProblemError
from selflink_api.settings import Settings
from selflink_core import astro
from selflink_core.astro.errors import (
    AmbiguousLocalTime,
    AmbiguousPlace,
    AstroError,
    InvalidInput,
    NeedsDisambiguation,
    NonexistentLocalTime,
    UnknownPlace,
)
from selflink_core.astro.inputs import format_utc_offset, resolve_birth

API_FIELD_NAMES = {"zone": "timezone"}
"""Engine field names that the API spells differently."""


@dataclass(frozen=True)
class Where:
    """Where an input came from, so errors point at it: `prefix` + field, and the source."""

    source: str = "body"
    prefix: str = ""


def ephemeris_source(settings: Settings) -> astro.EphemerisSource:
    """The server's ephemeris, for every chart and matching feature it computes: charts of
    one person must agree wherever they are used."""
    if settings.astro_ephemeris == astro.MOSHIER:
        return astro.EphemerisSource(astro.MOSHIER)
    return astro.EphemerisSource(astro.SWISS_EPHEMERIS, settings.astro_ephemeris_path or None)


BODY = Where()
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
    extra: dict[str, Any] = {"code": error.code}
    if isinstance(error, NeedsDisambiguation):
        extra["choices"] = _choices(error)
    return ProblemError.invalid(
        field, message, source=where.source, detail=f"{field}: {message}", **extra
    )


@contextmanager
def engine_errors(where: Where) -> Iterator[None]:
    """Turn engine errors raised in the block into 422 problems about `where`."""
    try:
        yield
    except AstroError as error:
        raise astro_problem(error, where) from None


def has_location(birth: BirthData) -> bool:
    """Whether stored (normalized) birth data says where: a chart can be cast for it."""
    return birth.geonameid is not None or (
        birth.latitude is not None and birth.longitude is not None
    )


def _parsed(birth: BirthData) -> astro.ParsedBirth:
    return astro.parse_birth(
        date=birth.date,
        time=birth.time,
        zone=birth.timezone,
        latitude=birth.latitude,
        longitude=birth.longitude,
        place=birth.place,
        country=birth.country,
        geonameid=birth.geonameid,
        fold=birth.fold,
        utc_offset=birth.utc_offset,
        form=astro.BirthForm.RECORD,
    )


def normalize_birth(birth: BirthData, where: Where = BODY) -> BirthData:
    """Birth data as it is stored: checked, zone spelled canonically, a place name resolved.

    A place name without coordinates is looked up in the gazetteer and replaced by the place's
    name, country, GeoNames id, coordinates and zone; with coordinates it is only a label. When
    a location is known, the wall-clock time must resolve to one instant (a daylight-saving gap
    or overlap needs `fold` or `utc_offset`).
    """
    with engine_errors(where):
        parsed = _parsed(birth)
        if parsed.located is not None:
            resolve_birth(parsed.located)
    located = parsed.located
    place = None if located is None else located.place
    return BirthData(
        date=birth.date,
        time=birth.time,
        timezone=parsed.zone,
        fold=birth.fold,
        utc_offset=None if parsed.utc_offset is None else format_utc_offset(parsed.utc_offset),
        place=parsed.label if place is None else place.name,
        country=None if place is None else place.country,
        geonameid=None if place is None else place.geonameid,
        latitude=None if located is None else located.latitude,
        longitude=None if located is None else located.longitude,
    )


def core_birth(birth: BirthData) -> astro.BirthData:
    """The engine's birth data for normalized, located birth data (`has_location`)."""
    return _parsed(birth).for_chart()
