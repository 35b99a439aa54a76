"""Validated inputs: birth data, chart and aspect options, and their normalized, hashable form.

Local times are read with the IANA database shipped in the `tzdata` package (not the host's),
so the same birth data resolves to the same instant on every machine.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import math
import re
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from selflink_core.astro.canonical import rounded
from selflink_core.astro.ephemeris import SWISS_EPHEMERIS, EphemerisSource
from selflink_core.astro.errors import (
    AmbiguousLocalTime,
    CountryWithoutPlace,
    InvalidBirthData,
    InvalidOption,
    LoneCoordinate,
    MissingPlace,
    NonexistentLocalTime,
    PlaceWithCoordinates,
    TimeWithoutPlace,
)
from selflink_core.astro.places import Place, resolve_place, zone_at
from selflink_core.astro.zodiac import (
    ASPECT_KINDS,
    ASPECT_SETS,
    AYANAMSAS,
    DEFAULT_AYANAMSA,
    HOUSE_SYSTEMS,
    LUMINARY_ORB_BONUS,
    MAX_ORB,
    TRANSIT_LUMINARY_ORB_BONUS,
    TRANSIT_ORBS,
    ZODIACS,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

FIRST_DATE: Final = dt.date(1800, 1, 1)
LAST_DATE: Final = dt.date(2200, 12, 31)
UNKNOWN_TIME: Final = dt.time(12, 0)
COORDINATE_DECIMALS: Final = 6  # about 0.1 m


@functools.cache
def _zone_names() -> dict[str, str]:
    names = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return {name.casefold(): name for name in names}


def canonical_zone(name: str) -> str:
    """The IANA spelling of a zone name (case-insensitive), or `InvalidBirthData`."""
    found = _zone_names().get(name.strip().casefold())
    if found is None:
        raise InvalidBirthData("zone", f"{name!r} is not an IANA time zone")
    return found


@functools.cache
def zone_info(name: str) -> ZoneInfo:
    """The zone read from the `tzdata` package, whatever the host's zoneinfo directory holds."""
    key = canonical_zone(name)
    with resources.files("tzdata.zoneinfo").joinpath(*key.split("/")).open("rb") as data:
        return ZoneInfo.from_file(data, key=key)


def _check_date(value: object, name: str) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidBirthData(name, "expected a date")
    if not FIRST_DATE <= value <= LAST_DATE:
        raise InvalidBirthData(
            name, f"{value.isoformat()} is outside the supported range 1800-01-01..2200-12-31"
        )
    return value


def _check_coordinate(value: object, name: str, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidBirthData(name, "expected a finite number")
    if not -limit <= value <= limit:
        raise InvalidBirthData(name, f"{value} is outside -{limit:g}..{limit:g}")
    return rounded(float(value), COORDINATE_DECIMALS)


def _check_fold(value: object) -> None:
    if value not in (None, 0, 1):
        raise InvalidBirthData("fold", "expected 0 (earlier) or 1 (later)")


@functools.lru_cache(maxsize=512)
def format_utc_offset(offset: dt.timedelta) -> str:
    """``+05:30``, ``-03:00``, or ``+00:09:21`` for local mean time offsets."""
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{secs:02d}" if secs else text


_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})(?::?(\d{2}))?")


def parse_utc_offset(text: str) -> dt.timedelta:
    """Read ``±HH:MM`` or ``±HH:MM:SS`` (colons optional)."""
    match = _OFFSET.fullmatch(text.strip())
    if match is None:
        raise InvalidBirthData("utc_offset", f"{text!r} is not an offset like +02:00 or -05:30")
    sign, hours, minutes, seconds = match.groups()
    offset = dt.timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds or 0))
    if int(minutes) > 59 or int(seconds or 0) > 59 or offset >= dt.timedelta(hours=24):
        raise InvalidBirthData("utc_offset", f"{text!r} is not a valid offset")
    return -offset if sign == "-" else offset


