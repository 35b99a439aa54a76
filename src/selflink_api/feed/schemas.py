"""Response bodies of the feeds."""

from typing import Literal

import msgspec

from selflink_api.content.schemas import PostView


class Why(msgspec.Struct, kw_only=True):
    """Why a post is in my for-you feed: its score, each signal's value (0..1) and reasons."""

    score: float
    weights_version: str
    signals: dict[str, float]
    reasons: list[str]


class PostItem(msgspec.Struct, kw_only=True, tag="post", tag_field="type"):
    post: PostView
    why: Why | None = None
    """Only in the for-you feed."""


class Insight(msgspec.Struct, kw_only=True):
    kind: Literal["personal_day", "soulmatch"]
    title: str
    text: str
    handle: str | None = None
    """The person suggested, for a soulmatch."""
    number: int | None = None
    """The personal day number, for a numerology card."""


class InsightItem(msgspec.Struct, kw_only=True, tag="insight", tag_field="type"):
    insight: Insight


class ForYouPage(msgspec.Struct, kw_only=True):
    items: list[PostItem | InsightItem]
    next_cursor: str | None
