"""The content rules: who may see, write, edit, delete and like posts and comments.

Who sees a post (docs/content.md has the table): never anyone while its author is not active
or when a block stands between them; always its author; otherwise the stricter of the post's
visibility and its author's profile visibility decides: `public` for everyone, `followers` for
the author's followers, `private` for nobody else. Lists (comments, likes, feeds) also leave
out people the viewer muted, and the counts a viewer is shown leave out people hidden from
them. One SQL condition, `visible_posts`, says all of it, so every path uses the same rule.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

import langcodes
from advanced_alchemy.types import GUID
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    Subquery,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from selflink_api.accounts.models import AccountStatus, ProfileVisibility, User
from selflink_api.accounts.services import user_by_handle
from selflink_api.content import schemas
from selflink_api.content.media import ORIGINAL, THUMBNAIL_SIZES, MediaUrls
from selflink_api.content.models import (
    Comment,
    CommentLike,
    Media,
    MediaKind,
    Mention,
    Post,
    PostLike,
    PostVisibility,
)
from selflink_api.platform.crypto import PersonalDataCipher
from selflink_api.platform.database import dialect_insert, insert_unless_present
from selflink_api.platform.driver_reads import DriverRead
from selflink_api.platform.events import (
    COMMENT_CREATED,
    COMMENT_LIKED,
    PERSON_MENTIONED,
    POST_CREATED,
    POST_LIKED,
    EventBus,
)
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.pagination import PageRequest, paginate
from selflink_api.platform.problems import CONFLICT, FORBIDDEN, NOT_FOUND, ProblemError
from selflink_api.platform.values import normalized_text
from selflink_api.social.services import blocked_with, followed_by, follows, hidden_from

MAX_MENTIONS = 20
"""Handles resolved per text; more are left as plain text (and tell nobody)."""
MAX_REPLY_DEPTH = 2
_MENTION = re.compile(r"(?<![A-Za-z0-9_@])@([A-Za-z0-9_]{3,30})(?![A-Za-z0-9_])")


# Values ----------------------------------------------------------------------------------------


def standard_language(tag: str) -> str:
    """`tag` in BCP 47's standard form (`EN-us` -> `en-US`), or a 422."""
    if not langcodes.tag_is_valid(tag):
        raise ProblemError.invalid("language", "is not a valid BCP 47 language tag such as en-GB")
    return str(langcodes.standardize_tag(tag))


def mentioned_handles(text: str) -> list[str]:
    """The distinct `@handle`s of a text, lower-cased, in order of appearance, at most 20."""
    found: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        found.setdefault(match.group(1).lower(), None)
    return list(found)[:MAX_MENTIONS]


def _now() -> datetime:
    return datetime.now(UTC)


# Who sees what --------------------------------------------------------------------------------


def visible_posts(viewer_id: UUID | BindParameter[Any] | None) -> ColumnElement[bool]:
    """The condition on `Post` joined with its author (`User`) for posts `viewer_id` may see
    (an id, or a parameter of a statement built once)."""
    live = and_(Post.deleted_at.is_(None), User.status == AccountStatus.ACTIVE)
    not_removed = Post.removed_for.is_(None)
    to_everyone = and_(
        Post.visibility == PostVisibility.PUBLIC,
        User.profile_visibility == ProfileVisibility.PUBLIC,
    )
    if viewer_id is None:
        return and_(live, not_removed, to_everyone)
    to_followers = and_(
        Post.visibility != PostVisibility.PRIVATE,
        User.profile_visibility != ProfileVisibility.PRIVATE,
        follows(viewer_id, Post.author_id),
    )
    return and_(
        live,
        or_(
            Post.author_id == viewer_id,
            and_(
                not_removed,
                Post.author_id.not_in(blocked_with(viewer_id)),
                or_(to_everyone, to_followers),
            ),
        ),
    )


def visible_comments(viewer_id: UUID | None) -> ColumnElement[bool]:
    """The condition on `Comment` joined with its author (`User`) for comments `viewer_id` may
    see under a post they may see."""
    return and_(
        User.status == AccountStatus.ACTIVE,
        or_(Comment.removed_for.is_(None), Comment.author_id == viewer_id),
        not_hidden(viewer_id, Comment.author_id),
    )


def posts_seen_by(viewer_id: UUID | None) -> Select[Post, User]:
    """Posts with their authors, as far as `viewer_id` may see them."""
    return select(Post, User).join(User, User.id == Post.author_id).where(visible_posts(viewer_id))


_VISIBLE_POST_AUTHOR = DriverRead(
    select(Post.author_id)
    .join(User, User.id == Post.author_id)
    .where(visible_posts(bindparam("viewer_id")), Post.id == bindparam("post_id"))
)
"""The author of a post the viewer may see; no row for every other case."""


_ADD_POST_LIKE = insert_unless_present(PostLike.__table__, "post_id", "user_id")
_POSTS = cast("Table", Post.__table__)
_ONE_MORE_POST_LIKE = (
    update(_POSTS)
    .where(_POSTS.c.id == bindparam("post_id"))
    .values(like_count=_POSTS.c.like_count + 1)
)


def not_hidden(viewer_id: UUID | None, person: InstrumentedAttribute[UUID]) -> ColumnElement[bool]:
    """`person` (an id column) is neither blocked either way nor muted by the viewer."""
    if viewer_id is None:
        return and_(True)
    return person.not_in(hidden_from(viewer_id))


