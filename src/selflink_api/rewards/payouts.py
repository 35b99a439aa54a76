"""Payout states and the only ways between them."""

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.audit import services as audit
from selflink_api.platform.problems import CONFLICT, NOT_FOUND, ProblemError
from selflink_api.rewards.models import (
    RewardContributor,
    RewardPayout,
    RewardPayoutTransition,
)
from selflink_api.rewards.states import PayoutState

ALLOWED: dict[str, frozenset[str]] = {
    PayoutState.PENDING: frozenset({PayoutState.PROCESSING, PayoutState.CANCELED}),
    PayoutState.PROCESSING: frozenset({PayoutState.PAID, PayoutState.FAILED}),
    PayoutState.FAILED: frozenset({PayoutState.PROCESSING}),
    PayoutState.HELD: frozenset({PayoutState.PENDING, PayoutState.CANCELED}),
    PayoutState.PAID: frozenset(),
    PayoutState.CANCELED: frozenset(),
}
"""Operator transitions. The system also moves `pending → held` when a contributor unlinks."""


class PayoutService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, payout_id: UUID) -> RewardPayout:
        payout = await self.session.get(RewardPayout, payout_id)
        if payout is None:
            raise ProblemError(NOT_FOUND, "No such payout.")
        return payout

    async def transition(
        self,
        payout_id: UUID,
        to: PayoutState,
        *,
        actor: str,
        actor_id: UUID | None,
        method: str = "",
        external_ref: str = "",
        note: str = "",
    ) -> tuple[RewardPayout, bool]:
        """Move a payout; repeating the transition it is already in changes nothing.

        Returns the payout and whether it changed.
        """
        payout = await self.get(payout_id)
        if payout.state == to:
            return payout, False
        allowed = ALLOWED[payout.state]
        if to not in allowed:
            options = ", ".join(sorted(allowed)) or "nothing (final state)"
            raise ProblemError(
                CONFLICT,
                f"A {payout.state} payout cannot become {to}; it can become {options}.",
                state=payout.state,
            )
        if to == PayoutState.PENDING and not await self._linked(payout.contributor):
            raise ProblemError(
                CONFLICT,
                f"{payout.contributor} is not linked to an account yet; the payout stays held.",
            )
        await self._move(
            payout, to, actor=actor, method=method, external_ref=external_ref, note=note
        )
        await audit.record(
            self.session,
            actor_id=actor_id,
            action="rewards.payout.transition",
            subject=f"payout:{payout.id}",
            details={"to": str(to), "method": method, "external_ref": external_ref},
        )
        return payout, True

    async def _move(
        self,
        payout: RewardPayout,
        to: str,
        *,
        actor: str,
        method: str = "",
        external_ref: str = "",
        note: str = "",
    ) -> None:
        self.session.add(
            RewardPayoutTransition(
                payout_id=payout.id,
                from_state=payout.state,
                to_state=to,
                actor=actor,
                method=method,
                external_ref=external_ref,
                note=note,
            )
        )
        payout.state = to
        payout.method = method or payout.method
        payout.external_ref = external_ref or payout.external_ref
        await self.session.flush()

    async def _linked(self, contributor: str) -> bool:
        return (
            await self.session.scalar(
                select(RewardContributor.user_id).where(RewardContributor.key == contributor)
            )
        ) is not None

    async def release_held(self, contributor: str, *, actor: str) -> int:
        """A contributor was linked: their held payouts become pending."""
        held = (
            await self.session.scalars(
                select(RewardPayout).where(
                    RewardPayout.contributor == contributor, RewardPayout.state == PayoutState.HELD
                )
            )
        ).all()
        for payout in held:
            await self._move(payout, PayoutState.PENDING, actor=actor, note="contributor linked")
        return len(held)

    async def hold_pending(self, contributor: str, *, actor: str) -> int:
        """A contributor lost their account link: pending payouts wait for a new link."""
        pending = (
            await self.session.scalars(
                select(RewardPayout).where(
                    RewardPayout.contributor == contributor,
                    RewardPayout.state == PayoutState.PENDING,
                )
            )
        ).all()
        for payout in pending:
            await self._move(payout, PayoutState.HELD, actor=actor, note="contributor unlinked")
        return len(pending)

    async def find(
        self, *, period: str | None = None, state: str | None = None
    ) -> list[RewardPayout]:
        statement = select(RewardPayout).order_by(RewardPayout.period, RewardPayout.contributor)
        if period:
            statement = statement.where(RewardPayout.period == period)
        if state:
            statement = statement.where(RewardPayout.state == state)
        return list((await self.session.scalars(statement)).all())

    async def transitions(self, payout_id: UUID) -> list[RewardPayoutTransition]:
        return list(
            (
                await self.session.scalars(
                    select(RewardPayoutTransition)
                    .where(RewardPayoutTransition.payout_id == payout_id)
                    .order_by(RewardPayoutTransition.id)
                )
            ).all()
        )


async def payout_recipient(session: AsyncSession, payout_id: UUID) -> UUID | None:
    """The account a payout goes to (its contributor's linked account), for notifications."""
    return await session.scalar(
        select(RewardContributor.user_id)
        .join(RewardPayout, RewardPayout.contributor == RewardContributor.key)
        .where(RewardPayout.id == payout_id)
    )