_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def read_date(text: str, name: str = "date") -> dt.date:
    """Read ``YYYY-MM-DD``; a well-formed day its month lacks (1990-02-30) is named as such."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        match = _DATE.fullmatch(text.strip())
        year, month, day = (int(part) for part in match.groups()) if match else (0, 0, 0)
        if year >= 1 and 1 <= month <= 12 and day >= 1:
            days = calendar.monthrange(year, month)[1]
            raise InvalidBirthData(
                name,
                f"{text!r} is not a date: {year:04d}-{month:02d} has no day {day} (it has {days})",
            ) from None
        raise InvalidBirthData(name, f"{text!r} is not a date like 1990-05-17") from None


def parse_date(text: str, name: str = "date") -> dt.date:
    """Read ``YYYY-MM-DD`` and check the supported range."""
    return _check_date(read_date(text, name), name)


_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")


def parse_time(text: str, name: str = "time") -> dt.time:
    """Read ``HH:MM`` or ``HH:MM:SS`` (24-hour clock)."""
    match = _TIME.fullmatch(text.strip())
    try:
        if match is None:
            raise ValueError
        hour, minute, second = (int(part or 0) for part in match.groups())
        return dt.time(hour, minute, second)
    except ValueError:
        raise InvalidBirthData(name, f"{text!r} is not a time like 14:30 or 14:30:15") from None


def parse_moment(text: str, name: str = "at") -> dt.datetime:
    """Read an ISO 8601 timestamp with an offset or ``Z`` (a moment, not a wall-clock time)."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidBirthData(
            name, f"{text!r} is not a timestamp like 2026-03-01T12:00Z"
        ) from None
    return check_moment(value, name)


def check_moment(value: object, name: str = "at") -> dt.datetime:
    """An aware datetime with whole seconds inside the supported range, in UTC."""
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InvalidBirthData(name, "expected a timestamp with a UTC offset")
    if value.microsecond:
        raise InvalidBirthData(name, "the timestamp must have whole seconds")
    moment = value.astimezone(dt.UTC)
    _check_date(moment.date(), name)
    return moment


@dataclass(frozen=True, slots=True)
class BirthData:
    """A birth as the person knows it: local date, optional local time, and where.

    `zone` may be omitted: it is then looked up from the coordinates. `fold` (0 = earlier,
    1 = later) or `utc_offset` settle a wall-clock time that a daylight-saving change skipped or
    repeated; elsewhere they must agree with the zone. Use `BirthData.at_place` to take the
    coordinates and zone from a gazetteer entry.
    """

    date: dt.date
    time: dt.time | None
    latitude: float
    longitude: float
    zone: str | None = None
    fold: int | None = None
    utc_offset: dt.timedelta | None = None
    place: Place | None = None

    def __post_init__(self) -> None:
        _check_date(self.date, "date")
        if self.time is not None:
            if not isinstance(self.time, dt.time) or self.time.tzinfo is not None:
                raise InvalidBirthData("time", "expected a local time without a zone")
            if self.time.microsecond:
                raise InvalidBirthData("time", "the time must have whole seconds")
        object.__setattr__(self, "latitude", _check_coordinate(self.latitude, "latitude", 90))
        object.__setattr__(self, "longitude", _check_coordinate(self.longitude, "longitude", 180))
        if self.zone is not None:
            object.__setattr__(self, "zone", canonical_zone(self.zone))
        _check_fold(self.fold)
        if self.utc_offset is not None:
            if not isinstance(self.utc_offset, dt.timedelta):
                raise InvalidBirthData("utc_offset", "expected a duration")
            if abs(self.utc_offset) >= dt.timedelta(hours=24) or self.utc_offset.microseconds:
                raise InvalidBirthData("utc_offset", "expected whole seconds under 24 hours")
        if self.place is not None and (
            (self.latitude, self.longitude, self.zone)
            != (
                rounded(self.place.latitude, COORDINATE_DECIMALS),
                rounded(self.place.longitude, COORDINATE_DECIMALS),
                self.place.zone,
            )
        ):
            raise InvalidBirthData("place", "coordinates and zone must be the place's own")

    @classmethod
    def at_place(
        cls,
        place: Place,
        date: dt.date,
        time: dt.time | None,
        *,
        fold: int | None = None,
        utc_offset: dt.timedelta | None = None,
    ) -> BirthData:
        return cls(
            date=date,
            time=time,
            latitude=place.latitude,
            longitude=place.longitude,
            zone=place.zone,
            fold=fold,
            utc_offset=utc_offset,
            place=place,
        )

    @property
    def time_known(self) -> bool:
        return self.time is not None


class BirthForm(Enum):
    """How a surface lets people say where they were born (see `parse_birth`)."""

    EXCLUSIVE = "exclusive"
    """A place (name or ``geonames:ID``, with an optional country) or coordinates (with an
    optional zone), never both; a time or zone needs one of them. What a person types."""
    RECORD = "record"
    """As the API keeps it: a place name beside coordinates only labels them, a GeoNames id may
    come with its place's own name, country, zone and coordinates, and a time may be kept before
    a place is known. An empty place name is no place."""


