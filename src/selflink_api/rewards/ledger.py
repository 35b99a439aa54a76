"""The ledger in the database: one serialized writer, every append sealed by the core."""

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.audit import services as audit
from selflink_api.platform.appendonly import REWARDS_LEDGER, lock_head
from selflink_api.platform.problems import ProblemError
from selflink_api.rewards.models import PeriodState, RewardContributor, RewardEvent, RewardPeriod
from selflink_core.rewards import (
    EMPTY_LEDGER_HEAD,
    Event,
    EventDraft,
    EventError,
    LedgerHead,
    ReversalTarget,
    next_period,
    period_of,
    reversal_problem,
    seal,
)


class DuplicateEventError(Exception):
    """The event id is already in the ledger: appending again must change nothing."""

    def __init__(self, existing_seq: int) -> None:
        super().__init__(f"already in the ledger at seq {existing_seq}")
        self.existing_seq = existing_seq


def event_problem(exc: EventError) -> ProblemError:
    field = exc.field or "event"
    return ProblemError.invalid(field, str(exc), detail=f"{field}: {exc}")


class LedgerService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def head(self) -> LedgerHead:
        last = await self.session.scalar(
            select(RewardEvent).order_by(RewardEvent.seq.desc()).limit(1)
        )
        return LedgerHead(last.seq, last.hash) if last else EMPTY_LEDGER_HEAD

    async def open_period_for(self, occurred_at: str) -> str:
        """The UTC month of `occurred_at`, or the earliest later month that is not locked."""
        period = period_of(occurred_at)
        locked = set(
            (
                await self.session.scalars(
                    select(RewardPeriod.period).where(
                        RewardPeriod.state == PeriodState.LOCKED, RewardPeriod.period >= period
                    )
                )
            ).all()
        )
        while period in locked:
            period = next_period(period)
        return period

    async def append(
        self, draft: EventDraft, *, appended_by: str, reason: str = "", actor_id: UUID | None = None
    ) -> Event:
        """Validate, seal and store `draft` after the true head; one writer at a time.

        The period is moved to the earliest month that is not locked, and the append is audited.
        Raises
        `DuplicateEventError` for an id already in the ledger, `ProblemError` for a rule broken.
        """
        head_row = await lock_head(self.session, REWARDS_LEDGER)
        existing = await self.session.scalar(
            select(RewardEvent.seq).where(RewardEvent.event_id == draft.id)
        )
        if existing is not None:
            raise DuplicateEventError(existing)
        draft = dataclasses.replace(draft, period=await self._unlocked(draft.period))
        try:
            draft.validate()
            if draft.kind == "reversal":
                problem = reversal_problem(
                    draft.contributor,
                    draft.points,
                    draft.reverses,
                    await self._target(draft.reverses),
                )
                if problem is not None:
                    raise EventError(problem, "reverses")
        except EventError as exc:
            raise event_problem(exc) from None
        event = seal(draft, LedgerHead(head_row.seq, head_row.hash))
        self.session.add(
            RewardEvent(
                seq=event.seq,
                event_id=event.id,
                period=event.period,
                occurred_at=event.occurred_at,
                contributor=event.contributor,
                kind=event.kind,
                points=event.points,
                rules=event.rules,
                ref=event.ref,
                source_sha256=event.source_sha256,
                reverses=event.reverses,
                prev=event.prev,
                hash=event.hash,
                line=event.line(),
                reason=reason,
                appended_by=appended_by,
            )
        )
        head_row.seq, head_row.hash = event.seq, event.hash
        await self._ensure_contributor(event.contributor)
        await self.session.flush()
        await audit.record(
            self.session,
            actor_id=actor_id,
            action="rewards.event.append",
            subject=f"event:{event.id}",
            details={
                "seq": event.seq,
                "kind": event.kind,
                "points": event.points,
                "by": appended_by,
                "reason": reason,
            },
        )
        return event

    async def append_manual(
        self,
        *,
        kind: str,
        contributor: str,
        points: int,
        reason: str,
        staff_id: UUID,
        event_id: str | None = None,
        period: str | None = None,
        reverses: str = "",
        ref: str = "",
    ) -> Event:
        """A staff event (`rules` "manual"), booked now in `period` or the current month.

        A locked period moves to the earliest open month, as for every event.
        """
        occurred_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        current = occurred_at[:7]
        if period is not None and period > current:
            raise ProblemError.invalid(
                "period", "is in the future", detail=f"period: {period} is in the future."
            )
        draft = EventDraft(
            id=event_id or f"manual:{kind}:{uuid.uuid4().hex}",
            period=await self.open_period_for(f"{period or current}-01T00:00:00Z"),
            occurred_at=occurred_at,
            contributor=contributor,
            kind=kind,
            points=points,
            rules="manual",
            ref=ref,
            reverses=reverses,
        )
        try:
            return await self.append(
                draft, appended_by=f"user:{staff_id}", reason=reason, actor_id=staff_id
            )
        except DuplicateEventError as exc:
            raise ProblemError.invalid("event_id", str(exc), detail=f"event_id: {exc}.") from None

    async def _unlocked(self, period: str) -> str:
        state = await self.session.scalar(
            select(RewardPeriod.state).where(RewardPeriod.period == period)
        )
        if state == PeriodState.LOCKED:
            return await self.open_period_for(f"{period}-01T00:00:00Z")
        return period

    async def _target(self, event_id: str) -> ReversalTarget | None:
        target = await self.session.scalar(
            select(RewardEvent).where(RewardEvent.event_id == event_id)
        )
        if target is None:
            return None
        reversed_by = await self.session.scalar(
            select(RewardEvent.seq).where(
                RewardEvent.reverses == event_id, RewardEvent.kind == "reversal"
            )
        )
        return ReversalTarget(
            target.seq, target.contributor, target.points, target.kind == "reversal", reversed_by
        )

    async def _ensure_contributor(self, key: str) -> None:
        if (
            await self.session.scalar(
                select(RewardContributor.id).where(RewardContributor.key == key)
            )
            is None
        ):
            self.session.add(RewardContributor(key=key))

    async def lines(self, batch: int = 2000) -> AsyncIterator[bytes]:
        """Every ledger line in seq order, a batch at a time (constant memory)."""
        last = 0
        while True:
            rows = (
                await self.session.execute(
                    select(RewardEvent.seq, RewardEvent.line)
                    .where(RewardEvent.seq > last)
                    .order_by(RewardEvent.seq)
                    .limit(batch)
                )
            ).all()
            if not rows:
                return
            yield b"".join(line for _, line in rows)
            last = rows[-1][0]
