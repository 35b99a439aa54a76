"""HTTP endpoints of rewards: public transparency, GitHub ingestion, contributors, staff."""

import json
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
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.openapi import problems
from selflink_api.platform.pagination import PageRequest
from selflink_api.platform.problems import (
    BAD_REQUEST,
    MALFORMED_BODY,
    PAYLOAD_TOO_LARGE,
    UNAUTHORIZED,
    UNAVAILABLE,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION,
    ProblemError,
)
from selflink_api.platform.security import requires_staff
from selflink_api.rewards import schemas
from selflink_api.rewards.disputes import DisputeService
from selflink_api.rewards.github import (
    SCORED_EVENTS,
    recent_deliveries,
    record_delivery,
    signature_is_valid,
)
from selflink_api.rewards.jobs import score_delivery
from selflink_api.rewards.ledger import LedgerService
from selflink_api.rewards.links import LinkService
from selflink_api.rewards.models import (
    ContributorLinkRequest,
    DeliveryStatus,
    GithubDelivery,
    RewardDispute,
    RewardPayout,
)
from selflink_api.rewards.payouts import PayoutService
from selflink_api.rewards.transparency import TransparencyService
from selflink_api.settings import Settings
from selflink_core.rewards import EVENTS_FILE, MANIFEST_FILE, PAYOUTS_FILE, SUMS_FILE

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
    int | None, QueryParameter(ge=1, description="A committed version; the latest by default.")
]


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


REWARDS_DEPENDENCIES = {
    **ACCOUNT_DEPENDENCIES,
    "settings": Provide(provide_settings, sync_to_thread=False),
}


def link_view(link: ContributorLinkRequest) -> schemas.LinkView:
    return schemas.LinkView(
        id=link.id,
        contributor=link.contributor,
        github_login=link.github_login,
        state=link.state,
        note=link.note,
        created_at=link.created_at,
        decided_at=link.decided_at,
    )


def dispute_view(dispute: RewardDispute) -> schemas.DisputeView:
    return schemas.DisputeView(
        id=dispute.id,
        period=dispute.period,
        version=dispute.version,
        contributor=dispute.contributor,
        reason=dispute.reason,
        event_id=dispute.event_id,
        state=dispute.state,
        resolution_note=dispute.resolution_note,
        created_at=dispute.created_at,
        resolved_at=dispute.resolved_at,
    )


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


