"""What staff may do to accounts: read personal data (audited), suspend, reinstate, read the
held outbox. Every action leaves an audit record."""

from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts import schemas
from selflink_api.accounts.models import AccountStatus, Role
from selflink_api.accounts.services import (
    AccountsToolkit,
    PersonalDataStore,
    Principal,
    SessionService,
    user_by_handle,
)
from selflink_api.audit import services as audit
from selflink_api.email import services as outbox
from selflink_api.platform.problems import CONFLICT, NOT_FOUND, ProblemError
from selflink_api.settings import Profile


class StaffService:
    def __init__(self, session: AsyncSession, toolkit: AccountsToolkit, staff: Principal) -> None:
        self.session = session
        self.toolkit = toolkit
        self.staff = staff

    async def personal_data(self, handle: str) -> schemas.PersonalDataForStaff:
        user = await user_by_handle(self.session, handle)
        store = PersonalDataStore(self.session, self.toolkit.cipher)
        data = await store.load(user.id) or schemas.PersonalData(email="")
        await audit.record(
            self.session, actor_id=self.staff.id, action="pii.read", subject=f"user:{user.id}"
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

    async def suspend(self, handle: str) -> None:
        user = await user_by_handle(self.session, handle)
        if user.role == Role.ADMIN or user.id == self.staff.id:
            raise ProblemError(CONFLICT, "Admins and yourself cannot be suspended here.")
        user.status, user.suspended_until = AccountStatus.SUSPENDED, None
        await SessionService(self.session, self.toolkit.settings).revoke_all(user.id, "suspended")
        await audit.record(
            self.session, actor_id=self.staff.id, action="user.suspend", subject=f"user:{user.id}"
        )

    async def reinstate(self, handle: str) -> None:
        user = await user_by_handle(self.session, handle)
        if user.status == AccountStatus.SUSPENDED:
            user.status, user.suspended_until = AccountStatus.ACTIVE, None
            await audit.record(
                self.session,
                actor_id=self.staff.id,
                action="user.reinstate",
                subject=f"user:{user.id}",
            )

    async def held_emails(self) -> list[schemas.HeldEmail]:
        """Emails held for want of SMTP; never readable in production."""
        if self.toolkit.settings.profile is Profile.PRODUCTION:
            raise ProblemError(NOT_FOUND, "The outbox is not readable in production.")
        messages = await outbox.held_messages(self.session)
        await audit.record(
            self.session, actor_id=self.staff.id, action="outbox.read", subject="outbox"
        )
        held = []
        for message in messages:
            email = outbox.read_email(self.toolkit.cipher, message)
            if email is not None:
                held.append(
                    schemas.HeldEmail(
                        id=str(message.id),
                        kind=message.kind,
                        created_at=message.created_at,
                        to=email.to,
                        subject=email.subject,
                        body=email.body,
                    )
                )
        return held
