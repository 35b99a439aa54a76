"""Linking GitHub contributors to SelfLink accounts: a person asks, staff decide."""

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.audit import services as audit
from selflink_api.platform.problems import CONFLICT, NOT_FOUND, ProblemError
from selflink_api.rewards.models import (
    ContributorLinkRequest,
    LinkState,
    RewardContributor,
    RewardDispute,
)
from selflink_api.rewards.payouts import PayoutService


class LinkService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def request(
        self, user_id: UUID, github_id: int, github_login: str, evidence: str
    ) -> ContributorLinkRequest:
        key = f"github:{github_id}"
        contributor = await self.session.scalar(
            select(RewardContributor).where(RewardContributor.key == key)
        )
        if contributor is not None and contributor.user_id is not None:
            raise ProblemError(CONFLICT, f"{key} is already linked to an account.")
        pending = await self.session.scalar(
            select(ContributorLinkRequest.id).where(
                ContributorLinkRequest.contributor == key,
                ContributorLinkRequest.user_id == user_id,
                ContributorLinkRequest.state == LinkState.PENDING,
            )
        )
        if pending is not None:
            raise ProblemError(CONFLICT, f"You already asked to link {key}; staff will decide.")
        link = ContributorLinkRequest(
            user_id=user_id, contributor=key, github_login=github_login, evidence=evidence
        )
        self.session.add(link)
        await self.session.flush()
        await audit.record(
            self.session,
            actor_id=user_id,
            action="rewards.link.request",
            subject=f"contributor:{key}",
            details={"request": str(link.id)},
        )
        return link

    async def mine(self, user_id: UUID) -> list[ContributorLinkRequest]:
        return list(
            (
                await self.session.scalars(
                    select(ContributorLinkRequest)
                    .where(ContributorLinkRequest.user_id == user_id)
                    .order_by(ContributorLinkRequest.id)
                )
            ).all()
        )

    async def pending(self) -> list[ContributorLinkRequest]:
        return list(
            (
                await self.session.scalars(
                    select(ContributorLinkRequest)
                    .where(ContributorLinkRequest.state == LinkState.PENDING)
                    .order_by(ContributorLinkRequest.id)
                )
            ).all()
        )

    async def decide(
        self, link_id: UUID, *, approve: bool, staff_id: UUID, note: str
    ) -> ContributorLinkRequest:
        link = await self.session.get(ContributorLinkRequest, link_id)
        if link is None:
            raise ProblemError(NOT_FOUND, "No such link request.")
        if link.state != LinkState.PENDING:
            raise ProblemError(CONFLICT, f"This request was already {link.state}.")
        now = datetime.now(UTC)
        link.state = LinkState.APPROVED if approve else LinkState.REJECTED
        link.decided_by, link.decided_at, link.note = staff_id, now, note
        released = 0
        if approve:
            contributor = await self.session.scalar(
                select(RewardContributor).where(RewardContributor.key == link.contributor)
            )
            if contributor is None:
                contributor = RewardContributor(key=link.contributor)
                self.session.add(contributor)
            elif contributor.user_id is not None and contributor.user_id != link.user_id:
                raise ProblemError(
                    CONFLICT, f"{link.contributor} is already linked to another account."
                )
            contributor.user_id, contributor.linked_at = link.user_id, now
            contributor.github_login = link.github_login or contributor.github_login
            await self.session.flush()
            released = await PayoutService(self.session).release_held(
                link.contributor, actor=f"user:{staff_id}"
            )
        await audit.record(
            self.session,
            actor_id=staff_id,
            action=f"rewards.link.{link.state}",
            subject=f"contributor:{link.contributor}",
            details={
                "request": str(link.id),
                "user": str(link.user_id),
                "payouts_released": released,
            },
        )
        return link

    async def contributors_of(self, user_id: UUID) -> list[str]:
        return list(
            (
                await self.session.scalars(
                    select(RewardContributor.key).where(RewardContributor.user_id == user_id)
                )
            ).all()
        )

    async def forget_user(self, user_id: UUID) -> None:
        """The account was deleted: its contributors stay in the ledger but lose the person."""
        await self.session.execute(
            delete(ContributorLinkRequest).where(ContributorLinkRequest.user_id == user_id)
        )
        payouts = PayoutService(self.session)
        for contributor in (
            await self.session.scalars(
                select(RewardContributor).where(RewardContributor.user_id == user_id)
            )
        ).all():
            contributor.user_id, contributor.linked_at = None, None
            await payouts.hold_pending(contributor.key, actor="system")
            await audit.record(
                self.session,
                actor_id=None,
                action="rewards.link.removed",
                subject=f"contributor:{contributor.key}",
                details={"reason": "account deleted"},
            )


async def export_for_user(
    session: AsyncSession, _cipher: object, user_id: UUID
) -> dict[str, object]:
    """Linked contributors, link requests and disputes of a person, for the account export."""
    links = (
        await session.scalars(
            select(ContributorLinkRequest)
            .where(ContributorLinkRequest.user_id == user_id)
            .order_by(ContributorLinkRequest.id)
        )
    ).all()
    disputes = (
        await session.scalars(
            select(RewardDispute).where(RewardDispute.user_id == user_id).order_by(RewardDispute.id)
        )
    ).all()
    return {
        "contributors": await LinkService(session).contributors_of(user_id),
        "link_requests": [
            {
                "contributor": link.contributor,
                "github_login": link.github_login,
                "evidence": link.evidence,
                "state": link.state,
                "created_at": link.created_at,
            }
            for link in links
        ],
        "disputes": [
            {
                "period": dispute.period,
                "reason": dispute.reason,
                "event_id": dispute.event_id,
                "state": dispute.state,
                "resolution_note": dispute.resolution_note,
                "created_at": dispute.created_at,
            }
            for dispute in disputes
        ],
    }
