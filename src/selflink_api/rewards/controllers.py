"""HTTP endpoints of rewards: public transparency, GitHub ingestion, contributors, staff."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.services import Principal
from selflink_api.platform.events import PAYOUT_STATE_CHANGED
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.openapi import problems
from selflink_api.platform.pagination import PageRequest
from selflink_api.platform.problems import MALFORMED_BODY, ProblemError
from selflink_api.platform.requests import parse_json
from selflink_api.platform.security import requires_staff
from selflink_api.platform.values import INT32_MAX
from selflink_api.rewards import schemas
from selflink_api.rewards.dependencies import (
    provide_dispute_service,
    provide_ledger_service,
    provide_link_service,
    provide_payout_service,
    provide_settings,
    provide_transparency_service,
)
from selflink_api.rewards.disputes import DisputeService
from selflink_api.rewards.github import Webhook, provide_webhook, recent_deliveries, record_delivery
from selflink_api.rewards.jobs import score_delivery
from selflink_api.rewards.ledger import LedgerService
from selflink_api.rewards.links import LinkService
from selflink_api.rewards.models import (
    DeliveryStatus,
    GithubDelivery,
)
from selflink_api.rewards.payouts import PayoutService
from selflink_api.rewards.transparency import TransparencyService
from selflink_core.rewards import (
    EVENTS_FILE,
    MANIFEST_FILE,
    PAYOUTS_FILE,
    PERIOD_PATTERN,
    SUMS_FILE,
)

PUBLIC = {"exclude_from_auth": True}
MEDIA_TYPES = {
    EVENTS_FILE: "application/x-ndjson",
    MANIFEST_FILE: "application/json",
    PAYOUTS_FILE: "text/csv",
    SUMS_FILE: "text/plain",
}
PeriodInPath = Annotated[
    str, PathParameter(pattern=schemas.PERIOD_PATTERN, description="A month, YYYY-MM.")
]
Version = Annotated[
    int | None,
    QueryParameter(ge=1, le=INT32_MAX, description="A committed version; the latest by default."),
]


REWARDS_DEPENDENCIES = {
    **ACCOUNT_DEPENDENCIES,
    "settings": Provide(provide_settings, sync_to_thread=False),
    "webhook": Provide(provide_webhook),
    "ledger": Provide(provide_ledger_service, sync_to_thread=False),
    "transparency": Provide(provide_transparency_service, sync_to_thread=False),
    "links": Provide(provide_link_service, sync_to_thread=False),
    "disputes": Provide(provide_dispute_service, sync_to_thread=False),
    "payouts": Provide(provide_payout_service, sync_to_thread=False),
}


def delivery_view(delivery: GithubDelivery) -> schemas.DeliveryView:
    return schemas.DeliveryView(
        delivery_id=delivery.delivery_id,
        event_type=delivery.event_type,
        status=delivery.status,
        outcome=delivery.outcome,
        event_seq=delivery.event_seq,
        payload_sha256=delivery.payload_sha256,
        received_at=delivery.created_at,
    )


class RewardsController(Controller):
    """Public: anyone can download and re-check everything."""

    path = "/rewards"
    tags = ["rewards"]  # noqa: RUF012
    dependencies = REWARDS_DEPENDENCIES

    @get(
        "/ledger.jsonl",
        opt=PUBLIC,
        summary="The whole ledger, format-1 lines in seq order",
        media_type="application/x-ndjson",
    )
    async def ledger(self, request: Request[Any, Any, Any]) -> Stream:
        """Its own session: the request's closes as the response starts, before the stream runs."""
        session_maker = request.app.state.session_maker

        async def lines() -> AsyncIterator[bytes]:
            async with session_maker() as session:
                async for chunk in LedgerService(session).lines():
                    yield chunk

        return Stream(lines(), media_type="application/x-ndjson")

    @get("/periods", opt=PUBLIC, summary="Every committed month: state, version, root and totals")
    async def periods(
        self, transparency: NamedDependency[TransparencyService]
    ) -> list[schemas.PeriodSummary]:
        return await transparency.periods()

    @get("/periods/{period:str}", opt=PUBLIC, summary="One month and its versions")
    async def period(
        self, period: PeriodInPath, transparency: NamedDependency[TransparencyService]
    ) -> schemas.PeriodDetail:
        return await transparency.period(period)

    @get(
        "/periods/{period:str}/files/{name:str}", opt=PUBLIC, summary="A bundle file, byte for byte"
    )
    async def file(
        self,
        period: PeriodInPath,
        name: FromPath[str],
        transparency: NamedDependency[TransparencyService],
        version: Version = None,
    ) -> Response[bytes]:
        content = await transparency.file(period, name, version)
        return Response(
            content,
            media_type=MEDIA_TYPES[name],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @get(
        "/periods/{period:str}/proofs/{contributor:str}",
        opt=PUBLIC,
        summary="A contributor's inclusion proof",
    )
    async def proof(
        self,
        period: PeriodInPath,
        contributor: FromPath[str],
        transparency: NamedDependency[TransparencyService],
        version: Version = None,
    ) -> Response[bytes]:
        content = await transparency.proof(period, contributor, version)
        return Response(content, media_type="application/json")

    @get(
        "/contributors/{contributor:str}/statement",
        opt=PUBLIC,
        summary="A contributor's events and months",
    )
    async def statement(
        self, contributor: FromPath[str], transparency: NamedDependency[TransparencyService]
    ) -> schemas.Statement:
        return await transparency.statement(contributor)

    @post(
        "/github/webhook",
        opt=PUBLIC,
        summary="GitHub pull_request webhook (signed)",
        status_code=202,
        responses={
            200: ResponseSpec(data_container=dict[str, str], description="A ping, answered"),
            **problems(400, 401, 413, 415, 422, 503),
        },
    )
    async def github_webhook(
        self,
        webhook: NamedDependency[Webhook],
        db_session: NamedDependency[AsyncSession],
        jobs: NamedDependency[JobQueue],
    ) -> Response[Any]:
        if webhook.event_type == "ping":
            return Response({"status": "pong"}, status_code=200)
        try:
            parse_json(webhook.body)
        except ValueError:
            raise ProblemError(MALFORMED_BODY, "The payload is not valid JSON.") from None
        recorded = await record_delivery(
            db_session, webhook.delivery_id, webhook.event_type, webhook.body
        )
        if recorded.is_new:
            await jobs.enqueue(score_delivery, delivery_id=str(recorded.delivery.id))
        accepted = schemas.DeliveryAccepted(
            delivery=webhook.delivery_id,
            status=recorded.delivery.status,
            duplicate=not recorded.is_new,
        )
        return Response(accepted, status_code=202)

    @post(
        "/links",
        summary="Ask to link a GitHub account to mine",
        status_code=201,
        responses=problems(409),
    )
    async def request_link(
        self,
        data: JSONBody[schemas.LinkRequest],
        principal: NamedDependency[Principal],
        links: NamedDependency[LinkService],
    ) -> schemas.LinkView:
        link = await links.request(principal.id, data.github_id, data.github_login, data.evidence)
        return msgspec.convert(link, schemas.LinkView, from_attributes=True)

    @get("/links/me", summary="My link requests")
    async def my_links(
        self, principal: NamedDependency[Principal], links: NamedDependency[LinkService]
    ) -> list[schemas.LinkView]:
        return msgspec.convert(
            await links.mine(principal.id), list[schemas.LinkView], from_attributes=True
        )

    @post(
        "/periods/{period:str}/disputes",
        summary="Dispute a month during its window",
        status_code=201,
        responses=problems(409),
    )
    async def open_dispute(
        self,
        period: PeriodInPath,
        data: JSONBody[schemas.DisputeRequest],
        principal: NamedDependency[Principal],
        disputes: NamedDependency[DisputeService],
    ) -> schemas.DisputeView:
        dispute = await disputes.open(principal.id, period, data.reason, data.event_id)
        return msgspec.convert(dispute, schemas.DisputeView, from_attributes=True)

    @get("/disputes/me", summary="My disputes")
    async def my_disputes(
        self, principal: NamedDependency[Principal], disputes: NamedDependency[DisputeService]
    ) -> list[schemas.DisputeView]:
        return msgspec.convert(
            await disputes.mine(principal.id), list[schemas.DisputeView], from_attributes=True
        )


class RewardsStaffController(Controller):
    """Staff: manual events, link decisions, dispute answers, payout transitions."""

    path = "/staff/rewards"
    tags = ["rewards-staff"]  # noqa: RUF012
    guards = [requires_staff]  # noqa: RUF012
    dependencies = REWARDS_DEPENDENCIES

    @post(
        "/events",
        summary="Append a manual event (bounty, bonus, penalty, adjustment, reversal)",
        status_code=201,
    )
    async def append_event(
        self,
        data: JSONBody[schemas.ManualEventRequest],
        principal: NamedDependency[Principal],
        ledger: NamedDependency[LedgerService],
    ) -> schemas.LedgerEvent:
        event = await ledger.append_manual(
            kind=data.kind,
            contributor=data.contributor,
            points=data.points,
            reason=data.reason,
            event_id=data.event_id,
            period=data.period,
            reverses=data.reverses,
            ref=data.ref,
            staff_id=principal.id,
        )
        return msgspec.convert(event.as_json_object(), schemas.LedgerEvent)

    @get("/links", summary="Link requests awaiting a decision")
    async def pending_links(self, links: NamedDependency[LinkService]) -> list[schemas.LinkView]:
        return msgspec.convert(await links.pending(), list[schemas.LinkView], from_attributes=True)

    @post(
        "/links/{link_id:uuid}/{decision:str}",
        summary="Approve (held payouts become pending) or reject a link request",
        status_code=200,
    )
    async def decide_link(
        self,
        link_id: FromPath[uuid.UUID],
        decision: FromPath[Literal["approve", "reject"]],
        data: JSONBody[schemas.Decision],
        principal: NamedDependency[Principal],
        links: NamedDependency[LinkService],
    ) -> schemas.LinkView:
        link = await links.decide(
            link_id, approve=decision == "approve", staff_id=principal.id, note=data.note
        )
        return msgspec.convert(link, schemas.LinkView, from_attributes=True)

    @get("/disputes", summary="Every dispute, optionally by state")
    async def disputes(
        self,
        disputes: NamedDependency[DisputeService],
        dispute_state: Annotated[
            str | None, QueryParameter(name="state", description="open, accepted or rejected")
        ] = None,
    ) -> list[schemas.DisputeView]:
        return msgspec.convert(
            await disputes.all(dispute_state), list[schemas.DisputeView], from_attributes=True
        )

    @post(
        "/disputes/{dispute_id:uuid}/{decision:str}",
        summary="Accept (then correct with new events and a new version) or reject a dispute",
        status_code=200,
    )
    async def resolve_dispute(
        self,
        dispute_id: FromPath[uuid.UUID],
        decision: FromPath[Literal["accept", "reject"]],
        data: JSONBody[schemas.Decision],
        principal: NamedDependency[Principal],
        disputes: NamedDependency[DisputeService],
    ) -> schemas.DisputeView:
        dispute = await disputes.resolve(
            dispute_id, accept=decision == "accept", staff_id=principal.id, note=data.note
        )
        return msgspec.convert(dispute, schemas.DisputeView, from_attributes=True)

    @get("/github/deliveries", summary="GitHub deliveries, newest first: what became of each")
    async def deliveries(
        self,
        db_session: NamedDependency[AsyncSession],
        page: NamedDependency[PageRequest],
        status: Annotated[
            DeliveryStatus | None,
            QueryParameter(description="received, appended, ignored, duplicate or failed"),
        ] = None,
    ) -> schemas.Deliveries:
        items, cursor = await recent_deliveries(db_session, status, page)
        return schemas.Deliveries(items=[delivery_view(d) for d in items], next_cursor=cursor)

    @get("/payouts", summary="Payouts, by period and state")
    async def payouts(
        self,
        payouts: NamedDependency[PayoutService],
        period: Annotated[str | None, QueryParameter(pattern=PERIOD_PATTERN)] = None,
        payout_state: Annotated[str | None, QueryParameter(name="state")] = None,
    ) -> list[schemas.PayoutView]:
        found = await payouts.find(period=period, state=payout_state)
        return msgspec.convert(found, list[schemas.PayoutView], from_attributes=True)

    @post(
        "/payouts/{payout_id:uuid}/transitions",
        summary="Move a payout (repeating a transition is a no-op)",
        status_code=200,
    )
    async def transition(
        self,
        payout_id: FromPath[uuid.UUID],
        data: JSONBody[schemas.TransitionRequest],
        principal: NamedDependency[Principal],
        payouts: NamedDependency[PayoutService],
        request: Request[Any, Any, Any],
        jobs: NamedDependency[JobQueue],
    ) -> schemas.PayoutDetail:
        payout, changed = await payouts.transition(
            payout_id,
            data.to,
            actor=f"user:{principal.id}",
            actor_id=principal.id,
            method=data.method,
            external_ref=data.external_ref,
            note=data.note,
        )
        if changed:
            await request.app.state.shared.events.publish(
                jobs, PAYOUT_STATE_CHANGED, payout_id=str(payout.id), state=payout.state
            )
        history = [
            schemas.TransitionView(
                from_state=t.from_state,
                to_state=t.to_state,
                actor=t.actor,
                method=t.method,
                external_ref=t.external_ref,
                note=t.note,
                at=t.created_at,
            )
            for t in await payouts.transitions(payout.id)
        ]
        return schemas.PayoutDetail(
            payout=msgspec.convert(payout, schemas.PayoutView, from_attributes=True),
            changed=changed,
            transitions=history,
        )
