"""Hand-checked golden cases: tiny ledgers, each month's figures and the rows worked out by hand.

Every number in `expected_rows` was computed on paper from spec §3 (the working is in the
comments and in README.md). The committed folders beside this file hold the ledger and the exact
bundle bytes; `regenerate.py` rewrites them and the tests prove the code still produces them.
Row tuples follow payouts.csv: (contributor, period_points, points_carry_in, eligible_points,
share_cents, carry_in_cents, payout_cents, carry_out_cents, points_carry_out).
"""

from dataclasses import dataclass, field
from typing import Any

Row = tuple[str, int, int, int, int, int, int, int, int]


@dataclass(frozen=True)
class Month:
    period: str
    figures: dict[str, Any]
    expected_rows: list[Row]
    expected_totals: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    name: str
    events: list[dict[str, Any]]
    months: list[Month]


def event(
    event_id: str, period: str, contributor: str, kind: str, points: int, **extra: Any
) -> dict[str, Any]:
    day = extra.pop("day", 10)
    return {
        "id": event_id,
        "period": period,
        "occurred_at": extra.pop("occurred_at", f"{period}-{day:02d}T12:00:00Z"),
        "contributor": contributor,
        "kind": kind,
        "points": points,
        "rules": extra.pop("rules", "v1" if kind == "pr_merged" else "manual"),
        "ref": extra.pop(
            "ref", f"https://github.com/selflink/selflink/pull/{event_id.rsplit('#', 1)[-1]}"
        ),
        "source_sha256": extra.pop("source_sha256", ""),
        "reverses": extra.pop("reverses", ""),
    }


