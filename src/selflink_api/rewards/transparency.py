"""What anyone may read: periods, their bundles byte for byte, statements and proofs."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.platform.problems import NOT_FOUND, ProblemError
from selflink_api.rewards import schemas
from selflink_api.rewards.models import (
    PeriodState,
    RewardContributor,
    RewardEvent,
    RewardPayout,
    RewardPeriod,
    RewardSnapshot,
)
from selflink_api.rewards.snapshots import SnapshotService, require_period, snapshot_files
from selflink_core.rewards import (
    PayoutRow,
    ProofError,
    make_proof,
    parse_manifest,
    read_bundle,
)


def event_view(row: RewardEvent) -> schemas.LedgerEvent:
    return schemas.LedgerEvent(
        seq=row.seq,
        id=row.event_id,
        period=row.period,
        occurred_at=row.occurred_at,
        contributor=row.contributor,
        kind=row.kind,
        points=row.points,
        rules=row.rules,
        ref=row.ref,
        source_sha256=row.source_sha256,
        reverses=row.reverses,
        prev=row.prev,
        hash=row.hash,
    )


class TransparencyService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.snapshots = SnapshotService(session)

    async def _summary(self, row: RewardPeriod, snapshot: RewardSnapshot) -> schemas.PeriodSummary:
        manifest = parse_manifest(snapshot.manifest_json)
        return schemas.PeriodSummary(
            period=row.period,
            state=row.state,
            version=snapshot.version,
            root=snapshot.root,
            currency=manifest.currency,
            pool_cents=manifest.pool_cents,
            paid_cents=manifest.paid_cents,
            carry_out_cents=manifest.carry_out_cents,
            rollover_out_cents=manifest.rollover_out_cents,
            contributors=manifest.contributors,
            events=manifest.events,
            dispute_ends_at=row.dispute_ends_at,
            locked_at=row.locked_at,
        )

    async def periods(self) -> list[schemas.PeriodSummary]:
        rows = (
            await self.session.execute(
                select(RewardPeriod, RewardSnapshot)
                .join(
                    RewardSnapshot,
                    (RewardSnapshot.period == RewardPeriod.period)
                    & (RewardSnapshot.version == RewardPeriod.current_version),
                )
                .order_by(RewardPeriod.period.desc())
            )
        ).all()
        return [await self._summary(row, snapshot) for row, snapshot in rows]

    async def period(self, period: str) -> schemas.PeriodDetail:
        row = await self.snapshots.period_row(require_period(period))
        if row is None or row.current_version == 0:
            raise ProblemError(NOT_FOUND, f"No committed bundle for {period}.")
        versions = (
            await self.session.scalars(
                select(RewardSnapshot)
                .where(RewardSnapshot.period == period)
                .order_by(RewardSnapshot.version)
            )
        ).all()
        current = versions[-1]
        return schemas.PeriodDetail(
            summary=await self._summary(row, current),
            versions=[
                schemas.VersionView(version=v.version, root=v.root, committed_at=v.created_at)
                for v in versions
            ],
            files=sorted(snapshot_files(current)),
        )

    async def payouts(self, period: str) -> tuple[PayoutRow, ...]:
        """The current bundle's rows, as its `payouts.csv` lists them."""
        return read_bundle(snapshot_files(await self.snapshots.snapshot(period, None))).rows

    async def file(self, period: str, name: str, version: int | None) -> bytes:
        files = snapshot_files(await self.snapshots.snapshot(period, version))
        if name not in files:
            raise ProblemError(
                NOT_FOUND, f"A bundle has no file {name!r}; it has {', '.join(sorted(files))}."
            )
        return files[name]

    async def proof(self, period: str, contributor: str, version: int | None) -> bytes:
        bundle = read_bundle(snapshot_files(await self.snapshots.snapshot(period, version)))
        try:
            return make_proof(bundle, contributor).to_bytes()
        except ProofError as exc:
            raise ProblemError(NOT_FOUND, str(exc)) from None

    async def statement(self, contributor: str) -> schemas.Statement:
        events = (
            await self.session.scalars(
                select(RewardEvent)
                .where(RewardEvent.contributor == contributor)
                .order_by(RewardEvent.seq)
            )
        ).all()
        linked = await self.session.scalar(
            select(RewardContributor.user_id).where(RewardContributor.key == contributor)
        )
        payouts = {
            p.period: p.state
            for p in (
                await self.session.scalars(
                    select(RewardPayout).where(RewardPayout.contributor == contributor)
                )
            ).all()
        }
        months = []
        for row, snapshot in (
            await self.session.execute(
                select(RewardPeriod, RewardSnapshot)
                .join(
                    RewardSnapshot,
                    (RewardSnapshot.period == RewardPeriod.period)
                    & (RewardSnapshot.version == RewardPeriod.current_version),
                )
                .order_by(RewardPeriod.period)
            )
        ).all():
            found = read_bundle(snapshot_files(snapshot)).row(contributor)
            if found is None:
                continue
            _, payout_row = found
            months.append(
                schemas.StatementMonth(
                    period=row.period,
                    state=row.state,
                    version=snapshot.version,
                    root=snapshot.root,
                    period_points=payout_row.period_points,
                    eligible_points=payout_row.eligible_points,
                    share_cents=payout_row.share_cents,
                    payout_cents=payout_row.payout_cents,
                    carry_out_cents=payout_row.carry_out_cents,
                    points_carry_out=payout_row.points_carry_out,
                    payout_state=payouts.get(row.period)
                    if row.state == PeriodState.LOCKED
                    else None,
                )
            )
        if not events and not months:
            raise ProblemError(NOT_FOUND, f"No ledger events or payouts for {contributor}.")
        return schemas.Statement(
            contributor=contributor,
            linked=linked is not None,
            events=[event_view(e) for e in events],
            months=months,
        )
