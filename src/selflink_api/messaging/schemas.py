"""Request and response bodies of the messaging API (frames of the gateway: `realtime.py`)."""

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from selflink_api.content.schemas import MAX_IMAGES_PER_POST, MediaView

MAX_MESSAGE_CHARACTERS = 5000
RAW_TEXT_FACTOR = 4
"""As for posts: the limit counts characters after NFC; the service checks the real limit."""
MAX_TITLE_CHARACTERS = 100
MAX_HANDLES_PER_REQUEST = 100

DmPolicyName = Literal["everyone", "following", "matches", "nobody"]
Role = Literal["admin", "member"]
Handle = Annotated[str, Meta(min_length=1, max_length=31, examples=["ada_lovelace"])]
Handles = Annotated[list[str], Meta(min_length=1, max_length=MAX_HANDLES_PER_REQUEST)]
"""Handles of people (an unknown one is refused like a person who takes no messages)."""
MessageText = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_MESSAGE_CHARACTERS * RAW_TEXT_FACTOR,
        description="1 to 5,000 characters after NFC; newlines allowed, no control or "
        "bidi-override characters (the rules of posts).",
        examples=["Shall we compare charts over coffee?"],
    ),
]
ClientId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Chosen by the client, unique per thread and sender: sending the same id "
        "again returns the stored message instead of a second one.",
        examples=["01J9Z3-phone-42"],
    ),
]
Title = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_TITLE_CHARACTERS * RAW_TEXT_FACTOR,
        description="1 to 100 characters after NFC, on one line.",
        examples=["Saturn return support group"],
    ),
]
Seq = Annotated[int, Meta(ge=0, le=2**53 - 1)]
Emoji = Annotated[str, Meta(min_length=1, max_length=32, examples=["❤️", "👍🏽"])]


class Struct(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know."""


class MessagingSettingsBody(Struct):
    dm_policy: DmPolicyName
    """Who may open a direct thread with me or add me to a group."""


class DirectThreadRequest(Struct):
    handle: Handle


class GroupDraft(Struct):
    title: Title
    members: Annotated[list[str], Meta(max_length=MAX_HANDLES_PER_REQUEST)] = msgspec.field(
        default_factory=list
    )
    """People to add besides me (I become the group's admin)."""


class GroupEdit(Struct):
    title: Title


class MembersToAdd(Struct):
    handles: Handles


class RoleChange(Struct):
    role: Role


MessageMediaIds = Annotated[
    list[UUID],
    Meta(
        max_length=MAX_IMAGES_PER_POST,
        description="Uploads of mine on no post or message yet (POST /api/v1/media): up to 4 "
        "images, or exactly one video.",
    ),
]


class MessageDraft(Struct):
    client_id: ClientId
    text: Annotated[
        str,
        Meta(
            max_length=MAX_MESSAGE_CHARACTERS * RAW_TEXT_FACTOR,
            description="Up to 5,000 characters after NFC, by the rules of posts; may be "
            "empty (or left out) when `media` is not.",
            examples=["Shall we compare charts over coffee?"],
        ),
    ] = ""
    media: MessageMediaIds = msgspec.field(default_factory=list)
    reply_to: UUID | None = None
    """A message of the same thread this one answers."""


class MessageEdit(Struct):
    text: MessageText


class PointerMove(Struct):
    seq: Seq
    """The `seq` of the newest message read (or delivered); a pointer never moves back."""


class Person(msgspec.Struct, kw_only=True):
    handle: str
    display_name: str
    avatar_url: str


class Member(msgspec.Struct, kw_only=True):
    person: Person
    role: Role
    read_seq: int
    delivered_seq: int
    online: bool
    """Seen by the realtime gateway within the last minute."""


class Reaction(msgspec.Struct, kw_only=True):
    emoji: str
    count: int
    reacted_by_me: bool


class ReplyPreview(msgspec.Struct, kw_only=True):
    id: UUID
    sender: Person | None
    excerpt: str
    """The first 100 characters of the answered message; empty once it is deleted."""
    deleted: bool


class MessageView(msgspec.Struct, kw_only=True):
    id: UUID
    thread_id: UUID
    seq: int
    """Its place in the thread: read and delivered pointers point at it."""
    change_seq: int
    """The thread's change number of its latest change (sent, edited, deleted, reacted to)."""
    client_id: str
    sender: Person | None
    """None once the sender's account is deleted."""
    text: str
    """Empty once deleted."""
    deleted: bool
    created_at: dt.datetime
    edited_at: dt.datetime | None
    reply_to: ReplyPreview | None
    reactions: list[Reaction]
    media: list[MediaView]
    """The photos or video it was sent with, in the sender's order, at URLs signed for a few
    minutes; empty once deleted."""


class ThreadView(msgspec.Struct, kw_only=True):
    """A thread as one member sees it."""

    id: UUID
    kind: Literal["direct", "group"]
    title: str | None
    """Groups only; a direct thread is named after the other person."""
    my_role: Role
    member_count: int
    members: list[Member]
    """Everyone in a direct thread; in a group, up to 5 others in a thread list and everyone
    in `GET /threads/{id}`."""
    last_message: MessageView | None
    unread_count: int
    """Messages after my read pointer, leaving out my own and deleted ones."""
    read_seq: int
    delivered_seq: int
    last_seq: int
    """The thread's latest change number: where `GET …/changes?since=` catches up to."""
    typing: list[str]
    """Handles typing now (thread detail only)."""
    created_at: dt.datetime
    last_activity_at: dt.datetime


class ChangesPage(msgspec.Struct, kw_only=True):
    """Messages changed after `since`, oldest change first."""

    items: list[MessageView]
    next_since: int
    """Ask again with `since=next_since`; equal to the thread's `last_seq` once caught up."""
    has_more: bool
