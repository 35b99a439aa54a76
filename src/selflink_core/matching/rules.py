"""The matching rules of version `match-1`, read from the data file shipped in this package.

Weights, tables and vocabularies live in ``data/match-1.toml`` so that a reader (and
docs/matching.md) sees every number in one place; this module only checks the file and
derives lookup tables from it. All derived quantities are integers, so every score is exact.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy.typing as npt

RULES_VERSION: Final = "match-1"
COMPONENTS: Final = ("synastry", "elements", "numerology", "profile")
# The lens of a pair without any covered component.
NO_LENS: Final = "none"
LENSES: Final = (*COMPONENTS, NO_LENS)
SET_PARTS: Final = ("values", "love_languages", "interests")
PROFILE_PARTS: Final = ("values", "love_languages", "lifestyle", "interests")
LIFE_PATHS: Final = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 22, 33})

# Longitudes are compared in hundredths of a degree; separations run 0..180 degrees.
CENTIDEGREES: Final = 36_000
HALF_TURN: Final = 18_000
# Aspect strength is counted in thousandths, scores in hundredths of a point.
STRENGTH_UNIT: Final = 1_000
SCORE_UNIT: Final = 100
FULL_SCORE: Final = 100 * SCORE_UNIT
# Masks are stored in signed 64-bit columns.
MAX_VOCABULARY: Final = 63


class RulesError(ValueError):
    """The rules file breaks an invariant the scoring relies on (a bug in the data file)."""


@dataclass(frozen=True, slots=True)
class AspectRule:
    name: str
    angle: int
    orb: int
    value: int
    verb: str


@dataclass(frozen=True, slots=True)
class SynastryRules:
    points: tuple[str, ...]
    angles: frozenset[str]
    point_weights: tuple[int, ...]
    pair_weights: tuple[tuple[int, ...], ...]
    prior: int
    aspects: tuple[AspectRule, ...]
    # Indexed by separation in centidegrees (0..18000): aspect index or -1, orb in
    # centidegrees, and the harmonious / tense points of a pair of weight 1 in thousandths.
    aspect_at: npt.NDArray[np.int64]
    orb_at: npt.NDArray[np.int64]
    harmonious_at: npt.NDArray[np.int64]
    tense_at: npt.NDArray[np.int64]

    @property
    def planet_indices(self) -> tuple[int, ...]:
        return tuple(i for i, name in enumerate(self.points) if name not in self.angles)

    @property
    def angle_indices(self) -> tuple[int, ...]:
        return tuple(i for i, name in enumerate(self.points) if name in self.angles)


@dataclass(frozen=True, slots=True)
class ElementRules:
    element_weight: int
    modality_weight: int
    elements: tuple[str, ...]
    element_harmony: tuple[tuple[int, ...], ...]
    modalities: tuple[str, ...]
    modality_harmony: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class NumerologyRules:
    master_roots: Mapping[int, int]
    table: tuple[tuple[int, ...], ...]
    phrases: Mapping[int, str]

    def root(self, life_path: int) -> int:
        return self.master_roots.get(life_path, life_path)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Everything the API validates profile answers and preferences against.

    Set answers are encoded as bit masks by position in these tuples, lifestyle answers as the
    option's position; `to_dict` is a JSON-ready copy for clients.
    """

    values: tuple[str, ...]
    love_languages: tuple[str, ...]
    interests: tuple[str, ...]
    lifestyle: Mapping[str, tuple[str, ...]]
    limits: Mapping[str, int]
    modes: tuple[str, ...]
    genders: tuple[str, ...]
    min_age: int
    max_age: int

    def words(self, part: str) -> tuple[str, ...]:
        """The vocabulary of a set part: values, love_languages or interests."""
        words: tuple[str, ...] = getattr(self, part)
        return words

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules_version": RULES_VERSION,
            "values": list(self.values),
            "love_languages": list(self.love_languages),
            "interests": list(self.interests),
            "lifestyle": {question: list(options) for question, options in self.lifestyle.items()},
            "limits": dict(self.limits),
            "modes": list(self.modes),
            "genders": list(self.genders),
            "age_range": {"min": self.min_age, "max": self.max_age},
        }


