"""Chart wheels as SVG: one chart, or two as a bi-wheel with the synastry aspects between them.

Pure string building from the documents the engine returns, so the same documents give the
same bytes on every machine: every number is written with two fixed decimals, the order of
everything drawn is the documents' order, glyphs are path data drawn here (rasterising needs no
astrological font) and all text comes from this module's fixed vocabulary, never from input.

Layout: the ascendant on the left (0° Aries without a birth time), longitudes counter-clockwise;
from the outside in, the zodiac ring, the bodies (a bi-wheel's second chart outside its first),
the house numbers and the aspect lines. Bodies closer than their glyphs allow are spread apart,
each keeping a leader line to a tick at its true longitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from xml.sax.saxutils import escape

from selflink_core.astro.zodiac import SIGNS, sign_element

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

# Glyphs: stroked paths in a 20 x 20 box centred on the origin.
BODY_GLYPHS: Final = {
    "sun": "M8 0A8 8 0 1 1-8 0A8 8 0 1 1 8 0ZM1 0A1 1 0 1 1-1 0A1 1 0 1 1 1 0Z",
    "moon": "M3-8A8.5 8.5 0 1 0 3 8A10 10 0 0 1 3-8Z",
    "mercury": "M4-1A4 4 0 1 1-4-1A4 4 0 1 1 4-1ZM-4-9A4 4 0 0 0 4-9M0 3V10M-3 6.5H3",
    "venus": "M5-3A5 5 0 1 1-5-3A5 5 0 1 1 5-3ZM0 2V10M-3.5 6H3.5",
    "mars": "M3.5 2A5.5 5.5 0 1 1-7.5 2A5.5 5.5 0 1 1 3.5 2ZM1.9-1.9L8-8M3-8H8V-3",
    "jupiter": "M-6-5C-6-10 2-10 1-4C0 0-4 3-6 3H7M4-9V10",
    "saturn": "M-5-7H1M-2-10V4M-2-1C1-5 6-4 5 0C4 3 1 5 3 9",
    "uranus": "M-6-9V1M6-9V1M-6-4H6M0-9V4M2 7A2 2 0 1 1-2 7A2 2 0 1 1 2 7Z",
    "neptune": "M-7-8C-7 1 7 1 7-8M0-9V9M-4 5H4",
    "pluto": "M-6.5-7A6.5 6.5 0 0 0 6.5-7M0-0.5V10M-4 5H4M3-6A3 3 0 1 1-3-6A3 3 0 1 1 3-6Z",
    "true_node": (
        "M-4 4.5C-9 0-7-8 0-8C7-8 9 0 4 4.5"
        "M-1.5 7A2.5 2.5 0 1 1-6.5 7A2.5 2.5 0 1 1-1.5 7Z"
        "M6.5 7A2.5 2.5 0 1 1 1.5 7A2.5 2.5 0 1 1 6.5 7Z"
    ),
    # The node's glyph underlined: the mean node sits within a degree or two of the true one.
    "mean_node": (
        "M-4 2.5C-9-2-7-10 0-10C7-10 9-2 4 2.5"
        "M-1.5 5A2.5 2.5 0 1 1-6.5 5A2.5 2.5 0 1 1-1.5 5Z"
        "M6.5 5A2.5 2.5 0 1 1 1.5 5A2.5 2.5 0 1 1 6.5 5ZM-8 10H8"
    ),
    "mean_lilith": "M2-10A6.5 6.5 0 1 0 2 2A8 8 0 0 1 2-10ZM-0.5 2.5V10M-3.5 6.5H2.5",
    "chiron": "M0 3V-10M5-10L0-5L5 0M3 6A3 3 0 1 1-3 6A3 3 0 1 1 3 6Z",
}
SIGN_GLYPHS: Final = (
    "M0 9V-3C0-9-8-10-8-4C-8-2-7-1-6 0M0-3C0-9 8-10 8-4C8-2 7-1 6 0",
    "M5 3A5 5 0 1 1-5 3A5 5 0 1 1 5 3ZM-8-8Q0 3 8-8",
    "M-7-8Q0-5 7-8M-7 8Q0 5 7 8M-3-6.3V6.3M3-6.3V6.3",
    (
        "M-1.5-3A2.5 2.5 0 1 1-6.5-3A2.5 2.5 0 1 1-1.5-3ZM-4-5.5C1-9 6-7 8-4"
        "M6.5 3A2.5 2.5 0 1 1 1.5 3A2.5 2.5 0 1 1 6.5 3ZM4 5.5C-1 9-6 7-8 4"
    ),
    "M-3 4A3 3 0 1 1-9 4A3 3 0 1 1-3 4ZM-3.5 2.5C-6-3-5-9 1-9C7-9 7-3 4 2C2 5 3 9 7 8",
    "M-8-7C-6-7-6-5-6-3V8M-6-3C-6-7-1-7-1-3V8M-1-3C-1-7 4-7 4-3V5C4 8 7 9 9 7M4 2C7-1 10 2 7 6",
    "M-8 8H8M-8 3H-3.5A4.5 4.5 0 1 1 3.5 3H8",
    "M-9-7C-7-7-7-5-7-3V7M-7-3C-7-7-2-7-2-3V7M-2-3C-2-7 3-7 3-3V6C3 8 5 9 8 8M6 5L8.5 8L5 9.5",
    "M-8 8L8-8M1-8H8V-1M-6-1L-1 4",
    "M-9-6L-6-8L-3 5L1-7C3-9 4-5 3-1C2 4 4 9 7 7C10 5 8 1 5 3C3 5 2 8-1 9",
    "M-9-2L-6-5L-3-2L0-5L3-2L6-5L9-2M-9 5L-6 2L-3 5L0 2L3 5L6 2L9 5",
    "M-7-8C-2-4-2 4-7 8M7-8C2-4 2 4 7 8M-5 0H5",
)

# Aspect lines: colour, and whether the line is dashed (the minor aspects).
ASPECT_STYLES: Final = {
    "conjunction": ("#8d6e00", False),
    "opposition": ("#c62828", False),
    "square": ("#ef6c00", False),
    "trine": ("#1565c0", False),
    "sextile": ("#2e7d32", False),
    "quincunx": ("#6a1b9a", True),
    "semisextile": ("#00838f", True),
    "semisquare": ("#ad1457", True),
    "sesquiquadrate": ("#5d4037", True),
}
# Sign sectors by element: (tint of the sector, colour of the glyph).
ELEMENT_COLOURS: Final = {
    "fire": ("#fbe3dc", "#b3261e"),
    "earth": ("#e7efdc", "#3d6b1f"),
    "air": ("#fdf3d3", "#8a6d00"),
    "water": ("#dde9f6", "#1f5a99"),
}
INK: Final = "#1b1b1b"
SECOND_INK: Final = "#0b3d91"
HOUSE_LINE: Final = "#9e9e9e"

_NAMES: Final = {
    "mean_node": "Mean node",
    "true_node": "True node",
    "mean_lilith": "Mean Lilith",
    "ascendant": "Ascendant",
    "mc": "MC",
}
_KINDS: Final = {"natal_chart": "Natal chart", "composite_chart": "Composite chart"}
_AXES: Final = (("ascendant", "ASC"), ("descendant", "DSC"), ("mc", "MC"), ("ic", "IC"))
PRIME: Final = "\u2032"
_FONT: Final = 'font-family="sans-serif" text-anchor="middle" dominant-baseline="central"'


def _name(name: str) -> str:
    return _NAMES.get(name) or name.capitalize()


def _number(value: float) -> str:
    """Two fixed decimals, never `-0.00`, whatever the float's representation."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _position(degrees: float) -> str:
    """12.566667 -> 12°34 minutes: truncated to whole minutes, so 29.999999 stays 29°59 in
    its sign (the tolerance absorbs binary noise, far below the documents' 6 decimals)."""
    whole, minutes = divmod(math.floor(degrees * 60 + 1e-7), 60)
    return f"{whole}°{minutes:02d}{PRIME}"


