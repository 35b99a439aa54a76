"""`score`: the documented formulas, symmetry, bounds, order independence, monotonicity,
missing data and explanations."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching_helpers import VOCABULARY, chart_features, features, people, profile_dicts

from selflink_core.matching import COMPONENTS, Person, ProfileAnswers, load_rules, score
from selflink_core.matching.rules import SET_PARTS
from selflink_core.matching.scoring import centidegrees, half_up

WEIGHTS = dict(zip(COMPONENTS, load_rules().weights, strict=True))


def symmetric_part(result):
    return (result.total, result.ranking_score, dict(result.scores), result.coverage, result.lens)


@settings(max_examples=150)
@given(people(), people())
def test_score_is_symmetric_to_the_bit(first: Person, second: Person) -> None:
    forward, backward = score(first, second), score(second, first)
    assert symmetric_part(forward) == symmetric_part(backward)
    assert sorted(abs(r.impact) for r in forward.reasons) == sorted(
        abs(r.impact) for r in backward.reasons
    )


@settings(max_examples=150)
@given(people(), people())
def test_every_score_lies_within_0_and_100(first: Person, second: Person) -> None:
    result = score(first, second)
    assert 0 <= result.total <= 100
    assert 0 <= result.ranking_score <= 100
    if len(result.coverage) == 4:
        assert result.ranking_score == result.total
    for value in result.scores.values():
        assert value is None or 0 <= value <= 100
    assert result.coverage == tuple(name for name in COMPONENTS if result.scores[name] is not None)
    assert len(result.reasons) <= 3


@settings(max_examples=60)
@given(profile_dicts(), profile_dicts(), st.randoms(use_true_random=False))
def test_answer_order_never_matters(mine: dict, theirs: dict, rng: random.Random) -> None:
    def shuffled(document: dict) -> dict:
        copy = {part: rng.sample(document[part], len(document[part])) for part in SET_PARTS}
        items = list(document["lifestyle"].items())
        rng.shuffle(items)
        return {**copy, "lifestyle": dict(items)}

    first = Person(profile=ProfileAnswers.from_dict(mine), life_path=3)
    second = Person(profile=ProfileAnswers.from_dict(theirs), life_path=7)
    again = Person(profile=ProfileAnswers.from_dict(shuffled(mine)), life_path=3)
    assert score(first, second).to_json() == score(again, second).to_json()


@settings(max_examples=150)
@given(
    profile_dicts(spare=1),
    profile_dicts(spare=1),
    st.sampled_from(SET_PARTS),
    st.integers(0, 63),
)
def test_adding_a_shared_word_never_lowers_the_profile(
    mine: dict, theirs: dict, part: str, pick: int
) -> None:
    unused = [w for w in VOCABULARY.words(part) if w not in mine[part] and w not in theirs[part]]
    if not unused:
        return
    word = unused[pick % len(unused)]
    before = score(
        Person(profile=ProfileAnswers.from_dict(mine)),
        Person(profile=ProfileAnswers.from_dict(theirs)),
    )
    mine[part] = [*mine[part], word]
    theirs[part] = [*theirs[part], word]
    after = score(
        Person(profile=ProfileAnswers.from_dict(mine)),
        Person(profile=ProfileAnswers.from_dict(theirs)),
    )
    assert after.scores["profile"] is not None
    if before.scores["profile"] is not None:
        assert after.scores["profile"] >= before.scores["profile"]


@settings(max_examples=100)
@given(people(), people())
def test_total_is_the_weighted_mean_of_the_covered_components(
    first: Person, second: Person
) -> None:
    result = score(first, second)
    covered = result.coverage
    if not covered:
        assert (result.total, result.lens) == (0.0, "none")
        return
    weighted = sum(WEIGHTS[name] * round(result.scores[name] * 100) for name in covered)
    assert result.total == half_up(weighted, sum(WEIGHTS[name] for name in covered)) / 100
    best = max(WEIGHTS[name] * result.scores[name] for name in covered)
    assert WEIGHTS[result.lens] * result.scores[result.lens] == best


def test_missing_data_is_left_out_never_counted_as_perfect() -> None:
    chart = features(sun=10.0, moon=200.0, mercury=20.0, venus=250.0, mars=80.0)
    answers = ProfileAnswers.from_dict({"values": ["honesty"], "interests": ["books"]})
    full = Person(chart=chart, profile=answers)
    no_profile = Person(chart=chart)
    no_chart = Person(profile=answers)
    only_date = Person(life_path=5)

    assert score(full, no_profile).coverage == ("synastry", "elements", "numerology")
    assert score(full, no_chart).coverage == ("profile",)
    assert score(full, only_date).coverage == ("numerology",)
    assert score(no_chart, only_date).coverage == ()
    nothing = score(Person(), Person())
    assert (nothing.total, nothing.coverage, nothing.lens, nothing.reasons) == (0.0, (), "none", ())
    # A perfect life-path match alone is a total of 100, but recommendations sort it as
    # (10 x 100 + 90 x 50) / 100: little data cannot outrank much.
    alone = score(Person(life_path=1), Person(life_path=5))
    assert (alone.total, alone.ranking_score) == (100.0, 55.0)
    assert nothing.ranking_score == 50.0
    # Both declared values, only one declared interests: interests do not count.
    mine = ProfileAnswers.from_dict({"values": ["honesty", "family"], "interests": ["books"]})
    theirs = ProfileAnswers.from_dict({"values": ["honesty", "humor", "growth"]})
    result = score(Person(profile=mine), Person(profile=theirs))
    details = result.details["profile"]
    assert details["values"]["score"] == 50.0  # one shared of the shorter list of two
    assert details["interests"]["score"] is None
    assert details["love_languages"]["score"] is None
    assert result.scores["profile"] == 50.0


def test_no_aspects_scores_the_neutral_50() -> None:
    mine = features()
    theirs = features(sun=25.0, moon=25.0, mercury=25.0, venus=25.0, mars=25.0)
    result = score(Person(chart=mine), Person(chart=theirs))
    assert result.details["synastry"]["contacts"] == []
    assert result.scores["synastry"] == 50.0


def test_an_exact_sun_conjunction() -> None:
    # Sun on Sun (weight 3 x 3, conjunction value 2, strength 1): 18 harmonious points;
    # 100 x (18 + 10) / (18 + 0 + 20) = 73.684... -> 73.68.
    mine = features(moon=25.0, mercury=25.0, venus=25.0, mars=25.0)
    theirs = features(moon=335.0, mercury=335.0, venus=335.0, mars=335.0)
    result = score(Person(chart=mine), Person(chart=theirs))
    contacts = result.details["synastry"]["contacts"]
    assert contacts == [
        {
            "aspect": "conjunction",
            "first": "sun",
            "orb": 0.0,
            "points": 18.0,
            "second": "sun",
            "strength": 1.0,
            "weight": 9,
        }
    ]
    assert result.scores["synastry"] == 73.68


def test_tightness_and_tense_aspects() -> None:
    # Moon 1.2 degrees from an exact trine to Venus: strength (700 - 120) / 700 = 0.828.
    # Mars square Mars, orb 3: strength 0.5, weight 4, value -2: 4 tense points.
    mine = features(sun=200.0, moon=10.0, mercury=200.0, venus=200.0, mars=50.0)
    theirs = features(sun=200.0 + 25, moon=205.0, mercury=225.0, venus=131.2, mars=143.0)
    result = score(Person(chart=mine), Person(chart=theirs))
    by_pair = {(c["first"], c["second"]): c for c in result.details["synastry"]["contacts"]}
    assert by_pair["moon", "venus"] == {
        "aspect": "trine",
        "first": "moon",
        "orb": 1.2,
        "points": 14.904,
        "second": "venus",
        "strength": 0.828,
        "weight": 9,
    }
    assert by_pair["mars", "mars"]["points"] == -4.0
    assert "Your Moon trines their Venus (orb 1.2°)" in [r.text for r in result.reasons]


def test_angles_count_only_when_both_times_are_known() -> None:
    with_time = features(
        ascendant=0.0, mc=270.0, sun=100.0, moon=100.0, mercury=100.0, venus=100.0, mars=100.0
    )
    without = features(sun=0.0, moon=125.0, mercury=125.0, venus=125.0, mars=125.0)
    other_with_time = features(
        ascendant=0.0, mc=270.0, sun=125.0, moon=125.0, mercury=125.0, venus=125.0, mars=125.0
    )
    points = lambda result: {  # noqa: E731
        name for c in result.details["synastry"]["contacts"] for name in (c["first"], c["second"])
    }
    one_side = score(Person(chart=with_time), Person(chart=without))
    assert not one_side.details["synastry"]["angles_compared"]
    assert points(one_side) <= {"sun", "moon", "mercury", "venus", "mars"}
    both = score(Person(chart=with_time), Person(chart=other_with_time))
    assert both.details["synastry"]["angles_compared"]
    assert {"ascendant", "mc"} <= points(both)


@pytest.mark.parametrize(
    ("longitude", "expected"),
    [
        (0.0, 0),
        (10.004999, 1000),
        (10.005, 1001),
        (56.33895, 5634),
        (359.994999, 35999),
        (359.995, 0),
    ],
)
def test_longitudes_round_to_hundredths_halves_up(longitude: float, expected: int) -> None:
    assert centidegrees(longitude) == expected


def test_elements_numerology_and_lifestyle_formulas() -> None:
    fire_air = features(elements=(5, 0, 5, 0), modalities=(10, 0, 0), life_path=1)
    air = features(
        sun=25.0,
        moon=25.0,
        mercury=25.0,
        venus=25.0,
        mars=25.0,
        elements=(0, 0, 10, 0),
        modalities=(0, 10, 0),
        life_path=5,
    )
    mine = ProfileAnswers.from_dict(
        {"lifestyle": {"smoking": "never", "exercise": "daily", "sleep": "night_owl"}}
    )
    theirs = ProfileAnswers.from_dict(
        {"lifestyle": {"smoking": "regularly", "exercise": "often", "diet": "vegan"}}
    )
    result = score(Person(chart=fire_air, profile=mine), Person(chart=air, profile=theirs))
    # elements: (5 x 10 x 100 + 5 x 10 x 80) / 100 = 90; modalities: cardinal-fixed 80;
    # component (3 x 90 + 80) / 4 = 87.5.
    assert result.details["elements"]["element_harmony"] == 90.0
    assert result.details["elements"]["modality_harmony"] == 80.0
    assert result.scores["elements"] == 87.5
    # life paths 1 and 5: same family.
    assert result.scores["numerology"] == 100.0
    # smoking two steps of two apart: 0; exercise one step of three: 66.67;
    # mean of 0 and 6667 hundredths = 3333.5, halves up: 33.34.
    assert result.details["profile"]["lifestyle"]["score"] == 33.34
    assert result.scores["profile"] == result.details["profile"]["lifestyle"]["score"]


def test_master_numbers_use_their_root() -> None:
    assert score(Person(life_path=11), Person(life_path=4)).scores["numerology"] == 100.0
    assert score(Person(life_path=22), Person(life_path=4)).scores["numerology"] == 80.0
    assert score(Person(life_path=33), Person(life_path=1)).scores["numerology"] == 70.0


@settings(max_examples=60)
@given(chart_features(), chart_features(), profile_dicts(), profile_dicts())
def test_reasons_are_ranked_by_impact_and_read_as_sentences(a, b, mine, theirs) -> None:
    result = score(
        Person(chart=a, profile=ProfileAnswers.from_dict(mine)),
        Person(chart=b, profile=ProfileAnswers.from_dict(theirs)),
    )
    impacts = [abs(reason.impact) for reason in result.reasons]
    assert impacts == sorted(impacts, reverse=True)
    for reason in result.reasons:
        assert reason.text[0].isupper()
        assert reason.component in COMPONENTS
        assert reason.impact >= 0 if reason.effect == "positive" else reason.impact <= 0
    assert (
        result.to_json()
        == score(
            Person(chart=a, profile=ProfileAnswers.from_dict(mine)),
            Person(chart=b, profile=ProfileAnswers.from_dict(theirs)),
        ).to_json()
    )


POSITIVE_PHRASES = ("You both value", "You share a love language", "You both enjoy", "You agree on")


@settings(max_examples=80)
@given(people(), people())
def test_shared_words_help_and_tense_aspects_cost(first: Person, second: Person) -> None:
    for reason in score(first, second).reasons:
        if reason.text.startswith(POSITIVE_PHRASES):
            assert reason.effect == "positive"
        if " squares " in reason.text or " opposes " in reason.text:
            assert reason.effect == "negative"
        if (
            " trines " in reason.text
            or " sextiles " in reason.text
            or " is conjunct " in reason.text
        ):
            assert reason.effect == "positive"


def test_a_shared_word_helps_even_when_it_is_all_one_side_declared() -> None:
    # Without "honesty" the second person would have no answers at all; the reason still
    # measures the word against an unshared one, never against a missing profile.
    mine = ProfileAnswers.from_dict({"values": ["honesty", "family"], "interests": ["books"]})
    theirs = ProfileAnswers.from_dict({"values": ["honesty"]})
    result = score(Person(profile=mine, life_path=1), Person(profile=theirs, life_path=5))
    texts = {reason.text: reason for reason in result.reasons}
    assert texts["You both value honesty"].effect == "positive"
    assert texts["You both value honesty"].impact > 0


def test_a_lifestyle_difference_is_a_negative_reason() -> None:
    mine = ProfileAnswers.from_dict({"values": ["family"], "lifestyle": {"smoking": "never"}})
    theirs = ProfileAnswers.from_dict({"values": ["family"], "lifestyle": {"smoking": "regularly"}})
    result = score(Person(profile=mine, life_path=1), Person(profile=theirs, life_path=1))
    texts = {reason.text: reason for reason in result.reasons}
    reason = texts["You differ on smoking: you said never, they said regularly"]
    assert reason.effect == "negative"
    assert texts["You both value family"].effect == "positive"
