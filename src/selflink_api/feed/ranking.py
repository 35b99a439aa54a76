"""The for-you ranking: a score per post from four signals, weighed by versioned data.

`weights/<version>.json` holds every number; a new version is a new file, and the version a
ranking used is named in each item's explanation. Pure functions, no I/O once loaded.
"""

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from typing import Any
from uuid import UUID

from selflink_api.content.services import RecentPost

SIGNALS = ("recency", "engagement", "affinity", "compatibility")


@dataclass(frozen=True)
class Weights:
    version: str
    weights: Mapping[str, float]
    recency_half_life_hours: float
    engagement_saturation: int
    comment_weight: int
    affinity: Mapping[str, float]
    affinity_days: int
    pool_days: int
    pool_size: int
    pages: int
    per_author_per_page: int
    insight_slots: Mapping[str, int]


def load_weights(version: str) -> Weights:
    """The weights file `version`; a ValueError names what is wrong with it."""
    resource = files("selflink_api.feed") / "weights" / f"{version}.json"
    if not resource.is_file():
        msg = f"no feed weights named {version!r}"
        raise ValueError(msg)
    data: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    weights = Weights(**data)
    if weights.version != version or set(weights.weights) != set(SIGNALS):
        msg = f"feed weights {version!r} must name themselves and weigh exactly {SIGNALS}"
        raise ValueError(msg)
    return weights


@dataclass(frozen=True)
class Viewer:
    """What the viewer's own activity says about each author."""

    follows: frozenset[UUID]
    liked: Mapping[UUID, int]
    commented: Mapping[UUID, int]
    compatibility: Mapping[UUID, float]
    """0..1 ranking scores with authors open to matching."""


@dataclass(frozen=True, slots=True)
class Ranked:
    candidate: RecentPost
    score: float
    values: tuple[float, ...]
    """The signals in `SIGNALS` order, unrounded; `explained` names and words them for the
    posts that reach a page (a pool is deeper than its pages)."""


def signals(candidate: RecentPost, viewer: Viewer, now: datetime, w: Weights) -> tuple[float, ...]:
    """The four signals of `SIGNALS`, in that order, each in 0..1."""
    age_hours = max(0.0, (now - candidate.created_at).total_seconds() / 3600)
    engaged = candidate.likes + w.comment_weight * candidate.comments
    author = candidate.author_id
    affinity = (
        w.affinity["follows"] * (author in viewer.follows)
        + w.affinity["per_like"] * viewer.liked.get(author, 0)
        + w.affinity["per_comment"] * viewer.commented.get(author, 0)
    )
    return (
        0.5 ** (age_hours / w.recency_half_life_hours),
        min(1.0, math.log1p(engaged) / math.log1p(w.engagement_saturation)),
        min(1.0, affinity),
        max(0.0, min(1.0, viewer.compatibility.get(author, 0.0))),
    )


def reasons_for(candidate: RecentPost, viewer: Viewer, parts: Mapping[str, float]) -> list[str]:
    """Why this post is here, in words, strongest signal first."""
    handle = candidate.author_handle
    said = {
        "recency": "Posted recently" if parts["recency"] >= 0.5 else "",
        "engagement": "Popular: many likes and comments" if parts["engagement"] >= 0.5 else "",
        "affinity": (
            f"You follow @{handle}"
            if candidate.author_id in viewer.follows
            else f"You often like or answer @{handle}"
            if parts["affinity"] > 0
            else ""
        ),
        "compatibility": (
            f"You and @{handle} are {round(parts['compatibility'] * 100)}% compatible"
            if parts["compatibility"] > 0
            else ""
        ),
    }
    order = sorted(SIGNALS, key=lambda name: -parts[name])
    return [said[name] for name in order if said[name]] or ["Recent on SelfLink"]


def rank(
    candidates: Sequence[RecentPost], viewer: Viewer, now: datetime, w: Weights
) -> list[Ranked]:
    """Every candidate scored, best first; ties go to the newer post, then by id."""
    weights = tuple(w.weights[name] for name in SIGNALS)
    ranked = []
    for candidate in candidates:
        values = signals(candidate, viewer, now, w)
        score = sum(weight * value for weight, value in zip(weights, values, strict=True))
        ranked.append(Ranked(candidate, round(score, 6), values))
    ranked.sort(
        key=lambda r: (-r.score, -r.candidate.created_at.timestamp(), r.candidate.post_id.hex)
    )
    return ranked


def explained(item: Ranked, viewer: Viewer) -> tuple[dict[str, float], list[str]]:
    """The item's signals by name, rounded to 4 decimals, and its reasons in words."""
    parts = dict(zip(SIGNALS, item.values, strict=True))
    rounded = {name: round(value, 4) for name, value in parts.items()}
    return rounded, reasons_for(item.candidate, viewer, parts)


def paged(ranked: Sequence[Ranked], size: int, per_author: int, pages: int) -> list[list[Ranked]]:
    """The ranked posts cut into pages of `size` with at most `per_author` posts of one author
    on a page: each page takes the best posts left whose author still has room on it, so
    every post lands on exactly one page (or none, past the last of `pages`)."""
    left = list(ranked)
    result: list[list[Ranked]] = []
    while left and len(result) < pages:
        page: list[Ranked] = []
        count: dict[UUID, int] = {}
        rest: list[Ranked] = []
        for item in left:
            author = item.candidate.author_id
            if len(page) < size and count.get(author, 0) < per_author:
                page.append(item)
                count[author] = count.get(author, 0) + 1
            else:
                rest.append(item)
        result.append(page)
        left = rest
    return result
