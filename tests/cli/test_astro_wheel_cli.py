"""`selflink astro chart|synastry --svg FILE`: the wheel written beside the usual output."""

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from selflink_core.astro import BirthData, natal_chart, wheel_svg
from tests.cli.astro_helpers import BERLIN, outcome

SVG = "{http://www.w3.org/2000/svg}"
PARIS = ["--with-date", "1988-11-02", "--with-time", "06:05", "--with-place", "Paris"]
PARIS += ["--with-country", "FR"]


def rings(path: Path) -> list[int]:
    """How many bodies each ring of the wheel in `path` draws."""
    root = ET.fromstring(path.read_text(encoding="utf-8"))
    return [len(ring.findall(f"{SVG}g")) for ring in root.findall(f"{SVG}g[@class='bodies']")]


def test_chart_svg_is_the_wheel_of_the_printed_chart(tmp_path: Path) -> None:
    wheel = tmp_path / "wheel.svg"
    code, out, err = outcome("astro", "chart", *BERLIN, "--json", "--svg", str(wheel))
    assert (code, err) == (0, "")
    assert wheel.read_bytes() == wheel_svg(json.loads(out)).encode()
    birth = BirthData(dt.date(1990, 5, 17), dt.time(14, 30), 52.52, 13.405, "Europe/Berlin")
    assert wheel.read_bytes() == wheel_svg(natal_chart(birth).to_dict()).encode()
    code, out, _ = outcome("astro", "chart", *BERLIN, "--svg", str(wheel))
    assert code == 0
    assert "Taurus" in out  # the table still goes to stdout


def test_synastry_svg_is_a_bi_wheel_and_composite_svg_a_single_wheel(tmp_path: Path) -> None:
    wheel = tmp_path / "bi.svg"
    code, _, err = outcome("astro", "synastry", *BERLIN, *PARIS, "--svg", str(wheel))
    assert (code, err) == (0, "")
    assert rings(wheel) == [14, 14]
    assert "Synastry bi-wheel" in wheel.read_text(encoding="utf-8")
    code, _, _ = outcome("astro", "synastry", *BERLIN, *PARIS, "--composite", "--svg", str(wheel))
    assert code == 0
    assert rings(wheel) == [14]
    assert "Composite chart wheel" in wheel.read_text(encoding="utf-8")


@pytest.mark.parametrize("where", ["missing/wheel.svg", "."])
def test_an_svg_file_that_cannot_be_written_is_one_line_and_exit_3(
    tmp_path: Path, where: str
) -> None:
    target = tmp_path / where
    code, out, err = outcome("astro", "chart", *BERLIN, "--svg", str(target))
    assert code == 3
    assert out == ""  # written before anything is printed
    assert err.startswith(f"error: {target}: cannot write: ")
    assert err.count("\n") == 1