def _where(record: Mapping[str, Any]) -> str:
    return f"{_position(record['degree_in_sign'])} {record['sign'].capitalize()}"


@dataclass(frozen=True)
class _Ring:
    """Radii of one chart's bodies: ticks at the true longitude inward from `edge`."""

    edge: float
    glyph: float
    degree: float
    minute: float
    retrograde: float
    ink: str

    @property
    def spacing(self) -> float:
        """The least angle between two glyphs (26 px of arc), in degrees."""
        return math.degrees(26.0 / self.glyph)


@dataclass(frozen=True)
class _Layout:
    zodiac_outer: float
    zodiac_inner: float
    houses_outer: float  # the circle between the house numbers and the innermost bodies
    aspects: float  # the circle the aspect lines end on
    rings: tuple[_Ring, ...]  # inner first

    @property
    def centre(self) -> float:
        return self.zodiac_outer + 35.0


_NATAL: Final = _Layout(
    zodiac_outer=365.0,
    zodiac_inner=320.0,
    houses_outer=215.0,
    aspects=185.0,
    rings=(_Ring(320.0, 295.0, 268.0, 251.0, 236.0, INK),),
)
_BIWHEEL: Final = _Layout(
    zodiac_outer=440.0,
    zodiac_inner=395.0,
    houses_outer=218.0,
    aspects=190.0,
    rings=(
        _Ring(305.0, 282.0, 258.0, 242.0, 229.0, INK),
        _Ring(395.0, 371.0, 346.0, 330.0, 316.0, SECOND_INK),
    ),
)


