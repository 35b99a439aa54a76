"""Request and response bodies of reports, the staff queue, decisions and appeals."""

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

MAX_NOTE_CHARACTERS = 1000
RAW_TEXT_FACTOR = 4
"""As for posts: the limit counts characters after NFC; the service checks the real limit."""
MAX_SUSPENSION_HOURS = 24 * 365

TargetKindName = Literal["user", "post", "comment", "message"]
ReasonName = Literal[
    "spam",
    "harassment",
    "hate",
    "violence",
    "sexual_content",
    "self_harm",
    "illegal",
    "impersonation",
    "other",
]
"""Reasons a person may give; automatic flags use `flagged_words` and `rate_anomaly`."""
ReportStatusName = Literal["open", "in_review", "resolved", "dismissed"]
DecisionActionName = Literal["remove_content", "warn", "suspend", "ban"]
AppealOutcomeName = Literal["upheld", "overturned"]
AppealStatusName = Literal["open", "upheld", "overturned"]
Note = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_NOTE_CHARACTERS * RAW_TEXT_FACTOR,
        description="1 to 1,000 characters after NFC; newlines allowed.",
        examples=["Repeated insults in the comments of my post."],
    ),
]
Target = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=40,
        description="A handle for `user`; the id of the post, comment or message otherwise.",
        examples=["0192e1a0-0000-7000-8000-000000000001"],
    ),
]


class Struct(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know."""


class ReportDraft(Struct):
    target_kind: TargetKindName
    target: Target
    reason: ReasonName
    note: Note | None = None


class ReportReceipt(msgspec.Struct, kw_only=True):
    """What the reporter sees: their report exists, and where it stands."""

    id: UUID
    target_kind: str
    reason: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


class Person(msgspec.Struct, kw_only=True):
    handle: str
    display_name: str


class ReportSummary(msgspec.Struct, kw_only=True):
    id: UUID
    target_kind: str
    target_id: UUID
    subject: Person | None
    reason: str
    reported_by: str
    """`person` or `system` (an automatic flag); who, only in the detail."""
    status: str
    assignee: str | None
    """The handle of the staff member reviewing it."""
    created_at: dt.datetime
    updated_at: dt.datetime


class NoteView(msgspec.Struct, kw_only=True):
    id: UUID
    author: str | None
    text: str
    created_at: dt.datetime


class DecisionView(msgspec.Struct, kw_only=True):
    id: UUID
    subject: str | None
    """The handle of the person the decision is about."""
    action: str
    reason: str
    target_kind: str | None
    target_id: UUID | None
    suspended_until: dt.datetime | None
    corrects: UUID | None
    report_id: UUID | None
    created_at: dt.datetime
    appeal: str | None = None
    """The status of its appeal, if one was made (`open`, `upheld`, `overturned`)."""


class ReportDetail(msgspec.Struct, kw_only=True):
    report: ReportSummary
    reporter: str | None
    """The reporter's handle (None for automatic flags and deleted accounts)."""
    reporter_note: str | None
    snapshot: dict[str, str]
    """The target as it was when first reported: later edits cannot hide it."""
    notes: list[NoteView]
    decisions: list[DecisionView]


class Assignment(Struct):
    assignee: Annotated[str, Meta(min_length=1, max_length=31)] | None = None
    """A staff member's handle; omitted or null: the caller."""


class NoteDraft(Struct):
    text: Note


class DecisionDraft(Struct):
    action: DecisionActionName
    reason: Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]
    """One of the reasons a person may give, `flagged_words` or `rate_anomaly`."""
    hours: Annotated[int, Meta(ge=1, le=MAX_SUSPENSION_HOURS)] | None = None
    """How long a suspension lasts; required for `suspend`, refused otherwise."""


class AppealDraft(Struct):
    text: Note


class AppealView(msgspec.Struct, kw_only=True):
    id: UUID
    decision: DecisionView
    appellant: str | None
    text: str
    status: str
    created_at: dt.datetime


class AppealOutcome(Struct):
    outcome: AppealOutcomeName
