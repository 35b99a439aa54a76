"""The monthly calculation (spec §3): points to shares of the pool, carries and payouts.

Integers only; every division is a floor. Conservation holds for any input:
paid + carried out + rolled over = pool + carried in.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from selflink_core.rewards.canonical import MAX_SAFE_INTEGER

DEFAULT_POOL_BPS: Final = 5000
BPS_DENOMINATOR: Final = 10_000
PAYOUT_COLUMNS: Final = (
    "contributor",
    "period_points",
    "points_carry_in",
    "eligible_points",
    "share_cents",
    "carry_in_cents",
    "payout_cents",
    "carry_out_cents",
    "points_carry_out",
)
_CURRENCY = re.compile(r"[A-Z]{3}")


class FiguresError(ValueError):
    """A month's figures break a rule of spec §3; `field` names the figure."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Figures:
    """The money side of a month, in integer minor units of `currency`."""

    currency: str = "USD"
    revenue_cents: int = 0
    costs_cents: int = 0
    pool_bps: int = DEFAULT_POOL_BPS
    min_payout_cents: int = 0

    def validate(self) -> None:
        if _CURRENCY.fullmatch(self.currency) is None:
            raise FiguresError(
                f"must be a 3-letter uppercase code such as USD, found {self.currency!r}",
                "currency",
            )
        for name in ("revenue_cents", "costs_cents", "min_payout_cents"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_SAFE_INTEGER:
                raise FiguresError(f"must be between 0 and 2^53-1, found {value}", name)
        if not 0 <= self.pool_bps <= BPS_DENOMINATOR:
            raise FiguresError(f"must be between 0 and 10000, found {self.pool_bps}", "pool_bps")


@dataclass(frozen=True, slots=True)
class PayoutRow:
    """One contributor's line of payouts.csv."""

    contributor: str
    period_points: int
    points_carry_in: int
    eligible_points: int
    share_cents: int
    carry_in_cents: int
    payout_cents: int
    carry_out_cents: int
    points_carry_out: int

    def csv_line(self) -> bytes:
        """The row as its payouts.csv line, without the trailing newline (also its Merkle leaf)."""
        return (
            f"{self.contributor},{self.period_points},{self.points_carry_in},"
            f"{self.eligible_points},{self.share_cents},{self.carry_in_cents},"
            f"{self.payout_cents},{self.carry_out_cents},{self.points_carry_out}"
        ).encode()

    @property
    def carries_forward(self) -> bool:
        """Whether next month must list this contributor even without new events."""
        return self.carry_out_cents != 0 or self.points_carry_out != 0


@dataclass(frozen=True, slots=True)
class Carried:
    """What the previous month hands on: its rollover and each contributor's carries."""

    rollover_cents: int = 0
    rows: Mapping[str, PayoutRow] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MonthResult:
    """The outcome of spec §3 for one month; rows sorted by contributor (bytewise)."""

    figures: Figures
    net_revenue_cents: int
    pool_new_cents: int
    rollover_in_cents: int
    pool_cents: int
    total_eligible_points: int
    rollover_out_cents: int
    rows: tuple[PayoutRow, ...]

    @property
    def allocated_cents(self) -> int:
        return sum(row.share_cents for row in self.rows)

    @property
    def paid_cents(self) -> int:
        return sum(row.payout_cents for row in self.rows)

    @property
    def carry_out_cents(self) -> int:
        return sum(row.carry_out_cents for row in self.rows)

    @property
    def carry_in_cents(self) -> int:
        return sum(row.carry_in_cents for row in self.rows)


def _bytewise(contributor: str) -> bytes:
    return contributor.encode()


def calculate_month(
    event_points: Iterable[tuple[str, int]], figures: Figures, carried: Carried | None = None
) -> MonthResult:
    """Run spec §3 on the period's `(contributor, points)` pairs and the previous month's carries.

    The order of `event_points` does not matter: only each contributor's sum does.
    """
    figures.validate()
    carried = carried or Carried()
    net_revenue = max(0, figures.revenue_cents - figures.costs_cents)
    pool_new = net_revenue * figures.pool_bps // BPS_DENOMINATOR
    pool = pool_new + carried.rollover_cents

    period_points: dict[str, int] = {}
    for contributor, points in event_points:
        period_points[contributor] = period_points.get(contributor, 0) + points
    for contributor, carried_row in carried.rows.items():
        if carried_row.carries_forward:
            period_points.setdefault(contributor, 0)
    contributors = sorted(period_points, key=_bytewise)

    def previous(contributor: str) -> PayoutRow | None:
        return carried.rows.get(contributor)

    points_carry_in = {
        c: (row.points_carry_out if (row := previous(c)) is not None else 0) for c in contributors
    }
    net = {c: period_points[c] + points_carry_in[c] for c in contributors}
    eligible = {c: max(0, net[c]) for c in contributors}
    total = sum(eligible.values())
    shares = _split_pool(pool, eligible, total, contributors)
    rollover_out = pool if total == 0 else 0

    rows = []
    for contributor in contributors:
        before = previous(contributor)
        carry_in = before.carry_out_cents if before is not None else 0
        due = shares[contributor] + carry_in
        paid = due > 0 and due >= figures.min_payout_cents
        rows.append(
            PayoutRow(
                contributor=contributor,
                period_points=period_points[contributor],
                points_carry_in=points_carry_in[contributor],
                eligible_points=eligible[contributor],
                share_cents=shares[contributor],
                carry_in_cents=carry_in,
                payout_cents=due if paid else 0,
                carry_out_cents=0 if paid else due,
                points_carry_out=min(0, net[contributor]),
            )
        )
    return MonthResult(
        figures=figures,
        net_revenue_cents=net_revenue,
        pool_new_cents=pool_new,
        rollover_in_cents=carried.rollover_cents,
        pool_cents=pool,
        total_eligible_points=total,
        rollover_out_cents=rollover_out,
        rows=tuple(rows),
    )


def _split_pool(
    pool: int, eligible: Mapping[str, int], total: int, contributors: list[str]
) -> dict[str, int]:
    """Largest-remainder split of `pool` in proportion to `eligible` (all zero when total is 0)."""
    if total == 0:
        return dict.fromkeys(contributors, 0)
    shares = {c: pool * eligible[c] // total for c in contributors}
    remainder = pool - sum(shares.values())
    by_remainder = sorted(contributors, key=lambda c: (-(pool * eligible[c] % total), _bytewise(c)))
    for contributor in by_remainder[:remainder]:
        shares[contributor] += 1
    return shares


def share_remainder_rank(result: MonthResult, contributor: str) -> int | None:
    """Where `contributor` stands in the largest-remainder order (0 = first extra cent), if any."""
    total = result.total_eligible_points
    if total == 0:
        return None
    eligible = {row.contributor: row.eligible_points for row in result.rows}
    if contributor not in eligible:
        return None
    pool = result.pool_cents
    ordered = sorted(eligible, key=lambda c: (-(pool * eligible[c] % total), _bytewise(c)))
    return ordered.index(contributor)