@dataclass(frozen=True, slots=True)
class ParsedBirth:
    """Birth fields that passed the input rules.

    `located` is the engine's birth when a place or coordinates were given, None when only the
    date (and what came with it) is known; `zone` is then the place's own when it was named.
    `label` is a place name kept beside coordinates (`BirthForm.RECORD` only).
    """

    date: dt.date
    time: dt.time | None
    zone: str | None
    fold: int | None
    utc_offset: dt.timedelta | None
    label: str | None
    located: BirthData | None

    def for_chart(self) -> BirthData:
        """The birth to cast a chart for: a chart needs a place or coordinates."""
        if self.located is None:
            raise MissingPlace
        return self.located


def parse_birth(
    *,
    date: str | dt.date,
    time: str | None = None,
    zone: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    place: str | None = None,
    country: str | None = None,
    geonameid: int | None = None,
    fold: int | None = None,
    utc_offset: str | None = None,
    form: BirthForm = BirthForm.EXCLUSIVE,
) -> ParsedBirth:
    """Birth data from the plain values a person gave, by the one set of input rules.

    Which fields may go together is checked first (`PlaceWithCoordinates`, `TimeWithoutPlace`,
    `CountryWithoutPlace`, `LoneCoordinate`), then each value, then the place is looked up in
    the gazetteer (`UnknownPlace`, `AmbiguousPlace`). Whether the wall-clock time exists in its
    zone is `resolve_birth`'s question, asked when the birth is used.
    """
    if form is BirthForm.RECORD and place is not None:
        place = place.strip() or None
    given_coordinates = latitude is not None or longitude is not None
    if form is BirthForm.EXCLUSIVE:
        named = place is not None or geonameid is not None
        if named and (given_coordinates or zone is not None):
            raise PlaceWithCoordinates
        if not named and not given_coordinates and (time is not None or zone is not None):
            raise TimeWithoutPlace("time" if time is not None else "zone")
    looked_up = geonameid is not None or (place is not None and not given_coordinates)
    if country is not None and not looked_up:
        raise CountryWithoutPlace
    if not looked_up and given_coordinates and (latitude is None or longitude is None):
        raise LoneCoordinate("longitude" if longitude is None else "latitude")

    birth_date = parse_date(date) if isinstance(date, str) else _check_date(date, "date")
    birth_time = None if time is None else parse_time(time)
    offset = None if utc_offset is None else parse_utc_offset(utc_offset)
    zone = None if zone is None else canonical_zone(zone)
    _check_fold(fold)
    located: BirthData | None = None
    if looked_up:
        found = _named_place(place, country, geonameid, (latitude, longitude))
        if zone is not None and zone != found.zone:
            raise InvalidBirthData("zone", f"{found.name} keeps {found.zone} time, not {zone}")
        located = BirthData.at_place(found, birth_date, birth_time, fold=fold, utc_offset=offset)
    elif latitude is not None and longitude is not None:
        located = BirthData(birth_date, birth_time, latitude, longitude, zone, fold, offset)
    return ParsedBirth(
        date=birth_date,
        time=birth_time,
        zone=zone if located is None else located.zone,
        fold=fold,
        utc_offset=offset,
        label=place if located is not None and located.place is None else None,
        located=located,
    )


def _named_place(
    name: str | None,
    country: str | None,
    geonameid: int | None,
    coordinates: tuple[float | None, float | None],
) -> Place:
    """The gazetteer entry that `geonameid`, or else the name and country, designate; what
    else was given about it must be its own."""
    if geonameid is None:
        assert name is not None
        return resolve_place(name, country)
    found = resolve_place(f"geonames:{geonameid}")
    if country is not None and country.upper() != found.country:
        raise InvalidBirthData("country", f"geonames:{found.geonameid} is in {found.country}")
    if name is not None and name not in {found.name, f"geonames:{found.geonameid}"}:
        raise InvalidBirthData("place", f"geonames:{found.geonameid} is {found.name}")
    for axis, given, own in zip(
        ("latitude", "longitude"), coordinates, (found.latitude, found.longitude), strict=True
    ):
        if given is not None and rounded(given, COORDINATE_DECIMALS) != rounded(
            own, COORDINATE_DECIMALS
        ):
            raise InvalidBirthData(axis, f"{found.name} lies at {own}, not {given}")
    return found


