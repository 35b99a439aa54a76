"""Astro throughput: full charts vs raw pyswisseph (the floor) vs kerykeion, plus the 10,000-chart
matching batch. Run: `uv run python benchmarks/astro.py [--charts N] [--batch N] [--repeats N]`.

All subjects are random but seeded; every engine gets the same instants and places, in one
process on one core (the batch is also timed over worker processes). Raw pyswisseph and
selflink are timed on each ephemeris, compared like with like: Moshier, and the Swiss Ephemeris
files selflink ships (its default since issue #19; the raw calls read the same directory).
kerykeion reads its own directory, which holds only the asteroid file (seas_18.se1), so
pyswisseph computes its planets and Moon with Moshier. The engines take turns within each
repeat, so a load change on a shared machine hits them alike; rates are medians over the
repeats (best in brackets), with the load average before and after. The batch uses Moshier.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import TYPE_CHECKING

import swisseph as swe

from selflink_core.astro import BirthData, ChartOptions, batch_features, natal_chart
from selflink_core.astro.ephemeris import shipped_directory

if TYPE_CHECKING:
    from collections.abc import Callable

Subject = tuple[dt.datetime, float, float]


def subjects(count: int, seed: int = 6) -> list[Subject]:
    rng = random.Random(seed)
    start = dt.datetime(1900, 1, 1)
    return [
        (
            start + dt.timedelta(minutes=rng.randrange(200 * 365 * 24 * 60)),
            round(rng.uniform(-60, 60), 4),
            round(rng.uniform(-180, 180), 4),
        )
        for _ in range(count)
    ]


def rates(
    engines: dict[tuple[str, str], tuple[Callable[[], None], int]], repeats: int
) -> dict[tuple[str, str], list[float]]:
    """Charts per second of each engine in each repeat, the engines taking turns."""
    measured: dict[tuple[str, str], list[float]] = {name: [] for name in engines}
    for _ in range(repeats):
        for name, (run, count) in engines.items():
            started = time.perf_counter()
            run()
            measured[name].append(count / (time.perf_counter() - started))
    return measured


BODIES = (*range(10), swe.MEAN_NODE, swe.TRUE_NODE, swe.MEAN_APOG)
RAW = "raw pyswisseph (the floor)"
FULL = "selflink full chart + canonical JSON"
NO_JSON = "selflink full chart, no JSON"
PEER = "kerykeion subject + aspects + JSON"
FILES = "shipped files"
PEER_FILES = "own files (Moshier)"


def raw_pyswisseph(items: list[Subject], ephemeris: str) -> None:
    """The same position and house calls a chart makes, and nothing else: with the files, a
    chart also computes Chiron."""
    if ephemeris == FILES:
        swe.set_ephe_path(shipped_directory())  # once a run: kerykeion sets its own in between
        flags, bodies = swe.FLG_SWIEPH | swe.FLG_SPEED, (*BODIES, swe.CHIRON)
    else:
        flags, bodies = swe.FLG_MOSEPH | swe.FLG_SPEED, BODIES
    for moment, latitude, longitude in items:
        hours = moment.hour + moment.minute / 60
        jd = swe.julday(moment.year, moment.month, moment.day, hours, swe.GREG_CAL)
        for body in bodies:
            swe.calc_ut(jd, body, flags)
        swe.houses_ex2(jd, latitude, longitude, b"P", 0)


def births(items: list[Subject]) -> list[BirthData]:
    return [
        BirthData(moment.date(), moment.time(), latitude, longitude, "UTC")
        for moment, latitude, longitude in items
    ]


MOSHIER = ChartOptions(ephemeris="moshier")
OPTIONS = {"Moshier": MOSHIER, FILES: ChartOptions()}


def full_charts(people: list[BirthData], options: ChartOptions = MOSHIER) -> None:
    for person in people:
        natal_chart(person, options).to_json()


def charts_without_json(people: list[BirthData], options: ChartOptions) -> None:
    for person in people:
        natal_chart(person, options)


def kerykeion_subjects(items: list[Subject]) -> None:
    from kerykeion import (  # noqa: PLC0415 - the peer loads only when measured
        AspectsFactory,
        AstrologicalSubjectFactory,
    )

    for moment, latitude, longitude in items:
        subject = AstrologicalSubjectFactory.from_birth_data(
            "subject",
            moment.year,
            moment.month,
            moment.day,
            moment.hour,
            moment.minute,
            lng=longitude,
            lat=latitude,
            tz_str="UTC",
            online=False,
            suppress_geonames_warning=True,
        )
        aspects = AspectsFactory.single_chart_aspects(subject)
        subject.model_dump_json()
        aspects.model_dump_json()


def seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--charts", type=int, default=1000)
    parser.add_argument("--kerykeion", type=int, default=300)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--workers", type=int, default=2, help="processes for the batch (0: serial only)"
    )
    args = parser.parse_args()
    load_before = load()

    items = subjects(args.charts)
    people = births(items)
    for options in OPTIONS.values():
        natal_chart(people[0], options)  # load zone data and check the files, outside the timings
    peer_items = items[: args.kerykeion]
    kerykeion_subjects(peer_items[:5])
    engines: dict[tuple[str, str], tuple[Callable[[], None], int]] = {}
    for ephemeris, options in OPTIONS.items():
        engines |= {
            (RAW, ephemeris): (partial(raw_pyswisseph, items, ephemeris), len(items)),
            (FULL, ephemeris): (partial(full_charts, people, options), len(people)),
            (NO_JSON, ephemeris): (partial(charts_without_json, people, options), len(people)),
        }
    engines[PEER, PEER_FILES] = (partial(kerykeion_subjects, peer_items), len(peer_items))
    measured = rates(engines, args.repeats)

    batch_people = births(subjects(args.batch, seed=7))
    frame = batch_features(batch_people, MOSHIER)
    features = [seconds(lambda: batch_features(batch_people, MOSHIER)) for _ in range(args.repeats)]
    spread = []
    if args.workers:
        with ProcessPoolExecutor(args.workers) as workers:
            batch_features(batch_people[:1000], MOSHIER, executor=workers)  # start the workers
            spread = [
                seconds(lambda: batch_features(batch_people, MOSHIER, executor=workers))
                for _ in range(args.repeats)
            ]
    charts = seconds(lambda: full_charts(batch_people))

    print(f"Python {platform.python_version()} on {platform.machine()}, pyswisseph {swe.version}")
    print(f"load average before {load_before}, after {load()}; medians of {args.repeats} repeats")
    peer = statistics.median(measured[PEER, PEER_FILES])
    print(
        f"{'engine':<38}{'ephemeris':<20}{'charts/s':>9}{'(best)':>9}{'vs raw':>8}"
        f"{'vs kerykeion':>14}"
    )
    for (name, ephemeris), values in measured.items():
        rate = statistics.median(values)
        floor = measured.get((RAW, ephemeris))
        versus_raw = f"{rate / statistics.median(floor):.0%}" if floor else "-"
        print(
            f"{name:<38}{ephemeris:<20}{rate:>9.0f}{f'({max(values):.0f})':>9}{versus_raw:>8}"
            f"{rate / peer:>13.1f}x"
        )
    over_workers = (
        f", over {args.workers} worker processes {statistics.median(spread):.2f} s"
        if spread
        else ""
    )
    print(
        f"batch of {len(batch_people):,}: matching features {statistics.median(features):.2f} s "
        f"({frame.height:,} rows){over_workers}; full charts + JSON {charts:.2f} s"
    )


if __name__ == "__main__":
    main()
