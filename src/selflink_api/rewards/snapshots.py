"""Monthly snapshots: dry runs, committed versions, dispute windows, locking into payouts."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from selflink_api.audit import services as audit
from selflink_api.payments.ledger import RevenueLedger
from selflink_api.platform.problems import CONFLICT, NOT_FOUND, ProblemError
from selflink_api.rewards.ledger import LedgerService
from selflink_api.rewards.models import (
    PeriodState,
    RewardBundleRow,
    RewardContributor,
    RewardEvent,
    RewardPayout,
    RewardPayoutTransition,
    RewardPeriod,
    RewardSnapshot,
)
from selflink_api.rewards.states import PayoutState
from selflink_core.rewards import (
    EVENTS_FILE,
    MANIFEST_FILE,
    PAYOUTS_FILE,
    SUMS_FILE,
    Bundle,
    BundleError,
    Figures,
    FiguresError,
    PayoutRow,
    PeriodEvent,
    build_bundle,
    is_period,
    previous_period,
    read_bundle,
)

FILE_COLUMNS = {
    EVENTS_FILE: RewardSnapshot.events_jsonl,
    MANIFEST_FILE: RewardSnapshot.manifest_json,
    PAYOUTS_FILE: RewardSnapshot.payouts_csv,
    SUMS_FILE: RewardSnapshot.sha256sums,
}
"""Each bundle file's (deferred) column."""


def snapshot_files(snapshot: RewardSnapshot) -> dict[str, bytes]:
    """The four files of a version loaded with `undefer` (see `SnapshotService.snapshot`)."""
    return {
        EVENTS_FILE: snapshot.events_jsonl,
        MANIFEST_FILE: snapshot.manifest_json,
        PAYOUTS_FILE: snapshot.payouts_csv,
        SUMS_FILE: snapshot.sha256sums,
    }


def bundle_rows(period: str, version: int, rows: Iterable[PayoutRow]) -> list[RewardBundleRow]:
    return [
        RewardBundleRow(
            period=period,
            version=version,
            position=position,
            contributor=row.contributor,
            period_points=row.period_points,
            points_carry_in=row.points_carry_in,
            eligible_points=row.eligible_points,
            share_cents=row.share_cents,
            carry_in_cents=row.carry_in_cents,
            payout_cents=row.payout_cents,
            carry_out_cents=row.carry_out_cents,
            points_carry_out=row.points_carry_out,
        )
        for position, row in enumerate(rows, start=1)
    ]


def require_period(period: str) -> str:
    if not is_period(period):
        raise ProblemError.invalid(
            "period",
            "must be YYYY-MM",
            source="path",
            detail=f"period: must be YYYY-MM, found {period!r}.",
        )
    return period


@dataclass(frozen=True)
class Committed:
    period: RewardPeriod
    snapshot: RewardSnapshot
    bundle: Bundle