@dataclass(frozen=True)
class _Frame:
    """Screen coordinates of ecliptic longitudes, with `ascendant` at nine o'clock."""

    centre: float
    ascendant: float

    def xy(self, longitude: float, radius: float) -> tuple[str, str]:
        angle = math.radians(180.0 + longitude - self.ascendant)
        return (
            _number(self.centre + radius * math.cos(angle)),
            _number(self.centre - radius * math.sin(angle)),
        )

    def point(self, longitude: float, radius: float) -> str:
        x, y = self.xy(longitude, radius)
        return f"{x} {y}"

    def line(self, longitude: float, inner: float, outer: float) -> str:
        return f"M{self.point(longitude, inner)}L{self.point(longitude, outer)}"

    def circle(self, radius: float, attributes: str) -> str:
        centre = _number(self.centre)
        return f'<circle cx="{centre}" cy="{centre}" r="{_number(radius)}" {attributes}/>'

    def sector(self, start: float, end: float, inner: float, outer: float) -> str:
        """An annular sector from `start` counter-clockwise to `end` (under 180°)."""
        return (
            f"M{self.point(start, outer)}A{_number(outer)} {_number(outer)} 0 0 0 "
            f"{self.point(end, outer)}L{self.point(end, inner)}"
            f"A{_number(inner)} {_number(inner)} 0 0 1 {self.point(start, inner)}Z"
        )


def spread(longitudes: Sequence[float], spacing: float) -> list[float]:
    """Longitudes to draw at, at least `spacing` apart (at most 360/n), as near the true ones
    as that allows: crowded neighbours form clusters centred on their mean.

    The circle is cut at its widest empty arc, so only clusters that swallow that whole arc
    could still overlap across it.
    """
    count = len(longitudes)
    if count < 2:
        return list(longitudes)
    spacing = min(spacing, 360.0 / count)
    order = sorted(range(count), key=lambda index: (longitudes[index], index))
    ordered = [longitudes[index] for index in order]
    widest = max(range(count), key=lambda k: ((ordered[(k + 1) % count] - ordered[k]) % 360.0, -k))
    start = (widest + 1) % count
    base = ordered[start]
    unrolled = [base + (ordered[(start + k) % count] - base) % 360.0 for k in range(count)]
    clusters: list[list[float]] = []  # [first member, members, sum of true positions]
    for position, value in enumerate(unrolled):
        clusters.append([float(position), 1.0, value])
        while len(clusters) > 1:
            (_, left_size, left_sum), (_, right_size, right_sum) = clusters[-2], clusters[-1]
            left_last = left_sum / left_size + (left_size - 1) / 2 * spacing
            right_first = right_sum / right_size - (right_size - 1) / 2 * spacing
            if right_first - left_last >= spacing:
                break
            clusters[-2][1:] = [left_size + right_size, left_sum + right_sum]
            clusters.pop()
    shown = [0.0] * count
    for first, size, total in clusters:
        for offset in range(int(size)):
            place = total / size + (offset - (size - 1) / 2) * spacing
            shown[order[(start + int(first) + offset) % count]] = place % 360.0
    return shown


