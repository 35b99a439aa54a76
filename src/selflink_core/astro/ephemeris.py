"""The only module that talks to Swiss Ephemeris.

pyswisseph keeps process-wide state (ephemeris path, sidereal mode, delta T and tidal settings).
Every computation here takes `_SWISSEPH_LOCK`, sets all of that state explicitly and checks the
flags each call returns, so a result never depends on what ran before or on another thread.
Other code in the same process that changes pyswisseph state without this lock is outside that
guarantee.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final, NamedTuple

import swisseph as swe

from selflink_core.astro.errors import EphemerisUnavailable
from selflink_core.astro.zodiac import AYANAMSAS, CHIRON, HOUSE_SYSTEMS, PLANETS, POINTS

_SWISSEPH_LOCK: Final = threading.Lock()
SWISSEPH_VERSION: Final = str(swe.version)
_SOURCE_FLAGS: Final = swe.FLG_MOSEPH | swe.FLG_SWIEPH
_NOT_COVERED: Final = "the Swiss Ephemeris files in the configured directory do not cover this date"


class HouseSystemUndefinedError(Exception):
    """Swiss Ephemeris cannot compute the requested house system at this latitude."""


@dataclass(frozen=True, slots=True)
class Ephemeris:
    """Which ephemeris answers and in which zodiac: the settings one computation needs."""

    path: str | None = None
    sidereal_mode: int | None = None

    @classmethod
    def for_options(cls, path: str | None, ayanamsa: str | None) -> Ephemeris:
        return cls(path=path, sidereal_mode=None if ayanamsa is None else AYANAMSAS[ayanamsa])

    @property
    def flags(self) -> int:
        source = swe.FLG_MOSEPH if self.path is None else swe.FLG_SWIEPH
        sidereal = 0 if self.sidereal_mode is None else swe.FLG_SIDEREAL
        return int(source | swe.FLG_SPEED | sidereal)

    def configure(self) -> None:
        """Set all global pyswisseph state a computation reads (the caller holds the lock)."""
        swe.set_delta_t_userdef(swe.DELTAT_AUTOMATIC)
        swe.set_tid_acc(swe.TIDAL_AUTOMATIC)
        if self.path is not None:
            swe.set_ephe_path(self.path)
        if self.sidereal_mode is not None:
            swe.set_sid_mode(self.sidereal_mode, 0, 0)


# (longitude, latitude, distance, longitude speed, latitude speed, distance speed)
Position = tuple[float, float, float, float, float, float]


class Houses(NamedTuple):
    system: str
    cusps: tuple[float, ...]
    ascendant: float
    mc: float
    vertex: float
    ascendant_speed: float
    mc_speed: float
    vertex_speed: float


class Sky(NamedTuple):
    """Raw positions at one instant: bodies by name, houses when a place was given."""

    positions: dict[str, Position]
    ayanamsa: float | None
    chiron_missing: bool
    houses: Houses | None
    house_fallback: bool


def _body(jd_ut: float, number: int, flags: int) -> Position:
    try:
        position, returned = swe.calc_ut(jd_ut, number, flags)
    except swe.Error as exc:
        raise EphemerisUnavailable(f"Swiss Ephemeris failed: {exc}") from None
    if returned & _SOURCE_FLAGS != flags & _SOURCE_FLAGS:
        raise EphemerisUnavailable(_NOT_COVERED)
    return position  # type: ignore[no-any-return]


def _bodies(jd_ut: float, bodies: tuple[tuple[str, int], ...], flags: int) -> dict[str, Position]:
    """`_body` for each of `bodies`, in one loop."""
    source = flags & _SOURCE_FLAGS
    positions = {}
    try:
        for name, number in bodies:
            positions[name], returned = swe.calc_ut(jd_ut, number, flags)
            if returned & _SOURCE_FLAGS != source:
                raise EphemerisUnavailable(_NOT_COVERED)
    except swe.Error as exc:
        raise EphemerisUnavailable(f"Swiss Ephemeris failed: {exc}") from None
    return positions


def _houses(jd_ut: float, latitude: float, longitude: float, system: str, flags: int) -> Houses:
    try:
        cusps, angles, _, angle_speeds = swe.houses_ex2(
            jd_ut, latitude, longitude, HOUSE_SYSTEMS[system], flags
        )
    except swe.Error as exc:
        raise HouseSystemUndefinedError(str(exc)) from None
    return Houses(
        system=system,
        cusps=tuple(cusps),
        ascendant=angles[0],
        mc=angles[1],
        vertex=angles[3],
        ascendant_speed=angle_speeds[0],
        mc_speed=angle_speeds[1],
        vertex_speed=angle_speeds[3],
    )


def observe(
    jd_ut: float,
    ephemeris: Ephemeris,
    *,
    bodies: tuple[tuple[str, int], ...] = PLANETS + POINTS,
    house_system: str | None = None,
    fallback_house_system: str = "whole_sign",
    latitude: float = 0.0,
    longitude: float = 0.0,
) -> Sky:
    """Positions of `bodies` (plus Chiron when files are configured) and, with a house system,
    cusps and angles for the place; an undefined system is replaced by the fallback."""
    house_flags = 0 if ephemeris.sidereal_mode is None else swe.FLG_SIDEREAL
    flags = ephemeris.flags
    with _SWISSEPH_LOCK:
        ephemeris.configure()
        positions = _bodies(jd_ut, bodies, flags)
        chiron_missing = False
        if ephemeris.path is not None:
            try:
                positions[CHIRON[0]] = _body(jd_ut, CHIRON[1], flags)
            except EphemerisUnavailable:
                chiron_missing = True
        ayanamsa = None
        if ephemeris.sidereal_mode is not None:
            ayanamsa = swe.get_ayanamsa_ex_ut(jd_ut, flags & _SOURCE_FLAGS)[1]
        houses, fallback = None, False
        if house_system is not None:
            try:
                houses = _houses(jd_ut, latitude, longitude, house_system, house_flags)
            except HouseSystemUndefinedError:
                houses = _houses(jd_ut, latitude, longitude, fallback_house_system, house_flags)
                fallback = True
    return Sky(
        positions=positions,
        ayanamsa=ayanamsa,
        chiron_missing=chiron_missing,
        houses=houses,
        house_fallback=fallback,
    )


def julian_day(year: int, month: int, day: int, seconds_of_day: int) -> float:
    """Julian day (UT) of a UTC instant; UTC is used as UT1 (they differ by under 0.9 s)."""
    return float(swe.julday(year, month, day, seconds_of_day / 3600.0, swe.GREG_CAL))
