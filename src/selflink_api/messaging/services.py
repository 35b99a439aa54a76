"""The messaging rules: who may open a thread with whom, who may write, read and manage it.

A thread is reachable only by its members: to anyone else every thread and message is one
404, so a refusal tells nothing. Who receives a live event is decided here, from the members
in the same transaction, and published after the commit (`Realtime.send_after_commit`).
Writes to a thread take its row lock first (PostgreSQL), so sends, edits and membership
changes of one thread happen one after the other and each sees the members the previous one
left.
"""

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import emoji as emoji_data
import msgspec
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from selflink_api.accounts.auth import SessionWatch
from selflink_api.accounts.models import AccountStatus, User
from selflink_api.accounts.services import user_by_handle
from selflink_api.content.media import MediaUrls
from selflink_api.content.media_services import held_media_views, hold_media, release_held_media
from selflink_api.content.schemas import MediaView
from selflink_api.matching.services import MatchingService, MatchingToolkit
from selflink_api.messaging import schemas
from selflink_api.messaging.models import (
    DmPolicy,
    MemberRole,
    Message,
    MessageMedia,
    MessageReaction,
    MessagingSettings,
    Thread,
    ThreadKind,
    ThreadMember,
)
from selflink_api.platform.crypto import Encrypted, EncryptedStore, PersonalDataCipher
from selflink_api.platform.database import dialect_insert
from selflink_api.platform.driver_reads import DriverRead, DriverWrite, Row
from selflink_api.platform.events import MESSAGE_SENT, EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.pagination import PageRequest, paginate
from selflink_api.platform.problems import CONFLICT, FORBIDDEN, NOT_FOUND, ProblemError
from selflink_api.platform.ratelimit import AttemptLimiter
from selflink_api.platform.realtime import Realtime, RealtimeState
from selflink_api.platform.values import normalized_text
from selflink_api.settings import Settings
from selflink_api.social.services import SocialService, follows

LIST_MEMBERS_SHOWN = 6
"""Members a thread list shows per thread (a direct thread's two, a group's first six)."""
EXCERPT_CHARACTERS = 100


def _now() -> datetime:
    return datetime.now(UTC)


def message_context(message_id: UUID) -> bytes:
    """What a message's ciphertext is bound to: that message, so a copied one never opens."""
    return b"message:" + message_id.bytes


MESSAGE_STORE = EncryptedStore("messages", Message, lambda row: message_context(row.id))


def single_emoji(raw: str) -> str:
    """`raw` (NFC) when it is exactly one emoji, such as ❤️ or 👍🏽 or 👩‍💻; else a 422."""
    value = unicodedata.normalize("NFC", raw)
    if not emoji_data.is_emoji(value):
        raise ProblemError.invalid("emoji", "is not a single emoji", source="path")
    return value


def _no_thread() -> ProblemError:
    return ProblemError(NOT_FOUND, "No such thread.")


def _no_message() -> ProblemError:
    return ProblemError(NOT_FOUND, "No such message.")


# Built once at import: every message sent runs them, and building a statement costs more
# than running it.
_MEMBERSHIP = (
    select(Thread, ThreadMember)
    .join(ThreadMember, ThreadMember.thread_id == Thread.id)
    .where(Thread.id == bindparam("thread_id"), ThreadMember.user_id == bindparam("user_id"))
)
_MEMBERSHIP_LOCKED = _MEMBERSHIP.with_for_update(of=Thread)
# Whom an edit, a reaction, a receipt or a resent message is told: on the driver (`DriverRead`).
_MEMBER_IDS = DriverRead(
    select(ThreadMember.user_id).where(ThreadMember.thread_id == bindparam("thread_id"))
)
# A send: the thread locked with my membership; a message of mine under the client id; then the
# message stored, the thread and my pointers moved and the recipients and my name read, in one
# statement on PostgreSQL (`DriverWrite`).
_SEND_TURN = DriverRead(
    select(
        Thread.kind, Thread.last_seq, ThreadMember.id.label("member_id"), ThreadMember.joined_seq
    )
    .join(ThreadMember, ThreadMember.thread_id == Thread.id)
    .where(Thread.id == bindparam("thread_id"), ThreadMember.user_id == bindparam("user_id"))
    .with_for_update(of=Thread)
)
_SEND = DriverWrite(
    [
        insert(Message).values(
            id=bindparam("message_id"),
            thread_id=bindparam("thread_id"),
            sender_id=bindparam("user_id"),
            client_id=bindparam("client_id"),
            seq=bindparam("seq"),
            change_seq=bindparam("seq"),
            reply_to_id=bindparam("reply_to_id"),
            key_id=bindparam("key_id"),
            ciphertext=bindparam("ciphertext"),
            media_count=bindparam("media_count"),
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        ),
        update(Thread)
        .where(Thread.id == bindparam("thread_id"))
        .values(
            last_seq=bindparam("seq"),
            last_message_seq=bindparam("seq"),
            last_activity_at=bindparam("now"),
            updated_at=bindparam("now"),
        ),
        update(ThreadMember)
        .where(ThreadMember.id == bindparam("member_id"))
        .values(
            read_seq=bindparam("seq"), delivered_seq=bindparam("seq"), updated_at=bindparam("now")
        ),
    ],
    # The recipients and the sender's name: a row per member, its name columns NULL, and one
    # row of the sender's name (`handle` is never NULL in `users`).
    then=union_all(
        select(
            ThreadMember.user_id,
            cast(null(), User.handle.type).label("handle"),
            cast(null(), User.display_name.type).label("display_name"),
            cast(null(), User.avatar_url.type).label("avatar_url"),
        ).where(ThreadMember.thread_id == bindparam("thread_id")),
        select(User.id, User.handle, User.display_name, User.avatar_url).where(
            User.id == bindparam("user_id")
        ),
    ),
)
RECIPIENTS_IN_EVENT = 256
"""Up to this many recipients, `message.sent` names them (the notification job then reads
none); a larger group's event names none, and the job reads those who had joined before the
message (`members_told_of`), so an event stays small whatever the group's size."""
_BY_CLIENT_ID = DriverRead(
    select(Message.id)
    .join(ThreadMember, ThreadMember.thread_id == Message.thread_id)
    .where(
        Message.thread_id == bindparam("thread_id"),
        Message.sender_id == bindparam("user_id"),
        Message.client_id == bindparam("client_id"),
        ThreadMember.user_id == bindparam("user_id"),
    )
)


