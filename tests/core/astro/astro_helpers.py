"""Shared test inputs for the astro engine."""

import datetime as dt
import importlib.util
from pathlib import Path

from selflink_core.astro import BirthData

BERLIN_1990 = BirthData(
    date=dt.date(1990, 5, 17),
    time=dt.time(14, 30),
    latitude=52.52,
    longitude=13.405,
    zone="Europe/Berlin",
)
PARIS_1988 = BirthData(
    date=dt.date(1988, 11, 2),
    time=dt.time(6, 5, 30),
    latitude=48.8566,
    longitude=2.3522,
    zone="Europe/Paris",
)


def swiss_ephemeris_files() -> Path:
    """The real Swiss Ephemeris files (sepl_18, semo_18, seas_18: 1800-2399) in the stellium
    wheel, a development dependency; found without importing the package."""
    spec = importlib.util.find_spec("stellium")
    assert spec is not None
    assert spec.origin is not None
    path = Path(spec.origin).parent / "data" / "swisseph" / "ephe"
    assert (path / "sepl_18.se1").is_file()
    return path
