"""HTTP endpoints of the social graph."""

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.auth import ANONYMOUS_ALLOWED
from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.schemas import PublicProfile
from selflink_api.accounts.services import Principal
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.pagination import CursorPage, PageRequest
from selflink_api.social.services import SocialService

People = CursorPage[PublicProfile]


def provide_social_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    jobs: NamedDependency[JobQueue],
) -> SocialService:
    return SocialService(db_session, request.app.state.shared.events, jobs)


class SocialController(Controller):
    path = "/users"
    tags = ["social"]  # noqa: RUF012
    dependencies = {  # noqa: RUF012
        **ACCOUNT_DEPENDENCIES,
        "social": Provide(provide_social_service, sync_to_thread=False),
    }

    @get("/{handle:str}", opt={ANONYMOUS_ALLOWED: True}, summary="A public profile")
    async def profile(
        self,
        handle: FromPath[str],
        viewer: NamedDependency[Principal | None],
        social: NamedDependency[SocialService],
    ) -> PublicProfile:
        return await social.public_profile(viewer.id if viewer else None, handle)

    @post("/{handle:str}/follow", summary="Follow (idempotent)", status_code=204)
    async def follow(
        self,
        handle: FromPath[str],
        principal: NamedDependency[Principal],
        social: NamedDependency[SocialService],
    ) -> None:
        await social.follow(principal.id, handle)

    @delete("/{handle:str}/follow", summary="Unfollow (idempotent)", status_code=204)
    async def unfollow(
        self,
        handle: FromPath[str],
        principal: NamedDependency[Principal],
        social: NamedDependency[SocialService],
    ) -> None:
        await social.unfollow(principal.id, handle)

    @post("/{handle:str}/block", summary="Block: also removes follows both ways", status_code=204)
    async def block(
        self,
        handle: FromPath[str],
        principal: NamedDependency[Principal],
        social: NamedDependency[SocialService],
    ) -> None:
        await social.block(principal.id, handle)

    @delete("/{handle:str}/block", summary="Unblock", status_code=204)
    async def unblock(
        self,
        handle: FromPath[str],
        principal: NamedDependency[Principal],
        social: NamedDependency[SocialService],
    ) -> None:
        await social.unblock(principal.id, handle)

    @post("/{handle:str}/mute", summary="Mute", status_code=204)
    async def mute(
        self,
        handle: FromPath[str],
        principal: NamedDependency[Principal],
        social: NamedDependency[SocialService],
    ) -> None:
        await social.mute(principal.id, handle)

    @delete("/{handle:str}/mute", summary="Unmute", status_code=204)
    async def unmute(
        self,
        handle: FromPath[str],
        principal: NamedDependency[Principal],
        social: NamedDependency[SocialService],
    ) -> None:
        await social.unmute(principal.id, handle)

    @get(
        "/{handle:str}/followers", opt={ANONYMOUS_ALLOWED: True}, summary="Who follows this person"
    )
    async def followers(
        self,
        handle: FromPath[str],
        viewer: NamedDependency[Principal | None],
        social: NamedDependency[SocialService],
        page: NamedDependency[PageRequest],
    ) -> People:
        items, cursor = await social.followers(viewer.id if viewer else None, handle, page)
        return People(items=items, next_cursor=cursor)

    @get(
        "/{handle:str}/following", opt={ANONYMOUS_ALLOWED: True}, summary="Whom this person follows"
    )
    async def following(
        self,
        handle: FromPath[str],
        viewer: NamedDependency[Principal | None],
        social: NamedDependency[SocialService],
        page: NamedDependency[PageRequest],
    ) -> People:
        items, cursor = await social.following(viewer.id if viewer else None, handle, page)
        return People(items=items, next_cursor=cursor)

    @get("/me/blocked", summary="People I block")
    async def blocked(
        self,
        principal: NamedDependency[Principal],
        social: NamedDependency[SocialService],
        page: NamedDependency[PageRequest],
    ) -> People:
        items, cursor = await social.blocked(principal.id, page)
        return People(items=items, next_cursor=cursor)

    @get("/me/muted", summary="People I mute")
    async def muted(
        self,
        principal: NamedDependency[Principal],
        social: NamedDependency[SocialService],
        page: NamedDependency[PageRequest],
    ) -> People:
        items, cursor = await social.muted(principal.id, page)
        return People(items=items, next_cursor=cursor)
