"""Words a community asked to flag, found on word boundaries: pure, so every machine agrees.

A listed word matches only as a whole word, in any letter case and in any Unicode normal form:
with "cunt" listed, "Scunthorpe" passes and "CUNT!" is flagged. Both the list and the text are
NFKC-normalised and case-folded first; a word character is a letter, digit or underscore of any
script, or a combining mark (so "e" followed by U+0301 is one letter, not a boundary).
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_COMBINING = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_WORD = rf"[\w{_COMBINING}]"


def fold(text: str) -> str:
    """The form both sides are compared in: NFKC, then case-folded, then NFKC again (folding
    can leave a decomposed sequence)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True)
class WordList:
    """A compiled word list; `WordList.of(words)` builds one, `matches(text)` reads a text."""

    words: tuple[str, ...]
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, words: Iterable[str]) -> "WordList":
        folded = sorted({fold(word).strip() for word in words} - {""}, key=lambda w: (-len(w), w))
        if not folded:
            return cls((), None)
        alternatives = "|".join(re.escape(word) for word in folded)
        pattern = re.compile(rf"(?<!{_WORD})(?:{alternatives})(?!{_WORD})")
        return cls(tuple(folded), pattern)

    def matches(self, text: str) -> list[str]:
        """The listed words found in `text` as whole words, each once, in list order."""
        if self.pattern is None:
            return []
        found = {match.group(0) for match in self.pattern.finditer(fold(text))}
        return [word for word in self.words if word in found]


def parse_word_list(raw: str) -> WordList:
    """A comma- or newline-separated list, as operators write it in a setting."""
    return WordList.of(re.split(r"[,\n]", raw))
