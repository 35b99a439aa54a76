"""Profile answers and dating preferences: vocabulary, limits, encoding; the mutual filter;
the rules file's own checks."""

import datetime as dt
import tomllib
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching_helpers import VOCABULARY, profiles

from selflink_core.matching import (
    DatingPreferences,
    InvalidPreferences,
    InvalidProfile,
    ProfileAnswers,
    age_on,
    load_rules,
    mutual_dating_mask,
    mutually_interested,
    same_age_group,
    same_age_group_mask,
    vocabulary,
)
from selflink_core.matching.rules import RulesError, parse_rules


@settings(max_examples=60)
@given(profiles)
def test_answers_encode_and_decode(answers: ProfileAnswers) -> None:
    assert ProfileAnswers.decode(answers.encode()) == answers
    assert ProfileAnswers.from_dict(answers.to_dict()) == answers


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        ({"values": ["honesty", "wealth"]}, "values", "'wealth' is not one of"),
        ({"values": ["honesty", "honesty"]}, "values", "listed twice"),
        ({"values": "honesty"}, "values", "expected a list"),
        ({"values": VOCABULARY.values[:6]}, "values", "at most 5"),
        ({"love_languages": VOCABULARY.love_languages[:3]}, "love_languages", "at most 2"),
        ({"interests": list(VOCABULARY.interests[:11])}, "interests", "at most 10"),
        ({"lifestyle": {"smoking": "chain"}}, "lifestyle.smoking", "'chain' is not one of"),
        ({"lifestyle": {"astrology": "yes"}}, "lifestyle", "'astrology' is not one of"),
        ({"lifestyle": ["smoking"]}, "lifestyle", "expected an object"),
        ({"hobbies": []}, "profile", "unknown field 'hobbies'"),
    ],
)
def test_bad_answers_name_the_field(document, field, message) -> None:
    with pytest.raises(InvalidProfile, match=message) as caught:
        ProfileAnswers.from_dict(document)
    assert caught.value.field == field
    assert caught.value.to_dict()["code"] == "invalid_profile"


def test_unanswered_lifestyle_questions_may_be_null() -> None:
    answers = ProfileAnswers.from_dict({"lifestyle": {"smoking": None, "sleep": "flexible"}})
    assert answers.lifestyle == (("sleep", "flexible"),)


def test_vocabulary_is_published_for_clients() -> None:
    document = vocabulary().to_dict()
    assert document["rules_version"] == "match-1"
    assert document["limits"] == {"values": 5, "love_languages": 2, "interests": 10}
    assert document["lifestyle"]["smoking"] == ["never", "sometimes", "regularly"]
    assert document["modes"] == ["dating", "friends"]
    assert document["age_range"] == {"min": 18, "max": 99}


def test_age_counts_completed_years() -> None:
    assert age_on(dt.date(2000, 2, 29), dt.date(2018, 2, 28)) == 17
    assert age_on(dt.date(2000, 2, 29), dt.date(2018, 3, 1)) == 18
    assert age_on(dt.date(1990, 5, 17), dt.date(2026, 5, 17)) == 36


def test_preferences_are_validated() -> None:
    good = {"gender": "woman", "interested_in": ["man", "woman"], "age_min": 25, "age_max": 40}
    prefs = DatingPreferences.from_dict(good)
    assert prefs.interested_in == ("woman", "man")
    for change, field in [
        ({"gender": "robot"}, "gender"),
        ({"interested_in": []}, "interested_in"),
        ({"interested_in": ["man", "man"]}, "interested_in"),
        ({"age_min": 17}, "age_min"),
        ({"age_max": 100}, "age_max"),
        ({"age_min": 41}, "age_max"),
        ({"age_min": 30.5}, "age_min"),
        ({"extra": 1}, "extra"),
    ]:
        with pytest.raises(InvalidPreferences) as caught:
            DatingPreferences.from_dict({**good, **change})
        assert caught.value.field == field
    with pytest.raises(InvalidPreferences, match="required"):
        DatingPreferences.from_dict({"gender": "man"})


preferences = st.builds(
    lambda gender, wanted, low, span: DatingPreferences(
        gender, tuple(wanted), low, min(99, low + span)
    ),
    st.sampled_from(VOCABULARY.genders),
    st.lists(st.sampled_from(VOCABULARY.genders), min_size=1, unique=True),
    st.integers(18, 99),
    st.integers(0, 30),
)


@settings(max_examples=40)
@given(
    preferences,
    st.integers(18, 99),
    st.lists(st.tuples(st.one_of(st.none(), preferences), st.integers(18, 99)), max_size=20),
)
def test_the_vectorized_filter_equals_the_pairwise_one(user, user_age, others) -> None:
    rows = [None if prefs is None else prefs.row() for prefs, _ in others]
    mask = mutual_dating_mask(
        user,
        user_age,
        genders=[-1 if row is None else row["gender"] for row in rows],
        interested_in=[0 if row is None else row["interested_in"] for row in rows],
        age_min=[0 if row is None else row["age_min"] for row in rows],
        age_max=[0 if row is None else row["age_max"] for row in rows],
        ages=[age for _, age in others],
    )
    expected = [
        prefs is not None and mutually_interested(user, user_age, prefs, age)
        for prefs, age in others
    ]
    assert mask.tolist() == expected
    assert mask.dtype == np.bool_


ages = st.integers(-1, 120)


@given(ages, st.lists(ages, max_size=20))
def test_minors_and_everyone_else_are_kept_apart_symmetrically(user_age, others) -> None:
    mask = same_age_group_mask(user_age, others)
    assert mask.tolist() == [same_age_group(user_age, age) for age in others]
    assert mask.tolist() == [same_age_group(age, user_age) for age in others]
    for age, shown in zip(others, mask.tolist(), strict=True):
        if min(user_age, age) >= 0 and max(user_age, age) >= 18 and min(user_age, age) < 18:
            assert not shown  # a known minor and an adult


def test_age_groups_at_their_edges() -> None:
    assert same_age_group(17, 0)
    assert not same_age_group(17, 18)
    assert same_age_group(18, 99)
    assert same_age_group(-1, 18)  # an unknown age is never treated as a minor's peer
    assert not same_age_group(-1, 17)


def test_interest_must_be_mutual() -> None:
    ana = DatingPreferences("woman", ("man",), 25, 35)
    ben = DatingPreferences("man", ("woman",), 20, 30)
    assert mutually_interested(ana, 28, ben, 30)
    assert not mutually_interested(ana, 31, ben, 30)  # ana is too old for ben
    assert not mutually_interested(ana, 28, DatingPreferences("man", ("man",), 20, 40), 30)


def test_the_rules_file_checks_its_invariants() -> None:
    text = resources.files("selflink_core.matching").joinpath("data", "match-1.toml").read_text()
    document = tomllib.loads(text)
    assert parse_rules(document).weights == load_rules().weights == (40, 15, 10, 35)
    broken = tomllib.loads(text)
    broken["numerology"]["table"][0][1] = 41
    with pytest.raises(RulesError, match="not symmetric"):
        parse_rules(broken)
    broken = tomllib.loads(text)
    broken["synastry"]["aspects"][1]["orb"] = 60
    with pytest.raises(RulesError, match="overlap"):
        parse_rules(broken)
    broken = tomllib.loads(text)
    del broken["weights"]["profile"]
    with pytest.raises(RulesError, match="malformed"):
        parse_rules(broken)
