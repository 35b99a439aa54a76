"""HTTP endpoints of threads and messages (the WebSocket gateway is in `gateway.py`)."""

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.services import Principal
from selflink_api.content.jobs import remove_media
from selflink_api.messaging import schemas
from selflink_api.messaging.jobs import remove_empty_thread
from selflink_api.messaging.services import MessagingService, MessagingToolkit
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.openapi import problems
from selflink_api.platform.pagination import MAX_LIMIT, CursorPage, PageRequest


def provide_messaging_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    jobs: NamedDependency[JobQueue],
) -> MessagingService:
    toolkit: MessagingToolkit = request.app.state.messaging
    return MessagingService(db_session, toolkit, request.app.state.matching, jobs)


MESSAGING_DEPENDENCIES = {
    **ACCOUNT_DEPENDENCIES,
    "messaging": Provide(provide_messaging_service, sync_to_thread=False),
}
HandleInPath = Annotated[str, PathParameter(max_length=31, description="A member's handle.")]
EmojiInPath = Annotated[
    str,
    PathParameter(max_length=32, description="One emoji, URL-encoded (e.g. %E2%9D%A4%EF%B8%8F)."),
]


class MessagingSettingsController(Controller):
    path = "/messaging/settings"
    tags = ["messaging"]  # noqa: RUF012
    dependencies = MESSAGING_DEPENDENCIES

    @get("", summary="My messaging settings")
    async def read(
        self, principal: NamedDependency[Principal], messaging: NamedDependency[MessagingService]
    ) -> schemas.MessagingSettingsBody:
        return schemas.MessagingSettingsBody(
            dm_policy=await messaging.dm_policy(principal.id)  # type: ignore[arg-type]
        )

    @put("", summary="Choose who may message me", responses=problems(422))
    async def update(
        self,
        data: JSONBody[schemas.MessagingSettingsBody],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> schemas.MessagingSettingsBody:
        await messaging.set_dm_policy(principal.id, data.dm_policy)
        return data


class ThreadController(Controller):
    path = "/threads"
    tags = ["messaging"]  # noqa: RUF012
    dependencies = MESSAGING_DEPENDENCIES

    @get("", summary="My threads, latest activity first, with unread counts")
    async def list_threads(
        self,
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[schemas.ThreadView]:
        items, cursor = await messaging.threads(principal.id, page)
        return CursorPage(items=items, next_cursor=cursor)

    @post(
        "/direct",
        summary="The direct thread with a person: 201 when created, 200 when it existed",
        status_code=200,
        responses={
            201: ResponseSpec(schemas.ThreadView, description="Created: the pair had no thread"),
            **problems(403, 422),
        },
    )
    async def direct(
        self,
        data: JSONBody[schemas.DirectThreadRequest],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> Response[schemas.ThreadView]:
        view, created = await messaging.open_direct(principal.id, data.handle)
        return Response(view, status_code=201 if created else 200)

    @post(
        "/groups",
        summary="Start a group (I become its admin)",
        status_code=201,
        responses=problems(403, 409, 422),
    )
    async def group(
        self,
        data: JSONBody[schemas.GroupDraft],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> schemas.ThreadView:
        return await messaging.create_group(principal.id, data)

    @get(
        "/{thread_id:uuid}", summary="A thread of mine, with every member", responses=problems(404)
    )
    async def read(
        self,
        thread_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> schemas.ThreadView:
        return await messaging.thread(principal.id, thread_id)

    @patch(
        "/{thread_id:uuid}", summary="Rename a group (admins)", responses=problems(403, 404, 409)
    )
    async def rename(
        self,
        thread_id: FromPath[UUID],
        data: JSONBody[schemas.GroupEdit],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> schemas.ThreadView:
        return await messaging.rename(principal.id, thread_id, data.title)

    @post(
        "/{thread_id:uuid}/members",
        summary="Add people to a group (admins)",
        status_code=200,
        responses=problems(403, 404, 409, 422),
    )
    async def add_members(
        self,
        thread_id: FromPath[UUID],
        data: JSONBody[schemas.MembersToAdd],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> schemas.ThreadView:
        return await messaging.add_members(principal.id, thread_id, data.handles)

    @delete(
        "/{thread_id:uuid}/members/{handle:str}",
        summary="Remove someone from a group (admins), or leave it (my own handle)",
        responses=problems(403, 404, 409),
    )
    async def remove_member(
        self,
        thread_id: FromPath[UUID],
        handle: HandleInPath,
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
        jobs: NamedDependency[JobQueue],
    ) -> None:
        emptied = await messaging.remove_member(principal.id, thread_id, handle)
        if emptied is not None:
            await jobs.enqueue(remove_empty_thread, thread_id=str(emptied))

    @put(
        "/{thread_id:uuid}/members/{handle:str}/role",
        summary="Make a member an admin, or an admin a member (admins)",
        responses=problems(403, 404, 409),
    )
    async def set_role(
        self,
        thread_id: FromPath[UUID],
        handle: HandleInPath,
        data: JSONBody[schemas.RoleChange],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> schemas.ThreadView:
        return await messaging.set_role(principal.id, thread_id, handle, data.role)

    @get(
        "/{thread_id:uuid}/messages",
        summary="A thread's messages, newest first (since I joined)",
        responses=problems(404),
    )
    async def history(
        self,
        thread_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[schemas.MessageView]:
        items, cursor = await messaging.history(principal.id, thread_id, page)
        return CursorPage(items=items, next_cursor=cursor)

    @post(
        "/{thread_id:uuid}/messages",
        summary="Send a message (a repeated client_id returns the stored one)",
        status_code=201,
        responses=problems(403, 404, 422, 429),
    )
    async def send(
        self,
        thread_id: FromPath[UUID],
        data: JSONBody[schemas.MessageDraft],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> schemas.MessageView:
        return (await messaging.send(principal.id, thread_id, data)).view

    @get(
        "/{thread_id:uuid}/changes",
        summary="Messages changed since a change number: how an offline client catches up",
        responses=problems(404),
    )
    async def changes(
        self,
        thread_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
        since: Annotated[
            int,
            QueryParameter(ge=0, le=2**53 - 1, description="The last `change_seq` seen (0: all)."),
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 50,
    ) -> schemas.ChangesPage:
        return await messaging.changes(principal.id, thread_id, since, limit)

    @put(
        "/{thread_id:uuid}/read",
        summary="Move my read pointer forward (it also marks delivered)",
        status_code=204,
        responses=problems(404),
    )
    async def read_up_to(
        self,
        thread_id: FromPath[UUID],
        data: JSONBody[schemas.PointerMove],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> None:
        await messaging.move_pointer(principal.id, thread_id, "read", data.seq)

    @put(
        "/{thread_id:uuid}/delivered",
        summary="Move my delivered pointer forward",
        status_code=204,
        responses=problems(404),
    )
    async def delivered_up_to(
        self,
        thread_id: FromPath[UUID],
        data: JSONBody[schemas.PointerMove],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> None:
        await messaging.move_pointer(principal.id, thread_id, "delivered", data.seq)


class MessageController(Controller):
    path = "/messages"
    tags = ["messaging"]  # noqa: RUF012
    dependencies = MESSAGING_DEPENDENCIES

    @patch("/{message_id:uuid}", summary="Edit my message", responses=problems(403, 404, 409, 422))
    async def edit(
        self,
        message_id: FromPath[UUID],
        data: JSONBody[schemas.MessageEdit],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> schemas.MessageView:
        return await messaging.edit(principal.id, message_id, data.text)

    @delete(
        "/{message_id:uuid}",
        summary="Delete my message (others see a tombstone)",
        responses=problems(403, 404, 409),
    )
    async def remove(
        self,
        message_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
        jobs: NamedDependency[JobQueue],
    ) -> None:
        released = await messaging.delete(principal.id, message_id)
        if released:
            await jobs.enqueue(remove_media, media_ids=[str(i) for i in released])

    @put(
        "/{message_id:uuid}/reactions/{emoji:str}",
        summary="React with an emoji (idempotent)",
        status_code=204,
        responses=problems(404, 409, 422),
    )
    async def react(
        self,
        message_id: FromPath[UUID],
        emoji: EmojiInPath,
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> None:
        await messaging.react(principal.id, message_id, emoji, on=True)

    @delete(
        "/{message_id:uuid}/reactions/{emoji:str}",
        summary="Take my reaction back (idempotent)",
        responses=problems(404, 409, 422),
    )
    async def unreact(
        self,
        message_id: FromPath[UUID],
        emoji: EmojiInPath,
        principal: NamedDependency[Principal],
        messaging: NamedDependency[MessagingService],
    ) -> None:
        await messaging.react(principal.id, message_id, emoji, on=False)
