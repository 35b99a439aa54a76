"""The topic of a question, by keywords: the built-in writer's theme and the memory's unit."""

import re

TOPICS: dict[str, tuple[str, ...]] = {
    "love": (
        "love",
        "partner",
        "relationship",
        "dating",
        "heart",
        "amor",
        "amour",
        "liebe",
        "pareja",
        "couple",
        "crush",
        "marriage",
    ),
    "work": (
        "work",
        "job",
        "career",
        "boss",
        "colleague",
        "project",
        "trabajo",
        "travail",
        "arbeit",
        "beruf",
        "business",
    ),
    "family": (
        "family",
        "mother",
        "father",
        "parent",
        "sister",
        "brother",
        "child",
        "familia",
        "famille",
        "familie",
    ),
    "money": ("money", "finance", "salary", "debt", "invest", "dinero", "argent", "geld"),
    "health": ("health", "sleep", "tired", "energy", "body", "salud", "santé", "gesundheit"),
    "growth": (
        "purpose",
        "meaning",
        "grow",
        "change",
        "decision",
        "future",
        "fear",
        "anxious",
        "propósito",
        "sens",
        "sinn",
    ),
}
"""Topic → words that suggest it (lower case, any listed language); `general` otherwise."""

_WORD = re.compile(r"\w+", re.UNICODE)


def detect_topic(text: str) -> str:
    """The topic whose words appear most often in `text` (ties: the order above)."""
    words = [w.casefold() for w in _WORD.findall(text)]
    best, best_hits = "general", 0
    for topic, stems in TOPICS.items():
        hits = sum(1 for word in words for stem in stems if word.startswith(stem))
        if hits > best_hits:
            best, best_hits = topic, hits
    return best
