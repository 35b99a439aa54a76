"""Request and response bodies of the matching API, and the stored preferences document.

Words and options are checked against the rules' vocabulary (`GET /matching/vocabulary`) by
the service, so the error names the field and lists the choices; the limits here only keep
request bodies small.
"""

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from selflink_api.accounts.schemas import Struct
from selflink_api.platform.values import INT16_MAX

Mode = Literal["dating", "friends"]
Word = Annotated[str, Meta(max_length=64)]
Words = Annotated[list[Word], Meta(max_length=64)]
Age = Annotated[int, Meta(description="Whole years, 18..99.")]
AgeInput = Annotated[int, Meta(ge=1, le=INT16_MAX, description="Whole years, 18..99.")]
"""Bounded by the features table's 16-bit ages; the rules then ask for 18..99 by name."""


class DatingPreferences(msgspec.Struct, kw_only=True):
    """Who you are and whom you want to meet, in dating mode."""

    gender: Annotated[str, Meta(examples=["woman"])]
    interested_in: Annotated[list[str], Meta(examples=[["man", "nonbinary"]])]
    age_min: Age
    age_max: Age


class PreferencesDocument(msgspec.Struct, kw_only=True):
    """Everything a person declared for matching (stored encrypted, returned to its owner)."""

    modes: list[str] = msgspec.field(default_factory=list)
    dating: DatingPreferences | None = None
    values: list[str] = msgspec.field(default_factory=list)
    love_languages: list[str] = msgspec.field(default_factory=list)
    lifestyle: dict[str, str] = msgspec.field(default_factory=dict)
    interests: list[str] = msgspec.field(default_factory=list)

    def answers(self) -> dict[str, Any]:
        """The profile answers, as `ProfileAnswers.from_dict` reads them."""
        return {
            "values": list(self.values),
            "love_languages": list(self.love_languages),
            "lifestyle": dict(self.lifestyle),
            "interests": list(self.interests),
        }


class Preferences(PreferencesDocument, kw_only=True):
    updated_at: dt.datetime | None = None


class DatingUpdate(Struct):
    """Dating fields to change; the result must name all four."""

    gender: Annotated[str, Meta(max_length=32)] | UnsetType = UNSET
    interested_in: Annotated[list[Annotated[str, Meta(max_length=32)]], Meta(max_length=8)] | (
        UnsetType
    ) = UNSET
    age_min: AgeInput | UnsetType = UNSET
    age_max: AgeInput | UnsetType = UNSET


class PreferencesUpdate(Struct):
    """A merge patch: omitted fields stay; lists replace; `lifestyle` merges by question (null
    clears an answer); `dating` merges by field, null removes it."""

    modes: (
        Annotated[
            list[Annotated[str, Meta(max_length=32)]],
            Meta(max_length=8, description="Which recommendations you take part in."),
        ]
        | UnsetType
    ) = UNSET
    dating: DatingUpdate | UnsetType | None = UNSET
    values: Words | UnsetType = UNSET
    love_languages: Words | UnsetType = UNSET
    lifestyle: Annotated[dict[Word, Word | None], Meta(max_length=32)] | UnsetType = UNSET
    interests: Words | UnsetType = UNSET


class Reason(msgspec.Struct, kw_only=True):
    component: str
    effect: Literal["positive", "negative"]
    impact: Annotated[float, Meta(description="Points of the total this reason moved.")]
    text: str


class Scores(msgspec.Struct, kw_only=True):
    """Component scores in points, null when not covered."""

    synastry: float | None
    elements: float | None
    numerology: float | None
    profile: float | None


class Match(msgspec.Struct, kw_only=True):
    """You and another person: the score explained (docs/matching.md#explanations), told from
    your side."""

    handle: str
    display_name: str
    kind: str
    rules_version: str
    total: float
    ranking_score: float
    lens: str
    coverage: list[str]
    scores: Scores
    weights: dict[str, int]
    reasons: list[Reason]
    details: dict[str, Any]


class Recommendation(msgspec.Struct, kw_only=True):
    handle: str
    display_name: str
    total: float
    ranking_score: float
    lens: str
    scores: Scores
    reasons: list[Reason]


class RecommendationPage(msgspec.Struct, kw_only=True):
    mode: str
    items: list[Recommendation]
    next_cursor: str | None