@dataclass(frozen=True)
class PostExtras:
    """What a page of posts shows besides the rows: per-viewer counts, likes, mentions and
    media."""

    liked: frozenset[UUID]
    hidden_likes: dict[UUID, int]
    hidden_comments: dict[UUID, int]
    mentions: dict[UUID, list[str]]
    media: dict[UUID, list[Media]]


async def post_extras(
    session: AsyncSession, viewer_id: UUID | None, post_ids: Sequence[UUID]
) -> PostExtras:
    """Three queries whatever the page size: the viewer's likes with the likes and comments
    of people hidden from them (one grouped query), mentions, media."""
    if not post_ids:
        return PostExtras(frozenset(), {}, {}, {}, {})
    liked: set[UUID] = set()
    hidden_likes: dict[UUID, int] = {}
    hidden_comments: dict[UUID, int] = {}
    if viewer_id is not None:
        # Joined to the few people hidden from the viewer rather than filtered by them, so a
        # popular post's thousands of likes are never read: each part is index lookups.
        hidden = hidden_from(viewer_id).subquery()
        hidden_id = next(iter(hidden.c))
        mine = select(
            PostLike.post_id.label("post_id"),
            literal_column("1", Integer).label("mine"),
            literal_column("0", Integer).label("hidden_likes"),
            literal_column("0", Integer).label("hidden_comments"),
        ).where(PostLike.post_id.in_(post_ids), PostLike.user_id == viewer_id)
        likes = (
            select(
                PostLike.post_id,
                literal_column("0", Integer),
                literal_column("1", Integer),
                literal_column("0", Integer),
            )
            .join(hidden, hidden_id == PostLike.user_id)
            .where(PostLike.post_id.in_(post_ids))
        )
        comments = (
            select(
                Comment.post_id,
                literal_column("0", Integer),
                literal_column("0", Integer),
                literal_column("1", Integer),
            )
            .join(hidden, hidden_id == Comment.author_id)
            .where(Comment.post_id.in_(post_ids), Comment.deleted_at.is_(None))
        )
        counted = union_all(mine, likes, comments).subquery()
        rows = await session.execute(
            select(
                counted.c.post_id,
                func.sum(counted.c.mine),
                func.sum(counted.c.hidden_likes),
                func.sum(counted.c.hidden_comments),
            ).group_by(counted.c.post_id)
        )
        for post_id, mine, by_hidden, hidden_comment_count in rows:
            if mine:
                liked.add(post_id)
            hidden_likes[post_id] = int(by_hidden or 0)
            hidden_comments[post_id] = int(hidden_comment_count or 0)
    mentions: dict[UUID, list[str]] = {}
    named = await session.execute(
        select(Mention.post_id, User.handle)
        .join(User, User.id == Mention.user_id)
        .where(
            Mention.post_id.in_(post_ids),
            Mention.comment_id.is_(None),
            User.status == AccountStatus.ACTIVE,
        )
        .order_by(Mention.post_id, Mention.id)
    )
    for post_id, handle in named:
        mentions.setdefault(post_id, []).append(handle)
    media: dict[UUID, list[Media]] = {}
    attached = await session.scalars(
        select(Media)
        .where(Media.post_id.in_(post_ids), Media.removed_at.is_(None))
        .order_by(Media.post_id, Media.position)
    )
    for item in attached:
        media.setdefault(item.post_id, []).append(item)  # type: ignore[arg-type]  # attached
    return PostExtras(frozenset(liked), hidden_likes, hidden_comments, mentions, media)


def media_view(media: Media, urls: MediaUrls, *, public: bool, now: datetime) -> schemas.MediaView:
    """Media as one viewer may fetch them: plain URLs when `public` (everyone may see the
    post), else URLs signed for a few minutes."""
    variants = [ORIGINAL]
    if media.thumbnails:
        variants += [str(size) for size in THUMBNAIL_SIZES]
    return schemas.MediaView(
        id=media.id,
        kind=media.kind,  # type: ignore[arg-type]  # a MediaKind value
        content_type=media.content_type,
        width=media.width,
        height=media.height,
        urls={
            variant: urls.public(media.id, variant)
            if public
            else urls.signed(media.id, variant, now)
            for variant in variants
        },
    )


def is_public(post: Post, author: User) -> bool:
    """Whether everyone, signed in or not, may see this (live) post."""
    return (
        post.visibility == PostVisibility.PUBLIC
        and author.profile_visibility == ProfileVisibility.PUBLIC
    )


async def mark_removed(
    session: AsyncSession, which: ColumnElement[bool], now: datetime
) -> list[UUID]:
    """Hide the media matching `which` from now on; their ids, for `content.remove_media`."""
    removed = await session.scalars(
        update(Media)
        .where(which, Media.removed_at.is_(None))
        .values(removed_at=now)
        .returning(Media.id)
    )
    return list(removed.all())


