"""Request and response bodies of the mentor API."""

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

MAX_QUESTION_CHARACTERS = 2000

Mode = Literal["chat", "daily", "natal", "match"]
Language = Literal["en", "es", "fr", "de", "pt"]
"""The documented languages (selflink_core.mentor.LANGUAGES); any other is a 422."""


class Struct(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know, so typos never pass silently."""


class Ask(Struct):
    """A question for the mentor: the prompt travels in the body, never in the URL."""

    mode: Mode
    text: Annotated[
        str,
        Meta(
            max_length=MAX_QUESTION_CHARACTERS,
            description="Up to 2,000 characters; required for `chat` and `match`, optional "
            "for `daily` and `natal`. No control characters but newlines.",
            examples=["How can I handle a tense week at work?"],
        ),
    ] = ""
    language: Language = "en"
    handle: (
        Annotated[
            str,
            Meta(
                max_length=41,
                description="`match` only: the person I matched with (GET /api/v1/matching/"
                "with/{handle} must answer 200).",
            ),
        ]
        | None
    ) = None
    country: (
        Annotated[
            str,
            Meta(
                pattern="^[A-Z]{2}$",
                description="ISO 3166-1 alpha-2 code choosing the help lines of a crisis answer.",
                examples=["US", "DE"],
            ),
        ]
        | None
    ) = None


class MessageView(msgspec.Struct, kw_only=True):
    """A question or a reply. A reply is `pending` while it is written, then `complete` or
    `failed` (with `error`)."""

    id: UUID
    session_id: UUID
    role: Literal["user", "assistant"]
    status: Literal["pending", "complete", "failed"]
    language: str
    text: str
    provider: str
    model: str
    safety: list[str]
    safety_action: str
    error: str
    prompt_tokens: int
    completion_tokens: int
    created_at: dt.datetime
    completed_at: dt.datetime | None


class SessionView(msgspec.Struct, kw_only=True):
    id: UUID
    mode: Mode
    subject: str | None
    """The handle of the other person of a `match` session."""
    last_active_at: dt.datetime


class UsageView(msgspec.Struct, kw_only=True):
    """One person's mentor use on one UTC day (staff only)."""

    user_id: UUID
    handle: str
    day: dt.date
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_micros: int
    crisis: int
    flagged: int


class ReplyTicket(msgspec.Struct, kw_only=True):
    """Where a queued reply will be: poll GET /api/v1/mentor/messages/{message_id}."""

    message_id: UUID
    session_id: UUID
    status: Literal["pending", "complete"]


class StreamEvent(msgspec.Struct, kw_only=True):
    """One server-sent event of a streamed reply (docs/mentor.md#streaming)."""

    event: Literal["start", "token", "end", "error"]
    data: Annotated[
        str,
        Meta(
            description="A JSON object: start {message_id, session_id, mode, provider, model}; "
            "token {text}; end {message_id, prompt_tokens, completion_tokens, safety, "
            "safety_action[, text]}; error {message_id, type, title, status, detail}."
        ),
    ]
