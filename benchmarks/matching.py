"""Matching speed: ranking 100,000 candidates for one user, pairwise `score` throughput, and
the precompute job's feature rows for 10,000 users.

Run: `uv run python benchmarks/matching.py [--candidates N] [--pairs N] [--users N]`.

Candidates are random but seeded and shaped like stored rows (`MATCH_SCHEMA`): 75% with a
chart (70% of those with a birth time), 10% with only a life path, the rest without birth
data; 80% with profile answers. Ranking figures are medians of repeated requests in one
process after a warm-up; every run also checks a sample of the ranking against `score`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import platform
import random
import statistics
import time
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from selflink_core.astro import BirthData
from selflink_core.matching import (
    LENSES,
    MATCH_SCHEMA,
    CandidateMatrix,
    DatingPreferences,
    Person,
    ProfileAnswers,
    match_frame,
    mutual_dating_mask,
    rank,
    score,
    select_page,
    vocabulary,
)
from selflink_core.matching.rules import LIFE_PATHS, SET_PARTS

if TYPE_CHECKING:
    from collections.abc import Callable

VOCABULARY = vocabulary()
LONGITUDES = ("sun", "moon", "mercury", "venus", "mars", "ascendant", "mc")


def random_masks(rng: np.random.Generator, count: int, size: int, limit: int) -> np.ndarray:
    chosen = rng.integers(0, limit + 1, count)
    bits = np.argsort(rng.random((count, size)), axis=1)
    masks = np.zeros(count, dtype=np.int64)
    for column in range(limit):
        masks |= np.where(chosen > column, np.int64(1) << bits[:, column], 0)
    return masks


def candidate_frame(count: int, seed: int = 7) -> pl.DataFrame:
    """Stored rows of `count` random people."""
    rng = np.random.default_rng(seed)
    kind = rng.random(count)
    charted = kind < 0.75
    dated = charted | (kind < 0.85)
    timed = charted & (rng.random(count) < 0.7)
    columns: dict[str, object] = {}
    for name in LONGITUDES:
        values = np.round(rng.uniform(0, 360, count), 6) % 360
        known = timed if name in ("ascendant", "mc") else charted
        columns[name] = pl.Series(name, values).set(pl.Series(~known), None)
    for names in (("fire", "earth", "air", "water"), ("cardinal", "fixed", "mutable")):
        counts = rng.multinomial(10, [1 / len(names)] * len(names), count)
        for index, name in enumerate(names):
            columns[name] = pl.Series(name, counts[:, index]).set(pl.Series(~charted), None)
    paths = rng.choice(sorted(LIFE_PATHS), count)
    columns["life_path"] = pl.Series("life_path", paths).set(pl.Series(~dated), None)
    columns["time_known"] = pl.Series("time_known", timed).set(pl.Series(~charted), None)
    answered = rng.random(count) < 0.8
    for part in SET_PARTS:
        masks = random_masks(rng, count, len(VOCABULARY.words(part)), VOCABULARY.limits[part])
        columns[part] = np.where(answered, masks, 0)
    for question, options in VOCABULARY.lifestyle.items():
        answers = rng.integers(-1, len(options), count)
        columns[f"lifestyle_{question}"] = np.where(answered, answers, -1)
    return pl.DataFrame(columns).cast(MATCH_SCHEMA).select(list(MATCH_SCHEMA))


def timings(run: Callable[[], object], repeats: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each repeat after one warm-up run."""
    run()
    result = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        result.append((time.perf_counter() - wall, time.process_time() - cpu))
    return result


def milliseconds(values: list[tuple[float, float]]) -> str:
    walls = [wall for wall, _ in values]
    cpus = [cpu for _, cpu in values]
    return (
        f"median {statistics.median(walls) * 1000:6.1f} ms "
        f"(CPU {statistics.median(cpus) * 1000:6.1f} ms), "
        f"min {min(walls) * 1000:6.1f} ms, max {max(walls) * 1000:6.1f} ms"
    )