@dataclass(frozen=True, slots=True)
class PageRules:
    max_lens_share: int
    min_size: int
    max_size: int
    default_size: int

    def lens_cap(self, page_size: int) -> int:
        """Most items of one lens on a page of `page_size`."""
        return max(1, page_size * self.max_lens_share // 100)


@dataclass(frozen=True, slots=True)
class MatchRules:
    version: str
    weights: tuple[int, ...]
    synastry: SynastryRules
    elements: ElementRules
    numerology: NumerologyRules
    profile_weights: tuple[int, ...]
    vocabulary: Vocabulary
    pages: PageRules


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise RulesError(message)


def _symmetric(table: Sequence[Sequence[int]], size: int, name: str) -> tuple[tuple[int, ...], ...]:
    rows = tuple(tuple(int(cell) for cell in row) for row in table)
    _require(
        len(rows) == size and all(len(row) == size for row in rows), f"{name}: not {size}x{size}"
    )
    _require(all(0 <= cell <= 100 for row in rows for cell in row), f"{name}: cells outside 0..100")
    _require(
        all(rows[i][j] == rows[j][i] for i in range(size) for j in range(size)),
        f"{name}: not symmetric",
    )
    return rows


def _words(words: Sequence[str], name: str) -> tuple[str, ...]:
    result = tuple(words)
    _require(len(set(result)) == len(result), f"{name}: repeated word")
    _require(0 < len(result) <= MAX_VOCABULARY, f"{name}: 1..{MAX_VOCABULARY} words")
    return result


def _aspect_tables(
    aspects: tuple[AspectRule, ...],
) -> tuple[npt.NDArray[np.int64], ...]:
    separation = np.arange(HALF_TURN + 1, dtype=np.int64)
    aspect_at = np.full(HALF_TURN + 1, -1, dtype=np.int64)
    orb_at = np.zeros(HALF_TURN + 1, dtype=np.int64)
    harmonious = np.zeros(HALF_TURN + 1, dtype=np.int64)
    tense = np.zeros(HALF_TURN + 1, dtype=np.int64)
    for index, aspect in enumerate(aspects):
        max_orb = aspect.orb * 100
        orb = np.abs(separation - aspect.angle * 100)
        within = orb <= max_orb
        _require(not (within & (aspect_at >= 0)).any(), f"aspect {aspect.name}: orbs overlap")
        aspect_at[within] = index
        orb_at[within] = orb[within]
        # Strength in thousandths, rounded down: 1000 when exact, 0 at the edge of the orb.
        strength = (STRENGTH_UNIT * (max_orb - orb)) // max_orb
        target = harmonious if aspect.value > 0 else tense
        target[within] = abs(aspect.value) * strength[within]
    return aspect_at, orb_at, harmonious, tense


def _synastry(data: Mapping[str, Any]) -> SynastryRules:
    points = tuple(data["points"])
    angles = frozenset(data["angles"])
    _require(angles <= set(points), "synastry.angles: not among the points")
    weights = tuple(int(data["point_weights"][name]) for name in points)
    _require(all(weight > 0 for weight in weights), "synastry.point_weights: must be positive")
    aspects = tuple(AspectRule(**aspect) for aspect in data["aspects"])
    for aspect in aspects:
        _require(0 <= aspect.angle <= 180 and aspect.orb > 0, f"aspect {aspect.name}: bad angle")
        _require(aspect.value != 0, f"aspect {aspect.name}: value 0")
    aspect_at, orb_at, harmonious, tense = _aspect_tables(aspects)
    # The ranking packs harmonious and tense sums of a candidate into one 64-bit integer.
    largest = sum(weights) ** 2 * max(abs(aspect.value) for aspect in aspects) * STRENGTH_UNIT
    _require(largest < 2**31, "synastry: weights too large for the packed ranking sums")
    for table in (aspect_at, orb_at, harmonious, tense):
        table.setflags(write=False)
    return SynastryRules(
        points=points,
        angles=angles,
        point_weights=weights,
        pair_weights=tuple(tuple(a * b for b in weights) for a in weights),
        prior=int(data["prior"]),
        aspects=aspects,
        aspect_at=aspect_at,
        orb_at=orb_at,
        harmonious_at=harmonious,
        tense_at=tense,
    )


def _elements(data: Mapping[str, Any]) -> ElementRules:
    elements = tuple(data["elements"])
    modalities = tuple(data["modalities"])
    return ElementRules(
        element_weight=int(data["weights"]["elements"]),
        modality_weight=int(data["weights"]["modalities"]),
        elements=elements,
        element_harmony=_symmetric(data["element_harmony"], len(elements), "element_harmony"),
        modalities=modalities,
        modality_harmony=_symmetric(data["modality_harmony"], len(modalities), "modality_harmony"),
    )


def _numerology(data: Mapping[str, Any]) -> NumerologyRules:
    roots = {int(number): int(root) for number, root in data["master_roots"].items()}
    _require(set(roots) == LIFE_PATHS - set(range(1, 10)), "numerology.master_roots: 11, 22, 33")
    table = _symmetric(data["table"], 9, "numerology.table")
    phrases = {int(value): str(text) for value, text in data["phrases"].items()}
    _require({cell for row in table for cell in row} <= set(phrases), "numerology.phrases: gaps")
    return NumerologyRules(MappingProxyType(roots), table, MappingProxyType(phrases))


def _vocabulary(profile: Mapping[str, Any], dating: Mapping[str, Any]) -> Vocabulary:
    lifestyle = {
        question: _words(options, f"lifestyle.{question}")
        for question, options in profile["lifestyle"].items()
    }
    _require(all(len(options) >= 2 for options in lifestyle.values()), "lifestyle: 2+ options")
    limits = {part: int(profile["limits"][part]) for part in SET_PARTS}
    vocabulary = Vocabulary(
        values=_words(profile["values"], "values"),
        love_languages=_words(profile["love_languages"], "love_languages"),
        interests=_words(profile["interests"], "interests"),
        lifestyle=MappingProxyType(lifestyle),
        limits=MappingProxyType(limits),
        modes=_words(dating["modes"], "modes"),
        genders=_words(dating["genders"], "genders"),
        min_age=int(dating["min_age"]),
        max_age=int(dating["max_age"]),
    )
    for part in SET_PARTS:
        _require(0 < limits[part] <= len(vocabulary.words(part)), f"limits.{part}: out of range")
    _require(0 < vocabulary.min_age <= vocabulary.max_age < 128, "dating: bad age limits")
    return vocabulary


def parse_rules(data: Mapping[str, Any]) -> MatchRules:
    """Check a rules document (the parsed TOML) and derive its lookup tables."""
    try:
        profile = data["profile"]
        pages = PageRules(**data["pages"])
        _require(0 < pages.max_lens_share <= 100, "pages.max_lens_share: 1..100")
        _require(
            0 < pages.min_size <= pages.default_size <= pages.max_size, "pages: bad page sizes"
        )
        rules = MatchRules(
            version=str(data["version"]),
            weights=tuple(int(data["weights"][name]) for name in COMPONENTS),
            synastry=_synastry(data["synastry"]),
            elements=_elements(data["elements"]),
            numerology=_numerology(data["numerology"]),
            profile_weights=tuple(int(profile["weights"][name]) for name in PROFILE_PARTS),
            vocabulary=_vocabulary(profile, data["dating"]),
            pages=pages,
        )
    except (KeyError, TypeError) as exc:
        raise RulesError(f"malformed rules file: {exc!r}") from None
    _require(all(weight > 0 for weight in rules.weights), "weights: must be positive")
    _require(all(weight > 0 for weight in rules.profile_weights), "profile weights: positive")
    return rules


@functools.cache
def load_rules(version: str = RULES_VERSION) -> MatchRules:
    """The rules of `version`, from ``data/<version>.toml`` inside this package."""
    text = (
        resources.files("selflink_core.matching")
        .joinpath("data", f"{version}.toml")
        .read_text("utf-8")
    )
    rules = parse_rules(tomllib.loads(text))
    _require(rules.version == version, f"{version}.toml declares version {rules.version!r}")
    return rules


def vocabulary() -> Vocabulary:
    """The vocabularies and limits of the current rules (what the API validates against)."""
    return load_rules().vocabulary
