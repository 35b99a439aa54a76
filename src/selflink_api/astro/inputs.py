"""From API requests to the engine's chart options; birth data has its rules in
`selflink_api.accounts.birth`.

Engine errors become 422 problems naming the option in the API's terms (`accounts.birth`'s
`astro_problem`).
"""

import json

from selflink_api.accounts.birth import Where, engine_errors
from selflink_api.astro.schemas import ChartOptionsInput
from selflink_core import astro
from selflink_core.astro.zodiac import LUMINARY_ORB_BONUS

QUERY = Where(source="query")


def chart_options(
    choice: ChartOptionsInput, ephemeris: astro.EphemerisSource, where: Where
) -> astro.ChartOptions:
    """The engine's chart options for a request's choice (the ephemeris is the server's)."""
    with engine_errors(where):
        return astro.ChartOptions(
            house_system=choice.house_system,
            zodiac=choice.zodiac,
            ayanamsa=choice.ayanamsa,
            aspects=astro.AspectOptions(
                aspects=choice.aspects,
                orbs=choice.orbs or {},
                luminary_orb_bonus=LUMINARY_ORB_BONUS
                if choice.luminary_orb_bonus is None
                else choice.luminary_orb_bonus,
            ),
            ephemeris=ephemeris.name,
            ephemeris_path=ephemeris.path,
        )


def options_key(options: astro.ChartOptions) -> str:
    """What tells apart the cached charts of one person: the options, not the ephemeris."""
    return json.dumps(
        {
            "aspects": options.aspects.aspects,
            "ayanamsa": options.ayanamsa,
            "house_system": options.house_system,
            "zodiac": options.zodiac,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def options_from_key(key: str, ephemeris: astro.EphemerisSource) -> astro.ChartOptions:
    chosen = json.loads(key)
    return astro.ChartOptions(
        house_system=chosen["house_system"],
        zodiac=chosen["zodiac"],
        ayanamsa=chosen["ayanamsa"],
        aspects=astro.AspectOptions(aspects=chosen["aspects"]),
        ephemeris=ephemeris.name,
        ephemeris_path=ephemeris.path,
    )
