"""Two charts together: synastry (aspects from one chart to the other, house overlays) and the
composite chart built from the midpoints of both."""

from __future__ import annotations

from typing import Any, Final

from selflink_core.astro.aspects import find_aspects
from selflink_core.astro.chart import (
    Chart,
    HouseFinder,
    Result,
    angle_records,
    body_records,
    chart_points,
    cusp_records,
    hash_document,
    summary,
    warning,
)
from selflink_core.astro.errors import InvalidOption
from selflink_core.astro.inputs import AspectOptions
from selflink_core.astro.zodiac import RULES_VERSION

SYNASTRY: Final = "synastry"
COMPOSITE_CHART: Final = "composite_chart"


def _same_zodiac(first: Chart, second: Chart) -> None:
    if first.zodiac != second.zodiac:
        raise InvalidOption(
            "zodiac", "both charts must use the same zodiac (and ayanamsa) to be compared"
        )


def _house_overlay(guest: Chart, host: Chart) -> dict[str, int] | None:
    """Which of the host's houses each of the guest's bodies falls in."""
    cusps = host.document["houses"]
    if cusps is None:
        return None
    finder = HouseFinder([cusp["cusp"] for cusp in cusps])
    bodies = guest.document["bodies"]
    houses = finder.houses([body["longitude"] for body in bodies])
    return {body["name"]: house for body, house in zip(bodies, houses, strict=True)}


def synastry(first: Chart, second: Chart, aspects: AspectOptions | None = None) -> Result:
    """Aspects from each point of `first` to each point of `second`, and house overlays.

    In each aspect `first` names a point of the first chart and `second` one of the second;
    between two birth moments applying and separating mean nothing, so `applying` is null.
    """
    _same_zodiac(first, second)
    options = aspects or AspectOptions()
    payload = {
        "first_input_hash": first.input_hash,
        "second_input_hash": second.input_hash,
        "options": {"aspects": options.to_dict()},
    }
    document: dict[str, Any] = {
        "aspects": find_aspects(
            chart_points(first.document, with_speed=False),
            chart_points(second.document, with_speed=False),
            options,
        ),
        "first_in_second_houses": _house_overlay(first, second),
        "input_hash": hash_document(SYNASTRY, payload, ()),
        "kind": SYNASTRY,
        "rules_version": RULES_VERSION,
        "second_in_first_houses": _house_overlay(second, first),
        **payload,
    }
    return Result(document)


def midpoint(first: float, second: float) -> float:
    """Midpoint on the shorter arc; exactly opposite points meet 90 degrees after `first`."""
    forward = (second - first) % 360.0
    if forward > 180.0:
        forward -= 360.0
    return (first + forward / 2.0) % 360.0


def composite_chart(first: Chart, second: Chart, aspects: AspectOptions | None = None) -> Result:
    """The midpoint composite: every body, angle and house cusp at the midpoint of the pair.

    Bodies present in only one chart (Chiron) are left out. Angles and houses need both birth
    times and the same house system actually used in both charts.
    """
    _same_zodiac(first, second)
    options = aspects or AspectOptions()
    one, two = first.document, second.document
    second_bodies = {body["name"]: body for body in two["bodies"]}
    pairs = [
        (body, second_bodies[body["name"]])
        for body in one["bodies"]
        if body["name"] in second_bodies
    ]
    warnings = []
    system = one["house_system_used"]
    with_houses = one["houses"] is not None and two["houses"] is not None
    if with_houses and system != two["house_system_used"]:
        with_houses = False
        warnings.append(
            warning(
                "house_systems_differ",
                f"the charts use {system} and {two['house_system_used']} houses; "
                "composite houses and angles are omitted",
            )
        )
    cusps = angles = finder = None
    if with_houses:
        cusps = cusp_records(
            [
                midpoint(a["cusp"], b["cusp"])
                for a, b in zip(one["houses"], two["houses"], strict=True)
            ]
        )
        finder = HouseFinder([cusp["cusp"] for cusp in cusps])
        ascendant = midpoint(
            one["angles"]["ascendant"]["longitude"], two["angles"]["ascendant"]["longitude"]
        )
        mc = midpoint(one["angles"]["mc"]["longitude"], two["angles"]["mc"]["longitude"])
        vertex = midpoint(
            one["angles"]["vertex"]["longitude"], two["angles"]["vertex"]["longitude"]
        )
        angles = angle_records(
            {
                "ascendant": ascendant,
                "descendant": ascendant + 180.0,
                "ic": mc + 180.0,
                "mc": mc,
                "vertex": vertex,
            },
            None,
        )
    bodies = body_records(
        [a["name"] for a, _ in pairs],
        [midpoint(a["longitude"], b["longitude"]) for a, b in pairs],
        [(a["latitude"] + b["latitude"]) / 2.0 for a, b in pairs],
        None,
        finder,
    )
    payload = {
        "first_input_hash": first.input_hash,
        "second_input_hash": second.input_hash,
        "options": {"aspects": options.to_dict()},
    }
    document: dict[str, Any] = {
        "angles": angles,
        "aspects": [],
        "bodies": bodies,
        "house_system_used": system if with_houses else None,
        "houses": cusps,
        "input_hash": hash_document(COMPOSITE_CHART, payload, ()),
        "kind": COMPOSITE_CHART,
        "rules_version": RULES_VERSION,
        "summary": summary(bodies, angles),
        "time_known": first.time_known and second.time_known,
        "warnings": warnings,
        **payload,
    }
    document["aspects"] = find_aspects(chart_points(document), None, options)
    return Result(document)
