"""The append-only revenue ledger of Stripe balance transactions, and a month's figures
(docs/payments.md, Revenue rules). Services work in the caller's transaction."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.payments.gateway import StripeGateway, ident
from selflink_api.payments.models import FrozenMonth, RevenueEntry
from selflink_api.platform.database import dialect_insert

REFUND_CATEGORIES = frozenset({"refund", "refund_failure"})
DISPUTE_CATEGORIES = frozenset({"dispute", "dispute_reversal"})
FEE_CATEGORY = "fee"


def utc_now() -> datetime:
    return datetime.now(UTC)


def from_unix(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def next_month(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def month_bounds(period: str) -> tuple[datetime, datetime]:
    year, month = (int(part) for part in period.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    following = next_month(period)
    return start, datetime(int(following[:4]), int(following[5:]), 1, tzinfo=UTC)


@dataclass(frozen=True)
class RevenueFigures:
    """One month of one currency, in minor units; `net = gross + refunds + disputes + other -
    fees`. Refunds and disputes are negative (money out), fees positive (a cost)."""

    period: str
    currency: str
    gross: int
    refunds: int
    disputes: int
    other: int
    fees: int
    net: int
    transactions: int

    @property
    def revenue(self) -> int:
        """What the month earned before Stripe's fees: the rewards pool's revenue."""
        return self.gross + self.refunds + self.disputes + self.other


class RevenueLedger:
    """The append-only ledger of Stripe balance transactions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def has(self, transaction_id: str) -> bool:
        found = await self.session.scalar(
            select(RevenueEntry.id).where(RevenueEntry.transaction_id == transaction_id)
        )
        return found is not None

    async def booking_month(self, occurred: datetime) -> str:
        """The month it happened, unless a rewards lock froze that month: then the first
        month after it that is not frozen (a locked month is never rewritten)."""
        period = month_of(occurred)
        frozen = set(
            (
                await self.session.scalars(
                    select(FrozenMonth.period).where(FrozenMonth.period >= period)
                )
            ).all()
        )
        while period in frozen:
            period = next_month(period)
        return period

    async def record(self, transaction: Mapping[str, Any], *, recorded_by: str) -> bool:
        """Book a balance transaction once (its Stripe id is unique); True if it is new."""
        occurred = from_unix(transaction["created"])
        assert occurred is not None
        inserted = await self.session.scalar(
            dialect_insert(self.session)(RevenueEntry)
            .values(
                transaction_id=str(transaction["id"]),
                kind=str(transaction.get("type") or "")[:40],
                category=str(transaction.get("reporting_category") or transaction.get("type"))[:40],
                source_id=ident(transaction.get("source"))[:255],
                amount=int(transaction["amount"]),
                fee=int(transaction.get("fee") or 0),
                net=int(
                    transaction.get(
                        "net", int(transaction["amount"]) - int(transaction.get("fee") or 0)
                    )
                ),
                currency=str(transaction["currency"]).lower()[:3],
                occurred_at=occurred,
                period=await self.booking_month(occurred),
                recorded_by=recorded_by,
            )
            .on_conflict_do_nothing(index_elements=["transaction_id"])
            .returning(RevenueEntry.id)
        )
        return inserted is not None

    async def figures(self, period: str) -> list[RevenueFigures]:
        """The month's figures per currency (most months have one: the settlement currency)."""
        rows = (
            await self.session.execute(
                select(
                    RevenueEntry.currency,
                    RevenueEntry.category,
                    func.count(),
                    func.coalesce(func.sum(RevenueEntry.amount), 0),
                    func.coalesce(func.sum(RevenueEntry.fee), 0),
                    func.coalesce(func.sum(RevenueEntry.net), 0),
                )
                .where(RevenueEntry.period == period)
                .group_by(RevenueEntry.currency, RevenueEntry.category)
                .order_by(RevenueEntry.currency, RevenueEntry.category)
            )
        ).all()
        totals: dict[str, dict[str, int]] = {}
        for currency, category, count, amount, fee, net in rows:
            sums = totals.setdefault(
                currency,
                dict.fromkeys(("gross", "refunds", "disputes", "other", "fees", "net", "count"), 0),
            )
            sums["count"] += int(count)
            sums["net"] += int(net)
            sums["fees"] += int(fee)
            if category == "charge":
                sums["gross"] += int(amount)
            elif category in REFUND_CATEGORIES:
                sums["refunds"] += int(amount)
            elif category in DISPUTE_CATEGORIES:
                sums["disputes"] += int(amount)
            elif category == FEE_CATEGORY:
                sums["fees"] -= int(amount)
            else:
                sums["other"] += int(amount)
        return [
            RevenueFigures(
                period=period,
                currency=currency.upper(),
                gross=s["gross"],
                refunds=s["refunds"],
                disputes=s["disputes"],
                other=s["other"],
                fees=s["fees"],
                net=s["net"],
                transactions=s["count"],
            )
            for currency, s in totals.items()
        ]

    async def entries(self, period: str) -> list[RevenueEntry]:
        return list(
            (
                await self.session.scalars(
                    select(RevenueEntry)
                    .where(RevenueEntry.period == period)
                    .order_by(RevenueEntry.occurred_at, RevenueEntry.transaction_id)
                )
            ).all()
        )

    async def booked_after(self, period: str, moment: datetime) -> int:
        """How many transactions were booked into `period` after `moment` (a version's commit):
        a rewards month locks only when none were, so its frozen figures are the ones used."""
        found = await self.session.scalar(
            select(func.count())
            .select_from(RevenueEntry)
            .where(RevenueEntry.period == period, RevenueEntry.created_at > moment)
        )
        return int(found or 0)

    async def freeze(self, period: str, *, frozen_by: str) -> None:
        """Freeze a month's figures (a rewards lock): later transactions of it book later."""
        await self.session.execute(
            dialect_insert(self.session)(FrozenMonth)
            .values(period=period, frozen_by=frozen_by[:64])
            .on_conflict_do_nothing(index_elements=["period"])
        )

    async def is_frozen(self, period: str) -> bool:
        found = await self.session.scalar(
            select(FrozenMonth.id).where(FrozenMonth.period == period)
        )
        return found is not None


async def reconcile_month(
    session: AsyncSession, gateway: StripeGateway, period: str
) -> tuple[int, int]:
    """Book every balance transaction Stripe lists for the month that the webhooks missed;
    returns (listed, newly booked)."""
    ledger = RevenueLedger(session)
    start, end = month_bounds(period)
    listed = booked = 0
    async for transaction in gateway.balance_transactions(start, end):
        listed += 1
        if await ledger.record(transaction, recorded_by="reconcile"):
            booked += 1
    return listed, booked
