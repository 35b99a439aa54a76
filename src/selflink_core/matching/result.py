"""`score(A, B)`: the match result with its component scores, details and reasons.

Reasons are ranked by their impact: how many points of the total the reason moved, found by
recomputing the exact (unrounded) total with the reason made neutral: an aspect's points taken
out of the sums, a shared word counted as declared by one side only, a lifestyle question at
a half agreement, the elements or numerology component at 50. Coverage never changes, so a
shared word always helps and a tense aspect always costs. Ties keep the order in which reasons
are listed (components in rules order, aspects by point, words by vocabulary), so the ranking
is deterministic. Reasons speak to the first person ("Your Moon trines their Venus").
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final

from selflink_core.astro import canonical_json
from selflink_core.matching.profile import UNANSWERED, ProfileCode
from selflink_core.matching.rules import (
    COMPONENTS,
    RULES_VERSION,
    SCORE_UNIT,
    SET_PARTS,
    STRENGTH_UNIT,
    load_rules,
)
from selflink_core.matching.scoring import (
    NEUTRAL_CENTI,
    Components,
    Contact,
    component_weights,
    components,
    element_parts,
    elements_fraction,
    half_up,
    lens_of,
    lifestyle_agreement_centi,
    lifestyle_pairs,
    numerology_points,
    profile_fraction,
    profile_part_centis,
    profile_part_fractions,
    ranking_centi,
    synastry_fraction,
    synastry_sums,
    total_centi,
    weighted_profile,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from selflink_core.astro import ChartFeatures
    from selflink_core.matching.person import Person

MATCH: Final = "match"
# What a factor is measured against: a half agreement, or a component at 50.
NEUTRAL: Final = Fraction(NEUTRAL_CENTI, SCORE_UNIT)
REASONS_SHOWN: Final = 3
POINT_LABELS: Final = {"mc": "Midheaven"}
SET_PHRASES: Final = {
    "values": "You both value {}",
    "love_languages": "You share a love language: {}",
    "interests": "You both enjoy {}",
}


def points(centi: int | None) -> float | None:
    """Hundredths of a point as a number of points (an exact decimal with two places)."""
    return None if centi is None else centi / SCORE_UNIT


def _label(point: str) -> str:
    return POINT_LABELS.get(point, point.capitalize())


def _words(word: str) -> str:
    return word.replace("_", " ")


def _decimal(value: int, places: int) -> str:
    scale = 10**places
    return f"{value // scale}.{value % scale:0{places}d}"


@dataclass(frozen=True, slots=True)
class Reason:
    """One plain-words reason. `impact`: points of the total it moved (two decimals);
    `effect`: "positive" or "negative", from the exact impact."""

    component: str
    effect: str
    impact: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "effect": self.effect,
            "impact": self.impact,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class MatchResult:
    """A scored pair. `total`, `ranking_score`, `scores`, `coverage` and `lens` are symmetric;
    `details` and `reasons` are told from the first person's side. `ranking_score` counts
    uncovered components at 50 (recommendations sort by it)."""

    total: float
    ranking_score: float
    scores: Mapping[str, float | None]
    coverage: tuple[str, ...]
    lens: str
    reasons: tuple[Reason, ...]
    details: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "coverage": list(self.coverage),
            "details": dict(self.details),
            "kind": MATCH,
            "lens": self.lens,
            "ranking_score": self.ranking_score,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "rules_version": RULES_VERSION,
            "scores": dict(self.scores),
            "total": self.total,
            "weights": dict(component_weights()),
        }

    def to_json(self) -> bytes:
        """Canonical (RFC 8785) JSON bytes."""
        return canonical_json(self.to_dict())


def score(first: Person, second: Person) -> MatchResult:
    """Compatibility of two people: components, total, coverage, lens, details, reasons."""
    parts = components(first, second)
    values = parts.as_dict()
    return MatchResult(
        total=total_centi(values) / SCORE_UNIT,
        ranking_score=ranking_centi(values) / SCORE_UNIT,
        scores={name: points(value) for name, value in values.items()},
        coverage=tuple(name for name in COMPONENTS if values[name] is not None),
        lens=lens_of(values),
        reasons=_reasons(first, second, parts),
        details=_details(first, second, parts),
    )


# --- details ------------------------------------------------------------------------------


def _contact_dict(contact: Contact) -> dict[str, Any]:
    return {
        "aspect": contact.aspect,
        "first": contact.first,
        "orb": contact.orb / 100,
        "points": contact.points / STRENGTH_UNIT,
        "second": contact.second,
        "strength": contact.strength / STRENGTH_UNIT,
        "weight": contact.weight,
    }


def _synastry_details(parts: Components) -> dict[str, Any]:
    harmonious, tense = synastry_sums(parts.contacts)
    return {
        "angles_compared": parts.angles_compared,
        "contacts": [_contact_dict(contact) for contact in parts.contacts],
        "harmonious": harmonious / STRENGTH_UNIT,
        "prior": load_rules().synastry.prior,
        "score": points(parts.synastry),
        "tense": tense / STRENGTH_UNIT,
    }


def _dominant(counts: tuple[int, ...], names: tuple[str, ...]) -> str:
    return names[counts.index(max(counts))]


def _elements_details(first: ChartFeatures, second: ChartFeatures, centi: int) -> dict[str, Any]:
    rules = load_rules().elements
    elements, modalities = element_parts(first, second)

    def counts(chart: ChartFeatures) -> dict[str, int]:
        return {
            **dict(zip(rules.elements, chart.elements, strict=True)),
            **dict(zip(rules.modalities, chart.modalities, strict=True)),
        }

    return {
        "element_harmony": half_up(100 * elements.numerator, elements.denominator) / 100,
        "first": counts(first),
        "modality_harmony": half_up(100 * modalities.numerator, modalities.denominator) / 100,
        "score": points(centi),
        "second": counts(second),
    }


def _profile_details(first: ProfileCode, second: ProfileCode, centi: int) -> dict[str, Any]:
    vocabulary = load_rules().vocabulary
    part_scores = profile_part_centis(first, second)
    details: dict[str, Any] = {"score": points(centi)}
    for part in SET_PARTS:
        words = vocabulary.words(part)
        shared = first.mask(part) & second.mask(part)
        details[part] = {
            "declared": {
                "first": first.mask(part).bit_count(),
                "second": second.mask(part).bit_count(),
            },
            "score": points(part_scores[part]),
            "shared": [word for index, word in enumerate(words) if shared >> index & 1],
        }
    compared = []
    for (question, options), a, b in zip(
        vocabulary.lifestyle.items(), first.lifestyle, second.lifestyle, strict=True
    ):
        if UNANSWERED not in (a, b):
            compared.append(
                {
                    "agreement": lifestyle_agreement_centi(len(options), a, b) / SCORE_UNIT,
                    "first": options[a],
                    "question": question,
                    "second": options[b],
                }
            )
    details["lifestyle"] = {"compared": compared, "score": points(part_scores["lifestyle"])}
    return details


def _details(first: Person, second: Person, parts: Components) -> dict[str, Any]:
    details: dict[str, Any] = dict.fromkeys(COMPONENTS)
    if first.chart is not None and second.chart is not None:
        assert parts.elements is not None
        details["synastry"] = _synastry_details(parts)
        details["elements"] = _elements_details(first.chart, second.chart, parts.elements)
    if first.life_path is not None and second.life_path is not None:
        table = numerology_points(first.life_path, second.life_path)
        details["numerology"] = {
            "first": first.life_path,
            "phrase": load_rules().numerology.phrases[table],
            "score": float(table),
            "second": second.life_path,
        }
    if parts.profile is not None:
        details["profile"] = _profile_details(
            first.profile.encode(), second.profile.encode(), parts.profile
        )
    return details


# --- reasons ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Exact:
    """Unrounded component values; a reason's impact is the total with minus without it."""

    values: dict[str, Fraction | None]
    weighted_sum: Fraction
    weight: int

    @classmethod
    def of(cls, values: dict[str, Fraction | None]) -> _Exact:
        weights = component_weights()
        weighted_sum, total_weight = Fraction(0), 0
        for name in COMPONENTS:
            value = values[name]
            if value is not None:
                weighted_sum += weights[name] * value
                total_weight += weights[name]
        return cls(values, weighted_sum, total_weight)

    def total(self) -> Fraction:
        return self.weighted_sum / self.weight if self.weight else Fraction(0)

    def without(self, component: str, replacement: Fraction) -> Fraction:
        """The total with the covered `component` at `replacement` instead."""
        current = self.values[component]
        assert current is not None
        weighted_sum = self.weighted_sum + component_weights()[component] * (replacement - current)
        return weighted_sum / self.weight