@dataclass(frozen=True, slots=True)
class ResolvedBirth:
    """Birth data after zone lookup and wall-clock resolution: the instant the chart is for."""

    birth: BirthData
    zone: str
    zone_source: str
    local: dt.datetime
    utc: dt.datetime
    utc_offset: dt.timedelta

    def to_dict(self) -> dict[str, Any]:
        """The normalized input as it appears in results and in `input_hash`."""
        birth = self.birth
        place = birth.place
        return {
            "date": birth.date.isoformat(),
            "time": birth.time.isoformat() if birth.time is not None else None,
            "time_known": birth.time_known,
            "zone": self.zone,
            "zone_source": self.zone_source,
            "utc_offset": format_utc_offset(self.utc_offset),
            "utc": self.utc.isoformat() + "Z",
            "latitude": birth.latitude,
            "longitude": birth.longitude,
            "place": None
            if place is None
            else {
                "geonameid": place.geonameid,
                "name": place.name,
                "country": place.country,
                "admin1": place.admin1,
            },
        }

    def free_text(self) -> tuple[str, ...]:
        """Strings that come from outside the engine's vocabulary (for the JSON fast path)."""
        place = self.birth.place
        return (self.zone,) if place is None else (self.zone, place.name, place.admin1)


def resolve_birth(birth: BirthData) -> ResolvedBirth:
    """Find the zone if needed and turn the local wall-clock time into a UTC instant.

    A time in a daylight-saving gap or overlap raises `NonexistentLocalTime` or
    `AmbiguousLocalTime` unless `fold` or `utc_offset` says which offset applies. For a gap,
    fold 0 reads the time with the offset in force before the change and fold 1 with the one
    after, as in PEP 495.
    """
    if birth.zone is not None:
        zone, source = birth.zone, "place" if birth.place is not None else "given"
    else:
        zone, source = canonical_zone(zone_at(birth.latitude, birth.longitude)), "coordinates"
    tz = zone_info(zone)
    local = dt.datetime.combine(birth.date, birth.time or UNKNOWN_TIME)
    earlier = tz.utcoffset(local)  # the zone reads a naive wall-clock time with its fold
    later = tz.utcoffset(local.replace(fold=1))
    assert earlier is not None
    assert later is not None
    if earlier == later:
        offset = earlier
        if birth.utc_offset is not None and birth.utc_offset != offset:
            raise InvalidBirthData(
                "utc_offset",
                f"{zone} was at UTC{format_utc_offset(offset)} on {local.isoformat()}, "
                f"not UTC{format_utc_offset(birth.utc_offset)}",
            )
    else:
        offset = _disambiguated(birth, local, zone, tz, (earlier, later))
    return ResolvedBirth(
        birth=birth,
        zone=zone,
        zone_source=source,
        local=local,
        utc=local - offset,
        utc_offset=offset,
    )


def _disambiguated(
    birth: BirthData,
    local: dt.datetime,
    zone: str,
    tz: ZoneInfo,
    candidates: tuple[dt.timedelta, dt.timedelta],
) -> dt.timedelta:
    earlier, later = candidates
    offsets = (format_utc_offset(earlier), format_utc_offset(later))
    if birth.utc_offset is not None:
        if birth.utc_offset not in (earlier, later):
            raise InvalidBirthData(
                "utc_offset",
                f"{local.isoformat()} in {zone} is at UTC{offsets[0]} or UTC{offsets[1]}, "
                f"not UTC{format_utc_offset(birth.utc_offset)}",
            )
        chosen = birth.utc_offset
        if birth.fold is not None and chosen != (earlier, later)[birth.fold]:
            raise InvalidBirthData("fold", "fold and utc_offset name different offsets")
        return chosen
    if birth.fold is not None:
        return (earlier, later)[birth.fold]
    round_trip = local.replace(tzinfo=tz).astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip != local:
        raise NonexistentLocalTime(local.isoformat(), zone, offsets)
    raise AmbiguousLocalTime(local.isoformat(), zone, offsets)