async def take_uploads(
    session: AsyncSession, owner_id: UUID, media_ids: Sequence[UUID], **taken_by: Any
) -> None:
    """Give the owner's uploads to a post (`post_id=`) or a holder (`held_by=`), in the order
    given: distinct uploads of theirs, on no post, held by nothing and not removed, up to four
    images or one video; a 422 naming `media` otherwise. Each is taken only if still free, so
    two posts or messages can never share one."""
    if not media_ids:
        return
    if len(set(media_ids)) != len(media_ids):
        raise ProblemError.invalid("media", "names the same upload twice")
    free = and_(Media.post_id.is_(None), Media.held_by.is_(None))
    kinds = (
        await session.scalars(
            select(Media.kind).where(
                Media.id.in_(media_ids),
                Media.owner_id == owner_id,
                free,
                Media.removed_at.is_(None),
            )
        )
    ).all()
    if len(kinds) != len(media_ids):
        raise ProblemError.invalid(
            "media", "names an upload that is not yours or is already on a post or message"
        )
    if MediaKind.VIDEO in kinds and len(kinds) > 1:
        raise ProblemError.invalid("media", "holds up to 4 images or exactly one video")
    for position, media_id in enumerate(media_ids):
        taken = await session.execute(
            update(Media)
            .where(Media.id == media_id, free)
            .values(position=position, **taken_by)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
            raise ProblemError.invalid(
                "media", "names an upload already on another post or message"
            )


def author_of(user: User) -> schemas.Author:
    return schemas.Author(
        handle=user.handle, display_name=user.display_name, avatar_url=user.avatar_url
    )


def post_views(
    rows: Iterable[tuple[Post, User]], extras: PostExtras, urls: MediaUrls
) -> list[schemas.PostView]:
    now = _now()
    return [
        schemas.PostView(
            id=post.id,
            author=author_of(author),
            text=post.text,
            language=post.language,
            visibility=post.visibility,  # type: ignore[arg-type]  # a PostVisibility value
            created_at=post.created_at,
            edited_at=post.edited_at,
            deleted=post.deleted_at is not None,
            like_count=post.like_count - extras.hidden_likes.get(post.id, 0),
            comment_count=post.comment_count - extras.hidden_comments.get(post.id, 0),
            viewer_has_liked=post.id in extras.liked,
            mentions=extras.mentions.get(post.id, []),
            removed_for=post.removed_for,
            media=[
                media_view(item, urls, public=is_public(post, author), now=now)
                for item in extras.media.get(post.id, [])
            ],
        )
        for post, author in rows
    ]


async def render_posts(
    session: AsyncSession,
    viewer_id: UUID | None,
    rows: Sequence[tuple[Post, User]],
    urls: MediaUrls,
) -> list[schemas.PostView]:
    """A page of (post, author) rows as the viewer sees them, in the rows' order."""
    extras = await post_extras(session, viewer_id, [post.id for post, _ in rows])
    return post_views(rows, extras, urls)


# The service ----------------------------------------------------------------------------------


class ContentService:
    """Everything a person does with posts, comments and likes. Never commits."""

    def __init__(
        self, session: AsyncSession, events: EventBus, jobs: JobQueue, urls: MediaUrls
    ) -> None:
        self.session = session
        self.events = events
        self.jobs = jobs
        self.urls = urls

    # Posts --------------------------------------------------------------------------------

    async def _visible_post(self, viewer_id: UUID | None, post_id: UUID) -> tuple[Post, User]:
        """The post and its author if the viewer may see it; one 404 for every other case, so
        a refusal tells nothing about posts one may not see."""
        row = (
            await self.session.execute(posts_seen_by(viewer_id).where(Post.id == post_id))
        ).first()
        if row is None:
            raise ProblemError(NOT_FOUND, "No such post.")
        return row[0], row[1]

    async def _own_post(self, viewer_id: UUID, post_id: UUID) -> Post:
        post, _ = await self._visible_post(viewer_id, post_id)
        if post.author_id != viewer_id:
            raise ProblemError(FORBIDDEN, "Only the author may change or delete a post.")
        if post.removed_for is not None:
            raise ProblemError(CONFLICT, "Moderation removed this post; appeal the decision.")
        return post

    async def post(self, viewer_id: UUID | None, post_id: UUID) -> schemas.PostView:
        row = await self._visible_post(viewer_id, post_id)
        return (await render_posts(self.session, viewer_id, [row], self.urls))[0]

    async def create_post(self, author_id: UUID, draft: schemas.PostDraft) -> schemas.PostView:
        text = normalized_text("text", draft.text, schemas.MAX_POST_CHARACTERS)
        post = Post(
            author_id=author_id,
            text=text,
            language=standard_language(draft.language),
            visibility=draft.visibility,
        )
        self.session.add(post)
        await self.session.flush()
        await self._attach(author_id, post.id, draft.media)
        await self._mention(author_id, text, post.id, None)
        await self.events.publish(
            self.jobs, POST_CREATED, post_id=str(post.id), author_id=str(author_id)
        )
        return await self.post(author_id, post.id)

    async def edit_post(
        self, viewer_id: UUID, post_id: UUID, edit: schemas.PostEdit
    ) -> schemas.PostView:
        post = await self._own_post(viewer_id, post_id)
        if isinstance(edit.language, str):
            post.language = standard_language(edit.language)
        if isinstance(edit.visibility, str):
            post.visibility = edit.visibility
        if isinstance(edit.text, str):
            text = normalized_text("text", edit.text, schemas.MAX_POST_CHARACTERS)
            if text != post.text:
                post.text = text
                post.edited_at = _now()
                await self._mention(viewer_id, text, post.id, None)
        await self.session.flush()
        return await self.post(viewer_id, post.id)

    async def _attach(self, author_id: UUID, post_id: UUID, media_ids: Sequence[UUID]) -> None:
        """Put the author's own unattached uploads on the post, in the order given."""
        await take_uploads(self.session, author_id, media_ids, post_id=post_id)

    async def delete_post(self, viewer_id: UUID, post_id: UUID) -> list[UUID]:
        """Leave a tombstone: the text goes now, the row stays so ids never resolve to another
        post; its comments, likes and mentions go with the text, its media are hidden. The
        ids of those media, whose files `content.remove_media` deletes."""
        post = await self._own_post(viewer_id, post_id)
        post.text = ""
        post.deleted_at = _now()
        post.like_count = post.comment_count = 0
        for table in (Mention, PostLike, Comment):
            await self.session.execute(delete(table).where(table.post_id == post.id))
        removed = await mark_removed(self.session, Media.post_id == post.id, _now())
        await self.session.flush()
        return removed

    async def posts_of(
        self, viewer_id: UUID | None, handle: str, page: PageRequest
    ) -> tuple[list[schemas.PostView], str | None]:
        """A person's posts, newest first, as far as the viewer may see them."""
        author = await user_by_handle(self.session, handle)
        statement = posts_seen_by(viewer_id).where(Post.author_id == author.id)
        return await self.page_of_posts(viewer_id, statement, f"posts:{author.id}", page)

    async def posts_by_authors(
        self,
        viewer_id: UUID,
        authors: Select[Any],
        excluding: CompoundSelect[Any],
        scope: str,
        page: PageRequest,
    ) -> tuple[list[schemas.PostView], str | None]:
        """A page of the viewer's own posts and those of `authors` (ids), except `excluding`,
        newest first, as far as the viewer may see them: how feeds read posts."""
        statement = posts_seen_by(viewer_id).where(
            or_(Post.author_id == viewer_id, Post.author_id.in_(authors)),
            Post.author_id.not_in(excluding),
        )
        return await self.page_of_posts(viewer_id, statement, scope, page)

    async def ranked_posts(
        self, viewer_id: UUID | None, ranked: Subquery, scope: str, page: PageRequest
    ) -> tuple[list[schemas.PostView], str | None]:
        """A page of the posts of `ranked` (columns `post_id`, `created_at`, `score`: higher
        is better) the viewer may see, best first, then newest; people the viewer muted are
        left out, as on every list. The cursor holds (score, created_at, id), so pages never
        overlap. Ordered by `ranked`'s own columns, so a database may sort them before it
        reads a single post."""
        statement = (
            posts_seen_by(viewer_id)
            .add_columns(ranked.c.score)
            .join(ranked, ranked.c.post_id == Post.id)
            .where(not_hidden(viewer_id, Post.author_id))
        )
        rows: list[Any]
        rows, cursor = await paginate(
            self.session,
            statement,
            scope=scope,
            order_by=[ranked.c.score, ranked.c.created_at, ranked.c.post_id],
            page=page,
            descending=True,
            rows=True,
            key_of=lambda row: (row.score, row[0].created_at, row[0].id),
        )
        return await render_posts(
            self.session, viewer_id, [(p, u) for p, u, _ in rows], self.urls
        ), cursor

    async def page_of_posts(
        self,
        viewer_id: UUID | None,
        statement: Select[Post, User],
        scope: str,
        page: PageRequest,
    ) -> tuple[list[schemas.PostView], str | None]:
        """One page of `statement` (from `posts_seen_by`), newest first by post time."""
        rows: list[Any]
        rows, cursor = await paginate_rows(self.session, statement, scope, page)
        return await render_posts(self.session, viewer_id, rows, self.urls), cursor

    # Mentions -----------------------------------------------------------------------------

    async def _mention(
        self, author_id: UUID, text: str, post_id: UUID, comment_id: UUID | None
    ) -> None:
        """Store who `text` names; tell each person named for the first time here who may
        see the post (a follower-only or private post names people it does not announce to).
        People with a block between them and the author are not mentioned."""
        handles = mentioned_handles(text)
        people = (
            await self.session.scalars(
                select(User.id).where(
                    User.handle.in_(handles),
                    User.status == AccountStatus.ACTIVE,
                    User.id != author_id,
                    User.id.not_in(blocked_with(author_id)),
                )
            )
            if handles
            else None
        )
        wanted = set(people.all()) if people is not None else set()
        where = and_(
            Mention.post_id == post_id,
            Mention.comment_id.is_(None)
            if comment_id is None
            else Mention.comment_id == comment_id,
        )
        before = set((await self.session.scalars(select(Mention.user_id).where(where))).all())
        if before - wanted:
            await self.session.execute(
                delete(Mention).where(where, Mention.user_id.in_(before - wanted))
            )
        named_now = sorted(wanted - before)
        told = await self._who_may_see(post_id, named_now)
        for user_id in named_now:
            self.session.add(Mention(user_id=user_id, post_id=post_id, comment_id=comment_id))
            if user_id in told:
                await self.events.publish(
                    self.jobs,
                    PERSON_MENTIONED,
                    user_id=str(user_id),
                    author_id=str(author_id),
                    post_id=str(post_id),
                    comment_id=str(comment_id) if comment_id else None,
                )
        await self.session.flush()

    async def _who_may_see(self, post_id: UUID, people: Sequence[UUID]) -> set[UUID]:
        """Those of `people` the visibility rule lets see the post now, in one query."""
        if not people:
            return set()
        each = [
            select(literal(person, GUID).label("person")).where(
                posts_seen_by(person).where(Post.id == post_id).exists()
            )
            for person in people
        ]
        return set((await self.session.scalars(union_all(*each))).all())

    # Likes --------------------------------------------------------------------------------

    async def like_post(self, viewer_id: UUID, post_id: UUID) -> None:
        """Three statements built once: may I see it, the like unless it exists, the count."""
        post = await _VISIBLE_POST_AUTHOR.first(self.session, viewer_id=viewer_id, post_id=post_id)
        if post is None:
            raise ProblemError(NOT_FOUND, "No such post.")
        inserted = await self.session.scalar(
            _ADD_POST_LIKE[self.session.get_bind().dialect.name],
            {"post_id": post_id, "user_id": viewer_id},
        )
        if inserted is not None:
            await self.session.execute(_ONE_MORE_POST_LIKE, {"post_id": post_id})
            await self.events.publish(
                self.jobs,
                POST_LIKED,
                post_id=str(post_id),
                user_id=str(viewer_id),
                author_id=str(post.author_id),
            )

    async def unlike_post(self, viewer_id: UUID, post_id: UUID) -> None:
        post, _ = await self._visible_post(viewer_id, post_id)
        removed = await self.session.scalar(
            delete(PostLike)
            .where(PostLike.post_id == post.id, PostLike.user_id == viewer_id)
            .returning(PostLike.id)
        )
        if removed is not None:
            await self.session.execute(
                update(Post).where(Post.id == post.id).values(like_count=Post.like_count - 1)
            )

    async def likers(
        self, viewer_id: UUID | None, post_id: UUID, page: PageRequest
    ) -> tuple[list[schemas.Author], str | None]:
        """Who liked a post the viewer may see, newest like first, hidden people left out."""
        post, _ = await self._visible_post(viewer_id, post_id)
        statement = (
            select(PostLike)
            .join(User, User.id == PostLike.user_id)
            .where(
                PostLike.post_id == post.id,
                User.status == AccountStatus.ACTIVE,
                not_hidden(viewer_id, PostLike.user_id),
            )
        )
        likes: list[PostLike]
        likes, cursor = await paginate(
            self.session,
            statement,
            scope=f"likes:{post.id}",
            order_by=[PostLike.id],
            page=page,
            descending=True,
        )
        users = {
            u.id: u
            for u in (
                await self.session.scalars(
                    select(User).where(User.id.in_([x.user_id for x in likes]))
                )
            ).all()
        }
        return [author_of(users[like.user_id]) for like in likes], cursor

    # Comments -----------------------------------------------------------------------------

    def _comments_seen_by(self, viewer_id: UUID | None, post_id: UUID) -> Select[Comment, User]:
        return (
            select(Comment, User)
            .join(User, User.id == Comment.author_id)
            .where(Comment.post_id == post_id, visible_comments(viewer_id))
        )

    async def _visible_comment(
        self, viewer_id: UUID | None, comment_id: UUID
    ) -> tuple[Comment, Post]:
        """A live comment the viewer may see, on a post they may see; 404 otherwise."""
        comment = await self.session.get(Comment, comment_id)
        if comment is None or comment.deleted_at is not None:
            raise ProblemError(NOT_FOUND, "No such comment.")
        post, _ = await self._visible_post(viewer_id, comment.post_id)
        row = (
            await self.session.execute(
                self._comments_seen_by(viewer_id, post.id).where(Comment.id == comment.id)
            )
        ).first()
        if row is None:
            raise ProblemError(NOT_FOUND, "No such comment.")
        return comment, post

    async def comments(
        self, viewer_id: UUID | None, post_id: UUID, page: PageRequest
    ) -> tuple[list[schemas.CommentView], str | None]:
        """A post's comments and replies, oldest first (replies follow by time, each naming
        the comment it answers). A deleted comment shows as a tombstone while it has replies."""
        post, _ = await self._visible_post(viewer_id, post_id)
        statement = self._comments_seen_by(viewer_id, post.id)
        reply = aliased(Comment)
        replied = select(reply.parent_id).where(
            reply.post_id == post.id, reply.deleted_at.is_(None), reply.parent_id.is_not(None)
        )
        statement = statement.where(or_(Comment.deleted_at.is_(None), Comment.id.in_(replied)))
        rows: list[Any]
        rows, cursor = await paginate_rows(
            self.session, statement, f"comments:{post.id}", page, model=Comment, descending=False
        )
        ids = [comment.id for comment, _ in rows]
        liked: set[UUID] = set()
        hidden_likes: dict[UUID, int] = {}
        if viewer_id is not None and ids:
            hidden = hidden_from(viewer_id).subquery()
            mine = select(
                CommentLike.comment_id.label("comment_id"),
                literal_column("1", Integer).label("mine"),
                literal_column("0", Integer).label("hidden"),
            ).where(CommentLike.comment_id.in_(ids), CommentLike.user_id == viewer_id)
            by_hidden_people = (
                select(
                    CommentLike.comment_id,
                    literal_column("0", Integer),
                    literal_column("1", Integer),
                )
                .join(hidden, next(iter(hidden.c)) == CommentLike.user_id)
                .where(CommentLike.comment_id.in_(ids))
            )
            both = union_all(mine, by_hidden_people).subquery()
            counted = await self.session.execute(
                select(both.c.comment_id, func.sum(both.c.mine), func.sum(both.c.hidden)).group_by(
                    both.c.comment_id
                )
            )
            for comment_id, mine, by_hidden in counted:
                if mine:
                    liked.add(comment_id)
                hidden_likes[comment_id] = int(by_hidden or 0)
        return [
            schemas.CommentView(
                id=comment.id,
                post_id=comment.post_id,
                reply_to=comment.parent_id,
                author=None if comment.deleted_at else author_of(author),
                text=comment.text,
                created_at=comment.created_at,
                edited_at=comment.edited_at,
                deleted=comment.deleted_at is not None,
                like_count=comment.like_count - hidden_likes.get(comment.id, 0),
                viewer_has_liked=comment.id in liked,
                removed_for=comment.removed_for,
            )
            for comment, author in rows
        ], cursor

    async def add_comment(
        self, author_id: UUID, post_id: UUID, draft: schemas.CommentDraft
    ) -> schemas.CommentView:
        post, _ = await self._visible_post(author_id, post_id)
        text = normalized_text("text", draft.text, schemas.MAX_COMMENT_CHARACTERS)
        parent: Comment | None = None
        if draft.reply_to is not None:
            try:
                parent, _ = await self._visible_comment(author_id, draft.reply_to)
            except ProblemError as exc:
                raise ProblemError.invalid("reply_to", "is not a comment you can see") from exc
            if parent.post_id != post.id:
                raise ProblemError.invalid("reply_to", "is a comment of another post")
            if parent.depth >= MAX_REPLY_DEPTH:
                raise ProblemError.invalid(
                    "reply_to", "is already a reply; answer the comment it replies to"
                )
        comment = Comment(
            post_id=post.id,
            author_id=author_id,
            parent_id=parent.id if parent else None,
            depth=parent.depth + 1 if parent else 1,
            text=text,
        )
        self.session.add(comment)
        await self.session.execute(
            update(Post).where(Post.id == post.id).values(comment_count=Post.comment_count + 1)
        )
        await self.session.flush()
        await self._mention(author_id, text, post.id, comment.id)
        await self.events.publish(
            self.jobs,
            COMMENT_CREATED,
            comment_id=str(comment.id),
            post_id=str(post.id),
            author_id=str(author_id),
            post_author_id=str(post.author_id),
            reply_to_author_id=str(parent.author_id) if parent else None,
        )
        return await self._comment_view(author_id, comment)

    async def _comment_view(self, viewer_id: UUID, comment: Comment) -> schemas.CommentView:
        await self.session.refresh(comment)
        author = await self.session.get_one(User, comment.author_id)
        liked = await self.session.scalar(
            select(
                exists().where(
                    CommentLike.comment_id == comment.id, CommentLike.user_id == viewer_id
                )
            )
        )
        return schemas.CommentView(
            id=comment.id,
            post_id=comment.post_id,
            reply_to=comment.parent_id,
            author=author_of(author),
            text=comment.text,
            created_at=comment.created_at,
            edited_at=comment.edited_at,
            deleted=False,
            like_count=comment.like_count,
            viewer_has_liked=bool(liked),
            removed_for=comment.removed_for,
        )

    async def edit_comment(
        self, viewer_id: UUID, comment_id: UUID, edit: schemas.CommentEdit
    ) -> schemas.CommentView:
        comment, post = await self._visible_comment(viewer_id, comment_id)
        if comment.author_id != viewer_id:
            raise ProblemError(FORBIDDEN, "Only the author may edit a comment.")
        if comment.removed_for is not None:
            raise ProblemError(CONFLICT, "Moderation removed this comment; appeal the decision.")
        text = normalized_text("text", edit.text, schemas.MAX_COMMENT_CHARACTERS)
        if text != comment.text:
            comment.text = text
            comment.edited_at = _now()
            await self._mention(viewer_id, text, post.id, comment.id)
        await self.session.flush()
        return await self._comment_view(viewer_id, comment)

    async def delete_comment(self, viewer_id: UUID, comment_id: UUID) -> None:
        """By its author or the post's author: a tombstone while replies hang from it."""
        comment, post = await self._visible_comment(viewer_id, comment_id)
        if viewer_id not in {comment.author_id, post.author_id}:
            raise ProblemError(
                FORBIDDEN, "Only the comment's author or the post's author may delete it."
            )
        await remove_comments(self.session, Comment.id == comment.id)

    async def like_comment(self, viewer_id: UUID, comment_id: UUID) -> None:
        comment, post = await self._visible_comment(viewer_id, comment_id)
        inserted = await self.session.scalar(
            dialect_insert(self.session)(CommentLike)
            .values(comment_id=comment.id, user_id=viewer_id)
            .on_conflict_do_nothing(index_elements=["comment_id", "user_id"])
            .returning(CommentLike.id)
        )
        if inserted is not None:
            await self.session.execute(
                update(Comment)
                .where(Comment.id == comment.id)
                .values(like_count=Comment.like_count + 1)
            )
            await self.events.publish(
                self.jobs,
                COMMENT_LIKED,
                comment_id=str(comment.id),
                post_id=str(post.id),
                user_id=str(viewer_id),
                author_id=str(comment.author_id),
            )

    async def unlike_comment(self, viewer_id: UUID, comment_id: UUID) -> None:
        comment, _ = await self._visible_comment(viewer_id, comment_id)
        removed = await self.session.scalar(
            delete(CommentLike)
            .where(CommentLike.comment_id == comment.id, CommentLike.user_id == viewer_id)
            .returning(CommentLike.id)
        )
        if removed is not None:
            await self.session.execute(
                update(Comment)
                .where(Comment.id == comment.id)
                .values(like_count=Comment.like_count - 1)
            )


async def paginate_rows(
    session: AsyncSession,
    statement: Select[Any, Any],
    scope: str,
    page: PageRequest,
    *,
    model: Any = Post,
    descending: bool = True,
) -> tuple[list[Any], str | None]:
    """A keyset page of (row, author) pairs ordered by the model's (created_at, id)."""
    return await paginate(
        session,
        statement,
        scope=scope,
        order_by=[model.created_at, model.id],
        page=page,
        descending=descending,
        rows=True,
    )


async def remove_comments(session: AsyncSession, which: ColumnElement[bool]) -> None:
    """Delete the live comments `which` selects, keeping their posts' counts true, in four
    statements however many there are. Each stays as a tombstone (text and likes gone) so its
    replies keep their place; lists show it only while it has replies."""
    live = and_(which, Comment.deleted_at.is_(None))
    removed_here = (
        select(func.count())
        .select_from(Comment)
        .where(live, Comment.post_id == Post.id)
        .scalar_subquery()
    )
    await session.execute(
        update(Post)
        .where(Post.id.in_(select(Comment.post_id).where(live)))
        .values(comment_count=Post.comment_count - removed_here)
        .execution_options(synchronize_session=False)
    )
    live_ids = select(Comment.id).where(live)
    await session.execute(delete(CommentLike).where(CommentLike.comment_id.in_(live_ids)))
    await session.execute(delete(Mention).where(Mention.comment_id.in_(live_ids)))
    await session.execute(
        update(Comment)
        .where(live)
        .values(text="", like_count=0, deleted_at=_now())
        .execution_options(synchronize_session="fetch")
    )


# Lifecycle: a deleted account, counts that never drift, the export ------------------------------


async def forget_user_content(session: AsyncSession, user_id: UUID) -> list[UUID]:
    """Remove a deleted person's posts (with everything on them), comments, likes and the
    mentions of them, repairing every count they were part of; hide their media and return
    the ids, whose files `content.remove_media` deletes."""
    removed_media = await mark_removed(session, Media.owner_id == user_id, _now())
    await session.execute(
        update(Post)
        .where(Post.id.in_(select(PostLike.post_id).where(PostLike.user_id == user_id)))
        .values(like_count=Post.like_count - 1)
    )
    await session.execute(delete(PostLike).where(PostLike.user_id == user_id))
    await session.execute(
        update(Comment)
        .where(Comment.id.in_(select(CommentLike.comment_id).where(CommentLike.user_id == user_id)))
        .values(like_count=Comment.like_count - 1)
    )
    await session.execute(delete(CommentLike).where(CommentLike.user_id == user_id))
    await remove_comments(session, Comment.author_id == user_id)
    await session.execute(delete(Mention).where(Mention.user_id == user_id))
    await session.execute(delete(Post).where(Post.author_id == user_id))
    await session.flush()
    return removed_media


@dataclass(frozen=True)
class CountDrift:
    table: str
    column: str
    rows: int


def _true_counts() -> tuple[tuple[Any, Any, Any], ...]:
    """Each stored count with the query of what it should be, per row."""
    return (
        (
            Post,
            Post.like_count,
            select(func.count())
            .select_from(PostLike)
            .where(PostLike.post_id == Post.id)
            .scalar_subquery(),
        ),
        (
            Post,
            Post.comment_count,
            select(func.count())
            .select_from(Comment)
            .where(Comment.post_id == Post.id, Comment.deleted_at.is_(None))
            .scalar_subquery(),
        ),
        (
            Comment,
            Comment.like_count,
            select(func.count())
            .select_from(CommentLike)
            .where(CommentLike.comment_id == Comment.id)
            .scalar_subquery(),
        ),
    )


async def reconcile_counts(session: AsyncSession) -> list[CountDrift]:
    """Set every stored count to what it counts; the drifts found (none, normally)."""
    drifts = []
    for model, column, actual in _true_counts():
        fixed = await session.execute(
            update(model).where(column != actual).values({column.key: actual})
        )
        if fixed.rowcount:  # type: ignore[attr-defined]  # a CursorResult
            drifts.append(CountDrift(model.__tablename__, column.key, int(fixed.rowcount)))  # type: ignore[attr-defined]
    return drifts


async def export_for_user(
    session: AsyncSession, _cipher: PersonalDataCipher, user_id: UUID
) -> dict[str, Any]:
    """The person's posts, comments and likes, for the account export."""
    posts = (
        await session.scalars(
            select(Post)
            .where(Post.author_id == user_id, Post.deleted_at.is_(None))
            .order_by(Post.created_at, Post.id)
        )
    ).all()
    comments = (
        await session.scalars(
            select(Comment)
            .where(Comment.author_id == user_id, Comment.deleted_at.is_(None))
            .order_by(Comment.created_at, Comment.id)
        )
    ).all()
    liked_posts = await session.scalars(
        select(PostLike.post_id).where(PostLike.user_id == user_id).order_by(PostLike.id)
    )
    media = (
        await session.scalars(
            select(Media)
            .where(Media.owner_id == user_id, Media.removed_at.is_(None))
            .order_by(Media.created_at, Media.id)
        )
    ).all()
    liked_comments = await session.scalars(
        select(CommentLike.comment_id)
        .where(CommentLike.user_id == user_id)
        .order_by(CommentLike.id)
    )
    return {
        "posts": [
            {
                "id": str(p.id),
                "text": p.text,
                "language": p.language,
                "visibility": p.visibility,
                "created_at": p.created_at,
                "edited_at": p.edited_at,
            }
            for p in posts
        ],
        "comments": [
            {
                "id": str(c.id),
                "post_id": str(c.post_id),
                "reply_to": str(c.parent_id) if c.parent_id else None,
                "text": c.text,
                "created_at": c.created_at,
                "edited_at": c.edited_at,
            }
            for c in comments
        ],
        "media": [
            {
                "id": str(m.id),
                "post_id": str(m.post_id) if m.post_id else None,
                "held_by": m.held_by,
                "kind": m.kind,
                "content_type": m.content_type,
                "width": m.width,
                "height": m.height,
                "created_at": m.created_at,
            }
            for m in media
        ],
        "liked_posts": [str(i) for i in liked_posts],
        "liked_comments": [str(i) for i in liked_comments],
    }


# What feeds read ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecentPost:
    """A post a feed may rank: who wrote it, when, and how much it was liked and answered."""

    post_id: UUID
    author_id: UUID
    author_handle: str
    created_at: datetime
    likes: int
    comments: int


async def recent_posts_for(
    session: AsyncSession, viewer_id: UUID, since: datetime, limit: int
) -> list[RecentPost]:
    """The newest posts since `since` the viewer may see, by others they did not mute."""
    rows = await session.execute(
        select(
            Post.id,
            Post.author_id,
            User.handle,
            Post.created_at,
            Post.like_count,
            Post.comment_count,
        )
        .join(User, User.id == Post.author_id)
        .where(
            visible_posts(viewer_id),
            Post.author_id != viewer_id,
            Post.author_id.not_in(hidden_from(viewer_id)),
            Post.created_at >= since,
        )
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return [RecentPost(*row) for row in rows]


@dataclass(frozen=True)
class Activity:
    """What the viewer's own activity says about authors: whom they follow, and how many
    posts of each they liked and commented on lately."""

    follows: frozenset[UUID]
    liked: dict[UUID, int]
    commented: dict[UUID, int]


async def activity_of(session: AsyncSession, viewer_id: UUID, since: datetime) -> Activity:
    """Whom the viewer follows, and their likes and comments since `since` per author, in one
    query over their own follows, likes and comments (by their indexes), not filtered by a
    list of authors."""
    one, zero = literal_column("1", Integer), literal_column("0", Integer)
    followed = followed_by(viewer_id).add_columns(
        one.label("follows"), zero.label("likes"), zero.label("comments")
    )
    liked = (
        select(Post.author_id, zero, one, zero)
        .join(PostLike, PostLike.post_id == Post.id)
        .where(PostLike.user_id == viewer_id, PostLike.created_at >= since)
    )
    commented = (
        select(Post.author_id, zero, zero, one)
        .join(Comment, Comment.post_id == Post.id)
        .where(
            Comment.author_id == viewer_id,
            Comment.created_at >= since,
            Comment.deleted_at.is_(None),
        )
    )
    every = union_all(followed, liked, commented).subquery()
    author = next(iter(every.c))
    rows = await session.execute(
        select(
            author, func.sum(every.c.follows), func.sum(every.c.likes), func.sum(every.c.comments)
        ).group_by(author)
    )
    follows: set[UUID] = set()
    likes: dict[UUID, int] = {}
    comments: dict[UUID, int] = {}
    for author_id, follow_count, like_count, comment_count in rows:
        if follow_count:
            follows.add(author_id)
        if like_count:
            likes[author_id] = int(like_count)
        if comment_count:
            comments[author_id] = int(comment_count)
    return Activity(frozenset(follows), likes, comments)


async def posts_by_ids(
    session: AsyncSession, viewer_id: UUID, post_ids: Sequence[UUID], urls: MediaUrls
) -> dict[UUID, schemas.PostView]:
    """These posts as the viewer sees them now; the ones they may no longer see are left out."""
    rows = (await session.execute(posts_seen_by(viewer_id).where(Post.id.in_(post_ids)))).all()
    return {view.id: view for view in await render_posts(session, viewer_id, rows, urls)}


# What moderation reads and does ------------------------------------------------------------------


@dataclass(frozen=True)
class ModeratedItem:
    """A post or comment as moderation needs it: whose it is and what it says now."""

    kind: str
    """`post` or `comment`."""
    id: UUID
    author_id: UUID
    text: str
    post_id: UUID


async def item_for_moderation(
    session: AsyncSession, kind: str, item_id: UUID, viewer_id: UUID | None = None
) -> ModeratedItem | None:
    """A live post or comment; with `viewer_id`, only one that person may see (the rules of
    `visible_posts` and of comment lists), so a report cannot probe what is hidden."""
    if kind == "post":
        seen = select(Post).where(Post.id == item_id, Post.deleted_at.is_(None))
        if viewer_id is not None:
            seen = seen.join(User, User.id == Post.author_id).where(visible_posts(viewer_id))
        post = await session.scalar(seen)
        if post is None:
            return None
        return ModeratedItem("post", post.id, post.author_id, post.text, post.id)
    comment = await session.get(Comment, item_id)
    if comment is None or comment.deleted_at is not None:
        return None
    if viewer_id is not None:
        post_seen = await session.scalar(
            select(Post.id)
            .join(User, User.id == Post.author_id)
            .where(Post.id == comment.post_id, visible_posts(viewer_id))
        )
        if post_seen is None:
            return None
        comment_seen = await session.scalar(
            select(Comment.id)
            .join(User, User.id == Comment.author_id)
            .where(Comment.id == item_id, visible_comments(viewer_id))
        )
        if comment_seen is None:
            return None
    return ModeratedItem("comment", comment.id, comment.author_id, comment.text, comment.post_id)


async def set_removed_for(
    session: AsyncSession, kind: str, item_id: UUID, reason: str | None
) -> None:
    """Remove a post or comment by a moderation decision (`reason`), or restore it (None)
    after a successful appeal. Nothing is destroyed, so a restore gives everything back."""
    model: type[Post] | type[Comment] = Post if kind == "post" else Comment
    await session.execute(
        update(model)
        .where(model.id == item_id)
        .values(removed_for=reason)
        .execution_options(synchronize_session="fetch")
    )


async def posts_and_comments_since(session: AsyncSession, author_id: UUID, since: datetime) -> int:
    """How many posts and comments a person wrote since `since` (rate anomalies)."""
    posts = (
        select(func.count())
        .select_from(Post)
        .where(Post.author_id == author_id, Post.created_at >= since)
    )
    comments = (
        select(func.count())
        .select_from(Comment)
        .where(Comment.author_id == author_id, Comment.created_at >= since)
    )
    return int(await session.scalar(posts) or 0) + int(await session.scalar(comments) or 0)
