"""What the mentor may know of a person's chart: signs, houses, the tightest aspects, the
element and modality balance and numerology — never the birth date, time or place.

The natal chart document (`astro.natal_chart(...).to_json()`) holds its input (date, time,
coordinates, zone); only the derived facts below leave this module, so nothing that locates a
birth reaches a model.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_ASPECTS = 3
PERSONAL_BODIES = ("sun", "moon", "mercury", "venus", "mars")


@dataclass(frozen=True)
class ChartFacts:
    """Chart and numerology facts, in words a model (or a template) can use."""

    sun: str | None = None
    moon: str | None = None
    ascendant: str | None = None
    placements: tuple[tuple[str, str, int | None], ...] = ()
    """(body, sign, house or None when the birth time is unknown), personal bodies only."""
    aspects: tuple[tuple[str, str, str], ...] = ()
    """(first body, aspect, second body), tightest orb first."""
    element: str | None = None
    modality: str | None = None
    life_path: int | None = None
    personal_year: int | None = None

    @property
    def known(self) -> bool:
        return self.sun is not None or self.life_path is not None


def _dominant(counts: Mapping[str, int]) -> str | None:
    if not counts:
        return None
    return max(sorted(counts), key=lambda name: counts[name])


def chart_facts(
    chart: Mapping[str, Any] | None, numerology: Mapping[str, Any] | None
) -> ChartFacts:
    """The facts of a decoded natal chart and numerology document (either may be missing)."""
    values: dict[str, Any] = {}
    if chart is not None:
        bodies = {body["name"]: body for body in chart.get("bodies") or []}
        values["sun"] = bodies.get("sun", {}).get("sign")
        values["moon"] = bodies.get("moon", {}).get("sign")
        ascendant = (chart.get("angles") or {}).get("ascendant")
        values["ascendant"] = ascendant["sign"] if ascendant else None
        values["placements"] = tuple(
            (name, bodies[name]["sign"], bodies[name].get("house"))
            for name in PERSONAL_BODIES
            if name in bodies
        )
        aspects = sorted(chart.get("aspects") or [], key=lambda a: (a["orb"], a["first"]))
        values["aspects"] = tuple(
            (a["first"], a["aspect"], a["second"]) for a in aspects[:MAX_ASPECTS]
        )
        summary = chart.get("summary") or {}
        values["element"] = _dominant(summary.get("elements") or {})
        values["modality"] = _dominant(summary.get("modalities") or {})
    if numerology is not None:
        values["life_path"] = numerology.get("life_path")
        values["personal_year"] = numerology.get("personal_year")
    return ChartFacts(**values)


def facts_lines(facts: ChartFacts) -> list[str]:
    """The facts as short English lines, the model's view of the chart."""
    lines = [
        f"{body.capitalize()} in {sign}" + (f", house {house}" if house else "")
        for body, sign, house in facts.placements
    ]
    if facts.ascendant:
        lines.append(f"Ascendant in {facts.ascendant}")
    lines.extend(f"{first} {aspect} {second}" for first, aspect, second in facts.aspects)
    if facts.element:
        lines.append(f"dominant element: {facts.element}")
    if facts.modality:
        lines.append(f"dominant modality: {facts.modality}")
    if facts.life_path is not None:
        lines.append(f"life path number {facts.life_path}")
    if facts.personal_year is not None:
        lines.append(f"personal year {facts.personal_year}")
    return lines
