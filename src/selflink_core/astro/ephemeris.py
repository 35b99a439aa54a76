"""The only module that talks to Swiss Ephemeris.

pyswisseph keeps process-wide state (ephemeris path, sidereal mode, delta T and tidal settings).
Every computation here takes `_SWISSEPH_LOCK`, sets all of that state explicitly and checks the
flags each call returns, so a result never depends on what ran before or on another thread.
Other code in the same process that changes pyswisseph state without this lock is outside that
guarantee. Setting the ephemeris path closes and reopens the files (about 50 µs a chart, half of
the files' calculations), so it is set again only when the open planet file is not the one it
opened.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NamedTuple

import swisseph as swe

from selflink_core.astro.errors import EphemerisUnavailable, InvalidOption
from selflink_core.astro.zodiac import AYANAMSAS, CHIRON, HOUSE_SYSTEMS, PLANETS, POINTS

_SWISSEPH_LOCK: Final = threading.Lock()
SWISSEPH_VERSION: Final = str(swe.version)
_SOURCE_FLAGS: Final = swe.FLG_MOSEPH | swe.FLG_SWIEPH
# The shipped planet file starts at 1800-01-01 00:00 TT, and Pluto, seen 5.7 light-hours
# away, needs it from 05:45:02 UT: moments of 1800 before that need Moshier.
_NOT_COVERED: Final = (
    "the Swiss Ephemeris files do not cover this moment (the shipped ones cover "
    "1800-01-01 05:46 UT to 2399); the moshier ephemeris does"
)

SWISS_EPHEMERIS: Final = "swiss_ephemeris"
MOSHIER: Final = "moshier"
EPHEMERIDES: Final = (SWISS_EPHEMERIS, MOSHIER)
# The Swiss Ephemeris files shipped in `ephe/` (planets, Moon, main asteroids with Chiron;
# 1800-2399, so every date the engine accepts) with their SHA-256, checked before first use:
# a damaged or replaced file would silently change every chart. Only these names are ever
# read for 1800-2200, from the shipped directory or another one.
SHIPPED_FILES: Final = {
    "seas_18.se1": "5fd9c2aa1654e37c09a6aeb558076e795409b7dc4bd948ebc0faa7d4a7686b5b",
    "semo_18.se1": "ecfa54dbf5bc0b5a9bc3e04ed28629a821e98625eacae38f4070593bba0e2980",
    "sepl_18.se1": "0b7e416e3c1be9e6a0dd1d711dae7f7685793a0e7df13f76363a493dc27b6ea1",
}
SHIPPED_DIRECTORY: Final = Path(__file__).parent / "ephe"


class EphemerisFilesCorrupt(RuntimeError):  # noqa: N818 - a state, like EphemerisUnavailable
    """A shipped ephemeris file is missing or not the recorded one: the installation is broken
    (not the caller's input), so this is no `AstroError`."""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def shipped_directory() -> str:
    """The shipped files' directory, once their digests are checked (once per process)."""
    for name, expected in SHIPPED_FILES.items():
        path = SHIPPED_DIRECTORY / name
        try:
            found = _digest(path)
        except OSError as exc:
            raise EphemerisFilesCorrupt(
                f"cannot read the shipped ephemeris file {path}: {exc}; reinstall selflink"
            ) from None
        if found != expected:
            raise EphemerisFilesCorrupt(
                f"the shipped ephemeris file {path} has SHA-256 {found}, expected {expected}; "
                "reinstall selflink"
            )
    return str(SHIPPED_DIRECTORY)


@functools.lru_cache(maxsize=8)
def _directory_files(directory: str) -> tuple[tuple[str, str], ...]:
    """Digests of the files among `SHIPPED_FILES`' names in another directory, read once per
    process: what a chart computed from them says it used."""
    found = []
    for name in SHIPPED_FILES:
        path = Path(directory) / name
        try:
            found.append((name, _digest(path)))
        except OSError:
            continue  # absent: pyswisseph reports what it then cannot compute
    return tuple(found)


@dataclass(frozen=True, slots=True)
class EphemerisSource:
    """Which ephemeris computes: the Swiss Ephemeris files (shipped, or in `path`) or Moshier's
    built-in analytical theory, which needs no files but is less precise and has no Chiron."""

    name: str = SWISS_EPHEMERIS
    path: str | None = None

    def __post_init__(self) -> None:
        if self.name not in EPHEMERIDES:
            choices = ", ".join(EPHEMERIDES)
            raise InvalidOption("ephemeris", f"{self.name!r} is not one of {choices}")
        if self.path is not None:
            if self.name == MOSHIER:
                raise InvalidOption("ephemeris_path", "the Moshier ephemeris reads no files")
            if not self.path.strip():
                raise InvalidOption("ephemeris_path", "the directory name is empty")

    @property
    def directory(self) -> str | None:
        """Where pyswisseph reads files (None: Moshier)."""
        if self.name == MOSHIER:
            return None
        return shipped_directory() if self.path is None else self.path

    @property
    def files(self) -> dict[str, str]:
        """SHA-256 of each file by name, so a result says exactly what produced it."""
        if self.name == MOSHIER:
            return {}
        if self.path is None:
            shipped_directory()
            return dict(SHIPPED_FILES)
        return dict(_directory_files(self.path))

    def identity(self) -> str:
        """A short name of the ephemeris and its files (at most 32 characters), for caches
        that must recompute what another ephemeris produced."""
        if self.name == MOSHIER:
            return MOSHIER
        listing = "".join(f"{name}:{digest}," for name, digest in sorted(self.files.items()))
        return "swe:" + hashlib.sha256(listing.encode()).hexdigest()[:28]


class HouseSystemUndefinedError(Exception):
    """Swiss Ephemeris cannot compute the requested house system at this latitude."""


@dataclass(frozen=True, slots=True)
class Ephemeris:
    """Which ephemeris answers and in which zodiac: the settings one computation needs."""

    path: str | None = None
    sidereal_mode: int | None = None

    @classmethod
    def for_options(cls, source: EphemerisSource, ayanamsa: str | None) -> Ephemeris:
        return cls(
            path=source.directory,
            sidereal_mode=None if ayanamsa is None else AYANAMSAS[ayanamsa],
        )

    @property
    def flags(self) -> int:
        source = swe.FLG_MOSEPH if self.path is None else swe.FLG_SWIEPH
        sidereal = 0 if self.sidereal_mode is None else swe.FLG_SIDEREAL
        return int(source | swe.FLG_SPEED | sidereal)

    def configure(self) -> None:
        """Set all global pyswisseph state a computation reads (the caller holds the lock)."""
        swe.set_delta_t_userdef(swe.DELTAT_AUTOMATIC)
        swe.set_tid_acc(swe.TIDAL_AUTOMATIC)
        if self.path is not None and _opened_by_path.get(self.path) != swe.get_current_file_data(0):
            swe.set_ephe_path(self.path)
            _remember_planet_file(self.path)
        if self.sidereal_mode is not None:
            swe.set_sid_mode(self.sidereal_mode, 0, 0)


# The planet file (name, start, end, DE number) that setting each path opened. The same file
# still open means the path is still set: setting another path, closing, or switching to
# Moshier closes it. A path that opened no planet file is set every time.
_opened_by_path: dict[str, tuple[str, float, float, int]] = {}


def _remember_planet_file(path: str) -> None:
    opened = swe.get_current_file_data(0)
    _opened_by_path.clear()  # only the current path's file can still be open
    if opened[1]:
        _opened_by_path[path] = opened


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
    chiron: bool = False,
) -> Sky:
    """Positions of `bodies` (plus, with `chiron`, Chiron when the files have it: Moshier never
    does) and, with a house system, cusps and angles for the place; an undefined system is
    replaced by the fallback."""
    house_flags = 0 if ephemeris.sidereal_mode is None else swe.FLG_SIDEREAL
    flags = ephemeris.flags
    with _SWISSEPH_LOCK:
        ephemeris.configure()
        positions = _bodies(jd_ut, bodies, flags)
        chiron_missing = chiron and ephemeris.path is None
        if chiron and ephemeris.path is not None:
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
