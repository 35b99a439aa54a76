"""The component formulas of `match-1`, in exact integer arithmetic.

Every score is an integer number of hundredths of a point (0..10000) computed from integers
only: longitudes in hundredths of a degree, aspect strengths in thousandths, and divisions
rounded half up with `half_up`. So `score(A, B)` and `score(B, A)` are equal bit for bit,
nothing depends on summation order, and the vectorized ranking gives exactly the same
numbers. docs/matching.md states each formula for a reader with pencil and paper.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from selflink_core.matching.profile import UNANSWERED, ProfileCode
from selflink_core.matching.rules import (
    CENTIDEGREES,
    COMPONENTS,
    FULL_SCORE,
    NO_LENS,
    PROFILE_PARTS,
    SET_PARTS,
    STRENGTH_UNIT,
    load_rules,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from selflink_core.astro import ChartFeatures
    from selflink_core.matching.person import Person

MICRODEGREES: Final = 1_000_000
NEUTRAL_CENTI: Final = FULL_SCORE // 2


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves up (both >= 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def centidegrees(longitude: float) -> int:
    """A longitude in whole hundredths of a degree (halves up), 0..35999.

    Longitudes carry six decimals, so the micro-degree count is exact and the rounding is a
    decimal one: 56.338950 -> 5634.
    """
    micro = round(longitude * MICRODEGREES)
    return (micro + 5_000) // 10_000 % CENTIDEGREES


def separation(first: int, second: int) -> int:
    """The shorter arc between two longitudes in centidegrees, 0..18000."""
    difference = abs(first - second)
    return min(difference, CENTIDEGREES - difference)


# --- synastry ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contact:
    """An aspect between a point of the first chart and a point of the second.

    `orb` in centidegrees, `strength` in thousandths (1000 = exact), `points` the signed
    contribution in thousandths of a point: weight x |aspect value| x strength.
    """

    first: str
    second: str
    aspect: str
    orb: int
    strength: int
    weight: int
    points: int


def chart_points(chart: ChartFeatures) -> tuple[int | None, ...]:
    """The compared points of a chart in centidegrees (None for unknown angles)."""
    rules = load_rules().synastry
    values = []
    for name in rules.points:
        longitude = getattr(chart, name)
        values.append(None if longitude is None else centidegrees(longitude))
    return tuple(values)


def contacts(first: ChartFeatures, second: ChartFeatures) -> tuple[list[Contact], bool]:
    """Every aspect from each point of `first` to each point of `second`, and whether the
    angles took part (only when both charts have them)."""
    rules = load_rules().synastry
    a_points, b_points = chart_points(first), chart_points(second)
    with_angles = first.ascendant is not None and second.ascendant is not None
    compared = range(len(rules.points)) if with_angles else rules.planet_indices
    aspect_at, orb_at = rules.aspect_at, rules.orb_at
    harmonious_at, tense_at = rules.harmonious_at, rules.tense_at
    found = []
    for i in compared:
        a_point = a_points[i]
        assert a_point is not None
        for j in compared:
            b_point = b_points[j]
            assert b_point is not None
            gap = separation(a_point, b_point)
            kind = int(aspect_at[gap])
            if kind < 0:
                continue
            aspect = rules.aspects[kind]
            unit = int(harmonious_at[gap]) - int(tense_at[gap])
            weight = rules.pair_weights[i][j]
            found.append(
                Contact(
                    first=rules.points[i],
                    second=rules.points[j],
                    aspect=aspect.name,
                    orb=int(orb_at[gap]),
                    strength=abs(unit) // abs(aspect.value),
                    weight=weight,
                    points=weight * unit,
                )
            )
    return found, with_angles


def synastry_sums(found: Sequence[Contact]) -> tuple[int, int]:
    """Harmonious and tense points (thousandths) of a set of contacts."""
    harmonious = sum(contact.points for contact in found if contact.points > 0)
    tense = -sum(contact.points for contact in found if contact.points < 0)
    return harmonious, tense


def synastry_fraction(harmonious: int, tense: int) -> Fraction:
    """100 (H + C) / (H + T + 2C): the harmonious share, smoothed by the prior C."""
    prior = load_rules().synastry.prior * STRENGTH_UNIT
    return Fraction(100 * (harmonious + prior), harmonious + tense + 2 * prior)


def synastry_centi(harmonious: int, tense: int) -> int:
    prior = load_rules().synastry.prior * STRENGTH_UNIT
    return half_up(FULL_SCORE * (harmonious + prior), harmonious + tense + 2 * prior)


# --- elements -----------------------------------------------------------------------------


def _harmony(first: Sequence[int], second: Sequence[int], table: Sequence[Sequence[int]]) -> int:
    return sum(a * b * table[i][j] for i, a in enumerate(first) for j, b in enumerate(second))


def element_parts(first: ChartFeatures, second: ChartFeatures) -> tuple[Fraction, Fraction]:
    """Element and modality harmony in points: the table mean over all pairs of planets."""
    rules = load_rules().elements
    planets = sum(first.elements) * sum(second.elements)
    rhythms = sum(first.modalities) * sum(second.modalities)
    return (
        Fraction(_harmony(first.elements, second.elements, rules.element_harmony), planets),
        Fraction(_harmony(first.modalities, second.modalities, rules.modality_harmony), rhythms),
    )


def elements_centi(first: ChartFeatures, second: ChartFeatures) -> int:
    rules = load_rules().elements
    elements = half_up(
        100 * _harmony(first.elements, second.elements, rules.element_harmony),
        sum(first.elements) * sum(second.elements),
    )
    modalities = half_up(
        100 * _harmony(first.modalities, second.modalities, rules.modality_harmony),
        sum(first.modalities) * sum(second.modalities),
    )
    return half_up(
        rules.element_weight * elements + rules.modality_weight * modalities,
        rules.element_weight + rules.modality_weight,
    )


def elements_fraction(first: ChartFeatures, second: ChartFeatures) -> Fraction:
    rules = load_rules().elements
    elements, modalities = element_parts(first, second)
    return (rules.element_weight * elements + rules.modality_weight * modalities) / (
        rules.element_weight + rules.modality_weight
    )


# --- numerology ---------------------------------------------------------------------------


def numerology_points(first: int, second: int) -> int:
    rules = load_rules().numerology
    return rules.table[rules.root(first) - 1][rules.root(second) - 1]


# --- profile ------------------------------------------------------------------------------


def set_part_fraction(first: int, second: int) -> Fraction | None:
    """Shared words over the shorter list (overlap coefficient) in points; None unless both
    declared something."""
    shorter = min(first.bit_count(), second.bit_count())
    return None if shorter == 0 else Fraction(100 * (first & second).bit_count(), shorter)


def set_part_centi(first: int, second: int) -> int | None:
    shorter = min(first.bit_count(), second.bit_count())
    return None if shorter == 0 else half_up(FULL_SCORE * (first & second).bit_count(), shorter)


def lifestyle_agreement_centi(options: int, first: int, second: int) -> int:
    """Agreement on one question: 100 for the same answer, less by 100/(options-1) a step."""
    steps = options - 1
    return half_up(FULL_SCORE * (steps - abs(first - second)), steps)


def lifestyle_pairs(first: ProfileCode, second: ProfileCode) -> list[tuple[int, int, int]]:
    """(options, first answer, second answer) of each question both answered."""
    sizes = [len(options) for options in load_rules().vocabulary.lifestyle.values()]
    return [
        (size, a, b)
        for size, a, b in zip(sizes, first.lifestyle, second.lifestyle, strict=True)
        if UNANSWERED not in (a, b)
    ]


def lifestyle_centi(first: ProfileCode, second: ProfileCode) -> int | None:
    """Mean agreement over the questions both answered; None when there are none."""
    pairs = lifestyle_pairs(first, second)
    if not pairs:
        return None
    total = sum(lifestyle_agreement_centi(size, a, b) for size, a, b in pairs)
    return half_up(total, len(pairs))


def lifestyle_fraction(first: ProfileCode, second: ProfileCode) -> Fraction | None:
    pairs = lifestyle_pairs(first, second)
    if not pairs:
        return None
    total = sum(
        (Fraction(100 * (size - 1 - abs(a - b)), size - 1) for size, a, b in pairs), Fraction(0)
    )
    return total / len(pairs)


def profile_part_centis(first: ProfileCode, second: ProfileCode) -> dict[str, int | None]:
    parts: dict[str, int | None] = {
        part: set_part_centi(first.mask(part), second.mask(part)) for part in SET_PARTS
    }
    parts["lifestyle"] = lifestyle_centi(first, second)
    return parts


def profile_centi(first: ProfileCode, second: ProfileCode) -> int | None:
    """Weighted mean of the parts that count; None unless both declared something."""
    if first.is_empty or second.is_empty:
        return None
    parts = profile_part_centis(first, second)
    return _weighted_centi(parts, _profile_weights())


def profile_part_fractions(first: ProfileCode, second: ProfileCode) -> dict[str, Fraction | None]:
    """Each part in exact points; None for a part that does not count."""
    parts: dict[str, Fraction | None] = {
        part: set_part_fraction(first.mask(part), second.mask(part)) for part in SET_PARTS
    }
    parts["lifestyle"] = lifestyle_fraction(first, second)
    return parts


def weighted_profile(parts: Mapping[str, Fraction | None]) -> Fraction | None:
    return _weighted_fraction(parts, _profile_weights())


def profile_fraction(first: ProfileCode, second: ProfileCode) -> Fraction | None:
    if first.is_empty or second.is_empty:
        return None
    return weighted_profile(profile_part_fractions(first, second))


@functools.cache
def _profile_weights() -> Mapping[str, int]:
    return MappingProxyType(dict(zip(PROFILE_PARTS, load_rules().profile_weights, strict=True)))


# --- total --------------------------------------------------------------------------------


def _weighted_centi(values: Mapping[str, int | None], weights: Mapping[str, int]) -> int | None:
    present = [(weights[name], value) for name, value in values.items() if value is not None]
    total_weight = sum(weight for weight, _ in present)
    if total_weight == 0:
        return None
    return half_up(sum(weight * value for weight, value in present), total_weight)


def _weighted_fraction(
    values: Mapping[str, Fraction | None], weights: Mapping[str, int]
) -> Fraction | None:
    present = [(weights[name], value) for name, value in values.items() if value is not None]
    total_weight = sum(weight for weight, _ in present)
    if total_weight == 0:
        return None
    return sum((weight * value for weight, value in present), Fraction(0)) / total_weight


@functools.cache
def component_weights() -> Mapping[str, int]:
    return MappingProxyType(dict(zip(COMPONENTS, load_rules().weights, strict=True)))


def total_centi(components: Mapping[str, int | None]) -> int:
    """Weighted mean over the covered components; 0 when none is covered."""
    total = _weighted_centi(components, component_weights())
    return 0 if total is None else total


def ranking_centi(components: Mapping[str, int | None]) -> int:
    """The total with every uncovered component counted at the neutral 50: what
    recommendations sort by, so that little data cannot outrank much."""
    weights = component_weights()
    filled = {name: NEUTRAL_CENTI if value is None else value for name, value in components.items()}
    total = _weighted_centi(filled, weights)
    assert total is not None
    return total


def lens_of(components: Mapping[str, int | None]) -> str:
    """The covered component that adds the most weighted points (ties: the earlier one)."""
    weights = component_weights()
    best, lens = -1, NO_LENS
    for name in COMPONENTS:
        value = components[name]
        if value is not None and weights[name] * value > best:
            best, lens = weights[name] * value, name
    return lens


@dataclass(frozen=True, slots=True)
class Components:
    """Every component in hundredths of a point (None = not covered), with its inputs."""

    synastry: int | None
    elements: int | None
    numerology: int | None
    profile: int | None
    contacts: tuple[Contact, ...]
    angles_compared: bool

    def as_dict(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in COMPONENTS}


def components(first: Person, second: Person) -> Components:
    """The four components of a pair; symmetric in the numbers (not in `contacts`, whose
    `first` always names the first person's point)."""
    found: list[Contact] = []
    with_angles = False
    synastry = elements = numerology = None
    if first.chart is not None and second.chart is not None:
        found, with_angles = contacts(first.chart, second.chart)
        synastry = synastry_centi(*synastry_sums(found))
        elements = elements_centi(first.chart, second.chart)
    if first.life_path is not None and second.life_path is not None:
        numerology = numerology_points(first.life_path, second.life_path) * 100
    profile = profile_centi(first.profile.encode(), second.profile.encode())
    return Components(
        synastry=synastry,
        elements=elements,
        numerology=numerology,
        profile=profile,
        contacts=tuple(found),
        angles_compared=with_angles,
    )
