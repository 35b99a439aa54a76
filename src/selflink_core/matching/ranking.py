"""Vectorized ranking: one user against every candidate in one pass, with NumPy.

The formulas are those of `scoring` in the same integer arithmetic, so `rank` gives exactly
the totals, components and lenses of `score` for every candidate (no tolerance). The trick
that makes 100,000 candidates cheap: the user's seven points are fixed, so for every possible
candidate longitude (36,000 hundredths of a degree) the harmonious and tense points are
tabulated once per request, and each candidate point then costs one table lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from selflink_core.matching.person import (
    ELEMENT_COLUMNS,
    LIFESTYLE_COLUMNS,
    LONGITUDE_COLUMNS,
    MATCH_SCHEMA,
    MODALITY_COLUMNS,
    people_frame,
)
from selflink_core.matching.profile import UNANSWERED
from selflink_core.matching.rules import (
    CENTIDEGREES,
    COMPONENTS,
    FULL_SCORE,
    LENSES,
    LIFE_PATHS,
    NO_LENS,
    PROFILE_PARTS,
    SCORE_UNIT,
    SET_PARTS,
    STRENGTH_UNIT,
    load_rules,
)
from selflink_core.matching.scoring import (
    MICRODEGREES,
    NEUTRAL_CENTI,
    chart_points,
    lifestyle_agreement_centi,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt
    import polars as pl

    from selflink_core.matching.person import Person

Ints = np.ndarray[Any, np.dtype[np.int64]]
Bools = np.ndarray[Any, np.dtype[np.bool_]]
NONE_LENS: Final = LENSES.index(NO_LENS)


def _half_up(numerator: Ints, denominator: Ints | int) -> Ints:
    result: Ints = (2 * numerator + denominator) // (2 * denominator)
    return result


def _centidegrees(longitudes: npt.NDArray[np.float64]) -> Ints:
    micro = np.rint(longitudes * MICRODEGREES).astype(np.int64)
    result: Ints = (micro + 5_000) // 10_000 % CENTIDEGREES
    return result


def _check_frame(frame: pl.DataFrame) -> None:
    """Refuse values that would index outside the rules' tables (rows of another version)."""
    vocabulary = load_rules().vocabulary
    options = vocabulary.lifestyle.values()
    limits: dict[str, tuple[int, int]] = {
        "life_path": (1, max(LIFE_PATHS)),
        **{part: (0, (1 << len(vocabulary.words(part))) - 1) for part in SET_PARTS},
        **{
            column: (UNANSWERED, len(answers) - 1)
            for column, answers in zip(LIFESTYLE_COLUMNS, options, strict=True)
        },
    }
    for column, (low, high) in limits.items():
        values = frame[column].drop_nulls()
        if values.len() and (values.min() < low or values.max() > high):  # type: ignore[operator]
            raise ValueError(f"column {column!r} holds values outside {low}..{high}")
    paths = frame["life_path"].drop_nulls()
    if not paths.is_in(sorted(LIFE_PATHS)).all():
        raise ValueError("column 'life_path' holds a number that is no life path")