def _exact(first: Person, second: Person, parts: Components) -> _Exact:
    synastry = elements = numerology = None
    if first.chart is not None and second.chart is not None:
        synastry = synastry_fraction(*synastry_sums(parts.contacts))
        elements = elements_fraction(first.chart, second.chart)
    if parts.numerology is not None:
        numerology = Fraction(parts.numerology, SCORE_UNIT)
    profile = profile_fraction(first.profile.encode(), second.profile.encode())
    return _Exact.of(
        {
            "synastry": synastry,
            "elements": elements,
            "numerology": numerology,
            "profile": profile,
        }
    )


def _candidates(
    first: Person, second: Person, parts: Components, exact: _Exact
) -> Iterator[tuple[str, str, Fraction]]:
    """(component, text, total without the reason) for every possible reason, in order."""
    rules = load_rules()
    if first.chart is not None and second.chart is not None:
        harmonious, tense = synastry_sums(parts.contacts)
        verbs = {aspect.name: aspect.verb for aspect in rules.synastry.aspects}
        for contact in parts.contacts:
            if contact.points == 0:
                continue
            gain = max(contact.points, 0)
            cost = max(-contact.points, 0)
            orb = _decimal(half_up(contact.orb, 10), 1)
            text = (
                f"Your {_label(contact.first)} {verbs[contact.aspect]} "
                f"their {_label(contact.second)} (orb {orb}°)"
            )
            without = synastry_fraction(harmonious - gain, tense - cost)
            yield "synastry", text, exact.without("synastry", without)
        mine = _dominant(first.chart.elements, rules.elements.elements)
        theirs = _dominant(second.chart.elements, rules.elements.elements)
        assert parts.elements is not None
        text = (
            f"Your chart leans {mine} and theirs {theirs} (elements {_decimal(parts.elements, 2)})"
        )
        yield "elements", text, exact.without("elements", NEUTRAL)
    if first.life_path is not None and second.life_path is not None:
        table = numerology_points(first.life_path, second.life_path)
        text = (
            f"Your life path {first.life_path} and their {second.life_path} are "
            f"{rules.numerology.phrases[table]} (numerology {table})"
        )
        yield "numerology", text, exact.without("numerology", NEUTRAL)
    if parts.profile is not None:
        yield from _profile_candidates(first.profile.encode(), second.profile.encode(), exact)


