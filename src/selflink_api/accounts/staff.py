"""Staff endpoints: audited access to personal data, suspensions, the held outbox."""

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts import schemas
from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.dependencies import provide_principal
from selflink_api.accounts.staff_services import StaffService
from selflink_api.platform.database import AUDITED_READ
from selflink_api.platform.security import requires_staff


def provide_staff_service(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> StaffService:
    return StaffService(db_session, request.app.state.accounts, provide_principal(request))


class StaffController(Controller):
    path = "/staff"
    tags = ["staff"]  # noqa: RUF012
    guards = [requires_staff]  # noqa: RUF012
    dependencies = {  # noqa: RUF012
        **ACCOUNT_DEPENDENCIES,
        "staff": Provide(provide_staff_service, sync_to_thread=False),
    }

    @get(
        "/users/{handle:str}/personal-data",
        summary="A person's personal data (audited)",
        opt={AUDITED_READ: True},
    )
    async def personal_data(
        self, handle: FromPath[str], staff: NamedDependency[StaffService]
    ) -> schemas.PersonalDataForStaff:
        return await staff.personal_data(handle)

    @post(
        "/users/{handle:str}/suspend",
        summary="Suspend an account (ends its sessions)",
        status_code=204,
    )
    async def suspend(self, handle: FromPath[str], staff: NamedDependency[StaffService]) -> None:
        await staff.suspend(handle)

    @post("/users/{handle:str}/reinstate", summary="Lift a suspension", status_code=204)
    async def reinstate(self, handle: FromPath[str], staff: NamedDependency[StaffService]) -> None:
        await staff.reinstate(handle)

    @get(
        "/outbox",
        summary="Emails held for local reading (not in production)",
        opt={AUDITED_READ: True},
    )
    async def held_outbox(self, staff: NamedDependency[StaffService]) -> list[schemas.HeldEmail]:
        return await staff.held_emails()