def bench_ranking(count: int, repeats: int) -> None:
    started = time.perf_counter()
    frame = candidate_frame(count)
    print(f"generated {count:,} stored rows in {time.perf_counter() - started:.2f} s")
    rows = list(frame.head(200).iter_rows(named=True))
    user = Person.from_row(next(row for row in rows if row["ascendant"] is not None))
    keys = np.array([f"{index:032x}" for index in range(count)])
    load = timings(lambda: CandidateMatrix.from_frame(frame), max(3, repeats // 5))
    print(f"CandidateMatrix.from_frame ({count:,} rows, once per load): {milliseconds(load)}")
    matrix = CandidateMatrix.from_frame(frame)

    ranking = rank(user, matrix)
    for index, row in enumerate(rows):
        expected = score(user, Person.from_row(row))
        assert ranking.totals[index] == expected.total
        assert ranking.ranking_scores[index] == expected.ranking_score
        assert LENSES[ranking.lenses[index]] == expected.lens
    print(f"checked: rank equals score exactly on {len(rows)} candidates")

    ranked = timings(lambda: rank(user, matrix), repeats)
    print(f"rank, {count:,} candidates:                  {milliseconds(ranked)}")
    paged = timings(lambda: select_page(ranking.ranking_scores, ranking.lenses, keys), repeats)
    print(f"select_page (first page of 20):          {milliseconds(paged)}")
    first = select_page(ranking.ranking_scores, ranking.lenses, keys)
    later = timings(
        lambda: select_page(ranking.ranking_scores, ranking.lenses, keys, cursor=first.next_cursor),
        repeats,
    )
    print(f"select_page (second page, with cursor):  {milliseconds(later)}")

    def request() -> None:
        result = rank(user, matrix)
        select_page(result.ranking_scores, result.lenses, keys)

    print(f"rank + page (one request):               {milliseconds(timings(request, repeats))}")

    rng = np.random.default_rng(3)
    genders = rng.integers(0, 3, count)
    wanted = rng.integers(1, 8, count)
    ages = rng.integers(18, 70, count)
    low = np.maximum(18, ages - rng.integers(0, 15, count))
    high = np.minimum(99, ages + rng.integers(0, 15, count))
    preferences = DatingPreferences("woman", ("man", "nonbinary"), 25, 45)

    def dating_request() -> None:
        keep = mutual_dating_mask(
            preferences,
            33,
            genders=genders,
            interested_in=wanted,
            age_min=low,
            age_max=high,
            ages=ages,
        )
        result = rank(user, matrix.take(keep))
        select_page(result.ranking_scores, result.lenses, keys[keep])

    kept = int(
        mutual_dating_mask(
            preferences,
            33,
            genders=genders,
            interested_in=wanted,
            age_min=low,
            age_max=high,
            ages=ages,
        ).sum()
    )
    print(
        f"dating filter + take + rank + page ({kept:,} left): "
        f"{milliseconds(timings(dating_request, repeats))}"
    )


def bench_pairs(count: int) -> None:
    rows = list(candidate_frame(count + 1, seed=11).iter_rows(named=True))
    people = [Person.from_row(row) for row in rows]
    pairs = list(itertools.pairwise(people))
    best = min(wall for wall, _ in timings(lambda: [score(a, b) for a, b in pairs], 2))
    charted = [(a, b) for a, b in pairs if a.chart is not None and b.chart is not None]
    full = [(a, b) for a, b in charted if not (a.profile.is_empty or b.profile.is_empty)]
    best_full = min(wall for wall, _ in timings(lambda: [score(a, b) for a, b in full], 2))
    print(
        f"score with explanations: {len(pairs) / best:,.0f} pairs/s over {len(pairs):,} mixed "
        f"pairs; {len(full) / best_full:,.0f} pairs/s when all four components are covered"
    )


def bench_precompute(count: int, seed: int = 6) -> None:
    rng = random.Random(seed)
    start = dt.datetime(1940, 1, 1)
    births = []
    for _ in range(count):
        moment = start + dt.timedelta(minutes=rng.randrange(80 * 365 * 24 * 60))
        births.append(
            BirthData(
                moment.date(),
                moment.time() if rng.random() < 0.7 else None,
                round(rng.uniform(-60, 60), 4),
                round(rng.uniform(-180, 180), 4),
                "UTC",
            )
        )
    profiles = [
        ProfileAnswers.from_dict(
            {
                "values": rng.sample(VOCABULARY.values, rng.randint(0, 5)),
                "interests": rng.sample(VOCABULARY.interests, rng.randint(0, 10)),
                "love_languages": rng.sample(VOCABULARY.love_languages, rng.randint(0, 2)),
                "lifestyle": {q: rng.choice(o) for q, o in VOCABULARY.lifestyle.items()},
            }
        )
        for _ in range(count)
    ]
    started, cpu = time.perf_counter(), time.process_time()
    frame = match_frame(births, profiles)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert frame.height == count
    print(
        f"match_frame (batch_features + profile encoding), {count:,} users: {elapsed:.2f} s "
        f"(CPU {cpu:.2f} s; {count / elapsed:,.0f} users/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--pairs", type=int, default=5_000)
    parser.add_argument("--users", type=int, default=10_000)
    arguments = parser.parse_args()
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, polars {pl.__version__}, "
        f"{platform.machine()}"
    )
    bench_ranking(arguments.candidates, arguments.repeats)
    bench_pairs(arguments.pairs)
    bench_precompute(arguments.users)


if __name__ == "__main__":
    main()