@dataclass(frozen=True)
class MessagingToolkit:
    """The long-lived helpers of messaging, built once per app."""

    settings: Settings
    cipher: PersonalDataCipher
    events: EventBus
    limiter: AttemptLimiter
    realtime: Realtime
    state: RealtimeState
    media_urls: MediaUrls
    session_watch: SessionWatch
    """Checks the sign-ins of this process's open sockets together."""


@dataclass(frozen=True)
class SentMessage:
    view: schemas.MessageView
    created: bool
    """False when the client id was already used: the stored message is returned as is."""


@dataclass(frozen=True, slots=True)
class _Stored:
    """What `_message_view` reads of a message just sent, which `_SEND` stored (a mapped
    `Message` built only to be read cost a send more than its view)."""

    id: UUID
    thread_id: UUID
    seq: int
    client_id: str
    created_at: datetime
    deleted_at: None = None
    edited_at: None = None

    @property
    def change_seq(self) -> int:
        return self.seq


class MessagingService:
    """Everything a person does with threads and messages. Never commits."""

    def __init__(
        self,
        session: AsyncSession,
        toolkit: MessagingToolkit,
        matching: MatchingToolkit,
        jobs: JobQueue,
    ) -> None:
        self.session = session
        self.toolkit = toolkit
        self.matching = matching
        self.jobs = jobs

    # Settings ------------------------------------------------------------------------------

    async def dm_policy(self, user_id: UUID) -> str:
        stored = await self.session.scalar(
            select(MessagingSettings.dm_policy).where(MessagingSettings.user_id == user_id)
        )
        return stored or DmPolicy.EVERYONE.value

    async def set_dm_policy(self, user_id: UUID, policy: str) -> str:
        row = await self.session.scalar(
            select(MessagingSettings).where(MessagingSettings.user_id == user_id)
        )
        if row is None:
            self.session.add(MessagingSettings(user_id=user_id, dm_policy=policy))
        else:
            row.dm_policy = policy
        await self.session.flush()
        return policy

    async def _may_reach(self, sender_id: UUID, recipient: User) -> bool:
        """Whether `sender_id` may open a direct thread with `recipient` or add them to a
        group: an active account, no block either way, and the recipient's `dm_policy`."""
        if recipient.status != AccountStatus.ACTIVE:
            return False
        social = SocialService(self.session)
        if await social.blocked_either_way(sender_id, recipient.id):
            return False
        policy = await self.dm_policy(recipient.id)
        if policy == DmPolicy.EVERYONE:
            return True
        if policy == DmPolicy.FOLLOWING:
            return bool(await self.session.scalar(select(follows(recipient.id, sender_id))))
        if policy == DmPolicy.MATCHES:
            matching = MatchingService(self.session, self.matching)
            return sender_id in await matching.compatibility(recipient.id, [sender_id])
        return False

    async def _reachable(self, sender_id: UUID, handle: str) -> User:
        """The person behind `handle` if `sender_id` may reach them; one 403 otherwise, the
        same words whether the account is missing, blocked or closed to them."""
        name = handle.lower().removeprefix("@")
        refused = ProblemError(FORBIDDEN, f"@{name} does not take messages from you.")
        try:
            other = await user_by_handle(self.session, name)
        except ProblemError:
            raise refused from None
        if other.id == sender_id:
            raise ProblemError.invalid("handle", "is yourself")
        if not await self._may_reach(sender_id, other):
            raise refused
        return other

    # Threads -------------------------------------------------------------------------------

    async def open_direct(self, me: UUID, handle: str) -> tuple[schemas.ThreadView, bool]:
        """The direct thread with `handle`, created when the pair has none (True then).

        An existing thread is returned whatever the rules say now (its history stays
        readable); sending in it is checked on every message.
        """
        name = handle.lower().removeprefix("@")
        other = await self.session.scalar(select(User).where(User.handle == name))
        if other is not None and other.id != me:
            existing = await self.session.scalar(
                select(Thread.id)
                .join(ThreadMember, ThreadMember.thread_id == Thread.id)
                .where(Thread.direct_key == _direct_key(me, other.id), ThreadMember.user_id == me)
            )
            if existing is not None:
                return await self.thread(me, existing), False
        other = await self._reachable(me, handle)
        now = _now()
        values = {
            "id": uuid7(),
            "kind": ThreadKind.DIRECT.value,
            "direct_key": _direct_key(me, other.id),
            "last_seq": 0,
            "last_message_seq": 0,
            "last_activity_at": now,
            "created_at": now,
            "updated_at": now,
        }
        # Two people opening the thread at once both end with the one thread.
        inserted = await self.session.scalar(
            dialect_insert(self.session)(Thread)
            .values(values)
            .on_conflict_do_nothing(index_elements=["direct_key"])
            .returning(Thread.id)
        )
        thread_id = inserted or await self.session.scalar(
            select(Thread.id).where(Thread.direct_key == values["direct_key"])
        )
        if thread_id is None:  # pragma: no cover - the conflicting row was committed
            raise _no_thread()
        if inserted is not None:
            self.session.add_all(
                [
                    ThreadMember(thread_id=thread_id, user_id=me, role=MemberRole.MEMBER),
                    ThreadMember(thread_id=thread_id, user_id=other.id, role=MemberRole.MEMBER),
                ]
            )
            await self.session.flush()
            self._announce([other.id], "member.joined", thread_id, handle=other.handle)
        return await self.thread(me, thread_id), inserted is not None

    async def create_group(self, me: UUID, draft: schemas.GroupDraft) -> schemas.ThreadView:
        title = normalized_text("title", draft.title, schemas.MAX_TITLE_CHARACTERS, multiline=False)
        handles = list(dict.fromkeys(h.lower().removeprefix("@") for h in draft.members))
        if len(handles) + 1 > self.toolkit.settings.messaging_max_group_members:
            raise self._too_many_members()
        people = [await self._reachable(me, handle) for handle in handles]
        now = _now()
        thread = Thread(
            kind=ThreadKind.GROUP,
            title=title,
            last_seq=0,
            last_message_seq=0,
            last_activity_at=now,
        )
        self.session.add(thread)
        await self.session.flush()
        self.session.add(ThreadMember(thread_id=thread.id, user_id=me, role=MemberRole.ADMIN))
        self.session.add_all(
            ThreadMember(thread_id=thread.id, user_id=person.id, role=MemberRole.MEMBER)
            for person in people
        )
        await self.session.flush()
        for person in people:
            self._announce([person.id], "member.joined", thread.id, handle=person.handle)
        return await self.thread(me, thread.id)

    def _too_many_members(self) -> ProblemError:
        limit = self.toolkit.settings.messaging_max_group_members
        return ProblemError(CONFLICT, f"A group holds at most {limit} people.")

    async def threads(
        self, me: UUID, page: PageRequest
    ) -> tuple[list[schemas.ThreadView], str | None]:
        """My threads, latest activity first."""
        statement = (
            select(Thread, ThreadMember)
            .join(ThreadMember, ThreadMember.thread_id == Thread.id)
            .where(ThreadMember.user_id == me)
        )
        rows: list[Any]
        rows, cursor = await paginate(
            self.session,
            statement,
            scope="threads",
            order_by=[Thread.last_activity_at, Thread.id],
            page=page,
            descending=True,
            rows=True,
        )
        views = await self._thread_views(me, [(t, m) for t, m in rows], detail=False)
        return views, cursor

    async def thread(self, me: UUID, thread_id: UUID) -> schemas.ThreadView:
        membership = await self._membership(me, thread_id)
        return (await self._thread_views(me, [membership], detail=True))[0]

    async def _membership(
        self, me: UUID, thread_id: UUID, *, lock: bool = False
    ) -> tuple[Thread, ThreadMember]:
        """The thread and my membership; the thread row locked for writing when `lock`."""
        statement = _MEMBERSHIP_LOCKED if lock else _MEMBERSHIP
        row = (
            await self.session.execute(statement, {"thread_id": thread_id, "user_id": me})
        ).first()
        if row is None:
            raise _no_thread()
        return row[0], row[1]

    async def _admin_of(self, me: UUID, thread_id: UUID) -> tuple[Thread, ThreadMember]:
        thread, member = await self._membership(me, thread_id, lock=True)
        if thread.kind != ThreadKind.GROUP:
            raise ProblemError(CONFLICT, "A direct thread has no admins; start a group instead.")
        if member.role != MemberRole.ADMIN:
            raise ProblemError(FORBIDDEN, "Only the group's admins may do this.")
        return thread, member

    async def rename(self, me: UUID, thread_id: UUID, title: str) -> schemas.ThreadView:
        thread, _ = await self._admin_of(me, thread_id)
        thread.title = normalized_text(
            "title", title, schemas.MAX_TITLE_CHARACTERS, multiline=False
        )
        await self.session.flush()
        return await self.thread(me, thread_id)

    async def add_members(
        self, me: UUID, thread_id: UUID, handles: Sequence[str]
    ) -> schemas.ThreadView:
        thread, _ = await self._admin_of(me, thread_id)
        current = set(
            (
                await self.session.scalars(
                    select(ThreadMember.user_id).where(ThreadMember.thread_id == thread_id)
                )
            ).all()
        )
        added: list[User] = []
        for handle in dict.fromkeys(h.lower().removeprefix("@") for h in handles):
            person = await self._reachable(me, handle)
            if person.id not in current and person.id not in {p.id for p in added}:
                added.append(person)
        if len(current) + len(added) > self.toolkit.settings.messaging_max_group_members:
            raise self._too_many_members()
        self.session.add_all(
            ThreadMember(
                thread_id=thread_id,
                user_id=person.id,
                role=MemberRole.MEMBER,
                joined_seq=thread.last_message_seq,
                read_seq=thread.last_message_seq,
                delivered_seq=thread.last_message_seq,
            )
            for person in added
        )
        await self.session.flush()
        for person in added:
            self._announce(
                [*current, *(p.id for p in added)], "member.joined", thread_id, handle=person.handle
            )
        return await self.thread(me, thread_id)

    async def remove_member(self, me: UUID, thread_id: UUID, handle: str) -> UUID | None:
        """An admin removes someone, or anyone leaves (their own handle). Returns the thread
        id when nobody is left, for `messaging.remove_empty_thread`."""
        thread, mine = await self._membership(me, thread_id, lock=True)
        if thread.kind != ThreadKind.GROUP:
            raise ProblemError(CONFLICT, "Nobody leaves a direct thread; block or mute instead.")
        name = handle.lower().removeprefix("@")
        row = (
            await self.session.execute(
                select(ThreadMember, User)
                .join(User, User.id == ThreadMember.user_id)
                .where(ThreadMember.thread_id == thread_id, User.handle == name)
            )
        ).first()
        if row is None:
            raise ProblemError(NOT_FOUND, f"@{name} is not in this thread.")
        member, person = row
        if person.id != me and mine.role != MemberRole.ADMIN:
            raise ProblemError(FORBIDDEN, "Only the group's admins may remove people.")
        everyone = await self._member_ids(thread_id)
        await self.session.delete(member)
        await self.session.flush()
        await self._keep_an_admin(thread_id)
        self._announce(everyone, "member.left", thread_id, handle=person.handle)
        remaining = [user_id for user_id in everyone if user_id != person.id]
        return None if remaining else thread_id

    async def _keep_an_admin(self, thread_id: UUID) -> None:
        """A group whose last admin left gets its longest-standing member as admin."""
        admins = await self.session.scalar(
            select(func.count())
            .select_from(ThreadMember)
            .where(ThreadMember.thread_id == thread_id, ThreadMember.role == MemberRole.ADMIN)
        )
        if admins:
            return
        oldest = await self.session.scalar(
            select(ThreadMember)
            .where(ThreadMember.thread_id == thread_id)
            .order_by(ThreadMember.created_at, ThreadMember.id)
            .limit(1)
        )
        if oldest is not None:
            oldest.role = MemberRole.ADMIN
            await self.session.flush()

    async def set_role(
        self, me: UUID, thread_id: UUID, handle: str, role: str
    ) -> schemas.ThreadView:
        await self._admin_of(me, thread_id)
        name = handle.lower().removeprefix("@")
        member = await self.session.scalar(
            select(ThreadMember)
            .join(User, User.id == ThreadMember.user_id)
            .where(ThreadMember.thread_id == thread_id, User.handle == name)
        )
        if member is None:
            raise ProblemError(NOT_FOUND, f"@{name} is not in this thread.")
        if member.role == MemberRole.ADMIN and role == MemberRole.MEMBER:
            admins = await self.session.scalar(
                select(func.count())
                .select_from(ThreadMember)
                .where(ThreadMember.thread_id == thread_id, ThreadMember.role == MemberRole.ADMIN)
            )
            if admins == 1:
                raise ProblemError(CONFLICT, "A group keeps at least one admin.")
        member.role = role
        await self.session.flush()
        return await self.thread(me, thread_id)

    async def _member_ids(self, thread_id: UUID) -> list[UUID]:
        return [row.user_id for row in await _MEMBER_IDS.all(self.session, thread_id=thread_id)]

    def _announce(
        self, recipients: Iterable[UUID], event_type: str, thread_id: UUID, **data: Any
    ) -> None:
        self.toolkit.realtime.send_after_commit(
            self.jobs, recipients, event_type, {"thread_id": str(thread_id), **data}
        )

    # Messages ------------------------------------------------------------------------------

    async def send(self, me: UUID, thread_id: UUID, draft: schemas.MessageDraft) -> SentMessage:
        """Store a message once per client id: a retry (even a concurrent one) gets the
        stored message back instead of a second copy."""
        mine = await _SEND_TURN.first(self.session, thread_id=thread_id, user_id=me)
        if mine is None:
            raise _no_thread()
        # Under the thread's lock, so a concurrent retry has committed or not yet begun.
        stored = await self._by_client_id(me, thread_id, draft.client_id)
        if stored is not None:
            return await self._resent(stored)
        settings = self.toolkit.settings
        await self.toolkit.limiter.hit(
            f"messages:{me}", limit=settings.messaging_messages_per_minute, window_seconds=60
        )
        text = _message_text(draft)
        if mine.kind == ThreadKind.DIRECT:
            await self._direct_still_open(me, thread_id)
        if draft.reply_to is not None:
            await self._visible_message(thread_id, mine.joined_seq, draft.reply_to, "reply_to")
        message_id = uuid7()
        sealed = self.toolkit.cipher.encrypt(text.encode(), context=message_context(message_id))
        seq, now = mine.last_seq + 1, _now()
        rows = await _SEND.all(
            self.session,
            message_id=message_id,
            thread_id=thread_id,
            user_id=me,
            member_id=mine.member_id,
            client_id=draft.client_id,
            seq=seq,
            reply_to_id=draft.reply_to,
            key_id=sealed.key_id,
            ciphertext=sealed.blob,
            media_count=len(draft.media),
            now=now,
        )
        if draft.media:
            await hold_media(self.session, me, draft.media, holder="messaging")
            self.session.add_all(
                MessageMedia(message_id=message_id, media_id=media_id, position=position)
                for position, media_id in enumerate(draft.media)
            )
            await self.session.flush()
        recipients = [row.user_id for row in rows if row.handle is None]
        name = next((row for row in rows if row.handle is not None), None)
        sent = _Stored(message_id, thread_id, seq, draft.client_id, now)
        view = await self._sent_view(me, sent, draft, text, name)
        self.toolkit.realtime.send_after_commit(
            self.jobs, recipients, "message.created", _event_data(view)
        )
        others = [str(user_id) for user_id in recipients if user_id != me]
        await self.toolkit.events.publish(
            self.jobs,
            MESSAGE_SENT,
            message_id=str(message_id),
            thread_id=str(thread_id),
            sender_id=str(me),
            recipient_ids=others if len(others) <= RECIPIENTS_IN_EVENT else None,
        )
        return SentMessage(view, created=True)

    async def _sent_view(
        self,
        me: UUID,
        sent: _Stored,
        draft: schemas.MessageDraft,
        text: str,
        sender: Row | None,
    ) -> schemas.MessageView:
        """A message I just stored, rendered from memory as `_message_views` renders it (no
        reactions yet, not edited), `sender` my name's row of `_SEND`; a reply
        still reads the message it answers, and media their rows."""
        if draft.reply_to is not None or draft.media:
            return (await self._message_views(me, [sent.id]))[0]
        person = (
            schemas.Person(
                handle=sender.handle, display_name=sender.display_name, avatar_url=sender.avatar_url
            )
            if sender is not None
            else None
        )
        return _message_view(sent, person, text, None, [], [])

    async def _resent(self, stored: schemas.MessageView) -> SentMessage:
        """A retry: the stored message, announced again, since the first attempt's process
        may have died between its commit and its event (events come at least once; clients
        keep one message per id)."""
        self.toolkit.realtime.send_after_commit(
            self.jobs,
            await self._member_ids(stored.thread_id),
            "message.created",
            _event_data(stored),
        )
        return SentMessage(stored, created=False)

    async def _by_client_id(
        self, me: UUID, thread_id: UUID, client_id: str
    ) -> schemas.MessageView | None:
        found = await _BY_CLIENT_ID.first(
            self.session, thread_id=thread_id, user_id=me, client_id=client_id
        )
        if found is None:
            return None
        return (await self._message_views(me, [found.id]))[0]

    async def _direct_still_open(self, me: UUID, thread_id: UUID) -> None:
        """A direct thread takes messages while the other person is active and no block
        stands between the two."""
        other = await self.session.scalar(
            select(User)
            .join(ThreadMember, ThreadMember.user_id == User.id)
            .where(ThreadMember.thread_id == thread_id, User.id != me)
        )
        if (
            other is None
            or other.status != AccountStatus.ACTIVE
            or await SocialService(self.session).blocked_either_way(me, other.id)
        ):
            raise ProblemError(FORBIDDEN, "This conversation no longer takes messages.")

    async def _visible_message(
        self, thread_id: UUID, joined_seq: int, message_id: UUID, field: str | None = None
    ) -> Message:
        """A message of the thread sent since a member joined (at `joined_seq`); a 422 naming
        `field` (a body field) or a 404 otherwise."""
        message = await self.session.scalar(
            select(Message).where(
                Message.id == message_id,
                Message.thread_id == thread_id,
                Message.seq > joined_seq,
            )
        )
        if message is None:
            if field is not None:
                raise ProblemError.invalid(field, "is not a message of this thread")
            raise _no_message()
        return message

    async def _message_in_my_thread(self, me: UUID, message_id: UUID) -> tuple[Thread, Message]:
        """A message I can see, in a thread I am in, with the thread locked; one 404 else."""
        thread_id = await self.session.scalar(
            select(Message.thread_id).where(Message.id == message_id)
        )
        if thread_id is None:
            raise _no_message()
        try:
            thread, member = await self._membership(me, thread_id, lock=True)
        except ProblemError:
            raise _no_message() from None
        message = await self._visible_message(thread_id, member.joined_seq, message_id)
        if message.deleted_at is not None:
            raise ProblemError(CONFLICT, "This message was deleted.")
        return thread, message

    async def _own_message(self, me: UUID, message_id: UUID) -> tuple[Thread, Message]:
        """My message, in a thread I am still in, with the thread locked."""
        thread, message = await self._message_in_my_thread(me, message_id)
        if message.sender_id != me:
            raise ProblemError(FORBIDDEN, "Only the sender may change or delete a message.")
        return thread, message

    async def edit(self, me: UUID, message_id: UUID, raw: str) -> schemas.MessageView:
        thread, message = await self._own_message(me, message_id)
        text = normalized_text("text", raw, schemas.MAX_MESSAGE_CHARACTERS)
        sealed = self.toolkit.cipher.encrypt(text.encode(), context=message_context(message.id))
        message.key_id, message.ciphertext = sealed.key_id, sealed.blob
        message.edited_at = _now()
        thread.last_seq += 1
        message.change_seq = thread.last_seq
        await self.session.flush()
        view = (await self._message_views(me, [message.id]))[0]
        self.toolkit.realtime.send_after_commit(
            self.jobs, await self._member_ids(thread.id), "message.updated", _event_data(view)
        )
        return view

    async def delete(self, me: UUID, message_id: UUID) -> list[UUID]:
        """Leave a tombstone: the text is destroyed and the media hidden, the place in the
        thread stays. The ids of those media, whose files `content.remove_media` deletes."""
        thread, message = await self._own_message(me, message_id)
        released = await _tombstone(self.session, message, thread)
        view = (await self._message_views(me, [message.id]))[0]
        self.toolkit.realtime.send_after_commit(
            self.jobs, await self._member_ids(thread.id), "message.deleted", _event_data(view)
        )
        return released

    async def react(self, me: UUID, message_id: UUID, raw_emoji: str, *, on: bool) -> None:
        """Add (`on`) or take back my reaction; doing it twice changes nothing more."""
        value = single_emoji(raw_emoji)
        thread, message = await self._message_in_my_thread(me, message_id)
        if on:
            now = _now()
            changed = await self.session.scalar(
                dialect_insert(self.session)(MessageReaction)
                .values(
                    id=uuid7(),
                    message_id=message.id,
                    user_id=me,
                    emoji=value,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing()
                .returning(MessageReaction.id)
            )
        else:
            changed = await self.session.scalar(
                delete(MessageReaction)
                .where(
                    MessageReaction.message_id == message.id,
                    MessageReaction.user_id == me,
                    MessageReaction.emoji == value,
                )
                .returning(MessageReaction.id)
            )
        if changed is None:
            return
        thread.last_seq += 1
        message.change_seq = thread.last_seq
        await self.session.flush()
        count = await self.session.scalar(
            select(func.count())
            .select_from(MessageReaction)
            .where(MessageReaction.message_id == message.id, MessageReaction.emoji == value)
        )
        handle = await self.session.scalar(select(User.handle).where(User.id == me))
        self._announce(
            await self._member_ids(thread.id),
            "reaction.changed",
            thread.id,
            message_id=str(message.id),
            change_seq=message.change_seq,
            emoji=value,
            count=count or 0,
            handle=handle,
            on=on,
        )

    async def history(
        self, me: UUID, thread_id: UUID, page: PageRequest
    ) -> tuple[list[schemas.MessageView], str | None]:
        """A thread's messages, newest first, since I joined."""
        _, member = await self._membership(me, thread_id)
        ids: list[Any]
        ids, cursor = await paginate(
            self.session,
            select(Message.id, Message.seq).where(
                Message.thread_id == thread_id, Message.seq > member.joined_seq
            ),
            scope=f"messages:{thread_id}",
            order_by=[Message.seq],
            page=page,
            descending=True,
            rows=True,
            key_of=lambda row: [row[1]],
        )
        return await self._message_views(me, [row[0] for row in ids]), cursor

    async def changes(
        self, me: UUID, thread_id: UUID, since: int, limit: int
    ) -> schemas.ChangesPage:
        """Messages changed after the change number `since`, oldest change first: what a
        client that saw `since` has missed, exactly."""
        thread, member = await self._membership(me, thread_id)
        found = (
            await self.session.execute(
                select(Message.id, Message.change_seq)
                .where(
                    Message.thread_id == thread_id,
                    Message.change_seq > since,
                    Message.seq > member.joined_seq,
                )
                .order_by(Message.change_seq)
                .limit(limit + 1)
            )
        ).all()
        has_more = len(found) > limit
        found = found[:limit]
        views = await self._message_views(me, [row[0] for row in found])
        next_since = found[-1][1] if has_more else max(since, thread.last_seq)
        return schemas.ChangesPage(items=views, next_since=next_since, has_more=has_more)

    async def move_pointer(self, me: UUID, thread_id: UUID, which: str, seq: int) -> None:
        """Move my read (which also marks delivered) or delivered pointer forward, never
        past the newest message and never back."""
        thread, member = await self._membership(me, thread_id)
        target = min(seq, thread.last_message_seq)
        moved = False
        if target > member.delivered_seq:
            member.delivered_seq = target
            moved = True
        if which == "read" and target > member.read_seq:
            member.read_seq = target
            moved = True
        if not moved:
            return
        await self.session.flush()
        handle = await self.session.scalar(select(User.handle).where(User.id == me))
        self._announce(
            await self._member_ids(thread_id),
            "read.moved",
            thread_id,
            handle=handle,
            read_seq=member.read_seq,
            delivered_seq=member.delivered_seq,
        )

    async def typing(self, me: UUID, thread_id: UUID) -> None:
        """Show me as typing to the others for a few seconds (not echoed to me)."""
        _, member = await self._membership(me, thread_id)
        state = self.toolkit.state
        await state.set_typing(thread_id, me)
        handle = await self.session.scalar(select(User.handle).where(User.id == me))
        others = [user_id for user_id in await self._member_ids(thread_id) if user_id != me]
        self.toolkit.realtime.send_now(
            others,
            "typing",
            {"thread_id": str(member.thread_id), "handle": handle, "expires_in": 7},
        )

    async def contacts(self, me: UUID) -> list[UUID]:
        """Everyone I share a thread with: who may see my presence."""
        mine = select(ThreadMember.thread_id).where(ThreadMember.user_id == me)
        return list(
            (
                await self.session.scalars(
                    select(ThreadMember.user_id)
                    .where(ThreadMember.thread_id.in_(mine), ThreadMember.user_id != me)
                    .distinct()
                )
            ).all()
        )

    # Rendering -----------------------------------------------------------------------------

    def _open(self, message: Message) -> str:
        if message.ciphertext is None or message.key_id is None:
            return ""
        sealed = Encrypted(message.key_id, message.ciphertext)
        return self.toolkit.cipher.decrypt(sealed, context=message_context(message.id)).decode()

    async def _message_views(
        self, me: UUID, message_ids: Sequence[UUID]
    ) -> list[schemas.MessageView]:
        """Messages as `me` sees them, in the order of `message_ids`: three queries whatever
        their number (messages with senders, the answered ones, reactions), two more when any
        has media."""
        if not message_ids:
            return []
        rows = (
            await self.session.execute(
                select(Message, User)
                .outerjoin(User, User.id == Message.sender_id)
                .where(Message.id.in_(message_ids))
            )
        ).all()
        by_id = {message.id: (message, sender) for message, sender in rows}
        reply_ids = {m.reply_to_id for m, _ in rows if m.reply_to_id is not None}
        replies: dict[UUID, schemas.ReplyPreview] = {}
        if reply_ids:
            answered = await self.session.execute(
                select(Message, User)
                .outerjoin(User, User.id == Message.sender_id)
                .where(Message.id.in_(reply_ids))
            )
            for message, sender in answered:
                replies[message.id] = schemas.ReplyPreview(
                    id=message.id,
                    sender=_person(sender),
                    excerpt=self._open(message)[:EXCERPT_CHARACTERS],
                    deleted=message.deleted_at is not None,
                )
        reactions: dict[UUID, list[schemas.Reaction]] = {}
        counted = await self.session.execute(
            select(
                MessageReaction.message_id,
                MessageReaction.emoji,
                func.count(),
                func.max(_mine(me)),
                func.min(MessageReaction.created_at),
            )
            .where(MessageReaction.message_id.in_(message_ids))
            .group_by(MessageReaction.message_id, MessageReaction.emoji)
            .order_by(MessageReaction.message_id, func.min(MessageReaction.created_at))
        )
        for message_id, value, count, by_me, _first in counted:
            reactions.setdefault(message_id, []).append(
                schemas.Reaction(emoji=value, count=count, reacted_by_me=bool(by_me))
            )
        media = await self._media_of(
            [m.id for m, _ in rows if m.media_count and m.deleted_at is None]
        )
        views = []
        for message_id in message_ids:
            if message_id not in by_id:
                continue
            message, sender = by_id[message_id]
            reply_to = replies.get(message.reply_to_id) if message.reply_to_id else None
            text = self._open(message)
            views.append(
                _message_view(
                    message,
                    _person(sender),
                    text,
                    reply_to,
                    reactions.get(message.id, []),
                    media.get(message.id, []),
                )
            )
        return views

    async def _media_of(self, message_ids: list[UUID]) -> dict[UUID, list[MediaView]]:
        """The media of these messages still shown, in the sender's order."""
        if not message_ids:
            return {}
        held = (
            await self.session.execute(
                select(MessageMedia.message_id, MessageMedia.media_id)
                .where(MessageMedia.message_id.in_(message_ids))
                .order_by(MessageMedia.message_id, MessageMedia.position)
            )
        ).all()
        views = await held_media_views(
            self.session, self.toolkit.media_urls, (media_id for _, media_id in held), _now()
        )
        media: dict[UUID, list[MediaView]] = {}
        for message_id, media_id in held:
            if media_id in views:
                media.setdefault(message_id, []).append(views[media_id])
        return media

    async def _thread_views(
        self, me: UUID, rows: Sequence[tuple[Thread, ThreadMember]], *, detail: bool
    ) -> list[schemas.ThreadView]:
        """Threads with members, last message and unread count: a fixed number of queries
        whatever the number of threads."""
        if not rows:
            return []
        thread_ids = [thread.id for thread, _ in rows]
        ranked = (
            select(
                ThreadMember.thread_id,
                ThreadMember.role,
                ThreadMember.read_seq,
                ThreadMember.delivered_seq,
                User.id.label("user_id"),
                User.handle,
                User.display_name,
                User.avatar_url,
                func.row_number()
                .over(
                    partition_by=ThreadMember.thread_id,
                    order_by=[ThreadMember.created_at, ThreadMember.id],
                )
                .label("place"),
                func.count().over(partition_by=ThreadMember.thread_id).label("total"),
            )
            .join(User, User.id == ThreadMember.user_id)
            .where(ThreadMember.thread_id.in_(thread_ids))
        ).subquery()
        shown_rows = select(ranked).order_by(ranked.c.thread_id, ranked.c.place)
        if not detail:
            shown_rows = shown_rows.where(ranked.c.place <= LIST_MEMBERS_SHOWN)
        members: dict[UUID, list[Any]] = {}
        totals: dict[UUID, int] = {}
        for found in (await self.session.execute(shown_rows)).mappings():
            members.setdefault(found["thread_id"], []).append(found)
            totals[found["thread_id"]] = found["total"]
        last_ids = list(
            (
                await self.session.scalars(
                    select(Message.id)
                    .join(Thread, Thread.id == Message.thread_id)
                    .join(
                        ThreadMember,
                        and_(ThreadMember.thread_id == Thread.id, ThreadMember.user_id == me),
                    )
                    .where(
                        Thread.id.in_(thread_ids),
                        Message.seq == Thread.last_message_seq,
                        Message.seq > ThreadMember.joined_seq,
                    )
                )
            ).all()
        )
        last = {view.thread_id: view for view in await self._message_views(me, last_ids)}
        unread: dict[UUID, int] = dict(
            (
                await self.session.execute(
                    select(Message.thread_id, func.count())
                    .join(
                        ThreadMember,
                        and_(
                            ThreadMember.thread_id == Message.thread_id,
                            ThreadMember.user_id == me,
                        ),
                    )
                    .where(
                        Message.thread_id.in_(thread_ids),
                        Message.seq > ThreadMember.read_seq,
                        Message.deleted_at.is_(None),
                        _not_mine(me),
                    )
                    .group_by(Message.thread_id)
                )
            ).all()
        )
        state = self.toolkit.state
        online = await state.online(
            {found["user_id"] for found_list in members.values() for found in found_list}
        )
        views = []
        for thread, mine in rows:
            shown = members.get(thread.id, [])
            typing: list[str] = []
            if detail:
                typers = await state.typing(thread.id)
                typing = sorted(
                    found["handle"]
                    for found in shown
                    if str(found["user_id"]) in typers and found["user_id"] != me
                )
            views.append(
                schemas.ThreadView(
                    id=thread.id,
                    kind=thread.kind,  # type: ignore[arg-type]  # a ThreadKind value
                    title=thread.title,
                    my_role=mine.role,  # type: ignore[arg-type]  # a MemberRole value
                    member_count=totals.get(thread.id, 0),
                    members=[
                        schemas.Member(
                            person=schemas.Person(
                                handle=found["handle"],
                                display_name=found["display_name"],
                                avatar_url=found["avatar_url"],
                            ),
                            role=found["role"],
                            read_seq=found["read_seq"],
                            delivered_seq=found["delivered_seq"],
                            online=found["user_id"] in online,
                        )
                        for found in shown
                    ],
                    last_message=last.get(thread.id),
                    unread_count=unread.get(thread.id, 0),
                    read_seq=mine.read_seq,
                    delivered_seq=mine.delivered_seq,
                    last_seq=thread.last_seq,
                    typing=typing,
                    created_at=thread.created_at,
                    last_activity_at=thread.last_activity_at,
                )
            )
        return views


def _message_view(
    message: Message | _Stored,
    sender: schemas.Person | None,
    text: str,
    reply_to: schemas.ReplyPreview | None,
    reactions: list[schemas.Reaction],
    media: list[MediaView],
) -> schemas.MessageView:
    return schemas.MessageView(
        id=message.id,
        thread_id=message.thread_id,
        seq=message.seq,
        change_seq=message.change_seq,
        client_id=message.client_id,
        sender=sender,
        text=text,
        deleted=message.deleted_at is not None,
        created_at=message.created_at,
        edited_at=message.edited_at,
        reply_to=reply_to,
        reactions=reactions,
        media=media,
    )


def _message_text(draft: schemas.MessageDraft) -> str:
    """The draft's text by the rules of posts; empty only beside media."""
    if not draft.text and draft.media:
        return ""
    return normalized_text("text", draft.text, schemas.MAX_MESSAGE_CHARACTERS)


async def _tombstone(session: AsyncSession, message: Message, thread: Thread | None) -> list[UUID]:
    """Destroy a message's text, reactions and media, keeping its place as a change of the
    (locked) thread; the ids of the media hidden."""
    message.key_id = message.ciphertext = None
    message.deleted_at = _now()
    if thread is not None:
        thread.last_seq += 1
        message.change_seq = thread.last_seq
    await session.execute(delete(MessageReaction).where(MessageReaction.message_id == message.id))
    released: list[UUID] = []
    if message.media_count:
        held = select(MessageMedia.media_id).where(MessageMedia.message_id == message.id)
        released = await release_held_media(session, (await session.scalars(held)).all(), _now())
    await session.flush()
    return released


def _person(user: User | None) -> schemas.Person | None:
    if user is None:
        return None
    return schemas.Person(
        handle=user.handle, display_name=user.display_name, avatar_url=user.avatar_url
    )


def _mine(me: UUID) -> ColumnElement[int]:
    return case((MessageReaction.user_id == me, 1), else_=0)


def _not_mine(me: UUID) -> ColumnElement[bool]:
    return or_(Message.sender_id.is_(None), Message.sender_id != me)


def _direct_key(a: UUID, b: UUID) -> str:
    first, second = sorted([a, b])
    return f"{first.hex}:{second.hex}"


def _event_data(view: schemas.MessageView) -> dict[str, Any]:
    return dict(msgspec.to_builtins(view))


# A person's part of their account -----------------------------------------------------------


async def export_for_user(
    session: AsyncSession, cipher: PersonalDataCipher, user_id: UUID
) -> dict[str, Any]:
    """My messaging settings, the threads I am in and every message I sent, in clear, with
    the ids of its media (listed with the content export's media)."""
    policy = await session.scalar(
        select(MessagingSettings.dm_policy).where(MessagingSettings.user_id == user_id)
    )
    threads = (
        await session.execute(
            select(Thread, ThreadMember)
            .join(ThreadMember, ThreadMember.thread_id == Thread.id)
            .where(ThreadMember.user_id == user_id)
            .order_by(Thread.created_at, Thread.id)
        )
    ).all()
    sent = (
        await session.scalars(
            select(Message).where(Message.sender_id == user_id).order_by(Message.created_at)
        )
    ).all()

    media: dict[UUID, list[str]] = {}
    for message_id, media_id in await session.execute(
        select(MessageMedia.message_id, MessageMedia.media_id)
        .join(Message, Message.id == MessageMedia.message_id)
        .where(Message.sender_id == user_id)
        .order_by(MessageMedia.message_id, MessageMedia.position)
    ):
        media.setdefault(message_id, []).append(str(media_id))

    def text_of(message: Message) -> str | None:
        if message.ciphertext is None or message.key_id is None:
            return None
        sealed = Encrypted(message.key_id, message.ciphertext)
        return cipher.decrypt(sealed, context=message_context(message.id)).decode()

    return {
        "dm_policy": policy or DmPolicy.EVERYONE.value,
        "threads": [
            {
                "id": str(thread.id),
                "kind": thread.kind,
                "title": thread.title,
                "role": member.role,
                "joined_at": member.created_at,
                "read_seq": member.read_seq,
            }
            for thread, member in threads
        ],
        "messages_sent": [
            {
                "id": str(message.id),
                "thread_id": str(message.thread_id),
                "seq": message.seq,
                "text": text_of(message),
                "media": media.get(message.id, []),
                "created_at": message.created_at,
                "edited_at": message.edited_at,
                "deleted_at": message.deleted_at,
            }
            for message in sent
        ],
    }


async def erase_user_messages(session: AsyncSession, user_id: UUID) -> None:
    """At account deletion, in its transaction: every message the person sent becomes a
    tombstone without a sender (the others keep their place and replies), each touched
    thread counts it as a change so members' clients catch up, and the person's reactions,
    memberships and settings go. Groups left without members go in `messaging.forget_user`."""
    now = _now()
    touched = select(Message.thread_id).where(Message.sender_id == user_id).distinct()
    await session.execute(
        update(Thread).where(Thread.id.in_(touched)).values(last_seq=Thread.last_seq + 1)
    )
    await session.execute(
        update(Message)
        .where(Message.sender_id == user_id)
        .values(
            sender_id=None,
            key_id=None,
            ciphertext=None,
            deleted_at=func.coalesce(Message.deleted_at, now),
            change_seq=select(Thread.last_seq)
            .where(Thread.id == Message.thread_id)
            .scalar_subquery(),
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(MessageReaction).where(MessageReaction.user_id == user_id))
    await session.execute(delete(ThreadMember).where(ThreadMember.user_id == user_id))
    await session.execute(delete(MessagingSettings).where(MessagingSettings.user_id == user_id))


async def tidy_groups(session: AsyncSession, thread_ids: Sequence[UUID] | None = None) -> int:
    """Delete groups nobody is in any more (all of them, or those of `thread_ids`), and give
    groups that lost their last admin a new one. Returns how many groups were deleted."""
    members = select(ThreadMember.thread_id)
    empty = select(Thread.id).where(Thread.kind == ThreadKind.GROUP, Thread.id.not_in(members))
    if thread_ids is not None:
        empty = empty.where(Thread.id.in_(thread_ids))
    gone = list((await session.scalars(empty)).all())
    if gone:
        await session.execute(delete(Thread).where(Thread.id.in_(gone)))
    admins = select(ThreadMember.thread_id).where(ThreadMember.role == MemberRole.ADMIN)
    headless = (
        await session.scalars(
            select(Thread.id).where(
                Thread.kind == ThreadKind.GROUP,
                Thread.id.in_(members),
                Thread.id.not_in(admins),
            )
        )
    ).all()
    for thread_id in headless:
        oldest = await session.scalar(
            select(ThreadMember)
            .where(ThreadMember.thread_id == thread_id)
            .order_by(ThreadMember.created_at, ThreadMember.id)
            .limit(1)
        )
        if oldest is not None:
            oldest.role = MemberRole.ADMIN
    await session.flush()
    return len(gone)


async def members_told_of(session: AsyncSession, message_id: UUID) -> list[UUID]:
    """Who hears of a message whose event did not name them (a group larger than
    `RECIPIENTS_IN_EVENT`): the thread's members but the sender who had joined before it was
    sent, so that nobody hears of a message they cannot read."""
    return list(
        (
            await session.scalars(
                select(ThreadMember.user_id)
                .join(Message, Message.thread_id == ThreadMember.thread_id)
                .where(
                    Message.id == message_id,
                    ThreadMember.user_id != Message.sender_id,
                    ThreadMember.joined_seq < Message.seq,
                )
            )
        ).all()
    )


# What moderation reads and does ------------------------------------------------------------------


@dataclass(frozen=True)
class ModeratedMessage:
    """A live message as moderation needs it: who sent it and what it says now."""

    id: UUID
    sender_id: UUID
    thread_id: UUID
    text: str


async def message_for_moderation(
    session: AsyncSession,
    cipher: PersonalDataCipher,
    message_id: UUID,
    viewer_id: UUID | None = None,
) -> ModeratedMessage | None:
    """A live message with a sender; with `viewer_id`, only one of a thread that person is in,
    sent since they joined (what they can read), so a report cannot probe other threads."""
    message = await session.scalar(select(Message).where(Message.id == message_id))
    if message is None or message.deleted_at is not None or message.sender_id is None:
        return None
    if viewer_id is not None:
        joined = await session.scalar(
            select(ThreadMember.joined_seq).where(
                ThreadMember.thread_id == message.thread_id, ThreadMember.user_id == viewer_id
            )
        )
        if joined is None or message.seq <= joined:
            return None
    text = ""
    if message.key_id is not None and message.ciphertext is not None:
        sealed = Encrypted(message.key_id, message.ciphertext)
        text = cipher.decrypt(sealed, context=message_context(message.id)).decode()
    return ModeratedMessage(message.id, message.sender_id, message.thread_id, text)


async def remove_message_for_moderation(session: AsyncSession, message_id: UUID) -> None:
    """Leave the same tombstone as the sender's own deletion (the text is destroyed, the
    media hidden, their files deleted by `content.sweep_media`; the moderation snapshot keeps
    what the report saw). Members' apps learn it by syncing."""
    message = await session.get(Message, message_id)
    if message is None or message.deleted_at is not None:
        return
    thread = await session.scalar(
        select(Thread).where(Thread.id == message.thread_id).with_for_update()
    )
    await _tombstone(session, message, thread)


_SENT_SINCE = DriverRead(  # after every message, on the driver
    select(func.count().label("sent"))
    .select_from(Message)
    .where(Message.sender_id == bindparam("sender_id"), Message.created_at >= bindparam("since"))
)


async def messages_sent_since(session: AsyncSession, sender_id: UUID, since: datetime) -> int:
    """How many messages a person sent since `since` (rate anomalies)."""
    return int((await _SENT_SINCE.one(session, sender_id=sender_id, since=since)).sent)
