"""Request and response bodies of the rewards API."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from selflink_api.platform.pagination import CursorPage
from selflink_api.platform.values import SAFE_INTEGER_MAX
from selflink_api.rewards.states import PayoutState
from selflink_core.rewards import PERIOD_PATTERN

Period = Annotated[str, Meta(pattern=PERIOD_PATTERN, examples=["2026-10"])]
ContributorKey = Annotated[
    str, Meta(pattern=r"^[A-Za-z0-9._:@/+-]{1,200}$", examples=["github:583231"])
]
Note = Annotated[str, Meta(max_length=500, examples=["Checked against the PR history."])]
Root = Annotated[
    str, Meta(examples=["881f5ea016a11f9ce04e209e153a378323ff14fef43ed5c9a1f68d16204091cf"])
]
Cents = Annotated[int, Meta(examples=[270000])]
PeriodOut = Annotated[str, Meta(examples=["2026-10"])]
ContributorOut = Annotated[str, Meta(examples=["github:583231"])]


class Struct(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse unknown fields."""


class ManualEventRequest(Struct):
    kind: Annotated[
        Literal["bounty", "bonus", "penalty", "adjustment", "reversal"],
        Meta(examples=["bounty"]),
    ]
    contributor: ContributorKey
    points: Annotated[int, Meta(ge=-1_000_000, le=1_000_000, examples=[8])]
    reason: Annotated[
        str, Meta(min_length=3, max_length=500, examples=["Fixed the CI flake, issue #88"])
    ]
    event_id: (
        Annotated[str, Meta(min_length=1, max_length=200, examples=["manual:2026-10:bounty-88"])]
        | None
    ) = None
    period: (
        Annotated[
            str,
            Meta(
                pattern=PERIOD_PATTERN,
                examples=["2026-10"],
                description="A month that is not locked, to correct a disputed month; "
                "the current month by default.",
            ),
        ]
        | None
    ) = None
    reverses: Annotated[str, Meta(max_length=200, examples=["github:pr:selflink/selflink#41"])] = ""
    ref: Annotated[
        str, Meta(max_length=500, examples=["https://github.com/selflink/selflink/issues/88"])
    ] = ""


class LedgerEvent(msgspec.Struct, kw_only=True):
    seq: int
    id: str
    period: PeriodOut
    occurred_at: str
    contributor: ContributorOut
    kind: str
    points: int
    rules: str
    ref: str
    source_sha256: str
    reverses: str
    prev: str
    hash: str


class LinkRequest(Struct):
    github_id: Annotated[int, Meta(ge=1, le=SAFE_INTEGER_MAX, examples=[583231])]
    github_login: Annotated[str, Meta(max_length=100, examples=["octocat"])] = ""
    evidence: Annotated[
        str, Meta(max_length=500, examples=["https://gist.github.com/octocat/…"])
    ] = ""


class LinkView(msgspec.Struct, kw_only=True):
    id: UUID
    contributor: ContributorOut
    github_login: str
    state: Annotated[str, Meta(examples=["pending"])]
    note: str
    created_at: datetime
    decided_at: datetime | None


class Decision(Struct):
    note: Note = ""


class DisputeRequest(Struct):
    reason: Annotated[
        str, Meta(min_length=3, max_length=2000, examples=["My PR #41 was size:l, not size:m."])
    ]
    event_id: Annotated[str, Meta(max_length=200, examples=["github:pr:selflink/selflink#41"])] = ""


class DisputeView(msgspec.Struct, kw_only=True):
    id: UUID
    period: PeriodOut
    version: int
    contributor: ContributorOut
    reason: str
    event_id: str
    state: Annotated[str, Meta(examples=["open"])]
    resolution_note: str
    created_at: datetime
    resolved_at: datetime | None


class TransitionRequest(Struct):
    to: Annotated[PayoutState, Meta(examples=["processing"])]
    method: Annotated[str, Meta(max_length=64, examples=["bank_transfer"])] = ""
    external_ref: Annotated[str, Meta(max_length=200, examples=["TX-2026-11-0042"])] = ""
    note: Note = ""


class DeliveryView(msgspec.Struct, kw_only=True):
    """A GitHub delivery as staff see it: never its payload, which may name people."""

    delivery_id: Annotated[str, Meta(examples=["72d3162e-cc78-11e3-81ab-4c9367dc0958"])]
    event_type: Annotated[str, Meta(examples=["pull_request"])]
    status: Annotated[str, Meta(examples=["failed"])]
    outcome: Annotated[str, Meta(examples=["malformed pull request: html_url: must be a string"])]
    event_seq: int | None
    payload_sha256: str
    received_at: datetime


Deliveries = CursorPage[DeliveryView]


class PayoutView(msgspec.Struct, kw_only=True):
    id: UUID
    period: PeriodOut
    contributor: ContributorOut
    amount_cents: Cents
    currency: str
    state: Annotated[str, Meta(examples=["pending"])]
    method: str
    external_ref: str


class TransitionView(msgspec.Struct, kw_only=True):
    from_state: str
    to_state: str
    actor: str
    method: str
    external_ref: str
    note: str
    at: datetime


class PayoutDetail(msgspec.Struct, kw_only=True):
    payout: PayoutView
    changed: bool
    transitions: list[TransitionView]


class PeriodSummary(msgspec.Struct, kw_only=True):
    period: PeriodOut
    state: Annotated[str, Meta(examples=["locked"])]
    version: int
    root: Root
    currency: str
    pool_cents: Cents
    paid_cents: Cents
    carry_out_cents: int
    rollover_out_cents: int
    contributors: int
    events: int
    dispute_ends_at: datetime | None
    locked_at: datetime | None


class VersionView(msgspec.Struct, kw_only=True):
    version: int
    root: Root
    committed_at: datetime


class PeriodDetail(msgspec.Struct, kw_only=True):
    summary: PeriodSummary
    versions: list[VersionView]
    files: list[str]


class StatementMonth(msgspec.Struct, kw_only=True):
    period: PeriodOut
    state: str
    version: int
    root: Root
    period_points: int
    eligible_points: int
    share_cents: int
    payout_cents: Cents
    carry_out_cents: int
    points_carry_out: int
    payout_state: str | None


class Statement(msgspec.Struct, kw_only=True):
    contributor: ContributorOut
    linked: bool
    events: list[LedgerEvent]
    months: list[StatementMonth]


class DeliveryAccepted(msgspec.Struct, kw_only=True):
    delivery: Annotated[str, Meta(examples=["72d3162e-cc78-11e3-81ab-4c9367dc0958"])]
    status: Annotated[str, Meta(examples=["received"])]
    duplicate: bool
