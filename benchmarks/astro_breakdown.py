"""Where the microseconds of a natal chart go, measured the way `astro.py` runs charts: in a loop
between the ephemeris calls, where the Python code pays for the caches the C code evicted.
Run: `uv run python benchmarks/astro_breakdown.py [--ephemeris moshier|files] [--rounds N]`.

Each stage runs the chart up to one more part than the stage before it (the aspect search and the
JSON parts are taken out by replacing them with stubs), so the differences between consecutive
stages are the in-loop costs of the parts. Times are CPU time of this thread per chart: for each
batch of 40 charts, the least over the rounds, averaged over the batches.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import TYPE_CHECKING

import swisseph as swe
from astro import FILES, births, raw_pyswisseph, subjects

from selflink_core.astro import ChartOptions, canonical, chart, natal_chart
from selflink_core.astro.ephemeris import julian_day, observe
from selflink_core.astro.inputs import resolve_birth
from selflink_core.astro.zodiac import FALLBACK_HOUSE_SYSTEM

if TYPE_CHECKING:
    from collections.abc import Callable

    from astro import Subject

    from selflink_core.astro import BirthData

BATCH = 40


def ephemeris_only(people: list[BirthData], options: ChartOptions) -> None:
    """Birth resolution and the ephemeris module: a chart before it builds anything."""
    ephemeris = chart._casting_plan(options).ephemeris
    for birth in people:
        utc = resolve_birth(birth).utc
        seconds = utc.hour * 3600 + utc.minute * 60 + utc.second
        observe(
            julian_day(utc.year, utc.month, utc.day, seconds),
            ephemeris,
            house_system=options.house_system,
            fallback_house_system=FALLBACK_HOUSE_SYSTEM,
            latitude=birth.latitude,
            longitude=birth.longitude,
            chiron=True,
        )


def charts(people: list[BirthData], options: ChartOptions, *, to_json: bool) -> None:
    for birth in people:
        cast = natal_chart(birth, options)
        if to_json:
            cast.to_json()


def stages(
    items: list[Subject], people: list[BirthData], options: ChartOptions, ephemeris: str
) -> dict[str, tuple[Callable[[], None], dict[str, object]]]:
    """Each stage's run and the stubs it runs with (module attributes replaced meanwhile)."""
    no_aspects = {"find_aspects": lambda *_: []}
    encode_only = canonical._IN_KEY_ORDER.encode
    return {
        "raw pyswisseph calls": (lambda: raw_pyswisseph(items, ephemeris), {}),
        "birth resolution, ephemeris module": (lambda: ephemeris_only(people, options), {}),
        "input section and its JSON, warnings": (
            lambda: charts(people, options, to_json=False),
            {"_natal_document": lambda *_: {}},
        ),
        "records, summary, options, input hash": (
            lambda: charts(people, options, to_json=False),
            no_aspects,
        ),
        "aspect search": (lambda: charts(people, options, to_json=False), {}),
        "JSON: everything but the positions": (
            lambda: charts(people, options, to_json=True),
            {"engine_json": lambda _: b"{}"},
        ),
        "JSON: msgspec encoding the positions": (
            lambda: charts(people, options, to_json=True),
            {"engine_json": encode_only},
        ),
        "JSON: RFC 8785 number forms": (lambda: charts(people, options, to_json=True), {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ephemeris", choices=["moshier", "files"], default="files")
    parser.add_argument("--charts", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    load_before = " ".join(f"{value:.2f}" for value in os.getloadavg())
    ephemeris = FILES if args.ephemeris == "files" else "Moshier"
    options = ChartOptions() if args.ephemeris == "files" else ChartOptions(ephemeris="moshier")
    items = subjects(args.charts)
    people = births(items)
    batches = [
        (items[start : start + BATCH], people[start : start + BATCH])
        for start in range(0, len(items), BATCH)
    ]
    least: dict[str, dict[int, float]] = {}
    for round_number in range(args.rounds):
        index = round_number % len(batches)
        for name, (run, stubs) in stages(*batches[index], options, ephemeris).items():
            originals = {attribute: getattr(chart, attribute) for attribute in stubs}
            for attribute, stub in stubs.items():
                setattr(chart, attribute, stub)
            started = time.thread_time()
            run()
            elapsed = (time.thread_time() - started) / BATCH * 1e6
            for attribute, original in originals.items():
                setattr(chart, attribute, original)
            times = least.setdefault(name, {})
            times[index] = min(times.get(index, elapsed), elapsed)
    print(f"Python {platform.python_version()}, pyswisseph {swe.version}, {ephemeris}")
    print(f"load average before {load_before}, after {os.getloadavg()[0]:.2f}")
    previous = 0.0
    for name, times in least.items():
        total = sum(times.values()) / len(times)
        print(f"{name:<42}{total - previous:>+8.1f} µs   cumulative {total:6.1f} µs")
        previous = total


if __name__ == "__main__":
    main()