def _glyph(path: str, x: str, y: str, colour: str, scale: str = "1.00") -> str:
    return (
        f'<path class="glyph" transform="translate({x} {y}) scale({scale})" d="{path}" '
        f'fill="none" stroke="{colour}" stroke-width="1.70" stroke-linecap="round" '
        'stroke-linejoin="round"/>'
    )


def _title(text: str) -> str:
    """A text alternative; escaped although every word comes from the engine's vocabulary."""
    return f"<title>{escape(text)}</title>"


def _text(x: str, y: str, size: str, text: str, colour: str = INK) -> str:
    return f'<text x="{x}" y="{y}" font-size="{size}" fill="{colour}" {_FONT}>{escape(text)}</text>'


def _zodiac(frame: _Frame, layout: _Layout) -> Iterable[str]:
    outer, inner = layout.zodiac_outer, layout.zodiac_inner
    yield '<g class="zodiac">'
    for index, sign in enumerate(SIGNS):
        tint, colour = ELEMENT_COLOURS[sign_element(index)]
        x, y = frame.xy(index * 30.0 + 15.0, (outer + inner) / 2)
        yield (
            f'<g class="sign">{_title(sign.capitalize())}'
            f'<path d="{frame.sector(index * 30.0, index * 30.0 + 30.0, inner, outer)}" '
            f'fill="{tint}" stroke="{INK}" stroke-width="1.00"/>'
            f"{_glyph(SIGN_GLYPHS[index], x, y, colour, '1.05')}</g>"
        )
    ticks = "".join(
        frame.line(degree, inner, inner + (7.0 if degree % 5 == 0 else 4.0))
        for degree in range(360)
        if degree % 30
    )
    yield f'<path class="ticks" d="{ticks}" stroke="{INK}" stroke-width="0.60"/>'
    yield "</g>"


def _houses(frame: _Frame, layout: _Layout, cusps: Sequence[Mapping[str, Any]]) -> Iterable[str]:
    yield '<g class="houses">'
    lines = "".join(frame.line(cusp["cusp"], layout.aspects, layout.zodiac_inner) for cusp in cusps)
    yield f'<path d="{lines}" stroke="{HOUSE_LINE}" stroke-width="1.00"/>'
    radius = (layout.aspects + layout.houses_outer) / 2
    for cusp, following in zip(cusps, [*cusps[1:], cusps[0]], strict=True):
        middle = cusp["cusp"] + (following["cusp"] - cusp["cusp"]) % 360.0 / 2
        x, y = frame.xy(middle, radius)
        number = str(cusp["house"])
        yield (
            f'<g class="house">{_title(f"House {number} from {_where(cusp)}")}'
            f"{_text(x, y, '12.00', number)}</g>"
        )
    yield "</g>"


def _axes(frame: _Frame, layout: _Layout, angles: Mapping[str, Any]) -> Iterable[str]:
    """The horizon and meridian, labelled outside the zodiac ring."""
    yield '<g class="angles">'
    for name, label in _AXES:
        angle = angles[name]
        x, y = frame.xy(angle["longitude"], layout.zodiac_outer + 18.0)
        line = frame.line(angle["longitude"], layout.aspects, layout.zodiac_outer + 6.0)
        yield (
            f'<g class="angle">{_title(f"{_name(name)} {_where(angle)}")}'
            f'<path d="{line}" stroke="{INK}" stroke-width="2.20"/>'
            f"{_text(x, y, '13.00', label)}</g>"
        )
    yield "</g>"


