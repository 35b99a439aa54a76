"""The social graph's rules: who may follow, see, block and mute whom."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Exists,
    Label,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.models import AccountStatus, ProfileVisibility, User
from selflink_api.accounts.schemas import Counts, PublicProfile
from selflink_api.accounts.services import user_by_handle
from selflink_api.platform.crypto import PersonalDataCipher
from selflink_api.platform.database import insert_unless_present, one_of
from selflink_api.platform.domains import AccountPart
from selflink_api.platform.driver_reads import DriverRead
from selflink_api.platform.events import PERSON_FOLLOWED, EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.pagination import PageRequest, paginate
from selflink_api.platform.problems import FORBIDDEN, NOT_FOUND, ProblemError
from selflink_api.settings import Settings
from selflink_api.social.models import Block, Follow, Mute


@dataclass(frozen=True)
class Relationship:
    is_following: bool
    follows_you: bool
    blocked: bool  # either way
    muted: bool


def _follow_counts(user_id: Any) -> tuple[Label[int], Label[int]]:
    """Followers and following of `user_id` (a parameter, or the account's id column)."""
    return (
        select(func.count())
        .where(Follow.followee_id == user_id)
        .scalar_subquery()
        .label("social_followers"),
        select(func.count())
        .where(Follow.follower_id == user_id)
        .scalar_subquery()
        .label("social_following"),
    )


def _blocked_between(a: Any, b: Any) -> Exists:
    """Whether a block stands between `a` and `b`, whoever blocked whom."""
    return exists().where(
        or_(
            and_(Block.blocker_id == a, Block.blocked_id == b),
            and_(Block.blocker_id == b, Block.blocked_id == a),
        )
    )


_COUNTS = DriverRead(select(*_follow_counts(bindparam("user_id"))))
"""Followers and following of one person, built once at import (a profile shows them)."""
_BLOCKED_EITHER_WAY = DriverRead(
    select(_blocked_between(bindparam("a"), bindparam("b")).label("blocked"))
)
"""Built once, as the next: every message and profile view asks."""
_FOLLOWS = DriverRead(
    select(
        exists()
        .where(
            Follow.follower_id == bindparam("follower_id"),
            Follow.followee_id == bindparam("followee_id"),
        )
        .label("follows")
    )
)


_FOLLOW_TARGET = DriverRead(
    select(
        User.id,
        User.handle,
        User.status,
        _blocked_between(bindparam("viewer_id"), User.id).label("blocked"),
    ).where(User.handle == bindparam("handle"))
)
"""The person a follow names, and whether a block stands between them and the follower."""


_ADD_FOLLOW = insert_unless_present(Follow.__table__, "follower_id", "followee_id")


class SocialService:
    def __init__(
        self, session: AsyncSession, events: EventBus | None = None, jobs: JobQueue | None = None
    ) -> None:
        self.session = session
        self.events, self.jobs = events, jobs

    async def user_by_handle(self, handle: str) -> User:
        """An existing, not deleted account; 404 otherwise."""
        return await user_by_handle(self.session, handle)

    async def available_to(self, viewer_id: UUID, handle: str) -> User | None:
        """The person behind `handle` if they take part in discovery with this viewer: active,
        discoverable and with no block either way. None otherwise, and the caller refuses every
        case with the same words, so a refusal tells nothing."""
        other = await self.session.scalar(
            select(User).where(User.handle == handle.lower().removeprefix("@"))
        )
        if (
            other is None
            or other.status != AccountStatus.ACTIVE
            or not other.discoverable
            or await self.blocked_either_way(viewer_id, other.id)
        ):
            return None
        return other

    @staticmethod
    def hidden_by_edges(user_id: UUID | BindParameter[Any]) -> tuple[Select[Any], ...]:
        """Queries of the ids this person must not be shown (blocked either way, or muted),
        to be combined with `union` by the caller."""
        return (
            select(Block.blocked_id).where(Block.blocker_id == user_id),
            select(Block.blocker_id).where(Block.blocked_id == user_id),
            select(Mute.muted_id).where(Mute.muter_id == user_id),
        )

    async def _exists(self, condition: Any) -> bool:
        return bool(await self.session.scalar(select(exists().where(condition))))

    async def relationship(self, viewer_id: UUID, other_id: UUID) -> Relationship:
        return Relationship(
            is_following=await self.follows(viewer_id, other_id),
            follows_you=await self.follows(other_id, viewer_id),
            blocked=await self.blocked_either_way(viewer_id, other_id),
            muted=await self._exists(and_(Mute.muter_id == viewer_id, Mute.muted_id == other_id)),
        )

    async def blocked_either_way(self, a: UUID, b: UUID) -> bool:
        return bool((await _BLOCKED_EITHER_WAY.one(self.session, a=a, b=b)).blocked)

    async def follows(self, follower_id: UUID, followee_id: UUID) -> bool:
        row = await _FOLLOWS.one(self.session, follower_id=follower_id, followee_id=followee_id)
        return bool(row.follows)

    async def counts(self, user_id: UUID) -> Counts:
        row = await _COUNTS.one(self.session, user_id=user_id)
        return Counts(followers=row.social_followers, following=row.social_following)

    async def can_see_full_profile(self, viewer_id: UUID | None, target: User) -> bool:
        if viewer_id == target.id:
            return True
        if target.status != AccountStatus.ACTIVE:
            return False
        if viewer_id is not None and await self.blocked_either_way(viewer_id, target.id):
            return False
        if target.profile_visibility == ProfileVisibility.PUBLIC:
            return True
        if target.profile_visibility == ProfileVisibility.FOLLOWERS and viewer_id is not None:
            return await self.follows(viewer_id, target.id)
        return False

    async def public_profile(self, viewer_id: UUID | None, handle: str) -> PublicProfile:
        target = await self.user_by_handle(handle)
        if not await self.can_see_full_profile(viewer_id, target):
            return PublicProfile(
                handle=target.handle, display_name=target.display_name, restricted=True
            )
        profile = PublicProfile(
            restricted=False,
            handle=target.handle,
            display_name=target.display_name,
            bio=target.bio,
            avatar_url=target.avatar_url,
            counts=await self.counts(target.id),
            joined_at=target.created_at,
        )
        if viewer_id is not None and viewer_id != target.id:
            relation = await self.relationship(viewer_id, target.id)
            profile.is_following, profile.follows_you = relation.is_following, relation.follows_you
        return profile

    # Edges ---------------------------------------------------------------------------------

    async def _other(self, viewer_id: UUID, handle: str, verb: str) -> User:
        other = await self.user_by_handle(handle)
        if other.id == viewer_id:
            raise ProblemError.invalid("handle", f"cannot {verb} yourself", source="path")
        return other

    async def follow(self, viewer_id: UUID, handle: str) -> None:
        """Two statements: who `handle` is (with any block either way), then the follow,
        which a repeat or a concurrent twin leaves as it is."""
        other = await _FOLLOW_TARGET.first(
            self.session, handle=handle.lower().removeprefix("@"), viewer_id=viewer_id
        )
        if other is None or other.status == AccountStatus.DELETED:
            raise ProblemError(NOT_FOUND, f"No user @{handle}.")
        if other.id == viewer_id:
            raise ProblemError.invalid("handle", "cannot follow yourself", source="path")
        if other.blocked or other.status != AccountStatus.ACTIVE:
            raise ProblemError(FORBIDDEN, f"You cannot follow @{other.handle}.")
        added = await self.session.scalar(
            _ADD_FOLLOW[self.session.get_bind().dialect.name],
            {"follower_id": viewer_id, "followee_id": other.id},
        )
        if added is not None and self.events is not None and self.jobs is not None:
            await self.events.publish(
                self.jobs,
                PERSON_FOLLOWED,
                follower_id=str(viewer_id),
                followee_id=str(other.id),
            )

    async def unfollow(self, viewer_id: UUID, handle: str) -> None:
        other = await self._other(viewer_id, handle, "unfollow")
        await self.session.execute(
            delete(Follow).where(Follow.follower_id == viewer_id, Follow.followee_id == other.id)
        )

    async def block(self, viewer_id: UUID, handle: str) -> None:
        other = await self._other(viewer_id, handle, "block")
        if not await self._exists(
            and_(Block.blocker_id == viewer_id, Block.blocked_id == other.id)
        ):
            self.session.add(Block(blocker_id=viewer_id, blocked_id=other.id))
        await self.session.execute(
            delete(Follow).where(
                or_(
                    and_(Follow.follower_id == viewer_id, Follow.followee_id == other.id),
                    and_(Follow.follower_id == other.id, Follow.followee_id == viewer_id),
                )
            )
        )
        await self.session.flush()

    async def unblock(self, viewer_id: UUID, handle: str) -> None:
        other = await self._other(viewer_id, handle, "unblock")
        await self.session.execute(
            delete(Block).where(Block.blocker_id == viewer_id, Block.blocked_id == other.id)
        )

    async def mute(self, viewer_id: UUID, handle: str) -> None:
        other = await self._other(viewer_id, handle, "mute")
        if not await self._exists(and_(Mute.muter_id == viewer_id, Mute.muted_id == other.id)):
            self.session.add(Mute(muter_id=viewer_id, muted_id=other.id))
            await self.session.flush()

    async def unmute(self, viewer_id: UUID, handle: str) -> None:
        other = await self._other(viewer_id, handle, "unmute")
        await self.session.execute(
            delete(Mute).where(Mute.muter_id == viewer_id, Mute.muted_id == other.id)
        )

    # Lists ---------------------------------------------------------------------------------

    async def _people(
        self,
        edge: Any,
        person_column: Any,
        where: Any,
        scope: str,
        page: PageRequest,
        *,
        restricted: bool = False,
    ) -> tuple[list[PublicProfile], str | None]:
        """A page of people on one kind of edge; `restricted` lists (the people you blocked)
        show only what a blocked person's profile shows you: handle and display name."""
        statement = (
            select(edge)
            .join(User, User.id == person_column)
            .where(where, User.status == AccountStatus.ACTIVE)
        )
        edges: list[Any]
        edges, cursor = await paginate(
            self.session, statement, scope=scope, order_by=[edge.id], page=page, descending=True
        )
        ids = [getattr(e, person_column.key) for e in edges]
        users = {
            u.id: u
            for u in (await self.session.scalars(select(User).where(User.id.in_(ids)))).all()
        }
        return [
            PublicProfile(
                restricted=restricted,
                handle=users[i].handle,
                display_name=users[i].display_name,
                avatar_url="" if restricted else users[i].avatar_url,
            )
            for i in ids
        ], cursor

    async def _visible_lists(self, viewer_id: UUID | None, handle: str) -> User:
        target = await self.user_by_handle(handle)
        if not await self.can_see_full_profile(viewer_id, target):
            raise ProblemError(FORBIDDEN, f"@{target.handle} does not share this list with you.")
        return target

    async def followers(
        self, viewer_id: UUID | None, handle: str, page: PageRequest
    ) -> tuple[list[PublicProfile], str | None]:
        target = await self._visible_lists(viewer_id, handle)
        return await self._people(
            Follow,
            Follow.follower_id,
            Follow.followee_id == target.id,
            f"followers:{target.id}",
            page,
        )

    async def following(
        self, viewer_id: UUID | None, handle: str, page: PageRequest
    ) -> tuple[list[PublicProfile], str | None]:
        target = await self._visible_lists(viewer_id, handle)
        return await self._people(
            Follow,
            Follow.followee_id,
            Follow.follower_id == target.id,
            f"following:{target.id}",
            page,
        )

    async def blocked(
        self, viewer_id: UUID, page: PageRequest
    ) -> tuple[list[PublicProfile], str | None]:
        return await self._people(
            Block, Block.blocked_id, Block.blocker_id == viewer_id, "blocked", page, restricted=True
        )

    async def muted(
        self, viewer_id: UUID, page: PageRequest
    ) -> tuple[list[PublicProfile], str | None]:
        return await self._people(Mute, Mute.muted_id, Mute.muter_id == viewer_id, "muted", page)


# Edges as subqueries, for other domains' queries ------------------------------------------


def followed_by(user_id: UUID) -> Select[Any]:
    """The ids this person follows."""
    return select(Follow.followee_id).where(Follow.follower_id == user_id)


def blocked_with(user_id: UUID | BindParameter[Any]) -> CompoundSelect[Any]:
    """The ids with a block between them and this person, whoever blocked whom."""
    return union(
        select(Block.blocked_id).where(Block.blocker_id == user_id),
        select(Block.blocker_id).where(Block.blocked_id == user_id),
    )


def hidden_from(user_id: UUID) -> CompoundSelect[Any]:
    """The ids whose content this person must not be shown in lists: blocked either way, or
    muted by them."""
    return union(*SocialService.hidden_by_edges(user_id))


_SHIELDS = DriverRead(
    union_all(
        select(Block.blocker_id, Block.blocked_id, literal(True)).where(
            or_(
                and_(
                    one_of(Block.blocker_id, "people"),
                    one_of(Block.blocked_id, "actors"),
                ),
                and_(
                    one_of(Block.blocker_id, "actors"),
                    one_of(Block.blocked_id, "people"),
                ),
            )
        ),
        select(Mute.muter_id, Mute.muted_id, literal(False)).where(
            one_of(Mute.muter_id, "people"),
            one_of(Mute.muted_id, "actors"),
        ),
    )
)
"""The blocks between `people` and `actors` (true) and the people's mutes of them (false),
built once at import: every notification runs it."""


async def shielded_pairs(
    session: AsyncSession, people: Collection[UUID], actors: Collection[UUID]
) -> set[tuple[UUID, UUID]]:
    """The (person, actor) pairs where the person hears nothing of the actor's doings: a block
    stands between them, whoever blocked whom, or the person muted the actor."""
    pairs: set[tuple[UUID, UUID]] = set()
    shields = await _SHIELDS.all(session, people=list(people), actors=list(actors))
    for one, other, is_block in shields:
        pairs.add((one, other))
        if is_block:
            pairs.add((other, one))
    return pairs


def follows(follower_id: UUID | BindParameter[Any], followee: Any) -> Exists:
    """Whether `follower_id` follows `followee` (an id or a column of the caller's query)."""
    return exists().where(Follow.follower_id == follower_id, Follow.followee_id == followee)


# A person's part of their account -----------------------------------------------------------


def _with_counts(
    statement: Select[*tuple[Any, ...]], user_id: ColumnElement[UUID]
) -> Select[*tuple[Any, ...]]:
    return statement.add_columns(*_follow_counts(user_id))


def _counts_shown(_settings: Settings, row: Any, _now: datetime) -> dict[str, int]:
    return {"followers": row.social_followers, "following": row.social_following}


ACCOUNT_COUNTS = AccountPart(extend=_with_counts, shape=_counts_shown)
"""Followers and following, shown on the person's own account."""


async def export_for_user(
    session: AsyncSession, _cipher: PersonalDataCipher, user_id: UUID
) -> dict[str, list[str]]:
    """The handles on each of the person's edges, for the account export."""

    async def handles(edge: Any, mine: Any, theirs: Any) -> list[str]:
        statement = select(User.handle).join(edge, theirs == User.id).where(mine == user_id)
        return sorted((await session.scalars(statement)).all())

    return {
        "following": await handles(Follow, Follow.follower_id, Follow.followee_id),
        "followers": await handles(Follow, Follow.followee_id, Follow.follower_id),
        "blocked": await handles(Block, Block.blocker_id, Block.blocked_id),
        "muted": await handles(Mute, Mute.muter_id, Mute.muted_id),
    }


async def erase_edges(session: AsyncSession, user_id: UUID) -> None:
    """Cut every edge of a deleted account at once, so it vanishes from everyone's lists."""
    for edge, one, other in (
        (Follow, Follow.follower_id, Follow.followee_id),
        (Block, Block.blocker_id, Block.blocked_id),
        (Mute, Mute.muter_id, Mute.muted_id),
    ):
        await session.execute(delete(edge).where(or_(one == user_id, other == user_id)))
