"""The AI mentor's pure parts: chart facts for the model, safety checks and the built-in
deterministic writer.

Nothing here calls a model, reads the clock or draws randomness: the API passes the day, the
person's chart and numerology documents and the question in, and gets the same text back on
every machine.
"""

from selflink_core.mentor.compose import (
    LANGUAGES,
    MODES,
    compose_reply,
    estimate_tokens,
    stream_pieces,
)
from selflink_core.mentor.facts import ChartFacts, chart_facts, facts_lines
from selflink_core.mentor.memory import Memory, fold_topics
from selflink_core.mentor.safety import (
    POLICY,
    PolicyRule,
    is_crisis,
    policy_findings,
)
from selflink_core.mentor.topics import TOPICS, detect_topic

__all__ = [
    "LANGUAGES",
    "MODES",
    "POLICY",
    "TOPICS",
    "ChartFacts",
    "Memory",
    "PolicyRule",
    "chart_facts",
    "compose_reply",
    "detect_topic",
    "estimate_tokens",
    "facts_lines",
    "fold_topics",
    "is_crisis",
    "policy_findings",
    "stream_pieces",
]