def _bodies(
    frame: _Frame,
    ring: _Ring,
    bodies: Sequence[Mapping[str, Any]],
    owner: str,
    houses: Mapping[str, int | None],
    house_label: str = "house",
) -> Iterable[str]:
    """Each body as a `<g>` with its text alternative, glyph, degree and minutes."""
    shown = spread([body["longitude"] for body in bodies], ring.spacing)
    yield '<g class="bodies" stroke-linecap="round">'
    for body, at in zip(bodies, shown, strict=True):
        name, longitude = body["name"], body["longitude"]
        house = houses.get(name)
        described = f"{owner}{_name(name)} {_where(body)}"
        if house is not None:
            described += f", {house_label} {house}"
        if body["retrograde"]:
            described += ", retrograde"
        degrees, minutes = _position(body["degree_in_sign"]).split("°")
        tick = frame.line(longitude, ring.edge - 7.0, ring.edge)
        leader = f"M{frame.point(longitude, ring.edge - 7.0)}L{frame.point(at, ring.glyph + 12.0)}"
        parts = [
            f'<g class="body" data-body="{escape(name)}">{_title(described)}',
            f'<path d="{tick}{leader}" stroke="{ring.ink}" stroke-width="0.80"/>',
            _glyph(BODY_GLYPHS[name], *frame.xy(at, ring.glyph), ring.ink),
            _text(*frame.xy(at, ring.degree), "12.00", f"{degrees}°", ring.ink),
            _text(*frame.xy(at, ring.minute), "10.00", minutes, ring.ink),
        ]
        if body["retrograde"]:
            parts.append(_text(*frame.xy(at, ring.retrograde), "10.00", "R", ring.ink))
        yield "".join(parts) + "</g>"
    yield "</g>"


def _points(document: Mapping[str, Any]) -> dict[str, float]:
    """Longitudes of the points aspects may name: bodies, ascendant and mc."""
    points = {body["name"]: body["longitude"] for body in document["bodies"]}
    if document.get("angles"):
        for name in ("ascendant", "mc"):
            points[name] = document["angles"][name]["longitude"]
    return points


def _aspects(
    frame: _Frame,
    radius: float,
    aspects: Sequence[Mapping[str, Any]],
    first: Mapping[str, float],
    second: Mapping[str, float],
    owners: tuple[str, str],
) -> Iterable[str]:
    yield '<g class="aspects" fill="none">'
    for aspect in aspects:
        colour, dashed = ASPECT_STYLES[aspect["aspect"]]
        orb = aspect["orb"]
        opacity = _number(1.0 - min(orb, 10.0) / 10.0 * 0.65)
        dash = ' stroke-dasharray="5.00 3.00"' if dashed else ""
        start = frame.point(first[aspect["first"]], radius)
        end = frame.point(second[aspect["second"]], radius)
        described = (
            f"{owners[0]}{_name(aspect['first'])} {aspect['aspect']} "
            f"{owners[1]}{_name(aspect['second'])}, orb {_position(orb)}"
        )
        yield (
            f'<path d="M{start}L{end}" stroke="{colour}" stroke-width="1.40" '
            f'stroke-opacity="{opacity}"{dash}>{_title(described)}</path>'
        )
    yield "</g>"


def _describe_chart(document: Mapping[str, Any]) -> str:
    """One sentence per chart for `<desc>`: angles, then every body."""
    parts = []
    if document.get("angles"):
        angles = document["angles"]
        parts.append(f"Ascendant {_where(angles['ascendant'])}; MC {_where(angles['mc'])}")
    for body in document["bodies"]:
        house = f" in house {body['house']}" if body["house"] is not None else ""
        parts.append(f"{_name(body['name'])} {_where(body)}{house}")
    return f"{'; '.join(parts)}."