class SnapshotService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.ledger = LedgerService(session)

    async def period_row(self, period: str) -> RewardPeriod | None:
        return await self.session.scalar(select(RewardPeriod).where(RewardPeriod.period == period))

    async def version_of(self, period: str, version: int | None) -> int:
        """`version`, or the current version of `period` (0 when it has none)."""
        if version is not None:
            return version
        current = await self.session.scalar(
            select(RewardPeriod.current_version).where(RewardPeriod.period == period)
        )
        return current or 0

    async def snapshot(
        self, period: str, version: int | None = None, *, files: bool = False
    ) -> RewardSnapshot:
        """A committed version of `period` (the latest by default); 404 if there is none.

        Its four files are loaded only with `files`.
        """
        wanted = await self.version_of(require_period(period), version)
        query = select(RewardSnapshot).where(
            RewardSnapshot.period == period, RewardSnapshot.version == wanted
        )
        if files:
            query = query.options(*(undefer(column) for column in FILE_COLUMNS.values()))
        found = await self.session.scalar(query)
        if found is None:
            raise self._missing(period, version)
        return found

    async def file(self, period: str, name: str, version: int | None = None) -> bytes:
        """One file of a committed version, reading no other."""
        wanted = await self.version_of(require_period(period), version)
        content = await self.session.scalar(
            select(FILE_COLUMNS[name]).where(
                RewardSnapshot.period == period, RewardSnapshot.version == wanted
            )
        )
        if content is None:
            raise self._missing(period, version)
        return content

    @staticmethod
    def _missing(period: str, version: int | None) -> ProblemError:
        return ProblemError(
            NOT_FOUND,
            f"No committed bundle for {period}" + (f" version {version}." if version else "."),
        )

    async def bundle(self, period: str, version: int | None = None) -> Bundle:
        return read_bundle(snapshot_files(await self.snapshot(period, version, files=True)))

    async def previous_bundle(self, period: str) -> Bundle | None:
        """The locked bundle of the month before, or None when no earlier month was ever committed.

        Carries flow month to month, so a month can only follow a locked one.
        """
        before = previous_period(period)
        row = await self.period_row(before)
        if row is not None and row.state == PeriodState.LOCKED:
            return await self.bundle(before)
        earlier = await self.session.scalar(
            select(RewardPeriod.period)
            .where(RewardPeriod.period < period, RewardPeriod.current_version > 0)
            .limit(1)
        )
        if earlier is not None:
            raise ProblemError(
                CONFLICT, f"Commit and lock {before} before {period}: carries flow month to month."
            )
        return None

    async def compute(self, period: str, figures: Figures) -> Bundle:
        """The bundle `period` would have now, from its events, figures and the month before."""
        require_period(period)
        head = await self.ledger.head()
        rows = (
            await self.session.execute(
                select(
                    RewardEvent.seq,
                    RewardEvent.contributor,
                    RewardEvent.points,
                    RewardEvent.rules,
                    RewardEvent.line,
                )
                .where(RewardEvent.period == period, RewardEvent.seq <= head.seq)
                .order_by(RewardEvent.seq)
            )
        ).all()
        events = [
            PeriodEvent(seq, contributor, points, rules, line)
            for seq, contributor, points, rules, line in rows
        ]
        try:
            figures.validate()
            return build_bundle(
                period,
                events,
                figures,
                previous=await self.previous_bundle(period),
                ledger_head=head,
            )
        except (FiguresError, BundleError) as exc:
            field = getattr(exc, "field", None) or "figures"
            raise ProblemError.invalid(field, str(exc), detail=str(exc)) from None

    async def commit(
        self,
        period: str,
        figures: Figures,
        *,
        actor: str,
        dispute_days: int,
        now: datetime,
        source: Mapping[str, Any] | None = None,
    ) -> Committed:
        """Store a new version of `period` and open (or restart) its dispute window. `source`
        says where the figures came from (the revenue ledger's lines, declared costs), for the
        audit log; hand-typed figures have none."""
        row = await self.period_row(require_period(period))
        if row is not None and row.state == PeriodState.LOCKED:
            raise ProblemError(
                CONFLICT, f"{period} is locked; later events go to the next open month."
            )
        bundle = await self.compute(period, figures)
        if row is None:
            row = RewardPeriod(period=period, state=PeriodState.OPEN, current_version=0)
            self.session.add(row)
        files = bundle.files()
        snapshot = RewardSnapshot(
            period=period,
            version=row.current_version + 1,
            root=bundle.root,
            events_jsonl=files[EVENTS_FILE],
            manifest_json=files[MANIFEST_FILE],
            payouts_csv=files[PAYOUTS_FILE],
            sha256sums=files[SUMS_FILE],
            committed_by=actor,
        )
        self.session.add(snapshot)
        self.session.add_all(bundle_rows(period, snapshot.version, bundle.rows))
        row.current_version = snapshot.version
        row.state = PeriodState.DISPUTING
        row.dispute_ends_at = now + timedelta(days=dispute_days)
        await self.session.flush()
        await audit.record(
            self.session,
            actor_id=None,
            action="rewards.snapshot.commit",
            subject=f"period:{period}",
            details={
                "version": snapshot.version,
                "root": snapshot.root,
                "by": actor,
                "revenue_cents": figures.revenue_cents,
                "costs_cents": figures.costs_cents,
                "currency": figures.currency,
                "figures_from": dict(source) if source is not None else {"source": "manual"},
            },
        )
        return Committed(row, snapshot, bundle)

    async def lock(
        self, period: str, *, actor: str, now: datetime, force: bool = False
    ) -> list[RewardPayout]:
        """Close the dispute window: no more versions; one payout per row that pays."""
        row = await self.period_row(require_period(period))
        if row is None or row.state == PeriodState.OPEN:
            raise ProblemError(CONFLICT, f"{period} has no committed bundle to lock.")
        if row.state == PeriodState.LOCKED:
            raise ProblemError(CONFLICT, f"{period} is already locked.")
        assert row.dispute_ends_at is not None
        if not force and row.dispute_ends_at > now:
            raise ProblemError(
                CONFLICT,
                f"The dispute window of {period} is open until "
                f"{row.dispute_ends_at:%Y-%m-%d %H:%M} UTC.",
            )
        snapshot = await self.snapshot(period)
        bundle = await self.bundle(period)
        await self._require_every_event_in(bundle, row)
        revenue = RevenueLedger(self.session)
        late = await revenue.booked_after(period, snapshot.created_at)
        if late:
            raise ProblemError(
                CONFLICT,
                f"{late} Stripe transaction{'s were' if late != 1 else ' was'} booked into "
                f"{period} after version {row.current_version}; commit a new version "
                "(--revenue-from payments) before locking.",
            )
        linked = set(
            (
                await self.session.scalars(
                    select(RewardContributor.key).where(RewardContributor.user_id.is_not(None))
                )
            ).all()
        )
        payouts = []
        for payout_row in bundle.rows:
            if payout_row.payout_cents <= 0:
                continue
            state = PayoutState.PENDING if payout_row.contributor in linked else PayoutState.HELD
            payout = RewardPayout(
                period=period,
                contributor=payout_row.contributor,
                amount_cents=payout_row.payout_cents,
                currency=bundle.manifest.currency,
                state=state,
            )
            self.session.add(payout)
            payouts.append(payout)
        await self.session.flush()
        for payout in payouts:
            self.session.add(
                RewardPayoutTransition(
                    payout_id=payout.id,
                    from_state="",
                    to_state=payout.state,
                    actor=actor,
                    note=f"{period} locked",
                )
            )
        row.state, row.locked_at = PeriodState.LOCKED, now
        await revenue.freeze(period, frozen_by=actor)
        await self.session.flush()
        await audit.record(
            self.session,
            actor_id=None,
            action="rewards.period.lock",
            subject=f"period:{period}",
            details={"version": row.current_version, "payouts": len(payouts), "by": actor},
        )
        return payouts

    async def _require_every_event_in(self, bundle: Bundle, row: RewardPeriod) -> None:
        """A month locks only with a version that holds all its events: events assigned to it
        after that version was made (a late delivery, a correction) would otherwise never be
        paid nor carried, since later months count only their own events."""
        missing = await self.session.scalar(
            select(func.count())
            .select_from(RewardEvent)
            .where(
                RewardEvent.period == row.period,
                RewardEvent.seq > bundle.manifest.ledger_head.seq,
            )
        )
        if missing:
            raise ProblemError(
                CONFLICT,
                f"{row.period} has {missing} event{'s' if missing != 1 else ''} newer than "
                f"version {row.current_version} (ledger seq "
                f"{bundle.manifest.ledger_head.seq}); commit a new version before locking.",
            )

    async def due_for_lock(self, now: datetime) -> list[str]:
        return list(
            (
                await self.session.scalars(
                    select(RewardPeriod.period)
                    .where(
                        RewardPeriod.state == PeriodState.DISPUTING,
                        RewardPeriod.dispute_ends_at <= now,
                    )
                    .order_by(RewardPeriod.period)
                )
            ).all()
        )


def utc_now() -> datetime:
    return datetime.now(UTC)
