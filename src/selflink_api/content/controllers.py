"""HTTP endpoints of posts, comments and likes."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.auth import ANONYMOUS_ALLOWED
from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.services import Principal
from selflink_api.content.schemas import (
    Author,
    CommentDraft,
    CommentEdit,
    CommentView,
    PostDraft,
    PostEdit,
    PostView,
)
from selflink_api.content.services import ContentService
from selflink_api.platform.events import EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.openapi import problems
from selflink_api.platform.pagination import CursorPage, PageRequest

ANYONE = {ANONYMOUS_ALLOWED: True}


@dataclass(frozen=True)
class ContentToolkit:
    events: EventBus


def provide_content_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    jobs: NamedDependency[JobQueue],
) -> ContentService:
    toolkit: ContentToolkit = request.app.state.content
    return ContentService(db_session, toolkit.events, jobs)


CONTENT_DEPENDENCIES = {
    **ACCOUNT_DEPENDENCIES,
    "content": Provide(provide_content_service, sync_to_thread=False),
}


def _id(viewer: Principal | None) -> UUID | None:
    return viewer.id if viewer else None


class PostController(Controller):
    path = "/posts"
    tags = ["content"]  # noqa: RUF012
    dependencies = CONTENT_DEPENDENCIES

    @post("", summary="Write a post", status_code=201, responses=problems(422))
    async def create(
        self,
        data: JSONBody[PostDraft],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> PostView:
        return await content.create_post(principal.id, data)

    @get("/{post_id:uuid}", opt=ANYONE, summary="A post", responses=problems(404))
    async def read(
        self,
        post_id: FromPath[UUID],
        viewer: NamedDependency[Principal | None],
        content: NamedDependency[ContentService],
    ) -> PostView:
        return await content.post(_id(viewer), post_id)

    @patch("/{post_id:uuid}", summary="Edit my post", responses=problems(403, 404))
    async def edit(
        self,
        post_id: FromPath[UUID],
        data: JSONBody[PostEdit],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> PostView:
        return await content.edit_post(principal.id, post_id, data)

    @delete("/{post_id:uuid}", summary="Delete my post", responses=problems(403, 404))
    async def remove(
        self,
        post_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> None:
        await content.delete_post(principal.id, post_id)

    @put("/{post_id:uuid}/like", summary="Like (idempotent)", status_code=204)
    async def like(
        self,
        post_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> None:
        await content.like_post(principal.id, post_id)

    @delete("/{post_id:uuid}/like", summary="Take my like back (idempotent)")
    async def unlike(
        self,
        post_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> None:
        await content.unlike_post(principal.id, post_id)

    @get("/{post_id:uuid}/likes", opt=ANYONE, summary="Who liked a post", responses=problems(404))
    async def likers(
        self,
        post_id: FromPath[UUID],
        viewer: NamedDependency[Principal | None],
        content: NamedDependency[ContentService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[Author]:
        items, cursor = await content.likers(_id(viewer), post_id, page)
        return CursorPage(items=items, next_cursor=cursor)

    @get(
        "/{post_id:uuid}/comments",
        opt=ANYONE,
        summary="A post's comments, oldest first",
        responses=problems(404),
    )
    async def comments(
        self,
        post_id: FromPath[UUID],
        viewer: NamedDependency[Principal | None],
        content: NamedDependency[ContentService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[CommentView]:
        items, cursor = await content.comments(_id(viewer), post_id, page)
        return CursorPage(items=items, next_cursor=cursor)

    @post(
        "/{post_id:uuid}/comments",
        summary="Comment on a post, or reply to one of its comments",
        status_code=201,
        responses=problems(404, 422),
    )
    async def comment(
        self,
        post_id: FromPath[UUID],
        data: JSONBody[CommentDraft],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> CommentView:
        return await content.add_comment(principal.id, post_id, data)


class CommentController(Controller):
    path = "/comments"
    tags = ["content"]  # noqa: RUF012
    dependencies = CONTENT_DEPENDENCIES

    @patch("/{comment_id:uuid}", summary="Edit my comment", responses=problems(403, 404))
    async def edit(
        self,
        comment_id: FromPath[UUID],
        data: JSONBody[CommentEdit],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> CommentView:
        return await content.edit_comment(principal.id, comment_id, data)

    @delete(
        "/{comment_id:uuid}",
        summary="Delete a comment (its author, or the post's author)",
        responses=problems(403, 404),
    )
    async def remove(
        self,
        comment_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> None:
        await content.delete_comment(principal.id, comment_id)

    @put("/{comment_id:uuid}/like", summary="Like (idempotent)", status_code=204)
    async def like(
        self,
        comment_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> None:
        await content.like_comment(principal.id, comment_id)

    @delete("/{comment_id:uuid}/like", summary="Take my like back (idempotent)")
    async def unlike(
        self,
        comment_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> None:
        await content.unlike_comment(principal.id, comment_id)


class ProfilePostsController(Controller):
    path = "/users"
    tags = ["content"]  # noqa: RUF012
    dependencies = CONTENT_DEPENDENCIES

    @get(
        "/{handle:str}/posts",
        opt=ANYONE,
        summary="A person's posts, newest first",
        responses=problems(404),
    )
    async def posts(
        self,
        handle: FromPath[str],
        viewer: NamedDependency[Principal | None],
        content: NamedDependency[ContentService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[PostView]:
        items, cursor = await content.posts_of(_id(viewer), handle, page)
        return CursorPage(items=items, next_cursor=cursor)