CASES = [
    # Two months. January: net = 10000 - 2000 = 8000; pool = 8000 x 5000 / 10000 = 4000.
    # github:1 has 5 points, github:2 has 3 + 0 (a zero-point PR), github:3 has a -2 penalty.
    # T = 5 + 3 + 0 = 8: github:1 = 4000 x 5 / 8 = 2500, github:2 = 1500, github:3 = 0; R = 0.
    # Minimum payout 2000: github:1 is paid 2500; github:2 carries 1500; github:3 carries
    # points -2. Conservation: 2500 + 1500 + 0 = 4000.
    # February: pool = 3000 x 5000 / 10000 = 1500 (no rollover: January had T > 0).
    # Rows: github:1 (event), github:2 (carried 1500 cents), github:3 (event, carried -2 points).
    # github:3: net = 5 - 2 = 3; github:1: 1; github:2: 0. T = 4.
    # github:1 = 1500 x 1 / 4 = 375; github:3 = 1500 x 3 / 4 = 1125; R = 0.
    # Minimum 1000: github:1 375 < 1000 carries 375; github:2 due 0 + 1500 is paid 1500;
    # github:3 1125 is paid. Conservation: paid 2625 + carried 375 = pool 1500 + carried in 1500.
    Case(
        name="carries",
        events=[
            event("github:pr:selflink/selflink#1", "2025-01", "github:1", "pr_merged", 5),
            event("github:pr:selflink/selflink#2", "2025-01", "github:2", "pr_merged", 3),
            event("github:pr:selflink/selflink#3", "2025-01", "github:2", "pr_merged", 0),
            event("penalty:2025-01:1", "2025-01", "github:3", "penalty", -2, ref="code of conduct"),
            event("github:pr:selflink/selflink#4", "2025-02", "github:3", "pr_merged", 5),
            event("github:pr:selflink/selflink#5", "2025-02", "github:1", "pr_merged", 1),
        ],
        months=[
            Month(
                "2025-01",
                {"revenue_cents": 10000, "costs_cents": 2000, "min_payout_cents": 2000},
                [
                    ("github:1", 5, 0, 5, 2500, 0, 2500, 0, 0),
                    ("github:2", 3, 0, 3, 1500, 0, 0, 1500, 0),
                    ("github:3", -2, 0, 0, 0, 0, 0, 0, -2),
                ],
                {"pool_cents": 4000, "paid_cents": 2500, "carry_out_cents": 1500},
            ),
            Month(
                "2025-02",
                {"revenue_cents": 3000, "min_payout_cents": 1000},
                [
                    ("github:1", 1, 0, 1, 375, 0, 0, 375, 0),
                    ("github:2", 0, 0, 0, 0, 1500, 1500, 0, 0),
                    ("github:3", 5, -2, 3, 1125, 0, 1125, 0, 0),
                ],
                {"pool_cents": 1500, "paid_cents": 2625, "carry_out_cents": 375},
            ),
        ],
    ),
    # March has no eligible points (a penalty and a zero adjustment): T = 0, every share is 0
    # and the whole pool rolls over: pool = floor(1001 x 5000 / 10000) = floor(500.5) = 500.
    # April: no revenue, rollover in 500, so pool = 500. github:7 net = 5 - 3 = 2, github:9 = 1.
    # T = 3: github:7 = floor(1000 / 3) = 333 r 1; github:9 = floor(500 / 3) = 166 r 2.
    # R = 500 - 499 = 1 cent, to the largest remainder: github:9 gets 167.
    Case(
        name="zero-points",
        events=[
            event("penalty:2025-03:1", "2025-03", "github:7", "penalty", -3, ref=""),
            event("adjustment:2025-03:1", "2025-03", "github:8", "adjustment", 0, ref=""),
            event("github:pr:selflink/selflink#10", "2025-04", "github:7", "pr_merged", 5),
            event("github:pr:selflink/selflink#11", "2025-04", "github:9", "pr_merged", 1),
        ],
        months=[
            Month(
                "2025-03",
                {"revenue_cents": 1001},
                [
                    ("github:7", -3, 0, 0, 0, 0, 0, 0, -3),
                    ("github:8", 0, 0, 0, 0, 0, 0, 0, 0),
                ],
                {"pool_cents": 500, "total_eligible_points": 0, "rollover_out_cents": 500},
            ),
            Month(
                "2025-04",
                {},
                [
                    ("github:7", 5, -3, 2, 333, 0, 333, 0, 0),
                    ("github:9", 1, 0, 1, 167, 0, 167, 0, 0),
                ],
                {"rollover_in_cents": 500, "pool_cents": 500, "rollover_out_cents": 0},
            ),
        ],
    ),
    # One month, pool = 1000 x 10000 / 10000 = 1000, T = 13 + 1 + 2 = 16.
    # github:10 = floor(13000 / 16) = 812 r 8; github:11 = floor(1000 / 16) = 62 r 8;
    # github:12 = 2000 / 16 = 125 r 0. R = 1000 - 999 = 1: remainders tie at 8, the smaller
    # contributor bytewise ("github:10" < "github:11") gets it: 813.
    # Minimum 100: 813 and 125 are paid, github:11's 62 is carried.
    Case(
        name="min-payout",
        events=[
            event("github:pr:selflink/selflink#20", "2025-05", "github:11", "pr_merged", 1),
            event("github:pr:selflink/selflink#21", "2025-05", "github:10", "pr_merged", 13),
            event("bonus:2025-05:1", "2025-05", "github:12", "bonus", 2, ref=""),
        ],
        months=[
            Month(
                "2025-05",
                {"revenue_cents": 1000, "pool_bps": 10000, "min_payout_cents": 100},
                [
                    ("github:10", 13, 0, 13, 813, 0, 813, 0, 0),
                    ("github:11", 1, 0, 1, 62, 0, 0, 62, 0),
                    ("github:12", 2, 0, 2, 125, 0, 125, 0, 0),
                ],
                {"allocated_cents": 1000, "paid_cents": 938, "carry_out_cents": 62},
            ),
        ],
    ),
    # A June PR of github:20 (8 points) is reversed in July. July alone, without the June bundle:
    # github:20 has -8 (the reversal) so eligible 0 and points_carry_out -8; github:21 has 3.
    # pool = 1200 x 5000 / 10000 = 600, T = 3: github:21 gets all 600.
    Case(
        name="reversal",
        events=[
            event("github:pr:selflink/selflink#30", "2025-06", "github:20", "pr_merged", 8),
            event("github:pr:selflink/selflink#31", "2025-06", "github:21", "pr_merged", 5),
            event(
                "reversal:2025-07:1",
                "2025-07",
                "github:20",
                "reversal",
                -8,
                ref="reverted: the change was lost in a force-push",
                reverses="github:pr:selflink/selflink#30",
            ),
            event("github:pr:selflink/selflink#32", "2025-07", "github:21", "pr_merged", 3),
        ],
        months=[
            Month(
                "2025-07",
                {"revenue_cents": 1200},
                [
                    ("github:20", -8, 0, 0, 0, 0, 0, 0, -8),
                    ("github:21", 3, 0, 3, 600, 0, 600, 0, 0),
                ],
                {"pool_cents": 600, "paid_cents": 600, "total_eligible_points": 3},
            ),
        ],
    ),
    # Strings JCS must escape (quote, backslash, tab, newline, U+0001) or keep as UTF-8 (é, ë,
    # U+2028, an emoji), in ref and id. pool = 999 x 5000 / 10000 = floor(499.5) = 499, T = 1.
    Case(
        name="escapes",
        events=[
            event(
                "gitlab:mr:zoë/café#1",
                "2025-08",
                "gitlab:zoe",
                "bounty",
                1,
                ref='Zoë said "ok"\tback\\slash\nline\u2028sep \U0001f600 \x01',
                source_sha256="ab" * 32,
            ),
        ],
        months=[
            Month(
                "2025-08",
                {"revenue_cents": 999, "currency": "EUR"},
                [("gitlab:zoe", 1, 0, 1, 499, 0, 499, 0, 0)],
                {"pool_cents": 499},
            ),
        ],
    ),
]