def payout_view(payout: RewardPayout) -> schemas.PayoutView:
    return schemas.PayoutView(
        id=payout.id,
        period=payout.period,
        contributor=payout.contributor,
        amount_cents=payout.amount_cents,
        currency=payout.currency,
        state=payout.state,
        method=payout.method,
        external_ref=payout.external_ref,
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
        session_maker = request.app.state.session_maker

        async def lines() -> AsyncIterator[bytes]:
            async with session_maker() as session:
                async for chunk in LedgerService(session).lines():
                    yield chunk

        return Stream(lines(), media_type="application/x-ndjson")

    @get("/periods", opt=PUBLIC, summary="Every committed month: state, version, root and totals")
    async def periods(
        self, db_session: NamedDependency[AsyncSession]
    ) -> list[schemas.PeriodSummary]:
        return await TransparencyService(db_session).periods()

    @get("/periods/{period:str}", opt=PUBLIC, summary="One month and its versions")
    async def period(
        self, period: PeriodInPath, db_session: NamedDependency[AsyncSession]
    ) -> schemas.PeriodDetail:
        return await TransparencyService(db_session).period(period)

    @get(
        "/periods/{period:str}/files/{name:str}", opt=PUBLIC, summary="A bundle file, byte for byte"
    )
    async def file(
        self,
        period: PeriodInPath,
        name: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        version: Version = None,
    ) -> Response[bytes]:
        content = await TransparencyService(db_session).file(period, name, version)
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
        db_session: NamedDependency[AsyncSession],
        version: Version = None,
    ) -> Response[bytes]:
        content = await TransparencyService(db_session).proof(period, contributor, version)
        return Response(content, media_type="application/json")

    @get(
        "/contributors/{contributor:str}/statement",
        opt=PUBLIC,
        summary="A contributor's events and months",
    )
    async def statement(
        self, contributor: FromPath[str], db_session: NamedDependency[AsyncSession]
    ) -> schemas.Statement:
        return await TransparencyService(db_session).statement(contributor)

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
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        jobs: NamedDependency[JobQueue],
        settings: NamedDependency[Settings],
    ) -> Response[Any]:
        secret = settings.github_webhook_secret.get_secret_value()
        if not secret:
            raise ProblemError(
                UNAVAILABLE, "GitHub webhooks are not configured here (GITHUB_WEBHOOK_SECRET)."
            )
        body = await request.body()
        if len(body) > settings.github_webhook_max_bytes:
            raise ProblemError(
                PAYLOAD_TOO_LARGE,
                f"Payloads are limited to {settings.github_webhook_max_bytes} bytes.",
            )
        if not signature_is_valid(secret, body, request.headers.get("x-hub-signature-256")):
            raise ProblemError(UNAUTHORIZED, "X-Hub-Signature-256 does not match this payload.")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise ProblemError(UNSUPPORTED_MEDIA_TYPE, "Send the webhook as application/json.")
        event_type = request.headers.get("x-github-event", "")
        delivery_id = request.headers.get("x-github-delivery", "")
        if not delivery_id or len(delivery_id) > 100:
            raise ProblemError(BAD_REQUEST, "X-GitHub-Delivery is missing or too long.")
        if event_type == "ping":
            return Response({"status": "pong"}, status_code=200)
        if event_type not in SCORED_EVENTS:
            raise ProblemError(
                VALIDATION,
                f"X-GitHub-Event {event_type!r} is not handled; subscribe to pull_request only.",
                errors=[
                    {"field": "X-GitHub-Event", "source": "header", "message": "unsupported event"}
                ],
            )
        try:
            json.loads(body)
        except ValueError:
            raise ProblemError(MALFORMED_BODY, "The payload is not valid JSON.") from None
        recorded = await record_delivery(db_session, delivery_id, event_type, body)
        if recorded.is_new:
            await jobs.enqueue(score_delivery, delivery_id=str(recorded.delivery.id))
        accepted = schemas.DeliveryAccepted(
            delivery=delivery_id, status=recorded.delivery.status, duplicate=not recorded.is_new
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
        db_session: NamedDependency[AsyncSession],
    ) -> schemas.LinkView:
        link = await LinkService(db_session).request(
            principal.id, data.github_id, data.github_login, data.evidence
        )
        return link_view(link)

    @get("/links/me", summary="My link requests")
    async def my_links(
        self, principal: NamedDependency[Principal], db_session: NamedDependency[AsyncSession]
    ) -> list[schemas.LinkView]:
        return [link_view(link) for link in await LinkService(db_session).mine(principal.id)]

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
        db_session: NamedDependency[AsyncSession],
    ) -> schemas.DisputeView:
        return dispute_view(
            await DisputeService(db_session).open(principal.id, period, data.reason, data.event_id)
        )

    @get("/disputes/me", summary="My disputes")
    async def my_disputes(
        self, principal: NamedDependency[Principal], db_session: NamedDependency[AsyncSession]
    ) -> list[schemas.DisputeView]:
        return [dispute_view(d) for d in await DisputeService(db_session).mine(principal.id)]


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
        db_session: NamedDependency[AsyncSession],
    ) -> schemas.LedgerEvent:
        ledger = LedgerService(db_session)
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
    async def pending_links(
        self, db_session: NamedDependency[AsyncSession]
    ) -> list[schemas.LinkView]:
        return [link_view(link) for link in await LinkService(db_session).pending()]

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
        db_session: NamedDependency[AsyncSession],
    ) -> schemas.LinkView:
        link = await LinkService(db_session).decide(
            link_id, approve=decision == "approve", staff_id=principal.id, note=data.note
        )
        return link_view(link)

    @get("/disputes", summary="Every dispute, optionally by state")
    async def disputes(
        self,
        db_session: NamedDependency[AsyncSession],
        dispute_state: Annotated[
            str | None, QueryParameter(name="state", description="open, accepted or rejected")
        ] = None,
    ) -> list[schemas.DisputeView]:
        return [dispute_view(d) for d in await DisputeService(db_session).all(dispute_state)]

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
        db_session: NamedDependency[AsyncSession],
    ) -> schemas.DisputeView:
        dispute = await DisputeService(db_session).resolve(
            dispute_id, accept=decision == "accept", staff_id=principal.id, note=data.note
        )
        return dispute_view(dispute)

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
        db_session: NamedDependency[AsyncSession],
        period: Annotated[str | None, QueryParameter(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = None,
        payout_state: Annotated[str | None, QueryParameter(name="state")] = None,
    ) -> list[schemas.PayoutView]:
        return [
            payout_view(p)
            for p in await PayoutService(db_session).find(period=period, state=payout_state)
        ]

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
        db_session: NamedDependency[AsyncSession],
    ) -> schemas.PayoutDetail:
        payouts = PayoutService(db_session)
        payout, changed = await payouts.transition(
            payout_id,
            data.to,
            actor=f"user:{principal.id}",
            actor_id=principal.id,
            method=data.method,
            external_ref=data.external_ref,
            note=data.note,
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
            payout=payout_view(payout), changed=changed, transitions=history
        )
