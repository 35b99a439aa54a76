"""`rank` equals `score` exactly for every candidate; stored rows round-trip; the precompute
frame agrees with the astro features."""

import dataclasses
import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching_helpers import people
from tests.core.astro.astro_helpers import BERLIN_1990, PARIS_1988

from selflink_core.astro import ChartOptions, batch_features, birth_features
from selflink_core.matching import (
    COMPONENTS,
    LENSES,
    MATCH_SCHEMA,
    CandidateMatrix,
    Person,
    ProfileAnswers,
    match_frame,
    people_frame,
    rank,
    score,
)
from selflink_core.matching.errors import InvalidPerson


def assert_ranking_equals_scores(user: Person, candidates: list[Person]) -> None:
    ranking = rank(user, CandidateMatrix.from_people(candidates))
    for index, candidate in enumerate(candidates):
        expected = score(user, candidate)
        assert ranking.totals[index] == expected.total
        assert ranking.ranking_scores[index] == expected.ranking_score
        assert LENSES[ranking.lenses[index]] == expected.lens
        for column, name in enumerate(COMPONENTS):
            value = ranking.components[index, column]
            wanted = expected.scores[name]
            assert (wanted is None and math.isnan(value)) or value == wanted


@settings(max_examples=40)
@given(people(), st.lists(people(), min_size=1, max_size=25))
def test_rank_equals_score_for_every_candidate(user: Person, candidates: list[Person]) -> None:
    assert_ranking_equals_scores(user, candidates)


@settings(max_examples=25)
@given(people(), st.lists(people(), min_size=2, max_size=20), st.randoms(use_true_random=False))
def test_candidate_order_only_permutes_the_results(user, candidates, rng) -> None:
    order = list(range(len(candidates)))
    rng.shuffle(order)
    matrix = CandidateMatrix.from_people(candidates)
    plain = rank(user, matrix)
    shuffled = rank(user, CandidateMatrix.from_people([candidates[i] for i in order]))
    assert np.array_equal(shuffled.totals, plain.totals[order])
    assert np.array_equal(shuffled.lenses, plain.lenses[order])
    taken = rank(user, matrix.take(order))
    assert np.array_equal(taken.totals, plain.totals[order])
    mask = np.arange(len(candidates)) % 2 == 0
    assert np.array_equal(rank(user, matrix.take(mask)).totals, plain.totals[mask])


@settings(max_examples=60)
@given(people())
def test_a_stored_row_reads_back_as_the_same_person(person: Person) -> None:
    frame = people_frame([person])
    assert frame.schema == pl.Schema(MATCH_SCHEMA)
    assert Person.from_row(frame.row(0, named=True)) == person


def test_real_charts_rank_like_they_score() -> None:
    answers = ProfileAnswers.from_dict({"values": ["honesty"], "interests": ["music", "books"]})
    berlin = Person(chart=birth_features(BERLIN_1990), profile=answers)
    paris = Person(chart=birth_features(PARIS_1988))
    unknown_time = dataclasses.replace(PARIS_1988, time=None)
    noon = Person(chart=birth_features(unknown_time), profile=answers)
    assert_ranking_equals_scores(berlin, [paris, noon, berlin, Person(life_path=8)])
    assert_ranking_equals_scores(noon, [paris, berlin, Person()])


def test_match_frame_is_the_astro_batch_plus_encoded_answers() -> None:
    answers = ProfileAnswers.from_dict({"values": ["family"], "lifestyle": {"pets": "open"}})
    frame = match_frame(
        [BERLIN_1990, dt.date(1990, 5, 17), None, PARIS_1988], [answers, None, answers, None]
    )
    assert frame.schema == pl.Schema(MATCH_SCHEMA)
    astro = batch_features([BERLIN_1990, PARIS_1988])
    assert frame[[0, 3]].select(astro.columns).equals(astro)
    rows = [Person.from_row(row) for row in frame.iter_rows(named=True)]
    assert rows[0] == Person(chart=birth_features(BERLIN_1990), profile=answers)
    assert rows[1] == Person(life_path=5)
    assert rows[2] == Person(profile=answers)
    assert rows[3] == Person(chart=birth_features(PARIS_1988))


def test_only_tropical_charts_are_matched() -> None:
    with pytest.raises(InvalidPerson, match="tropical"):
        match_frame([BERLIN_1990], [None], ChartOptions(zodiac="sidereal"))


def test_bad_rows_and_people_are_refused() -> None:
    row = Person(life_path=3).row()
    with pytest.raises(InvalidPerson, match="values"):
        Person.from_row({k: v for k, v in row.items() if k != "values"})
    with pytest.raises(InvalidPerson, match="life path"):
        Person(life_path=10)
    chart = birth_features(BERLIN_1990)
    with pytest.raises(InvalidPerson, match="differs"):
        Person(chart=chart, life_path=chart.life_path + 1)
    with pytest.raises(ValueError, match="lacks column"):
        CandidateMatrix.from_frame(people_frame([Person()]).drop("mc"))
    frame = people_frame([Person(life_path=3), Person()])
    for column, value in [("life_path", 10), ("lifestyle_smoking", 3), ("values", 1 << 20)]:
        broken = frame.with_columns(pl.lit(value).cast(frame.schema[column]).alias(column))
        with pytest.raises(ValueError, match=column):
            CandidateMatrix.from_frame(broken)
