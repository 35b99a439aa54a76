"""Chart wheels: well-formed, accessible, deterministic SVG with every body, and glyphs that
really rasterise where the wheel says they are."""

import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import resvg_py
from astro_helpers import BERLIN_1990, PARIS_1988, utc_births
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageDraw
from tests.core.hash_seeds import outputs_across_hash_seeds

from selflink_core.astro import BirthData, Chart, composite_chart, natal_chart, synastry
from selflink_core.astro.wheel import PRIME, biwheel_svg, spread, wheel_svg

SVG = "{http://www.w3.org/2000/svg}"
ET.register_namespace("", SVG[1:-1])

NUMERIC = {"x", "y", "cx", "cy", "r", "width", "height", "stroke-width", "stroke-opacity"}
BERLIN = natal_chart(BERLIN_1990)
PARIS = natal_chart(PARIS_1988)
RELATION = synastry(BERLIN, PARIS)


def biwheel() -> str:
    return biwheel_svg(BERLIN.to_dict(), PARIS.to_dict(), RELATION.to_dict())


def check_accessible(svg: str, names: list[list[str]]) -> ET.Element:
    """Parses, has a labelled role=img root, and one titled group per body of each ring."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    ids = {element.get("id"): element for element in root.iter() if element.get("id")}
    labels = root.get("aria-labelledby", "").split()
    assert [ids[label].tag for label in labels] == [f"{SVG}title", f"{SVG}desc"]
    assert all((ids[label].text or "").strip() for label in labels)
    rings = root.findall(f"{SVG}g[@class='bodies']")
    assert len(rings) == len(names)
    for ring, expected in zip(rings, names, strict=True):
        groups = ring.findall(f"{SVG}g[@class='body']")
        assert [group.get("data-body") for group in groups] == expected
        for group in groups:
            title = group.find(f"{SVG}title")
            assert title is not None
            assert title.text
            assert group.find(f"{SVG}path[@class='glyph']") is not None
    return root


def body_names(chart: Chart) -> list[str]:
    return [body["name"] for body in chart.document["bodies"]]


def test_a_natal_wheel_is_accessible_and_names_every_body_in_words() -> None:
    svg = wheel_svg(BERLIN.to_dict())
    root = check_accessible(svg, [body_names(BERLIN)])
    sun = root.find(f".//{SVG}g[@data-body='sun']/{SVG}title")
    assert sun is not None
    assert sun.text == f"Sun 26°20{PRIME} Taurus, house 9"
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert desc.text is not None
    assert desc.text.startswith(f"Tropical zodiac, placidus houses. Ascendant 20°09{PRIME} Virgo")
    assert f"Saturn 25°12{PRIME} Capricorn in house 5" in desc.text
    angles = root.findall(f".//{SVG}g[@class='angle']/{SVG}title")
    assert [title.text for title in angles][:2] == [
        f"Ascendant 20°09{PRIME} Virgo",
        f"Descendant 20°09{PRIME} Pisces",
    ]
    assert len(root.findall(f".//{SVG}g[@class='house']")) == 12
    drawn = root.findall(f".//{SVG}g[@class='aspects']/{SVG}path")
    assert len(drawn) == len(BERLIN.document["aspects"])


def test_a_bi_wheel_has_both_rings_and_a_line_per_synastry_aspect() -> None:
    root = check_accessible(biwheel(), [body_names(BERLIN), body_names(PARIS)])
    outer = root.findall(f"{SVG}g[@class='bodies']")[1]
    moon = outer.find(f"{SVG}g[@data-body='moon']/{SVG}title")
    assert moon is not None
    overlay = RELATION.document["second_in_first_houses"]["moon"]
    assert moon.text is not None
    assert moon.text.endswith(f"in the first's house {overlay}")
    lines = root.findall(f".//{SVG}g[@class='aspects']/{SVG}path")
    assert len(lines) == len(RELATION.document["aspects"])
    first = RELATION.document["aspects"][0]
    assert lines[0].find(f"{SVG}title") is not None
    assert f"{first['aspect']} Second chart's" in (lines[0].findtext(f"{SVG}title") or "")


def test_a_chart_without_a_time_has_no_houses_or_angles_and_zero_aries_on_the_left() -> None:
    chart = natal_chart(BirthData(dt.date(1990, 5, 17), None, 52.52, 13.405, "Europe/Berlin"))
    root = check_accessible(wheel_svg(chart.to_dict()), [body_names(chart)])
    assert root.find(f".//{SVG}g[@class='houses']") is None
    assert root.find(f".//{SVG}g[@class='angles']") is None
    assert "no houses (birth time unknown)" in (root.findtext(f"{SVG}desc") or "")


def test_a_composite_chart_draws_as_a_wheel_too() -> None:
    composite = composite_chart(BERLIN, PARIS)
    root = check_accessible(wheel_svg(composite.to_dict()), [body_names(composite)])
    assert root.findtext(f"{SVG}title") == "Composite chart wheel"
    assert (root.findtext(f"{SVG}desc") or "").startswith("Placidus houses. Ascendant")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(utc_births(dt.date(1800, 1, 2), dt.date(2200, 12, 31), 66.0))
def test_wheels_are_the_same_bytes_for_the_same_document_and_well_formed(birth: Any) -> None:
    chart = natal_chart(birth)
    svg = wheel_svg(chart.to_dict())
    restored = Chart.from_dict(json.loads(chart.to_json()))  # as the API's cache gives it back
    assert wheel_svg(restored.to_dict()).encode() == svg.encode()
    check_accessible(svg, [body_names(chart)])
    assert "-0.00" not in svg
    for element in ET.fromstring(svg).iter():
        for name in NUMERIC.intersection(element.keys()):
            assert re.fullmatch(r"-?\d+\.\d\d", element.get(name, "")), (name, element.attrib)


SCRIPT = """
import datetime as dt, hashlib
from selflink_core.astro import BirthData, natal_chart, synastry
from selflink_core.astro.wheel import biwheel_svg, wheel_svg
one = natal_chart(BirthData(dt.date(1990, 5, 17), dt.time(14, 30), 52.52, 13.405, "Europe/Berlin"))
two = natal_chart(BirthData(dt.date(1988, 11, 2), dt.time(6, 5), 48.86, 2.35, "Europe/Paris"))
text = wheel_svg(one.to_dict()) + biwheel_svg(
    one.to_dict(), two.to_dict(), synastry(one, two).to_dict()
)
print(hashlib.sha256(text.encode()).hexdigest())
"""


def test_wheels_do_not_depend_on_hash_seeds() -> None:
    assert len(outputs_across_hash_seeds(SCRIPT)) == 1


@settings(max_examples=300)
@given(st.lists(st.floats(0, 360, exclude_max=True), max_size=16), st.floats(1.0, 12.0))
def test_spread_keeps_glyphs_apart_and_near_their_true_longitudes(
    longitudes: list[float], spacing: float
) -> None:
    shown = spread(longitudes, spacing)
    least = min(spacing, 360.0 / max(len(longitudes), 1))
    for index, here in enumerate(shown):
        assert 0.0 <= here < 360.0
        away = abs(here - longitudes[index]) % 360.0
        assert min(away, 360.0 - away) <= len(longitudes) * least / 2 + 1e-9
        for there in shown[index + 1 :]:
            apart = abs(here - there) % 360.0
            assert min(apart, 360.0 - apart) >= least - 1e-6


def test_spread_leaves_lone_bodies_where_they_are() -> None:
    assert spread([10.0, 100.0, 250.0], 5.0) == [10.0, 100.0, 250.0]
    assert spread([10.0, 11.0], 5.0) == [8.0, 13.0]


# Rasterising -------------------------------------------------------------------------------


def raster(root: ET.Element) -> Image.Image:
    png = resvg_py.svg_to_bytes(
        svg_string=ET.tostring(root, encoding="unicode"), skip_system_fonts=True
    )
    return Image.open(io.BytesIO(bytes(png))).convert("RGB")


def changed_pixels(difference: Image.Image) -> int:
    """How many pixels of a difference image are not black (differ at all)."""
    return difference.convert("L").point(lambda value: 255 if value else 0).histogram()[255]


def glyph_centre(glyph: ET.Element) -> tuple[float, float]:
    translate = glyph.get("transform", "").split(")")[0].removeprefix("translate(")
    x, y = translate.split()
    return float(x), float(y)


def check_every_glyph_is_drawn_where_it_says(svg: str) -> None:
    """The picture is not blank, and taking every glyph out changes it around each glyph's
    centre (at least 40 pixels within 14 px: glyphs are 21 px wide and 26 px apart) and
    nowhere else, so no glyph is empty, misplaced or hidden under another element."""
    root = ET.fromstring(svg)
    whole = raster(root)
    inked = changed_pixels(ImageChops.difference(whole, Image.new("RGB", whole.size, "white")))
    assert inked > whole.width * whole.height // 8  # not blank: the tinted zodiac ring alone
    glyphs = []
    for group in root.iter(f"{SVG}g"):
        for child in list(group):
            if child.get("class") == "glyph":
                glyphs.append((group.findtext(f"{SVG}title"), glyph_centre(child)))
                group.remove(child)
    assert len(glyphs) >= 12 + 14
    changed = ImageChops.difference(whole, raster(root)).convert("L")
    boxes = Image.new("L", whole.size, 0)
    for label, (x, y) in glyphs:
        box = (round(x) - 14, round(y) - 14, round(x) + 14, round(y) + 14)
        assert changed_pixels(changed.crop(box)) >= 40, f"{label}: its glyph is not drawn"
        ImageDraw.Draw(boxes).rectangle(box, fill=255)
    outside = ImageChops.subtract(changed, boxes)
    assert changed_pixels(outside) == 0, "glyph ink far from every glyph's position"


def test_every_glyph_of_a_natal_wheel_rasterises_where_it_belongs() -> None:
    check_every_glyph_is_drawn_where_it_says(wheel_svg(BERLIN.to_dict()))


def test_every_glyph_of_a_bi_wheel_rasterises_where_it_belongs() -> None:
    check_every_glyph_is_drawn_where_it_says(biwheel())