def _profile_candidates(
    mine: ProfileCode, theirs: ProfileCode, exact: _Exact
) -> Iterator[tuple[str, str, Fraction]]:
    vocabulary = load_rules().vocabulary
    parts = profile_part_fractions(mine, theirs)

    def total_with(part: str, value: Fraction) -> Fraction:
        profile = weighted_profile({**parts, part: value})
        assert profile is not None
        return exact.without("profile", profile)

    for part in SET_PARTS:
        shared = mine.mask(part) & theirs.mask(part)
        shorter = min(mine.mask(part).bit_count(), theirs.mask(part).bit_count())
        # Without the word: one shared word less, the same lists declared.
        without = total_with(part, Fraction(100 * (shared.bit_count() - 1), max(shorter, 1)))
        for bit, word in enumerate(vocabulary.words(part)):
            if shared >> bit & 1:
                yield "profile", SET_PHRASES[part].format(_words(word)), without
    lifestyle = parts["lifestyle"]
    compared = len(lifestyle_pairs(mine, theirs))
    for (question, options), a, b in zip(
        vocabulary.lifestyle.items(), mine.lifestyle, theirs.lifestyle, strict=True
    ):
        if UNANSWERED in (a, b):
            continue
        assert lifestyle is not None
        steps = len(options) - 1
        agreement = Fraction(100 * (steps - abs(a - b)), steps)
        if a == b:
            text = f"You agree on {_words(question)}: {_words(options[a])}"
        else:
            text = (
                f"You differ on {_words(question)}: you said {_words(options[a])}, "
                f"they said {_words(options[b])}"
            )
        # Without the answers: a half agreement on this question.
        yield "profile", text, total_with("lifestyle", lifestyle + (NEUTRAL - agreement) / compared)


def _reasons(first: Person, second: Person, parts: Components) -> tuple[Reason, ...]:
    exact = _exact(first, second, parts)
    total = exact.total()
    ranked = []
    for order, (component, text, without) in enumerate(_candidates(first, second, parts, exact)):
        impact = total - without
        if impact != 0:
            ranked.append((-abs(impact), order, component, text, impact))
    ranked.sort()
    return tuple(
        Reason(
            component=component,
            effect="positive" if impact > 0 else "negative",
            impact=round(impact * SCORE_UNIT) / SCORE_UNIT,
            text=text,
        )
        for _, _, component, text, impact in ranked[:REASONS_SHOWN]
    )