def _zodiac_phrase(document: Mapping[str, Any]) -> str:
    """Such as `Sidereal (lahiri) zodiac, koch houses.`; a composite names no zodiac."""
    options = document.get("options") or {}
    houses = document.get("house_system_used")
    phrase = f"{houses} houses" if houses else "no houses (birth time unknown)"
    if "zodiac" in options:
        ayanamsa = f" ({options['ayanamsa']})" if options.get("ayanamsa") else ""
        phrase = f"{options['zodiac']}{ayanamsa} zodiac, {phrase}"
    return f"{phrase.replace('_', ' ').capitalize()}."


def _frame_for(layout: _Layout, document: Mapping[str, Any]) -> _Frame:
    angles = document.get("angles")
    return _Frame(layout.centre, angles["ascendant"]["longitude"] if angles else 0.0)


def _svg(layout: _Layout, title: str, description: str, body: Iterable[str]) -> str:
    size = _number(2 * layout.centre)
    return "".join(
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
            f'width="{size}" height="{size}" role="img" '
            'aria-labelledby="wheel-title wheel-desc">',
            f'<title id="wheel-title">{escape(title)}</title>',
            f'<desc id="wheel-desc">{escape(description)}</desc>',
            f'<rect width="{size}" height="{size}" fill="#ffffff"/>',
            *body,
            "</svg>\n",
        )
    )


def _frame_circles(frame: _Frame, layout: _Layout) -> str:
    radii = [layout.aspects, layout.houses_outer, *(ring.edge for ring in layout.rings[:-1])]
    return "".join(
        frame.circle(radius, f'fill="none" stroke="{INK}" stroke-width="1.00"') for radius in radii
    )


def _house_and_angle_layers(
    frame: _Frame, layout: _Layout, document: Mapping[str, Any]
) -> Iterable[str]:
    if document.get("houses"):
        yield from _houses(frame, layout, document["houses"])
    if document.get("angles"):
        yield from _axes(frame, layout, document["angles"])


def wheel_svg(chart: Mapping[str, Any]) -> str:
    """The wheel of a natal (or composite) chart document, as SVG text."""
    layout = _NATAL
    frame = _frame_for(layout, chart)
    kind = _KINDS.get(chart["kind"], "Chart")
    points = _points(chart)
    description = f"{_zodiac_phrase(chart)} {_describe_chart(chart)}"
    if chart["aspects"]:
        description += f" {len(chart['aspects'])} aspects drawn as lines."
    layers = [
        *_zodiac(frame, layout),
        _frame_circles(frame, layout),
        *_house_and_angle_layers(frame, layout, chart),
        *_aspects(frame, layout.aspects, chart["aspects"], points, points, ("", "")),
        *_bodies(
            frame,
            layout.rings[0],
            chart["bodies"],
            "",
            {body["name"]: body["house"] for body in chart["bodies"]},
        ),
    ]
    return _svg(layout, f"{kind} wheel", description, layers)


def biwheel_svg(
    first: Mapping[str, Any], second: Mapping[str, Any], synastry: Mapping[str, Any]
) -> str:
    """A bi-wheel: `first` inside with its houses, `second` in the outer ring, and the aspects
    of `synastry` (computed from these two charts) between them."""
    layout = _BIWHEEL
    frame = _frame_for(layout, first)
    owners = ("First chart's ", "Second chart's ")
    overlay = synastry.get("second_in_first_houses") or {}
    description = (
        f"{_zodiac_phrase(first)} Inner ring, with its houses: "
        f"{_describe_chart(first)} Outer ring: {_describe_chart(second)} "
        f"{len(synastry['aspects'])} aspects between them drawn as lines."
    )
    layers = [
        *_zodiac(frame, layout),
        _frame_circles(frame, layout),
        *_house_and_angle_layers(frame, layout, first),
        *_aspects(
            frame, layout.aspects, synastry["aspects"], _points(first), _points(second), owners
        ),
        *_bodies(
            frame,
            layout.rings[0],
            first["bodies"],
            owners[0],
            {body["name"]: body["house"] for body in first["bodies"]},
        ),
        *_bodies(
            frame, layout.rings[1], second["bodies"], owners[1], overlay, "in the first's house"
        ),
    ]
    return _svg(layout, "Synastry bi-wheel", description, layers)