@dataclass(frozen=True, slots=True)
class CandidateMatrix:
    """Stored rows turned into integer arrays once, to be ranked many times.

    Build it with `from_frame` (rows of `MATCH_SCHEMA`, e.g. loaded from storage) or
    `from_people`; `take` selects the candidates that passed the API's filters.
    """

    points: Ints  # (n, 7) centidegrees, 0 where unknown
    has_chart: Bools
    angles_known: Bools
    elements: Ints  # (n, 4)
    modalities: Ints  # (n, 3)
    life_root: Ints  # 1..9, 0 when unknown
    values: Ints
    love_languages: Ints
    interests: Ints
    lifestyle: Ints  # (n, questions), -1 when unanswered
    has_profile: Bools

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> CandidateMatrix:
        missing = [name for name in MATCH_SCHEMA if name not in frame.columns]
        if missing:
            raise ValueError(f"the candidate frame lacks column {missing[0]!r}")
        _check_frame(frame)
        rules = load_rules()

        def ints(names: Sequence[str], fill: int = 0) -> Ints:
            block = frame.select(list(names)).fill_null(fill).to_numpy()
            return np.ascontiguousarray(block, dtype=np.int64)

        longitudes = frame.select(list(LONGITUDE_COLUMNS)).fill_null(0.0).to_numpy()
        has_chart = frame["sun"].is_not_null().to_numpy()
        roots = np.arange(34, dtype=np.int64)
        for number, root in rules.numerology.master_roots.items():
            roots[number] = root
        values, love, interests = (ints([part])[:, 0] for part in SET_PARTS)
        lifestyle = ints(LIFESTYLE_COLUMNS, UNANSWERED)
        return cls(
            points=_centidegrees(np.asarray(longitudes, dtype=np.float64)),
            has_chart=has_chart,
            angles_known=has_chart & frame["ascendant"].is_not_null().to_numpy(),
            elements=ints(ELEMENT_COLUMNS),
            modalities=ints(MODALITY_COLUMNS),
            life_root=roots[ints(["life_path"])[:, 0]],
            values=values,
            love_languages=love,
            interests=interests,
            lifestyle=lifestyle,
            has_profile=((values | love | interests) != 0) | (lifestyle != UNANSWERED).any(axis=1),
        )

    @classmethod
    def from_people(cls, people: Sequence[Person]) -> CandidateMatrix:
        return cls.from_frame(people_frame(people))

    def __len__(self) -> int:
        return len(self.has_chart)

    def take(self, rows: npt.ArrayLike) -> CandidateMatrix:
        """The candidates at `rows` (indices or a boolean mask), in that order."""
        selection = np.asarray(rows)
        return CandidateMatrix(
            **{field.name: getattr(self, field.name)[selection] for field in fields(self)}
        )


@dataclass(frozen=True, slots=True)
class Ranking:
    """Per candidate, equal to `score(user, candidate)`'s: `totals` and `ranking_scores`
    (what recommendations sort by) in points, `components` in points (columns in `COMPONENTS`
    order, NaN when not covered) and `lenses` as indices into `LENSES` (4 = "none")."""

    totals: npt.NDArray[np.float64]
    ranking_scores: npt.NDArray[np.float64]
    components: npt.NDArray[np.float64]
    lenses: npt.NDArray[np.int8]


def _synastry(user: Person, matrix: CandidateMatrix) -> Ints:
    """Synastry in hundredths for every candidate (meaningless where a chart is missing)."""
    rules = load_rules().synastry
    assert user.chart is not None
    mine = chart_points(user.chart)
    user_angles = user.angles_known
    weights = np.array(rules.point_weights, dtype=np.int64)
    planets, angles = list(rules.planet_indices), list(rules.angle_indices)
    sky = np.arange(CENTIDEGREES, dtype=np.int64)
    # Per candidate longitude: the user's planets' (and angles') weighted points, with the
    # harmonious sum in the high 32 bits and the tense sum in the low ones (no overlap:
    # each sum stays below 2**31).
    packed = (rules.harmonious_at << 32) | rules.tense_at
    by_planets = np.zeros(CENTIDEGREES, dtype=np.int64)
    by_angles = np.zeros(CENTIDEGREES, dtype=np.int64)
    for index, point in enumerate(mine):
        if point is None:
            continue
        gap = np.abs(sky - point)
        gap = np.minimum(gap, CENTIDEGREES - gap)
        target = by_angles if index in angles else by_planets
        target += weights[index] * packed[gap]
    both = matrix.angles_known if user_angles else np.zeros(len(matrix), dtype=np.bool_)
    sums = np.zeros(len(matrix), dtype=np.int64)
    for index in planets:
        column = matrix.points[:, index]
        sums += weights[index] * by_planets[column]
        if user_angles:
            sums += weights[index] * np.where(both, by_angles[column], 0)
    if user_angles:
        everything = by_planets + by_angles
        for index in angles:
            sums += weights[index] * np.where(both, everything[matrix.points[:, index]], 0)
    harmonious = sums >> 32
    tense = sums & 0xFFFFFFFF
    prior = rules.prior * STRENGTH_UNIT
    return _half_up(FULL_SCORE * (harmonious + prior), harmonious + tense + 2 * prior)


def _harmony(mine: Sequence[int], theirs: Ints, table: Sequence[Sequence[int]]) -> Ints:
    weighted = np.array(table, dtype=np.int64) @ np.array(mine, dtype=np.int64)
    sums = theirs @ weighted
    return _half_up(100 * sums, sum(mine) * theirs.sum(axis=1))


