"""Shared test inputs for the astro engine."""

import datetime as dt
import hashlib
import importlib.util
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from selflink_core.astro import BirthData, canonical_json

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


def utc_births(first: dt.date, last: dt.date, max_latitude: float) -> st.SearchStrategy[BirthData]:
    """Births on UTC wall clocks (no daylight-saving gaps) between `first` and `last`, at
    latitudes up to `max_latitude` either side of the equator."""
    return st.builds(
        BirthData,
        date=st.dates(first, last),
        time=st.none() | st.times().map(lambda t: t.replace(microsecond=0)),
        latitude=st.floats(-max_latitude, max_latitude),
        longitude=st.floats(-180, 180),
        zone=st.just("UTC"),
    )


def expected_input_hash(document: dict[str, Any]) -> str:
    """A natal chart's `input_hash` as documented: SHA-256 of its kind, rules, input and
    options in canonical JSON."""
    return hashlib.sha256(
        canonical_json(
            {
                "kind": "natal_chart",
                "rules_version": "astro-1",
                "input": document["input"],
                "options": document["options"],
            }
        )
    ).hexdigest()
