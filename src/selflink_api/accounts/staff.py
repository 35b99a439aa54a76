"""Staff endpoints: audited access to personal data, suspensions, the local outbox."""

from datetime import UTC, datetime

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts import schemas
from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.models import AccountStatus, Role
from selflink_api.accounts.services import AccountService, Principal
from selflink_api.audit import services as audit
from selflink_api.notifications import services as outbox
from selflink_api.platform.problems import CONFLICT, NOT_FOUND, ProblemError
from selflink_api.platform.security import requires_staff
from selflink_api.settings import Profile
from selflink_api.social.services import SocialService


class HeldEmail(msgspec.Struct, kw_only=True):
    id: str
    kind: str
    created_at: datetime
    to: str
    subject: str
    body: str


class StaffController(Controller):
    path = "/staff"
    tags = ["staff"]  # noqa: RUF012
    guards = [requires_staff]  # noqa: RUF012
    dependencies = ACCOUNT_DEPENDENCIES

    @get("/users/{handle:str}/personal-data", summary="A person's personal data (audited)")
    async def personal_data(
        self,
        handle: FromPath[str],
        principal: NamedDependency[Principal],
        accounts: NamedDependency[AccountService],
        social: NamedDependency[SocialService],
    ) -> schemas.PersonalDataForStaff:
        user = await social.user_by_handle(handle)
        data = await accounts.personal_data.load(user.id) or schemas.PersonalData(email="")
        await audit.record(
            accounts.session, actor_id=principal.id, action="pii.read", subject=f"user:{user.id}"
        )
        return schemas.PersonalDataForStaff(
            handle=user.handle,
            email=data.email,
            full_name=data.full_name,
            phone=data.phone,
            birth=data.birth,
            status=user.status,
            role=user.role,
        )

    @post(
        "/users/{handle:str}/suspend",
        summary="Suspend an account (ends its sessions)",
        status_code=204,
    )
    async def suspend(
        self,
        handle: FromPath[str],
        principal: NamedDependency[Principal],
        accounts: NamedDependency[AccountService],
        social: NamedDependency[SocialService],
    ) -> None:
        user = await social.user_by_handle(handle)
        if user.role == Role.ADMIN or user.id == principal.id:
            raise ProblemError(CONFLICT, "Admins and yourself cannot be suspended here.")
        user.status = AccountStatus.SUSPENDED
        await accounts.sessions.revoke_all(user.id, "suspended")
        await audit.record(
            accounts.session,
            actor_id=principal.id,
            action="user.suspend",
            subject=f"user:{user.id}",
        )

    @post("/users/{handle:str}/reinstate", summary="Lift a suspension", status_code=204)
    async def reinstate(
        self,
        handle: FromPath[str],
        principal: NamedDependency[Principal],
        accounts: NamedDependency[AccountService],
        social: NamedDependency[SocialService],
    ) -> None:
        user = await social.user_by_handle(handle)
        if user.status == AccountStatus.SUSPENDED:
            user.status = AccountStatus.ACTIVE
            await audit.record(
                accounts.session,
                actor_id=principal.id,
                action="user.reinstate",
                subject=f"user:{user.id}",
            )

    @get("/outbox", summary="Emails held for local reading (not in production)")
    async def held_outbox(
        self,
        principal: NamedDependency[Principal],
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
    ) -> list[HeldEmail]:
        if accounts.settings.profile is Profile.PRODUCTION:
            raise ProblemError(NOT_FOUND, "The outbox is not readable in production.")
        messages = await outbox.held_messages(db_session)
        await audit.record(
            db_session, actor_id=principal.id, action="outbox.read", subject="outbox"
        )
        held = []
        for message in messages:
            email = outbox.read_email(accounts.toolkit.cipher, message)
            if email is not None:
                held.append(
                    HeldEmail(
                        id=str(message.id),
                        kind=message.kind,
                        created_at=message.created_at.astimezone(UTC),
                        to=email.to,
                        subject=email.subject,
                        body=email.body,
                    )
                )
        return held
