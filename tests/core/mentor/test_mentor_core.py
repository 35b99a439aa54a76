"""The mentor's pure parts: facts without birth details, the built-in writer, safety rules."""

import datetime as dt
import json

from hypothesis import given
from hypothesis import strategies as st

from selflink_core import astro
from selflink_core.mentor import (
    LANGUAGES,
    MODES,
    POLICY,
    ChartFacts,
    Memory,
    chart_facts,
    compose_reply,
    detect_topic,
    estimate_tokens,
    facts_lines,
    fold_topics,
    is_crisis,
    policy_findings,
    stream_pieces,
)
from selflink_core.mentor.compose import PHRASES, MatchFacts
from selflink_core.mentor.memory import MAX_TOPICS

births = st.builds(
    astro.BirthData,
    date=st.dates(dt.date(1930, 1, 1), dt.date(2010, 12, 31)),
    time=st.times().map(lambda t: t.replace(microsecond=0)) | st.none(),
    latitude=st.floats(-60, 60),
    longitude=st.floats(-179, 179),
    zone=st.just("UTC"),
)


@given(births)
def test_chart_facts_hold_no_birth_date_time_or_place(birth: astro.BirthData) -> None:
    chart = json.loads(astro.natal_chart(birth).to_json())
    numerology = json.loads(astro.numerology(birth.date, 2026).to_json())
    lines = " ".join(facts_lines(chart_facts(chart, numerology)))
    assert str(birth.date.year) not in lines
    assert birth.date.isoformat() not in lines
    assert f"{birth.latitude:.2f}" not in lines
    if birth.time is not None:
        assert birth.time.strftime("%H:%M") not in lines
    assert "Sun in " in lines
    assert "life path number" in lines


@given(st.text(max_size=400))
def test_stream_pieces_join_back_to_the_text(text: str) -> None:
    assert "".join(stream_pieces(text)) == text


@given(
    st.sampled_from(MODES),
    st.sampled_from(LANGUAGES),
    st.text(max_size=20),
    st.sampled_from(["love", "work", "general", "growth"]),
    st.text(max_size=10),
)
def test_the_built_in_writer_is_deterministic_and_labelled(
    mode: str, language: str, name: str, topic: str, seed: str
) -> None:
    facts = ChartFacts(sun="taurus", moon="aquarius", ascendant="virgo", life_path=5)
    match = MatchFacts("Bo", 71.0, ("You share honesty",)) if mode == "match" else None
    one = compose_reply(
        mode=mode,
        language=language,
        first_name=name,
        facts=facts,
        topic=topic,
        seed=seed,
        match=match,
    )
    two = compose_reply(
        mode=mode,
        language=language,
        first_name=name,
        facts=facts,
        topic=topic,
        seed=seed,
        match=match,
    )
    assert one == two
    assert one.endswith(PHRASES[language].label)
    assert "Taurus" in one
    assert not policy_findings(one)  # the writer never breaks its own policy


def test_the_built_in_writer_says_when_the_chart_is_unknown() -> None:
    text = compose_reply(
        mode="chat", language="en", first_name="", facts=ChartFacts(), topic="work", seed=""
    )
    assert "Add your birth data" in text
    assert "At work" in text


@given(
    st.lists(
        st.sampled_from(
            [
                "love",
                "work",
                "family",
                "money",
                "health",
                "growth",
                "general",
                "a",
                "b",
                "c",
                "d",
                "e",
            ]
        ),
        max_size=60,
    )
)
def test_the_memory_counts_topics_and_stays_bounded(topics: list[str]) -> None:
    memory = Memory()
    for topic in topics:
        memory = fold_topics(memory, [topic])
    assert len(memory.topics) <= MAX_TOPICS
    assert sum(memory.topics.values()) <= len(topics)
    if topics:
        most = max(set(topics), key=topics.count)
        assert memory.topics.get(most) == topics.count(most)


def test_topics_are_found_by_their_words() -> None:
    assert detect_topic("My boss and my career") == "work"
    assert detect_topic("mi pareja y el amor") == "love"
    assert detect_topic("hello there") == "general"


def test_crisis_messages_are_recognised_in_every_language() -> None:
    for text in (
        "I want to kill myself",
        "sometimes I think about suicide",
        "I've been cutting myself again",
        "quiero quitarme la vida",
        "j'ai envie de mourir",
        "ich will mich umbringen",
        "quero morrer",
    ):
        assert is_crisis(text), text
    for text in ("I killed it at the gym", "this deadline is killing me", "die Sonne"):
        assert not is_crisis(text), text


def test_every_policy_rule_catches_its_example_and_spares_reflection() -> None:
    examples = {
        "medical-directive": "You should stop taking your medication.",
        "legal-directive": "You will win the case, no doubt.",
        "financial-directive": "Invest everything now.",
        "fate-claim": "It is your destiny to suffer.",
    }
    assert {rule.code for rule in POLICY} == set(examples)
    for code, text in examples.items():
        assert [rule.code for rule in policy_findings(text)] == [code]
    assert not policy_findings("You might talk to a doctor about how you feel.")


def test_tokens_are_estimated_at_four_characters_each() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
