"""Request bodies of the astro API. Results are the engine's canonical JSON documents
(docs/astro.md), sent as they are; birth data is `accounts.schemas.BirthData`."""

from typing import Annotated

import msgspec
from msgspec import Meta

from selflink_api.accounts.schemas import BirthData, Handle, Struct
from selflink_core.astro import AYANAMSAS, HOUSE_SYSTEMS

HOUSE_SYSTEM_HELP = "One of " + ", ".join(HOUSE_SYSTEMS) + "."
ZODIAC_HELP = "tropical or sidereal."
AYANAMSA_HELP = "Sidereal only (default lahiri): " + ", ".join(AYANAMSAS) + "."
ASPECTS_HELP = "major, or all to add quincunx, semisextile, semisquare and sesquiquadrate."


class ChartOptionsInput(Struct):
    """How to cast the charts; the server decides the ephemeris."""

    house_system: Annotated[str, Meta(max_length=32, description=HOUSE_SYSTEM_HELP)] = "placidus"
    zodiac: Annotated[str, Meta(max_length=16, description=ZODIAC_HELP)] = "tropical"
    ayanamsa: Annotated[str, Meta(max_length=32, description=AYANAMSA_HELP)] | None = None
    aspects: Annotated[str, Meta(max_length=8, description=ASPECTS_HELP)] = "major"
    orbs: (
        Annotated[
            dict[str, float],
            Meta(
                max_length=9,
                description="Orbs in degrees (0..15) by aspect name; the rest keep defaults.",
            ),
        ]
        | None
    ) = None
    luminary_orb_bonus: (
        Annotated[float, Meta(description="Extra orb when the Sun or Moon is involved.")] | None
    ) = None


class ChartRequest(Struct):
    birth: BirthData
    options: ChartOptionsInput = msgspec.field(default_factory=ChartOptionsInput)


class SynastryRequest(Struct):
    """Either `handle` (you and a person open to matching) or `first` and `second`."""

    handle: Handle | None = None
    first: BirthData | None = None
    second: BirthData | None = None
    options: ChartOptionsInput = msgspec.field(default_factory=ChartOptionsInput)
    composite: Annotated[
        bool, Meta(description="Add the midpoint composite chart (explicit input only).")
    ] = False
