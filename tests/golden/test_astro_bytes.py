"""The same chart bytes on every Python: edge cases where libraries could disagree.

Polar houses, the date line and the poles are where a NumPy or time-zone-data difference would
show. `nox -s golden` runs this on 3.11, 3.12 and 3.13 against digests recorded once; a digest
may only change together with the astro rules version or the default ephemeris, in a commit of
its own saying why.
"""

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from selflink_core.astro import BirthData, ChartOptions, natal_chart

DIGESTS = Path(__file__).with_name("astro_chart_digests.json")
HOUSE_SYSTEMS = (
    "placidus",
    "koch",
    "campanus",
    "regiomontanus",
    "topocentric",
    "porphyry",
    "whole_sign",
)


def cases() -> list[tuple[str, float, float, str | None, str, str]]:
    found = []
    for latitude in (66.6, 78.2, 89.9, -80.0):
        for system in HOUSE_SYSTEMS:
            found.append(
                (f"{latitude}:{system}", latitude, 15.0, "Europe/Oslo", system, "1985-12-21")
            )
    for longitude in (180.0, -180.0, 179.9999, -179.9999):
        for latitude in (0.0, -16.5, 65.0):
            found.append(
                (f"{latitude}:{longitude}", latitude, longitude, None, "placidus", "2024-03-20")
            )
    found.append(("north-pole", 90.0, 0.0, None, "placidus", "1900-06-21"))
    found.append(("south-pole", -90.0, 0.0, None, "placidus", "1900-06-21"))
    return found


def digest(latitude: float, longitude: float, zone: str | None, system: str, day: str) -> str:
    birth = BirthData(dt.date.fromisoformat(day), dt.time(12, 30), latitude, longitude, zone)
    return hashlib.sha256(
        natal_chart(birth, ChartOptions(house_system=system)).to_json()
    ).hexdigest()


@pytest.mark.parametrize(("name", "latitude", "longitude", "zone", "system", "day"), cases())
def test_chart_bytes_match_the_recorded_digest(
    name: str, latitude: float, longitude: float, zone: str | None, system: str, day: str
) -> None:
    expected = json.loads(DIGESTS.read_text())[name]
    assert digest(latitude, longitude, zone, system, day) == expected


if __name__ == "__main__":  # records the digests; run once, review the diff, commit
    recorded = {case[0]: digest(*case[1:]) for case in cases()}
    DIGESTS.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
