"""Disputes: a linked contributor questions a month during its window; staff answer."""

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.audit import services as audit
from selflink_api.platform.problems import CONFLICT, FORBIDDEN, NOT_FOUND, ProblemError
from selflink_api.rewards.links import LinkService
from selflink_api.rewards.models import DisputeState, PeriodState, RewardDispute, RewardEvent
from selflink_api.rewards.snapshots import SnapshotService, require_period


class DisputeService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(self, user_id: UUID, period: str, reason: str, event_id: str) -> RewardDispute:
        row = await SnapshotService(self.session).period_row(require_period(period))
        if row is None or row.state != PeriodState.DISPUTING:
            state = row.state if row else "not committed"
            raise ProblemError(
                CONFLICT, f"{period} is {state}; disputes are open only while a month is disputing."
            )
        contributors = await LinkService(self.session).contributors_of(user_id)
        if not contributors:
            raise ProblemError(
                FORBIDDEN, "Link your GitHub account first: only linked contributors can dispute."
            )
        if event_id:
            event = await self.session.scalar(
                select(RewardEvent).where(RewardEvent.event_id == event_id)
            )
            if event is None:
                raise ProblemError.invalid(
                    "event_id",
                    "no such event",
                    detail=f"event_id: no event {event_id!r} in the ledger.",
                )
        dispute = RewardDispute(
            period=period,
            version=row.current_version,
            contributor=contributors[0],
            user_id=user_id,
            reason=reason,
            event_id=event_id,
        )
        self.session.add(dispute)
        await self.session.flush()
        await audit.record(
            self.session,
            actor_id=user_id,
            action="rewards.dispute.open",
            subject=f"period:{period}",
            details={"dispute": str(dispute.id)},
        )
        return dispute

    async def mine(self, user_id: UUID) -> list[RewardDispute]:
        return list(
            (
                await self.session.scalars(
                    select(RewardDispute)
                    .where(RewardDispute.user_id == user_id)
                    .order_by(RewardDispute.id)
                )
            ).all()
        )

    async def all(self, state: str | None = None) -> list[RewardDispute]:
        statement = select(RewardDispute).order_by(RewardDispute.id)
        if state:
            statement = statement.where(RewardDispute.state == state)
        return list((await self.session.scalars(statement)).all())

    async def resolve(
        self, dispute_id: UUID, *, accept: bool, staff_id: UUID, note: str
    ) -> RewardDispute:
        dispute = await self.session.get(RewardDispute, dispute_id)
        if dispute is None:
            raise ProblemError(NOT_FOUND, "No such dispute.")
        if dispute.state != DisputeState.OPEN:
            raise ProblemError(CONFLICT, f"This dispute was already {dispute.state}.")
        dispute.state = DisputeState.ACCEPTED if accept else DisputeState.REJECTED
        dispute.resolution_note, dispute.resolved_by, dispute.resolved_at = (
            note,
            staff_id,
            datetime.now(UTC),
        )
        await audit.record(
            self.session,
            actor_id=staff_id,
            action=f"rewards.dispute.{dispute.state}",
            subject=f"period:{dispute.period}",
            details={"dispute": str(dispute.id)},
        )
        return dispute
