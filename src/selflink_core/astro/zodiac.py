"""The astrological vocabulary of rules version `astro-1`: bodies, signs, house systems,
ayanamsas and aspects, with the names that appear in every result.

Changing anything here changes results, so it requires a new `RULES_VERSION`.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import swisseph as swe

RULES_VERSION: Final = "astro-1"

SIGNS: Final = (
    "aries",
    "taurus",
    "gemini",
    "cancer",
    "leo",
    "virgo",
    "libra",
    "scorpio",
    "sagittarius",
    "capricorn",
    "aquarius",
    "pisces",
)
ELEMENTS: Final = ("fire", "earth", "air", "water")
MODALITIES: Final = ("cardinal", "fixed", "mutable")


def sign_element(sign_index: int) -> str:
    return ELEMENTS[sign_index % 4]


def sign_modality(sign_index: int) -> str:
    return MODALITIES[sign_index % 3]


TRADITIONAL_RULERS: Final = (
    "mars",
    "venus",
    "mercury",
    "moon",
    "sun",
    "mercury",
    "venus",
    "mars",
    "jupiter",
    "saturn",
    "saturn",
    "jupiter",
)
MODERN_RULERS: Final = (
    "mars",
    "venus",
    "mercury",
    "moon",
    "sun",
    "mercury",
    "venus",
    "pluto",
    "jupiter",
    "saturn",
    "uranus",
    "neptune",
)

# Bodies in result order with their Swiss Ephemeris numbers. Chiron needs asteroid files.
PLANETS: Final = (
    ("sun", swe.SUN),
    ("moon", swe.MOON),
    ("mercury", swe.MERCURY),
    ("venus", swe.VENUS),
    ("mars", swe.MARS),
    ("jupiter", swe.JUPITER),
    ("saturn", swe.SATURN),
    ("uranus", swe.URANUS),
    ("neptune", swe.NEPTUNE),
    ("pluto", swe.PLUTO),
)
POINTS: Final = (
    ("mean_node", swe.MEAN_NODE),
    ("true_node", swe.TRUE_NODE),
    ("mean_lilith", swe.MEAN_APOG),
)
CHIRON: Final = ("chiron", swe.CHIRON)
PLANET_NAMES: Final = tuple(name for name, _ in PLANETS)
LUMINARIES: Final = frozenset({"sun", "moon"})
# The two lunar nodes are the same point computed two ways: never aspect them to each other.
NODES: Final = frozenset({"mean_node", "true_node"})

ANGLE_NAMES: Final = ("ascendant", "mc", "descendant", "ic", "vertex")
# Angles that take part in aspects; descendant and ic would only mirror them.
ASPECTING_ANGLES: Final = ("ascendant", "mc")

HOUSE_SYSTEMS: Final = {
    "placidus": b"P",
    "koch": b"K",
    "whole_sign": b"W",
    "equal": b"E",
    "porphyry": b"O",
    "regiomontanus": b"R",
    "campanus": b"C",
    "alcabitius": b"B",
    "topocentric": b"T",
    "morinus": b"M",
}
FALLBACK_HOUSE_SYSTEM: Final = "whole_sign"

ZODIACS: Final = ("tropical", "sidereal")
DEFAULT_AYANAMSA: Final = "lahiri"
AYANAMSAS: Final = {
    "lahiri": swe.SIDM_LAHIRI,
    "fagan_bradley": swe.SIDM_FAGAN_BRADLEY,
    "raman": swe.SIDM_RAMAN,
    "krishnamurti": swe.SIDM_KRISHNAMURTI,
    "yukteshwar": swe.SIDM_YUKTESHWAR,
    "de_luce": swe.SIDM_DELUCE,
    "djwhal_khul": swe.SIDM_DJWHAL_KHUL,
    "sassanian": swe.SIDM_SASSANIAN,
    "true_chitra": swe.SIDM_TRUE_CITRA,
    "true_revati": swe.SIDM_TRUE_REVATI,
    "true_pushya": swe.SIDM_TRUE_PUSHYA,
    "galactic_center_0sag": swe.SIDM_GALCENT_0SAG,
    "j2000": swe.SIDM_J2000,
}


class AspectKind(NamedTuple):
    name: str
    angle: int
    orb: float
    major: bool


# Default orbs in degrees; a pair involving the Sun or the Moon gets `LUMINARY_ORB_BONUS` more.
ASPECT_KINDS: Final = (
    AspectKind("conjunction", 0, 8.0, True),
    AspectKind("opposition", 180, 8.0, True),
    AspectKind("trine", 120, 7.0, True),
    AspectKind("square", 90, 7.0, True),
    AspectKind("sextile", 60, 5.0, True),
    AspectKind("quincunx", 150, 3.0, False),
    AspectKind("semisextile", 30, 2.0, False),
    AspectKind("semisquare", 45, 2.0, False),
    AspectKind("sesquiquadrate", 135, 2.0, False),
)
ASPECT_SETS: Final = ("major", "all")
LUMINARY_ORB_BONUS: Final = 2.0
MAX_ORB: Final = 15.0
# Transits use tight orbs: a transit matters around its exact date, not for weeks.
TRANSIT_ORBS: Final = {
    "conjunction": 2.0,
    "opposition": 2.0,
    "trine": 2.0,
    "square": 2.0,
    "sextile": 1.5,
    "quincunx": 1.0,
    "semisextile": 1.0,
    "semisquare": 1.0,
    "sesquiquadrate": 1.0,
}
TRANSIT_LUMINARY_ORB_BONUS: Final = 0.0

MOON_PHASES: Final = (
    "new",
    "crescent",
    "first_quarter",
    "gibbous",
    "full",
    "disseminating",
    "last_quarter",
    "balsamic",
)