def _elements(user: Person, matrix: CandidateMatrix) -> Ints:
    rules = load_rules().elements
    assert user.chart is not None
    has = matrix.has_chart
    # Candidates without a chart have zero counts; give them a harmless denominator.
    elements = np.where(has[:, None], matrix.elements, 1)
    modalities = np.where(has[:, None], matrix.modalities, 1)
    element_part = _harmony(user.chart.elements, elements, rules.element_harmony)
    modality_part = _harmony(user.chart.modalities, modalities, rules.modality_harmony)
    return _half_up(
        rules.element_weight * element_part + rules.modality_weight * modality_part,
        rules.element_weight + rules.modality_weight,
    )


def _profile(user: Person, matrix: CandidateMatrix) -> tuple[Ints, Bools]:
    rules = load_rules()
    code = user.profile.encode()
    count = len(matrix)
    weights = dict(zip(PROFILE_PARTS, rules.profile_weights, strict=True))
    weighted = np.zeros(count, dtype=np.int64)
    total_weight = np.zeros(count, dtype=np.int64)
    for part in SET_PARTS:
        theirs: Ints = getattr(matrix, part)
        shorter = np.minimum(np.bitwise_count(theirs), code.mask(part).bit_count())
        shared = np.bitwise_count(theirs & code.mask(part)).astype(np.int64)
        present = shorter > 0
        part_score = _half_up(FULL_SCORE * shared, np.maximum(shorter, 1).astype(np.int64))
        weighted += np.where(present, weights[part] * part_score, 0)
        total_weight += np.where(present, weights[part], 0)
    agreement = np.zeros(count, dtype=np.int64)
    answered = np.zeros(count, dtype=np.int64)
    for index, (options, mine) in enumerate(
        zip(rules.vocabulary.lifestyle.values(), code.lifestyle, strict=True)
    ):
        if mine == UNANSWERED:
            continue
        by_distance = np.array(
            [lifestyle_agreement_centi(len(options), 0, step) for step in range(len(options))],
            dtype=np.int64,
        )
        theirs = matrix.lifestyle[:, index]
        both = theirs != UNANSWERED
        agreement += np.where(both, by_distance[np.abs(np.where(both, theirs, mine) - mine)], 0)
        answered += both
    present = answered > 0
    lifestyle = _half_up(agreement, np.maximum(answered, 1))
    weighted += np.where(present, weights["lifestyle"] * lifestyle, 0)
    total_weight += np.where(present, weights["lifestyle"], 0)
    covered = matrix.has_profile & (total_weight > 0) & (not code.is_empty)
    return _half_up(weighted, np.maximum(total_weight, 1)), covered


def rank(user: Person, candidates: CandidateMatrix) -> Ranking:
    """Score `user` against every candidate at once; equal to `score` pair by pair."""
    rules = load_rules()
    count = len(candidates)
    scores = np.zeros((count, len(COMPONENTS)), dtype=np.int64)
    covered = np.zeros((count, len(COMPONENTS)), dtype=np.bool_)
    if user.chart is not None:
        scores[:, 0] = _synastry(user, candidates)
        scores[:, 1] = _elements(user, candidates)
        covered[:, 0] = covered[:, 1] = candidates.has_chart
    if user.life_path is not None:
        row = np.array(
            [0, *rules.numerology.table[rules.numerology.root(user.life_path) - 1]],
            dtype=np.int64,
        )
        scores[:, 2] = row[candidates.life_root] * 100
        covered[:, 2] = candidates.life_root > 0
    scores[:, 3], covered[:, 3] = _profile(user, candidates)
    weights = np.array(rules.weights, dtype=np.int64)
    weighted = np.where(covered, scores * weights, -1)
    total_weight = (covered * weights).sum(axis=1)
    totals = np.where(
        total_weight > 0,
        _half_up(np.where(covered, scores * weights, 0).sum(axis=1), np.maximum(total_weight, 1)),
        0,
    )
    lenses = np.where(total_weight > 0, weighted.argmax(axis=1), NONE_LENS)
    neutral = np.where(covered, scores, NEUTRAL_CENTI) * weights
    ranking_scores = _half_up(neutral.sum(axis=1), int(weights.sum()))
    return Ranking(
        totals=totals / SCORE_UNIT,
        ranking_scores=ranking_scores / SCORE_UNIT,
        components=np.where(covered, scores / SCORE_UNIT, np.nan),
        lenses=lenses.astype(np.int8),
    )
