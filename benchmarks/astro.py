"""Astro throughput: full charts vs raw pyswisseph (the floor) vs kerykeion, plus the 10,000-chart
matching batch. Run: `uv run python benchmarks/astro.py [--charts N] [--batch N]`.

All subjects are random but seeded; every engine gets the same instants and places, with the
Moshier ephemeris, in one process on one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import time
from typing import TYPE_CHECKING

import swisseph as swe

from selflink_core.astro import BirthData, batch_features, natal_chart

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


def best_rate(run: Callable[[], None], count: int, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return count / best


BODIES = (*range(10), swe.MEAN_NODE, swe.TRUE_NODE, swe.MEAN_APOG)


def raw_pyswisseph(items: list[Subject]) -> None:
    """The same position and house calls a chart makes, and nothing else."""
    flags = swe.FLG_MOSEPH | swe.FLG_SPEED
    for moment, latitude, longitude in items:
        hours = moment.hour + moment.minute / 60
        jd = swe.julday(moment.year, moment.month, moment.day, hours, swe.GREG_CAL)
        for body in BODIES:
            swe.calc_ut(jd, body, flags)
        swe.houses_ex2(jd, latitude, longitude, b"P", 0)


def births(items: list[Subject]) -> list[BirthData]:
    return [
        BirthData(moment.date(), moment.time(), latitude, longitude, "UTC")
        for moment, latitude, longitude in items
    ]


def full_charts(people: list[BirthData]) -> None:
    for person in people:
        natal_chart(person).to_json()


def charts_without_json(people: list[BirthData]) -> None:
    for person in people:
        natal_chart(person)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--charts", type=int, default=1000)
    parser.add_argument("--kerykeion", type=int, default=300)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()

    items = subjects(args.charts)
    people = births(items)
    natal_chart(people[0])  # load zone data once, outside the timings
    raw = best_rate(lambda: raw_pyswisseph(items), len(items))
    full = best_rate(lambda: full_charts(people), len(people))
    bare = best_rate(lambda: charts_without_json(people), len(people))
    peer_items = items[: args.kerykeion]
    kerykeion_subjects(peer_items[:5])
    peer = best_rate(lambda: kerykeion_subjects(peer_items), len(peer_items))

    batch_people = births(subjects(args.batch, seed=7))
    started = time.perf_counter()
    frame = batch_features(batch_people)
    features_seconds = time.perf_counter() - started
    started = time.perf_counter()
    full_charts(batch_people)
    batch_seconds = time.perf_counter() - started

    print(f"Python {platform.python_version()} on {platform.machine()}, pyswisseph {swe.version}")
    print(f"{'engine':<44}{'charts/s':>10}{'vs raw':>9}{'vs kerykeion':>14}")
    for name, rate in (
        ("raw pyswisseph (13 bodies + houses, floor)", raw),
        ("selflink full chart + canonical JSON", full),
        ("selflink full chart, no JSON", bare),
        ("kerykeion subject + aspects + JSON", peer),
    ):
        print(f"{name:<44}{rate:>10.0f}{rate / raw:>9.0%}{rate / peer:>13.1f}x")
    print(
        f"batch of {len(batch_people):,}: matching features {features_seconds:.2f} s "
        f"({frame.height:,} rows), full charts + JSON {batch_seconds:.2f} s"
    )


if __name__ == "__main__":
    main()
