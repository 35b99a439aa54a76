"""The word-list matcher: whole words only, any case, any Unicode form."""

import unicodedata

from hypothesis import assume, given
from hypothesis import strategies as st

from selflink_core.moderation import WordList, fold, parse_word_list

LETTERS = st.characters(whitelist_categories=("Ll", "Lu"), max_codepoint=0x24F).filter(
    lambda c: unicodedata.normalize("NFKC", c.casefold()).isalpha()
)
WORDS = st.text(LETTERS, min_size=2, max_size=8)
SEPARATORS = st.text(st.sampled_from(" \t\n.,;:!?¡¿()[]\"'«»—-/…"), min_size=1, max_size=3)


def test_scunthorpe_passes_and_the_word_alone_does_not() -> None:
    words = WordList.of(["cunt"])
    assert words.matches("Greetings from Scunthorpe!") == []
    assert words.matches("what a CUNT.") == ["cunt"]
    assert words.matches("cunts") == []


def test_unicode_forms_and_scripts() -> None:
    words = parse_word_list("idiot, Дурак,\n  ,straße")
    assert words.matches("ДУРАК!") == ["дурак"]
    assert words.matches("дураки") == []
    assert words.matches("an \uff29\uff24\uff29\uff2f\uff34") == ["idiot"]  # fullwidth, NFKC
    assert words.matches("STRASSE and idiot") == ["strasse", "idiot"]  # longest first
    assert words.matches("idiote\u0301") == []  # a combining accent continues the word
    assert WordList.of([]).matches("anything") == []


def test_phrases_match_as_a_whole() -> None:
    words = WordList.of(["kill yourself"])
    assert words.matches("Go KILL yourself.") == ["kill yourself"]
    assert words.matches("skill yourself") == []


@given(word=WORDS, before=SEPARATORS, after=SEPARATORS, upper=st.booleans())
def test_a_listed_word_between_separators_is_found(
    word: str, before: str, after: str, *, upper: bool
) -> None:
    shown = word.upper() if upper else word
    assume(fold(shown) == fold(word))  # locale-free folding: dotless i uppercases to I, folded i
    words = WordList.of([word])
    text = before + shown + after
    assert words.matches(text) == list(words.words)


@given(word=WORDS, prefix=st.text(LETTERS, max_size=3), suffix=st.text(LETTERS, max_size=3))
def test_a_listed_word_inside_a_longer_word_is_not_found(
    word: str, prefix: str, suffix: str
) -> None:
    token = prefix + word + suffix
    words = WordList.of([word])
    if len(token) > len(word):
        assert words.matches(f"say {token} now") == []


@given(text=st.text(max_size=60), listed=st.lists(WORDS, max_size=4))
def test_matching_ignores_case_and_never_invents_words(text: str, listed: list[str]) -> None:
    words = WordList.of(listed)
    found = words.matches(text)
    assert set(found) <= set(words.words)
    assert words.matches(text.upper()) == words.matches(text.lower()) or not text.isascii()
