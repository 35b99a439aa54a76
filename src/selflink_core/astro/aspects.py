"""Aspects between two sets of points, shared by natal charts, synastry, composites and transits.

Separations are measured on the rounded longitudes that results show, so anyone can recompute
an orb from a published chart. When several aspects fit a pair, the one with the smallest orb
wins (ties go to the aspect listed first in `zodiac.ASPECT_KINDS`). An aspect is applying when
its orb shrinks at the current speeds; an exact aspect (orb 0) counts as separating.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from selflink_core.astro.canonical import rounded
from selflink_core.astro.zodiac import ASPECT_KINDS, LUMINARIES, NODES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from selflink_core.astro.inputs import AspectOptions

_ANGLES = {kind.name: float(kind.angle) for kind in ASPECT_KINDS}


class Point(NamedTuple):
    """A named ecliptic longitude; `speed` (degrees/day) is None where motion means nothing."""

    name: str
    longitude: float
    speed: float | None


@functools.lru_cache(maxsize=32)
def _pairs_within(count: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    first, second = np.triu_indices(count, 1)
    return first, second


@functools.lru_cache(maxsize=32)
def _pairs_between(
    first_count: int, second_count: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    first, second = np.divmod(np.arange(first_count * second_count), second_count)
    return first, second


@functools.lru_cache(maxsize=32)
def _table(
    orbs: tuple[tuple[str, float], ...],
) -> tuple[list[str], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    names = [name for name, _ in orbs]
    return names, np.array([_ANGLES[name] for name in names]), np.array([orb for _, orb in orbs])


def find_aspects(
    first: Sequence[Point],
    second: Sequence[Point] | None,
    options: AspectOptions,
) -> list[dict[str, Any]]:
    """Aspects within `first` (each pair once, never node to node) or between two sets."""
    others = first if second is None else second
    if not first or not others:
        return []
    if second is None:
        left, right = _pairs_within(len(first))
        nodes = np.array([point.name in NODES for point in first])
        keep = ~(nodes[left] & nodes[right])
        left, right = left[keep], right[keep]
    else:
        left, right = _pairs_between(len(first), len(others))
    names, angles, orbs = _table(tuple(options.orbs.items()))
    first_lon = np.array([point.longitude for point in first])
    other_lon = np.array([point.longitude for point in others])
    first_lum = np.array([point.name in LUMINARIES for point in first])
    other_lum = np.array([point.name in LUMINARIES for point in others])
    difference = (first_lon[left] - other_lon[right]) % 360.0
    separation = np.where(difference > 180.0, 360.0 - difference, difference)
    allowance = np.where(first_lum[left] | other_lum[right], options.luminary_orb_bonus, 0.0)
    distance = np.abs(separation[np.newaxis, :] - angles[:, np.newaxis])
    distance[distance > orbs[:, np.newaxis] + allowance[np.newaxis, :]] = np.inf
    kind = distance.argmin(axis=0)
    orb = distance[kind, np.arange(kind.size)]
    hits = np.flatnonzero(orb != np.inf)
    found = []
    for a_index, b_index, kind_index, pair_orb, pair_difference, pair_separation in zip(
        left[hits].tolist(),
        right[hits].tolist(),
        kind[hits].tolist(),
        orb[hits].tolist(),
        difference[hits].tolist(),
        separation[hits].tolist(),
        strict=True,
    ):
        a, b = first[a_index], others[b_index]
        signed_orb = pair_separation - angles[kind_index]
        found.append(
            {
                "applying": _applying(a, b, pair_difference, float(signed_orb)),
                "aspect": names[kind_index],
                "first": a.name,
                "orb": rounded(pair_orb),
                "second": b.name,
            }
        )
    return found


def _applying(a: Point, b: Point, difference: float, signed_orb: float) -> bool | None:
    if a.speed is None or b.speed is None:
        return None
    relative = a.speed - b.speed
    # The separation grows with the relative speed while a leads b by less than 180 degrees.
    rate = relative if 0.0 < difference <= 180.0 else -relative
    if difference == 0.0:
        rate = abs(relative)
    return signed_orb * rate < 0.0
