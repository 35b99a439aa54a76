"""HTTP endpoints: reports and appeals for everyone, the queue for moderators."""

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.auth import WHILE_SUSPENDED
from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.services import Principal
from selflink_api.moderation import schemas
from selflink_api.moderation.services import ModerationService, ModerationToolkit
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.openapi import problems
from selflink_api.platform.pagination import CursorPage, PageRequest
from selflink_api.platform.security import requires_moderator


def provide_moderation_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    jobs: NamedDependency[JobQueue],
) -> ModerationService:
    toolkit: ModerationToolkit = request.app.state.moderation
    return ModerationService(db_session, toolkit, jobs)


MODERATION_DEPENDENCIES = {
    **ACCOUNT_DEPENDENCIES,
    "moderation": Provide(provide_moderation_service, sync_to_thread=False),
}
ReportStatusQuery = Annotated[
    schemas.ReportStatusName, QueryParameter(description="Which reports (default: open).")
]
AppealStatusQuery = Annotated[
    schemas.AppealStatusName, QueryParameter(description="Which appeals (default: open).")
]


class ReportController(Controller):
    path = "/reports"
    tags = ["moderation"]  # noqa: RUF012
    dependencies = MODERATION_DEPENDENCIES

    @post(
        "",
        summary="Report a person, post, comment or message: 201 when new, 200 when it updated "
        "my open report of the same thing",
        status_code=200,
        responses={
            201: ResponseSpec(schemas.ReportReceipt, description="Created: a new report"),
            **problems(404, 422),
        },
    )
    async def report(
        self,
        data: JSONBody[schemas.ReportDraft],
        principal: NamedDependency[Principal],
        moderation: NamedDependency[ModerationService],
    ) -> Response[schemas.ReportReceipt]:
        receipt, created = await moderation.report(principal.id, data)
        return Response(receipt, status_code=201 if created else 200)


class MyDecisionsController(Controller):
    """What was decided about me; reachable while suspended, so I can read why and appeal."""

    path = "/moderation/decisions"
    tags = ["moderation"]  # noqa: RUF012
    dependencies = MODERATION_DEPENDENCIES
    opt = {WHILE_SUSPENDED: True}  # noqa: RUF012

    @get("", summary="Decisions about me, newest first, with my content removals' reasons")
    async def mine(
        self,
        principal: NamedDependency[Principal],
        moderation: NamedDependency[ModerationService],
    ) -> list[schemas.DecisionView]:
        return await moderation.my_decisions(principal.id)

    @post(
        "/{decision_id:uuid}/appeal",
        summary="Appeal a decision about me (once)",
        status_code=201,
        responses=problems(404, 409, 422),
    )
    async def appeal(
        self,
        decision_id: FromPath[UUID],
        data: JSONBody[schemas.AppealDraft],
        principal: NamedDependency[Principal],
        moderation: NamedDependency[ModerationService],
    ) -> schemas.AppealView:
        return await moderation.appeal(principal.id, decision_id, data)


class ModerationStaffController(Controller):
    path = "/staff/moderation"
    tags = ["moderation", "staff"]  # noqa: RUF012
    guards = [requires_moderator]  # noqa: RUF012
    dependencies = MODERATION_DEPENDENCIES

    @get("/reports", summary="The queue: reports in one state, oldest first")
    async def queue(
        self,
        moderation: NamedDependency[ModerationService],
        page: NamedDependency[PageRequest],
        status: ReportStatusQuery = "open",
    ) -> CursorPage[schemas.ReportSummary]:
        items, cursor = await moderation.queue(status, page)
        return CursorPage(items=items, next_cursor=cursor)

    @get(
        "/reports/{report_id:uuid}",
        summary="A report with the target as reported, its notes and decisions",
    )
    async def detail(
        self, report_id: FromPath[UUID], moderation: NamedDependency[ModerationService]
    ) -> schemas.ReportDetail:
        return await moderation.detail(report_id)

    @post(
        "/reports/{report_id:uuid}/assign",
        summary="Take a report into review, or give it to another moderator",
        status_code=200,
        responses=problems(409, 422),
    )
    async def assign(
        self,
        report_id: FromPath[UUID],
        data: JSONBody[schemas.Assignment],
        principal: NamedDependency[Principal],
        moderation: NamedDependency[ModerationService],
    ) -> schemas.ReportSummary:
        return await moderation.assign(principal, report_id, data)

    @post(
        "/reports/{report_id:uuid}/notes",
        summary="Add a staff note to a report",
        status_code=201,
        responses=problems(422),
    )
    async def note(
        self,
        report_id: FromPath[UUID],
        data: JSONBody[schemas.NoteDraft],
        principal: NamedDependency[Principal],
        moderation: NamedDependency[ModerationService],
    ) -> schemas.NoteView:
        return await moderation.add_note(principal, report_id, data)

    @post(
        "/reports/{report_id:uuid}/dismiss",
        summary="Close a report without a decision",
        status_code=200,
        responses=problems(409),
    )
    async def dismiss(
        self,
        report_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        moderation: NamedDependency[ModerationService],
    ) -> schemas.ReportSummary:
        return await moderation.dismiss(principal, report_id)

    @post(
        "/reports/{report_id:uuid}/decisions",
        summary="Decide on a report: remove the content, warn, suspend for some hours, or ban",
        status_code=201,
        responses=problems(403, 409, 422),
    )
    async def decide(
        self,
        report_id: FromPath[UUID],
        data: JSONBody[schemas.DecisionDraft],
        principal: NamedDependency[Principal],
        moderation: NamedDependency[ModerationService],
    ) -> schemas.DecisionView:
        return await moderation.decide(principal, report_id, data)

    @get("/appeals", summary="Appeals in one state, oldest first")
    async def appeals(
        self,
        moderation: NamedDependency[ModerationService],
        page: NamedDependency[PageRequest],
        status: AppealStatusQuery = "open",
    ) -> CursorPage[schemas.AppealView]:
        items, cursor = await moderation.appeals(status, page)
        return CursorPage(items=items, next_cursor=cursor)

    @post(
        "/appeals/{appeal_id:uuid}/decision",
        summary="Uphold or overturn an appeal (not by the staff member who decided)",
        status_code=201,
        responses=problems(403, 409, 422),
    )
    async def decide_appeal(
        self,
        appeal_id: FromPath[UUID],
        data: JSONBody[schemas.AppealOutcome],
        principal: NamedDependency[Principal],
        moderation: NamedDependency[ModerationService],
    ) -> schemas.DecisionView:
        return await moderation.decide_appeal(principal, appeal_id, data)
