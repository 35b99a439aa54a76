"""The rolling summary ("memory") kept per person: the topics of messages that left the
history window, counted. Topics only, never words of the messages, so the memory sent to a
model cannot carry what the person typed weeks ago."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MAX_TOPICS = 8


@dataclass(frozen=True)
class Memory:
    topics: Mapping[str, int] = field(default_factory=dict)
    """Topic → how many earlier questions were about it."""

    def line(self) -> str:
        """The memory as one sentence for the model, or "" when empty."""
        if not self.topics:
            return ""
        ranked = sorted(self.topics.items(), key=lambda item: (-item[1], item[0]))
        return "Earlier conversations touched on: " + ", ".join(
            f"{topic} ({count})" for topic, count in ranked
        )


def fold_topics(memory: Memory, topics: Iterable[str]) -> Memory:
    """The memory with `topics` counted in; only the `MAX_TOPICS` most frequent are kept."""
    counts = dict(memory.topics)
    for topic in topics:
        counts[topic] = counts.get(topic, 0) + 1
    kept = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_TOPICS]
    return Memory(dict(kept))
