"""Request and response bodies of the content API."""

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

MAX_POST_CHARACTERS = 5000
MAX_COMMENT_CHARACTERS = 2000
RAW_TEXT_FACTOR = 4
"""How much longer than its limit a text may arrive: the limit counts characters after NFC, and
decomposed input (e + U+0301 for é) is longer before it; the service checks the real limit."""

Visibility = Literal["public", "followers", "private"]
PostText = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_POST_CHARACTERS * RAW_TEXT_FACTOR,
        description="1 to 5,000 characters after NFC; newlines allowed, no control or "
        "bidi-override characters. `@handle` mentions are resolved.",
        examples=["Saturn return survived. Thanks @ada_lovelace!"],
    ),
]
CommentText = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_COMMENT_CHARACTERS * RAW_TEXT_FACTOR,
        description="1 to 2,000 characters after NFC; same rules as a post's text.",
        examples=["Same here, a year ago."],
    ),
]
Language = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=35,
        description="BCP 47 language tag (e.g. en, pt-BR, zh-Hant); stored in standard form.",
        examples=["en", "pt-BR"],
    ),
]


class Struct(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know, so typos never pass silently."""


MAX_IMAGES_PER_POST = 4
MediaIds = Annotated[
    list[UUID],
    Meta(
        max_length=MAX_IMAGES_PER_POST,
        description="Uploads of mine not yet on a post (POST /api/v1/media): up to 4 images, "
        "or exactly one video.",
    ),
]


class PostDraft(Struct):
    text: PostText
    language: Language = "en"
    visibility: Visibility = "public"
    media: MediaIds = msgspec.field(default_factory=list)


class PostEdit(Struct):
    """Only the fields given change; an edit of the text records `edited_at`."""

    text: PostText | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    visibility: Visibility | UnsetType = UNSET


class CommentDraft(Struct):
    text: CommentText
    reply_to: UUID | None = None
    """A comment of the same post to reply to (replies go at most two levels deep)."""


class CommentEdit(Struct):
    text: CommentText


class Author(msgspec.Struct, kw_only=True):
    handle: str
    display_name: str
    avatar_url: str


class MediaView(msgspec.Struct, kw_only=True):
    """A photo or video as one viewer may fetch it."""

    id: UUID
    kind: Literal["image", "video"]
    content_type: str
    width: int | None
    """Pixels of the stored image (after orientation and the size cap); None for videos."""
    height: int | None
    urls: dict[str, str]
    """`original`, plus the thumbnails `320` and `1080` (longest side) once made. Public media
    have plain URLs; others are signed for this viewer and expire within minutes."""


class PostView(msgspec.Struct, kw_only=True):
    """A post as one viewer sees it: counts leave out people hidden from that viewer."""

    id: UUID
    author: Author
    text: str
    language: str
    visibility: Visibility
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted: bool
    like_count: int
    comment_count: int
    viewer_has_liked: bool
    mentions: list[str]
    media: list[MediaView]
    removed_for: str | None = None
    """The moderation reason it was removed for: shown to its author only, nobody else sees it."""


class CommentView(msgspec.Struct, kw_only=True):
    id: UUID
    post_id: UUID
    reply_to: UUID | None
    author: Author | None
    """None once the comment is deleted (its replies stay)."""
    text: str
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted: bool
    like_count: int
    viewer_has_liked: bool
    removed_for: str | None = None
    """The moderation reason it was removed for: shown to its author only, nobody else sees it."""
