"""What a request's numbers and free text may hold, shared by every domain (docs/api-errors.md).

Integers are bounded by what the column (or the JSON client) can hold, so an out-of-range value
is a 422 naming the parameter rather than an overflow in the database driver.

Text shown to other people must render as what it says: no control characters, no bidi
overrides or isolates, no invisible format characters. This lives here rather than in
`selflink_core` because it reads Python's Unicode tables, which change between Python releases,
while the core promises the same bytes on every machine.
"""

import unicodedata

from selflink_api.platform.problems import ProblemError

INT16_MAX = 2**15 - 1
"""The largest value of a `SmallInteger` column or a 16-bit array field."""
INT32_MAX = 2**31 - 1
"""The largest value of an `Integer` column (PostgreSQL `integer`)."""
SAFE_INTEGER_MAX = 2**53 - 1
"""The largest integer every JSON client reads exactly (I-JSON); GitHub ids stay below it."""

ZERO_WIDTH_JOINER = "\u200d"
ZERO_WIDTH_NON_JOINER = "\u200c"
VARIATION_SELECTOR_16 = "\ufe0f"
VIRAMA = 9
"""The canonical combining class of a virama, after which scripts of India need the joiners."""
LINE_BREAKS_REFUSED = {"\u2028": "a line separator", "\u2029": "a paragraph separator"}


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be shown as typed, or None when it can.

    Refused: control characters (Unicode category Cc) except a newline where `multiline`, and
    format characters (Cf), which include the bidi overrides and isolates (U+202A-U+202E,
    U+2066-U+2069), marks such as U+200E, zero-width spaces and the byte-order mark. Two joiners
    are kept where writing needs them: U+200D inside an emoji sequence (👩‍💻) or after a virama,
    and U+200C after a virama or between two Arabic letters (Persian names).
    """
    for index, char in enumerate(value):
        if char == "\n" and multiline:
            continue
        if char in LINE_BREAKS_REFUSED:
            return f"contains {LINE_BREAKS_REFUSED[char]} (U+{ord(char):04X})"
        category = unicodedata.category(char)
        if category == "Cc":
            allowed = "; only a newline is allowed" if multiline else ""
            return f"contains a control character (U+{ord(char):04X}){allowed}"
        if category == "Cf" and not _joiner_in_place(value, index):
            return f"contains an invisible formatting character (U+{ord(char):04X} {_name(char)})"
    return None


def checked_text(field: str, value: str, *, multiline: bool = False) -> str:
    """`value` unchanged, or a 422 naming `field` when `text_problem` refuses it."""
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise ProblemError.invalid(field, problem)
    return value


def normalized_text(field: str, raw: str, limit: int, *, multiline: bool = True) -> str:
    """NFC text shown as typed (posts, comments, messages, titles): `checked_text`'s rules,
    not blank, at most `limit` characters once normalized; a 422 naming `field` otherwise."""
    text = checked_text(field, unicodedata.normalize("NFC", raw), multiline=multiline)
    if not text.strip():
        raise ProblemError.invalid(field, "is blank")
    if len(text) > limit:
        raise ProblemError.invalid(field, f"is longer than {limit:,} characters after NFC")
    return text


def _joiner_in_place(value: str, index: int) -> bool:
    char = value[index]
    before = value[index - 1] if index > 0 else ""
    after = value[index + 1] if index + 1 < len(value) else ""
    if char not in {ZERO_WIDTH_JOINER, ZERO_WIDTH_NON_JOINER} or not before or not after:
        return False
    if unicodedata.combining(before) == VIRAMA:
        return True
    if char == ZERO_WIDTH_JOINER:
        return _is_emoji_part(before) and unicodedata.category(after) == "So"
    return _is_arabic_letter(before) and _is_arabic_letter(after)


def _is_emoji_part(char: str) -> bool:
    """An emoji, a skin-tone modifier or the emoji-presentation selector ending one."""
    return char == VARIATION_SELECTOR_16 or unicodedata.category(char) in {"So", "Sk"}


def _is_arabic_letter(char: str) -> bool:
    return unicodedata.category(char).startswith("L") and _name(char).startswith("ARABIC")


def _name(char: str) -> str:
    return unicodedata.name(char, "unnamed")


COMPATIBLE_SCRIPTS = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
"""Scripts that one word may mix (UTS #39 "highly restrictive"): Japanese, Chinese, Korean."""


def scripts_of(word: str) -> frozenset[str]:
    """The scripts of the letters of `word`, named as Unicode names their characters.

    Python has no script property; the first word of a letter's Unicode name is its script for
    every letter a domain label can hold (IDNA refuses symbols), and "CJK" is Han. Digits,
    hyphens and combining marks belong to no script.
    """
    scripts = set()
    for char in word:
        if not unicodedata.category(char).startswith("L"):
            continue
        script = _name(char).split(" ", 1)[0]
        if "-" in script:  # KATAKANA-HIRAGANA PROLONGED SOUND MARK: shared by both
            continue
        scripts.add("HAN" if script == "CJK" else script)
    return frozenset(scripts)


def is_mixed_script(word: str) -> bool:
    """Whether `word` mixes scripts the way spoofs do (Latin a beside Cyrillic U+0430)."""
    scripts = scripts_of(word)
    return len(scripts) > 1 and not any(scripts <= allowed for allowed in COMPATIBLE_SCRIPTS)
