"""Why an astro request was refused: one small hierarchy the CLI and the API map to exit codes and
HTTP 422 without inspecting messages.

`NeedsDisambiguation` errors mean the input is plausible but names more than one thing (a place,
a wall-clock time); they carry the choices so the caller can ask again precisely.
"""

from __future__ import annotations

from typing import Any


class AstroError(Exception):
    """Base of every expected astro failure."""

    code = "astro_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description for API error bodies."""
        return {"code": self.code, "message": self.message}


class InvalidInput(AstroError):  # noqa: N818 - domain names read better
    """A field has a value the engine cannot accept (type, range, unknown name)."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "field": self.field}


class InvalidBirthData(InvalidInput):
    """Date, time, zone, coordinates or offset of a birth (or transit moment) are unusable."""

    code = "invalid_birth_data"


class PlaceWithCoordinates(InvalidBirthData):
    """A place and coordinates (or a zone) both say where, where only one may."""

    def __init__(self) -> None:
        super().__init__("place", "give a place, or coordinates and a zone, not both")


class TimeWithoutPlace(InvalidBirthData):
    """A time or zone came without a place or coordinates, where it would be ignored."""

    def __init__(self, field: str) -> None:
        super().__init__(field, "a time or zone needs a place or coordinates")


class CountryWithoutPlace(InvalidBirthData):
    """A country narrows a place name; with coordinates or alone it has nothing to narrow."""

    def __init__(self) -> None:
        super().__init__("country", "narrows a place name; it cannot go with coordinates")


class LoneCoordinate(InvalidBirthData):
    """One coordinate without the other; `field` names the missing one."""

    def __init__(self, missing: str) -> None:
        super().__init__(missing, "give latitude and longitude together")


class MissingPlace(InvalidBirthData):
    """A chart was asked of a birth known without a place or coordinates."""

    def __init__(self) -> None:
        super().__init__("place", "give a place or latitude and longitude")


class InvalidOption(InvalidInput):
    """A chart or aspect option is unknown or out of range."""

    code = "invalid_option"


class UnknownPlace(AstroError):  # noqa: N818 - domain names read better
    """No gazetteer entry matches the place name (never replaced by a default city)."""

    code = "unknown_place"

    def __init__(self, query: str, country: str | None) -> None:
        where = f" in {country}" if country else ""
        super().__init__(f"no place named {query!r}{where} in the gazetteer")
        self.query = query
        self.country = country


class EphemerisUnavailable(AstroError):  # noqa: N818 - domain names read better
    """Swiss Ephemeris files were requested but do not cover the moment or cannot be read."""

    code = "ephemeris_unavailable"


class NeedsDisambiguation(AstroError):  # noqa: N818 - domain names read better
    """The input matches several things; `choices` lists them for the caller to pick one."""

    code = "needs_disambiguation"

    @property
    def choices(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "choices": self.choices}


class AmbiguousPlace(NeedsDisambiguation):
    """Several gazetteer entries share the name; `candidates` are ordered by population."""

    code = "ambiguous_place"

    def __init__(self, query: str, country: str | None, candidates: list[Any]) -> None:
        # With a country already given, only an id can settle it.
        where, remedy = (
            (f" in {country}", "use one of the geonames ids listed")
            if country
            else ("", "add a country code or use one of the geonames ids listed")
        )
        super().__init__(f"{len(candidates)} places are named {query!r}{where}; {remedy}")
        self.query = query
        self.country = country
        self.candidates = candidates

    @property
    def choices(self) -> list[dict[str, Any]]:
        return [candidate.to_dict() for candidate in self.candidates]


class _LocalTimeError(NeedsDisambiguation):
    def __init__(self, message: str, local: str, zone: str, offsets: tuple[str, str]) -> None:
        super().__init__(message)
        self.local = local
        self.zone = zone
        self.offsets = offsets

    @property
    def choices(self) -> list[dict[str, Any]]:
        return [{"fold": fold, "utc_offset": offset} for fold, offset in enumerate(self.offsets)]


class NonexistentLocalTime(_LocalTimeError):  # noqa: N818 - domain names read better
    """The wall-clock time falls in a spring-forward gap of its zone."""

    code = "nonexistent_local_time"

    def __init__(self, local: str, zone: str, offsets: tuple[str, str]) -> None:
        super().__init__(
            f"{local} does not exist in {zone} (clocks skipped it); give fold 0 to read it "
            f"at UTC{offsets[0]} or fold 1 for UTC{offsets[1]}, or an explicit UTC offset",
            local,
            zone,
            offsets,
        )


class AmbiguousLocalTime(_LocalTimeError):  # noqa: N818 - domain names read better
    """The wall-clock time happened twice in its zone (fall-back overlap)."""

    code = "ambiguous_local_time"

    def __init__(self, local: str, zone: str, offsets: tuple[str, str]) -> None:
        super().__init__(
            f"{local} happened twice in {zone}; give fold 0 for the first (UTC{offsets[0]}) "
            f"or fold 1 for the second (UTC{offsets[1]}), or an explicit UTC offset",
            local,
            zone,
            offsets,
        )
