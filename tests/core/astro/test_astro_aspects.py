"""The aspect search against the rule in docs/astro.md, written out pair by pair and aspect by
aspect (no candidate tables), on random points, custom orbs and exact orb boundaries."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from selflink_core.astro import AspectOptions, transit_aspect_options
from selflink_core.astro.aspects import Point, find_aspects
from selflink_core.astro.canonical import rounded
from selflink_core.astro.zodiac import ASPECT_KINDS

NAMES = [
    "sun",
    "moon",
    "mercury",
    "venus",
    "mars",
    "jupiter",
    "saturn",
    "uranus",
    "neptune",
    "pluto",
    "mean_node",
    "true_node",
    "mean_lilith",
    "ascendant",
    "mc",
    "chiron",
]
ANGLE = {kind.name: float(kind.angle) for kind in ASPECT_KINDS}


def reference(first: list[Point], second: list[Point] | None, options: AspectOptions) -> list:
    pairs = (
        [(a, b) for i, a in enumerate(first) for b in first[i + 1 :]]
        if second is None
        else [(a, b) for a in first for b in second]
    )
    found = []
    for a, b in pairs:
        if second is None and {a.name, b.name} == {"mean_node", "true_node"}:
            continue
        difference = (a.longitude - b.longitude) % 360.0
        separation = 360.0 - difference if difference > 180.0 else difference
        bonus = options.luminary_orb_bonus if {a.name, b.name} & {"sun", "moon"} else 0.0
        fits = [
            (abs(separation - ANGLE[name]), index, name)
            for index, (name, orb) in enumerate(options.orbs.items())
            if abs(separation - ANGLE[name]) <= orb + bonus
        ]
        if not fits:
            continue
        orb, _, name = min(fits)
        applying = None
        if a.speed is not None and b.speed is not None:
            relative = a.speed - b.speed
            rate = relative if 0.0 < difference <= 180.0 else -relative
            if difference == 0.0:
                rate = abs(relative)
            applying = (separation - ANGLE[name]) * rate < 0.0
        found.append(
            {
                "applying": applying,
                "aspect": name,
                "first": a.name,
                "orb": rounded(orb),
                "second": b.name,
            }
        )
    return found


longitudes = st.one_of(
    st.floats(0, 360, exclude_max=True).map(rounded).map(lambda x: 0.0 if x >= 360 else x),
    st.integers(0, 359),  # restored from JSON, integral longitudes are ints
    st.floats(0, 360, exclude_max=True),
)
speeds = st.none() | st.floats(-2, 15) | st.just(0.0)


@st.composite
def point_sets(draw: st.DrawFn) -> list[Point]:
    count = draw(st.integers(0, 16))
    points = [Point(NAMES[i], draw(longitudes), draw(speeds)) for i in range(count)]
    # Put some points exactly on an aspect angle plus or minus a whole orb from the first.
    for i in range(1, count):
        if draw(st.booleans()):
            offset = draw(st.sampled_from([0, 30, 45, 60, 90, 120, 135, 150, 180]))
            offset += draw(st.sampled_from([0, 1, 2, 5, 7, 8, 10, 15, -1, -2, -5, -7, -8, -10]))
            shifted = rounded((points[0].longitude + offset) % 360.0)
            points[i] = points[i]._replace(longitude=0.0 if shifted >= 360 else shifted)
    return points


orb_values = st.sampled_from([0.0, 1.0, 2.5, 7.0, 15.0]) | st.floats(0, 15).map(rounded)


@st.composite
def aspect_options(draw: st.DrawFn) -> AspectOptions:
    which = draw(st.sampled_from(["major", "all"]))
    if draw(st.booleans()):
        return transit_aspect_options(which)
    names = [kind.name for kind in ASPECT_KINDS if kind.major or which == "all"]
    orbs = draw(st.dictionaries(st.sampled_from(names), orb_values))
    return AspectOptions(which, orbs, draw(orb_values))


@settings(max_examples=300, deadline=None)
@given(point_sets(), st.none() | point_sets(), aspect_options())
def test_aspects_follow_the_documented_rule(
    first: list[Point], second: list[Point] | None, options: AspectOptions
) -> None:
    assert find_aspects(first, second, options) == reference(first, second, options)


def test_wide_overlapping_orbs_pick_the_smallest_then_the_earlier_aspect() -> None:
    options = AspectOptions("all", dict.fromkeys(ANGLE, 15.0), 15.0)
    # 37.5 degrees apart: semisextile (7.5 off) and semisquare (7.5 off) tie; semisextile
    # comes first in the table.
    tie = find_aspects([Point("mars", 0.0, 1.0), Point("venus", 37.5, 1.2)], None, options)
    assert [(a["aspect"], a["orb"]) for a in tie] == [("semisextile", 7.5)]
    near = find_aspects([Point("sun", 10.0, 1.0), Point("moon", 84.0, 13.0)], None, options)
    assert [(a["aspect"], a["orb"]) for a in near] == [("sextile", 14.0)]
    assert math.isclose(near[0]["orb"], 14.0)
