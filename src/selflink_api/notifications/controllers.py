"""HTTP endpoints of my notifications, my notification preferences and my push devices."""

from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.services import Principal
from selflink_api.notifications import schemas
from selflink_api.notifications.services import NotificationService
from selflink_api.platform.openapi import problems
from selflink_api.platform.pagination import CursorPage, PageRequest
from selflink_api.platform.problems import ProblemError

T = TypeVar("T")


def provide_notification_service(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> NotificationService:
    return NotificationService(db_session, request.app.state.notifications.application_server_key)


def strictly(body: bytes, kind: type[T]) -> T:
    """Decode a body without Litestar's lax conversions (a switch is a JSON boolean, not 0)."""
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        where = str(exc).rpartition("`$.")[2].rstrip("`") if "`$." in str(exc) else "body"
        raise ProblemError.invalid(where, str(exc).split(" - at ")[0]) from None


NOTIFICATION_DEPENDENCIES = {
    **ACCOUNT_DEPENDENCIES,
    "notifications": Provide(provide_notification_service, sync_to_thread=False),
}


class NotificationController(Controller):
    path = "/notifications"
    tags = ["notifications"]  # noqa: RUF012
    dependencies = NOTIFICATION_DEPENDENCIES

    @get("", summary="My notifications, newest first or unread first")
    async def list_notifications(
        self,
        principal: NamedDependency[Principal],
        notifications: NamedDependency[NotificationService],
        page: NamedDependency[PageRequest],
        order: Annotated[
            schemas.Order,
            QueryParameter(description="`newest` (latest activity first) or `unread` first."),
        ] = "newest",
    ) -> CursorPage[schemas.NotificationView]:
        items, cursor = await notifications.page(principal.id, order, page)
        return CursorPage(items=items, next_cursor=cursor)

    @get("/unread-count", summary="How many of my notifications are unread")
    async def unread_count(
        self,
        principal: NamedDependency[Principal],
        notifications: NamedDependency[NotificationService],
    ) -> schemas.UnreadCount:
        return schemas.UnreadCount(unread=await notifications.unread(principal.id))

    @post(
        "/{notification_id:uuid}/read",
        summary="Mark one notification read (idempotent)",
        status_code=204,
        responses=problems(404),
    )
    async def mark_read(
        self,
        notification_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        notifications: NamedDependency[NotificationService],
    ) -> None:
        await notifications.mark_read(principal.id, notification_id)

    @post("/read-all", summary="Mark every notification read", status_code=200)
    async def mark_all_read(
        self,
        principal: NamedDependency[Principal],
        notifications: NamedDependency[NotificationService],
    ) -> schemas.MarkedRead:
        return schemas.MarkedRead(marked=await notifications.mark_all_read(principal.id))

    @get("/preferences", summary="What I am told, through which channel, and my quiet hours")
    async def preferences(
        self,
        principal: NamedDependency[Principal],
        notifications: NamedDependency[NotificationService],
    ) -> schemas.Preferences:
        return await notifications.preferences(principal.id)

    @patch(
        "/preferences", summary="Change some preferences or quiet hours", responses=problems(422)
    )
    async def update_preferences(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.PreferencesUpdate],
        principal: NamedDependency[Principal],
        notifications: NamedDependency[NotificationService],
    ) -> schemas.Preferences:
        del data  # documents the body; read strictly below, so `0` is no `false`
        changes = strictly(await request.body(), schemas.PreferencesUpdate)
        return await notifications.update_preferences(principal.id, changes)


class PushDeviceController(Controller):
    path = "/notifications/push"
    tags = ["notifications"]  # noqa: RUF012
    dependencies = NOTIFICATION_DEPENDENCIES

    @get("/key", summary="The VAPID public key to subscribe browsers with")
    async def key(
        self,
        principal: NamedDependency[Principal],
        notifications: NamedDependency[NotificationService],
    ) -> schemas.PushKey:
        del principal
        return notifications.push_key()

    @put(
        "/devices",
        summary="Register this browser's push subscription (same endpoint: updated)",
        responses=problems(422),
    )
    async def register(
        self,
        data: JSONBody[schemas.DeviceRegistration],
        principal: NamedDependency[Principal],
        notifications: NamedDependency[NotificationService],
    ) -> schemas.DeviceView:
        return await notifications.register_device(principal.id, data)

    @get("/devices", summary="My push devices")
    async def devices(
        self,
        principal: NamedDependency[Principal],
        notifications: NamedDependency[NotificationService],
    ) -> list[schemas.DeviceView]:
        return await notifications.devices(principal.id)

    @delete(
        "/devices/{device_id:uuid}",
        summary="Stop pushing to a device",
        status_code=204,
        responses=problems(404),
    )
    async def remove(
        self,
        device_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        notifications: NamedDependency[NotificationService],
    ) -> None:
        await notifications.remove_device(principal.id, device_id)
