"""What anyone may read: periods, their bundles byte for byte, statements and proofs."""

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.platform.problems import NOT_FOUND, ProblemError
from selflink_api.rewards import schemas
from selflink_api.rewards.models import (
    PeriodState,
    RewardBundleRow,
    RewardContributor,
    RewardEvent,
    RewardPayout,
    RewardPeriod,
    RewardSnapshot,
)
from selflink_api.rewards.snapshots import FILE_COLUMNS, SnapshotService, require_period
from selflink_core.rewards import (
    MANIFEST_FILE,
    PayoutRow,
    ProofError,
    make_proof,
    parse_manifest,
)

EVENT_COLUMNS = (
    RewardEvent.seq,
    RewardEvent.event_id,
    RewardEvent.period,
    RewardEvent.occurred_at,
    RewardEvent.contributor,
    RewardEvent.kind,
    RewardEvent.points,
    RewardEvent.rules,
    RewardEvent.ref,
    RewardEvent.source_sha256,
    RewardEvent.reverses,
    RewardEvent.prev,
    RewardEvent.hash,
)
"""What a statement shows of each event (not its stored line)."""


def event_view(row: "Row[*tuple[Any, ...]]") -> schemas.LedgerEvent:
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


def payout_row(row: RewardBundleRow) -> PayoutRow:
    return PayoutRow(
        row.contributor,
        row.period_points,
        row.points_carry_in,
        row.eligible_points,
        row.share_cents,
        row.carry_in_cents,
        row.payout_cents,
        row.carry_out_cents,
        row.points_carry_out,
    )


CURRENT = (RewardSnapshot.period == RewardPeriod.period) & (
    RewardSnapshot.version == RewardPeriod.current_version
)
"""Joins a month to its current version."""


class TransparencyService:
    """Reads only what each answer shows: a month's summary columns and manifest, one file's
    column, a month's or a contributor's rows from `reward_bundle_rows` (never a whole bundle,
    except to build a proof)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.snapshots = SnapshotService(session)

    @staticmethod
    def _summary(
        row: RewardPeriod, version: int, root: str, manifest_json: bytes
    ) -> schemas.PeriodSummary:
        manifest = parse_manifest(manifest_json)
        return schemas.PeriodSummary(
            period=row.period,
            state=row.state,
            version=version,
            root=root,
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
                select(
                    RewardPeriod,
                    RewardSnapshot.version,
                    RewardSnapshot.root,
                    RewardSnapshot.manifest_json,
                )
                .join(RewardSnapshot, CURRENT)
                .order_by(RewardPeriod.period.desc())
            )
        ).all()
        return [self._summary(*row) for row in rows]

    async def period(self, period: str) -> schemas.PeriodDetail:
        row = await self.snapshots.period_row(require_period(period))
        if row is None or row.current_version == 0:
            raise ProblemError(NOT_FOUND, f"No committed bundle for {period}.")
        versions = (
            await self.session.execute(
                select(RewardSnapshot.version, RewardSnapshot.root, RewardSnapshot.created_at)
                .where(RewardSnapshot.period == period)
                .order_by(RewardSnapshot.version)
            )
        ).all()
        current = versions[-1]
        manifest = await self.snapshots.file(period, MANIFEST_FILE, current.version)
        return schemas.PeriodDetail(
            summary=self._summary(row, current.version, current.root, manifest),
            versions=[
                schemas.VersionView(version=v.version, root=v.root, committed_at=v.created_at)
                for v in versions
            ],
            files=sorted(FILE_COLUMNS),
        )

    async def payouts(self, period: str) -> tuple[PayoutRow, ...]:
        """The current bundle's rows, as its `payouts.csv` lists them."""
        version = await self.snapshots.version_of(require_period(period), None)
        rows = (
            await self.session.scalars(
                select(RewardBundleRow)
                .where(RewardBundleRow.period == period, RewardBundleRow.version == version)
                .order_by(RewardBundleRow.position)
            )
        ).all()
        return tuple(payout_row(row) for row in rows)

    async def file(self, period: str, name: str, version: int | None) -> bytes:
        if name not in FILE_COLUMNS:
            raise ProblemError(
                NOT_FOUND,
                f"A bundle has no file {name!r}; it has {', '.join(sorted(FILE_COLUMNS))}.",
            )
        return await self.snapshots.file(period, name, version)

    async def proof(self, period: str, contributor: str, version: int | None) -> bytes:
        bundle = await self.snapshots.bundle(period, version)
        try:
            return make_proof(bundle, contributor).to_bytes()
        except ProofError as exc:
            raise ProblemError(NOT_FOUND, str(exc)) from None

    async def statement(self, contributor: str) -> schemas.Statement:
        events = (
            await self.session.execute(
                select(*EVENT_COLUMNS)
                .where(RewardEvent.contributor == contributor)
                .order_by(RewardEvent.seq)
            )
        ).all()
        linked = await self.session.scalar(
            select(RewardContributor.user_id).where(RewardContributor.key == contributor)
        )
        payouts = dict(
            (
                await self.session.execute(
                    select(RewardPayout.period, RewardPayout.state).where(
                        RewardPayout.contributor == contributor
                    )
                )
            ).all()
        )
        months = [
            schemas.StatementMonth(
                period=month.period,
                state=month.state,
                version=version,
                root=root,
                period_points=row.period_points,
                eligible_points=row.eligible_points,
                share_cents=row.share_cents,
                payout_cents=row.payout_cents,
                carry_out_cents=row.carry_out_cents,
                points_carry_out=row.points_carry_out,
                payout_state=payouts.get(month.period)
                if month.state == PeriodState.LOCKED
                else None,
            )
            for month, version, root, row in (
                await self.session.execute(
                    select(
                        RewardPeriod, RewardSnapshot.version, RewardSnapshot.root, RewardBundleRow
                    )
                    .join(RewardSnapshot, CURRENT)
                    .join(
                        RewardBundleRow,
                        (RewardBundleRow.period == RewardPeriod.period)
                        & (RewardBundleRow.version == RewardPeriod.current_version),
                    )
                    .where(RewardBundleRow.contributor == contributor)
                    .order_by(RewardPeriod.period)
                )
            ).all()
        ]
        if not events and not months:
            raise ProblemError(NOT_FOUND, f"No ledger events or payouts for {contributor}.")
        return schemas.Statement(
            contributor=contributor,
            linked=linked is not None,
            events=[event_view(event) for event in events],
            months=months,
        )
