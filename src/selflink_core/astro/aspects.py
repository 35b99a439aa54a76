"""Aspects between two sets of points, shared by natal charts, synastry, composites and transits.

Separations are measured on the rounded longitudes that results show, so anyone can recompute
an orb from a published chart. When several aspects fit a pair, the one with the smallest orb
wins (ties go to the aspect listed first in `zodiac.ASPECT_KINDS`). An aspect is applying when
its orb shrinks at the current speeds; an exact aspect (orb 0) counts as separating.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from selflink_core.astro.canonical import DEGREE_SCALE, ROUNDING_SHIFT
from selflink_core.astro.zodiac import ASPECT_KINDS, LUMINARIES, NODES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from selflink_core.astro.inputs import AspectOptions

_ANGLES: Final = {kind.name: float(kind.angle) for kind in ASPECT_KINDS}
# A pair is only tested against the aspects whose orb window lies within this many degrees of
# the pair's whole-degree bucket; the exact test decides, the margin only skips hopeless ones.
_BUCKET_MARGIN: Final = 1.0

# (name, longitude, speed): a `Point` or a plain tuple of the same fields.
AspectPoint = tuple[str, float, float | None]
# (name, angle, orb limit) of an aspect that may fit a pair.
Candidate = tuple[str, float, float]
# By whole degree of (first - second) mod 360, index 0..360: None when no aspect can fit, the one
# candidate (most buckets), or several in table order.
CandidateTable = tuple[Candidate | list[Candidate] | None, ...]
# (index in first, index in second, first name, second name, candidate table) of a pair to test.
Pair = tuple[int, int, str, str, CandidateTable]


class Point(NamedTuple):
    """A named ecliptic longitude; `speed` (degrees/day) is None where motion means nothing."""

    name: str
    longitude: float
    speed: float | None


def _separation_range(bucket: int) -> tuple[float, float]:
    """Separations (shorter arc) of differences in [bucket, bucket + 1) degrees."""
    if bucket < 180:
        return float(bucket), bucket + 1.0
    return max(0.0, 359.0 - bucket), 360.0 - bucket


@functools.lru_cache(maxsize=64)
def _candidate_tables(
    orbs: tuple[tuple[str, float], ...], luminary_orb_bonus: float
) -> tuple[CandidateTable, CandidateTable]:
    """Candidate tables for pairs without and with a luminary, for one aspect table."""

    def table(allowance: float) -> CandidateTable:
        kinds = [(name, _ANGLES[name], orb + allowance) for name, orb in orbs]
        buckets: list[Candidate | list[Candidate] | None] = []
        for bucket in range(361):
            low, high = _separation_range(bucket)
            fitting = [
                (name, angle, limit)
                for name, angle, limit in kinds
                if angle - limit - _BUCKET_MARGIN <= high and low <= angle + limit + _BUCKET_MARGIN
            ]
            buckets.append(fitting[0] if len(fitting) == 1 else fitting or None)
        return tuple(buckets)

    return table(0.0), table(luminary_orb_bonus)


@functools.lru_cache(maxsize=128)
def _pairs(
    first: tuple[str, ...],
    second: tuple[str, ...] | None,
    orbs: tuple[tuple[str, float], ...],
    luminary_orb_bonus: float,
) -> tuple[Pair, ...]:
    """The pairs to test between points of these names, each with its candidate table: the
    same few name lists (a natal chart's, a synastry's) come back for every chart."""
    plain, boosted = _candidate_tables(orbs, luminary_orb_bonus)
    if second is None:
        indices = [
            (i, j)
            for i in range(len(first))
            for j in range(i + 1, len(first))
            if not (first[i] in NODES and first[j] in NODES)
        ]
        second = first
    else:
        indices = [(i, j) for i in range(len(first)) for j in range(len(second))]
    return tuple(
        (
            i,
            j,
            first[i],
            second[j],
            boosted if first[i] in LUMINARIES or second[j] in LUMINARIES else plain,
        )
        for i, j in indices
    )


def find_aspects(
    first: Sequence[AspectPoint],
    second: Sequence[AspectPoint] | None,
    options: AspectOptions,
) -> list[dict[str, Any]]:
    """Aspects within `first` (each pair once, never node to node) or between two sets."""
    others = first if second is None else second
    pairs = _pairs(
        tuple([point[0] for point in first]),
        None if second is None else tuple([point[0] for point in second]),
        tuple(options.orbs.items()),
        options.luminary_orb_bonus,
    )
    longitudes = [point[1] for point in first]
    speeds = [point[2] for point in first]
    other_longitudes = [point[1] for point in others]
    other_speeds = [point[2] for point in others]
    found: list[dict[str, Any]] = []
    for i, j, a_name, b_name, table in pairs:
        difference = (longitudes[i] - other_longitudes[j]) % 360.0
        candidate = table[int(difference)]
        if candidate is None:
            continue
        separation = 360.0 - difference if difference > 180.0 else difference
        if isinstance(candidate, tuple):  # most buckets: one aspect, no contest
            best_name, best_angle, limit = candidate
            best_distance = abs(separation - best_angle)
            if best_distance > limit:
                continue
        else:
            best_name = ""
            best_angle = best_distance = 0.0
            for name, angle, limit in candidate:
                distance = abs(separation - angle)
                if distance <= limit and (not best_name or distance < best_distance):
                    best_name, best_angle, best_distance = name, angle, distance
            if not best_name:
                continue
        applying = None
        a_speed = speeds[i]
        b_speed = other_speeds[j]
        if a_speed is not None and b_speed is not None:
            # The separation grows with the relative speed while a leads b by less than
            # 180 degrees; an exact aspect (orb 0) counts as separating.
            rate = a_speed - b_speed
            rate = abs(rate) if difference == 0.0 else -rate if difference > 180.0 else rate
            applying = (separation - best_angle) * rate < 0.0
        found.append(
            {
                "applying": applying,
                "aspect": best_name,
                "first": a_name,
                "orb": (best_distance * DEGREE_SCALE + ROUNDING_SHIFT - ROUNDING_SHIFT)
                / DEGREE_SCALE,
                "second": b_name,
            }
        )
    return found
