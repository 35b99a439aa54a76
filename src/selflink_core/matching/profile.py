"""Profile answers: declared values, love languages, lifestyle and interests.

Answers are validated against the vocabulary of the rules and kept in vocabulary order, so
the order in which someone listed them never matters. For storage and ranking they are
encoded as integers: one bit mask per set part (bit i = the i-th word of the vocabulary) and
one option index per lifestyle question (-1 when unanswered).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from selflink_core.matching.errors import InvalidProfile
from selflink_core.matching.rules import SET_PARTS, load_rules

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

UNANSWERED: Final = -1
PROFILE_FIELDS: Final = ("values", "love_languages", "lifestyle", "interests")


def _set_part(part: str, given: object) -> tuple[str, ...]:
    vocabulary = load_rules().vocabulary
    words = vocabulary.words(part)
    if not isinstance(given, list | tuple):
        raise InvalidProfile(part, "expected a list of words")
    seen: set[str] = set()
    for word in given:
        if not isinstance(word, str) or word not in words:
            raise InvalidProfile(part, f"{word!r} is not one of {', '.join(words)}")
        if word in seen:
            raise InvalidProfile(part, f"{word!r} is listed twice")
        seen.add(word)
    limit = vocabulary.limits[part]
    if len(seen) > limit:
        raise InvalidProfile(part, f"at most {limit} may be chosen, {len(seen)} were given")
    return tuple(word for word in words if word in seen)


def _lifestyle(given: object) -> tuple[tuple[str, str], ...]:
    questions = load_rules().vocabulary.lifestyle
    if not isinstance(given, dict):
        raise InvalidProfile("lifestyle", "expected an object of question: answer")
    for question, answer in given.items():
        options = questions.get(question)
        if options is None:
            raise InvalidProfile("lifestyle", f"{question!r} is not one of {', '.join(questions)}")
        if answer is not None and (not isinstance(answer, str) or answer not in options):
            raise InvalidProfile(
                f"lifestyle.{question}", f"{answer!r} is not one of {', '.join(options)}"
            )
    return tuple(
        (question, given[question]) for question in questions if given.get(question) is not None
    )


@dataclass(frozen=True, slots=True)
class ProfileCode:
    """Integer encoding of profile answers, as stored and ranked."""

    values: int
    love_languages: int
    interests: int
    lifestyle: tuple[int, ...]

    @property
    def is_empty(self) -> bool:
        return not (self.values or self.love_languages or self.interests) and all(
            answer == UNANSWERED for answer in self.lifestyle
        )

    def mask(self, part: str) -> int:
        mask: int = getattr(self, part)
        return mask


@dataclass(frozen=True, slots=True)
class ProfileAnswers:
    """Validated answers in vocabulary order; build with `from_dict` (or the constructor)."""

    values: tuple[str, ...] = ()
    love_languages: tuple[str, ...] = ()
    lifestyle: tuple[tuple[str, str], ...] = ()
    interests: tuple[str, ...] = ()
    _code: ProfileCode = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for part in SET_PARTS:
            object.__setattr__(self, part, _set_part(part, list(getattr(self, part))))
        object.__setattr__(self, "lifestyle", _lifestyle(dict(self.lifestyle)))
        object.__setattr__(self, "_code", self._encoded())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProfileAnswers:
        """Read ``{"values": [...], "love_languages": [...], "lifestyle": {...},
        "interests": [...]}``; every key is optional, unknown keys are refused."""
        if not isinstance(data, dict):
            raise InvalidProfile("profile", "expected an object")
        unknown = sorted(set(data) - set(PROFILE_FIELDS))
        if unknown:
            raise InvalidProfile(
                "profile", f"unknown field {unknown[0]!r}; expected {', '.join(PROFILE_FIELDS)}"
            )
        lifestyle = data.get("lifestyle", {})
        if not isinstance(lifestyle, dict):
            raise InvalidProfile("lifestyle", "expected an object of question: answer")
        return cls(
            values=_set_part("values", data.get("values", [])),
            love_languages=_set_part("love_languages", data.get("love_languages", [])),
            lifestyle=_lifestyle(lifestyle),
            interests=_set_part("interests", data.get("interests", [])),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": list(self.values),
            "love_languages": list(self.love_languages),
            "lifestyle": dict(self.lifestyle),
            "interests": list(self.interests),
        }

    @property
    def is_empty(self) -> bool:
        return not (self.values or self.love_languages or self.lifestyle or self.interests)

    def encode(self) -> ProfileCode:
        """The integer form (computed once, at construction)."""
        return self._code

    def _encoded(self) -> ProfileCode:
        vocabulary = load_rules().vocabulary
        answers = dict(self.lifestyle)
        return ProfileCode(
            values=_mask(self.values, vocabulary.values),
            love_languages=_mask(self.love_languages, vocabulary.love_languages),
            interests=_mask(self.interests, vocabulary.interests),
            lifestyle=tuple(
                options.index(answers[question]) if question in answers else UNANSWERED
                for question, options in vocabulary.lifestyle.items()
            ),
        )

    @classmethod
    def decode(cls, code: ProfileCode) -> ProfileAnswers:
        """The answers a stored encoding stands for (checked like fresh answers)."""
        vocabulary = load_rules().vocabulary
        lifestyle = []
        for (question, options), answer in zip(
            vocabulary.lifestyle.items(), code.lifestyle, strict=True
        ):
            if answer == UNANSWERED:
                continue
            if not 0 <= answer < len(options):
                raise InvalidProfile(f"lifestyle.{question}", f"no option number {answer}")
            lifestyle.append((question, options[answer]))
        return cls(
            values=_words(code.values, vocabulary.values, "values"),
            love_languages=_words(code.love_languages, vocabulary.love_languages, "love_languages"),
            lifestyle=tuple(lifestyle),
            interests=_words(code.interests, vocabulary.interests, "interests"),
        )


def _mask(chosen: Sequence[str], words: Sequence[str]) -> int:
    return sum(1 << words.index(word) for word in chosen)


def _words(mask: int, words: Sequence[str], part: str) -> tuple[str, ...]:
    if mask < 0 or mask >> len(words):
        raise InvalidProfile(part, f"mask {mask} has bits outside the vocabulary")
    return tuple(word for index, word in enumerate(words) if mask >> index & 1)


EMPTY_PROFILE: Final = ProfileAnswers()
