"""The same chart-wheel bytes on every Python: SVG numbers are formatted, never repr'd.

`nox -s golden` runs this on 3.11, 3.12 and 3.13. A digest changes only with the drawing itself
(docs/astro.md, "Chart wheels") or with the chart documents, in a commit saying why; print the
new ones with `uv run python -m tests.golden.test_astro_wheel_bytes`.
"""

import datetime as dt
import hashlib

import pytest

from selflink_core.astro import (
    AspectOptions,
    BirthData,
    ChartOptions,
    biwheel_svg,
    natal_chart,
    synastry,
    wheel_svg,
)

LONDON = BirthData(dt.date(1990, 12, 10), dt.time(13, 45), 51.5074, -0.1278, "Europe/London")
TOKYO = BirthData(dt.date(1988, 3, 21), dt.time(4, 10), 35.6762, 139.6503, "Asia/Tokyo")
NO_TIME = BirthData(dt.date(1996, 5, 30), None, 38.7223, -9.1393, "Europe/Lisbon")
SIDEREAL = ChartOptions(zodiac="sidereal", house_system="koch", aspects=AspectOptions("all"))

DIGESTS = {
    "natal": "f5c9d15169aa2a5ba9f100e36a9004348a426e6ecfd5943bdb5c826ecf9fd7bd",
    "no-time": "41b84c843cfa534e867a7757098f1c5c40428149d77f633eb2d089c6dda71b80",
    "sidereal": "fa8675524cdb9d5429c998013a53046f42d89f41cc69713dc48c9e9fdc0249ac",
    "bi-wheel": "9928de428b2aa58c0c9a84770960b4fc36670085efa2aa2ae77d0e5a60e7469c",
}


def drawing(name: str) -> str:
    if name == "natal":
        return wheel_svg(natal_chart(LONDON).to_dict())
    if name == "no-time":
        return wheel_svg(natal_chart(NO_TIME).to_dict())
    if name == "sidereal":
        return wheel_svg(natal_chart(LONDON, SIDEREAL).to_dict())
    one, two = natal_chart(LONDON), natal_chart(TOKYO)
    return biwheel_svg(one.to_dict(), two.to_dict(), synastry(one, two).to_dict())


def digest(name: str) -> str:
    return hashlib.sha256(drawing(name).encode()).hexdigest()


@pytest.mark.parametrize("name", sorted(DIGESTS))
def test_wheel_bytes_match_the_recorded_digest(name: str) -> None:
    assert digest(name) == DIGESTS[name]


if __name__ == "__main__":  # prints the digests to record; review, paste, commit
    for case in DIGESTS:
        print(f'    "{case}": "{digest(case)}",')