@dataclass(frozen=True, slots=True)
class AspectOptions:
    """Which aspects to look for and their orbs in degrees.

    `orbs` overrides the defaults of `zodiac.ASPECT_KINDS` for named aspects of the chosen set;
    after construction it holds the complete table in effect. A pair with the Sun or the Moon
    gets `luminary_orb_bonus` degrees more.
    """

    aspects: str = "major"
    orbs: Mapping[str, float] = field(default_factory=dict)
    luminary_orb_bonus: float = LUMINARY_ORB_BONUS

    def __post_init__(self) -> None:
        if self.aspects not in ASPECT_SETS:
            raise InvalidOption(
                "aspects", f"{self.aspects!r} is not one of {', '.join(ASPECT_SETS)}"
            )
        kinds = [kind for kind in ASPECT_KINDS if kind.major or self.aspects == "all"]
        table = {kind.name: kind.orb for kind in kinds}
        for name, orb in dict(self.orbs).items():
            if name not in table:
                raise InvalidOption("orbs", f"{name!r} is not an aspect of the {self.aspects} set")
            table[name] = _check_orb(orb, f"orbs.{name}")
        object.__setattr__(self, "orbs", MappingProxyType(table))
        object.__setattr__(
            self, "luminary_orb_bonus", _check_orb(self.luminary_orb_bonus, "luminary_orb_bonus")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "aspects": self.aspects,
            "orbs": dict(self.orbs),
            "luminary_orb_bonus": self.luminary_orb_bonus,
        }


def transit_aspect_options(
    aspects: str = "major", orbs: Mapping[str, float] | None = None
) -> AspectOptions:
    """Aspect options with the tight transit orbs of `zodiac.TRANSIT_ORBS` as defaults."""
    table = {
        kind.name: TRANSIT_ORBS[kind.name]
        for kind in ASPECT_KINDS
        if kind.major or aspects == "all"
    }
    return AspectOptions(
        aspects=aspects,
        orbs={**table, **(orbs or {})},
        luminary_orb_bonus=TRANSIT_LUMINARY_ORB_BONUS,
    )


def _check_orb(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidOption(name, "expected a number of degrees")
    if not 0 <= value <= MAX_ORB:
        raise InvalidOption(name, f"{value} is outside 0..{MAX_ORB:g} degrees")
    return rounded(float(value))


@dataclass(frozen=True, slots=True)
class ChartOptions:
    """How to cast a chart. Sidereal charts default to the Lahiri ayanamsa, stated in results.

    `ephemeris` is ``swiss_ephemeris`` (the files shipped with the engine, or those in the
    directory `ephemeris_path`) or ``moshier`` (built in, no files, no Chiron). The path itself
    never enters results or hashes; the ephemeris and its files' SHA-256 do.
    """

    house_system: str = "placidus"
    zodiac: str = "tropical"
    ayanamsa: str | None = None
    aspects: AspectOptions = field(default_factory=AspectOptions)
    ephemeris: str = SWISS_EPHEMERIS
    ephemeris_path: str | None = None

    def __post_init__(self) -> None:
        if self.house_system not in HOUSE_SYSTEMS:
            raise InvalidOption(
                "house_system",
                f"{self.house_system!r} is not one of {', '.join(HOUSE_SYSTEMS)}",
            )
        if self.zodiac not in ZODIACS:
            raise InvalidOption("zodiac", f"{self.zodiac!r} is not one of {', '.join(ZODIACS)}")
        if self.zodiac == "tropical" and self.ayanamsa is not None:
            raise InvalidOption("ayanamsa", "an ayanamsa applies to the sidereal zodiac only")
        if self.zodiac == "sidereal":
            if self.ayanamsa is None:
                object.__setattr__(self, "ayanamsa", DEFAULT_AYANAMSA)
            elif self.ayanamsa not in AYANAMSAS:
                raise InvalidOption(
                    "ayanamsa", f"{self.ayanamsa!r} is not one of {', '.join(AYANAMSAS)}"
                )
        if not isinstance(self.aspects, AspectOptions):
            raise InvalidOption("aspects", "expected AspectOptions")
        EphemerisSource(self.ephemeris, self.ephemeris_path)  # refuses a bad pair

    @property
    def source(self) -> EphemerisSource:
        return EphemerisSource(self.ephemeris, self.ephemeris_path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "house_system": self.house_system,
            "zodiac": self.zodiac,
            "ayanamsa": self.ayanamsa,
            "aspects": self.aspects.to_dict(),
            "ephemeris": self.ephemeris,
            "ephemeris_files": self.source.files,
        }


__all__ = [
    "FIRST_DATE",
    "LAST_DATE",
    "AspectOptions",
    "BirthData",
    "BirthForm",
    "ChartOptions",
    "ParsedBirth",
    "ResolvedBirth",
    "canonical_zone",
    "check_moment",
    "format_utc_offset",
    "parse_birth",
    "parse_date",
    "parse_moment",
    "parse_time",
    "parse_utc_offset",
    "resolve_birth",
    "transit_aspect_options",
    "zone_info",
]
