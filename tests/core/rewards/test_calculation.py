"""The monthly arithmetic of spec §3: conservation, fair shares, carries."""

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from selflink_core.rewards import Carried, Figures, PayoutRow, calculate_month
from tests.core.rewards.strategies import contributors, fast, figures

points_lists = st.lists(st.tuples(contributors, st.integers(-1_000_000, 1_000_000)), max_size=25)


@st.composite
def carried(draw: st.DrawFn) -> Carried:
    rows = {}
    for name in draw(st.lists(contributors, max_size=6, unique=True)):
        rows[name] = PayoutRow(
            name,
            0,
            0,
            0,
            0,
            0,
            0,
            draw(st.integers(0, 10**6)),
            draw(st.integers(-(10**6), 0)),
        )
    return Carried(rollover_cents=draw(st.integers(0, 10**9)), rows=rows)


@fast
@given(points_lists, figures, st.one_of(st.none(), carried()))
def test_money_is_conserved_and_shares_are_fair(event_points, month, previous):
    result = calculate_month(event_points, month, previous)
    carry_in = sum(row.carry_in_cents for row in result.rows)
    assert (
        result.paid_cents + result.carry_out_cents + result.rollover_out_cents
        == result.pool_cents + carry_in
    )
    total = result.total_eligible_points
    for row in result.rows:
        assert row.share_cents >= 0
        assert row.payout_cents >= 0
        assert row.carry_out_cents >= 0
        assert row.points_carry_out <= 0
        if total:
            exact = Fraction(result.pool_cents * row.eligible_points, total)
            assert abs(row.share_cents - exact) < 1
    assert result.allocated_cents == (result.pool_cents if total else 0)
    names = [row.contributor.encode() for row in result.rows]
    assert names == sorted(set(names))


@fast
@given(points_lists, figures, st.randoms(use_true_random=False))
def test_order_of_events_does_not_matter(event_points, month, random):
    shuffled = list(event_points)
    random.shuffle(shuffled)
    assert calculate_month(event_points, month) == calculate_month(shuffled, month)


def test_worked_example_with_largest_remainder():
    # pool = floor(1000 * 5000 / 10000) = 500; T = 3; 500*1/3 = 166 r 2 for a, b, c
    result = calculate_month([("b", 1), ("a", 1), ("c", 1)], Figures(revenue_cents=1000))
    assert result.pool_cents == 500
    # R = 500 - 498 = 2 extra cents; equal remainders, so the two smallest names get them.
    assert [row.share_cents for row in result.rows] == [167, 167, 166]


def test_zero_eligible_points_roll_the_pool_over_and_pay_carries():
    previous = Carried(
        rollover_cents=100,
        rows={"x": PayoutRow("x", 0, 0, 0, 0, 0, 0, 70, -4)},
    )
    result = calculate_month([("x", 3), ("y", 0)], Figures(revenue_cents=200), previous)
    assert result.total_eligible_points == 0
    assert result.rollover_out_cents == result.pool_cents == 200
    x, y = result.rows
    assert (x.points_carry_in, x.eligible_points, x.points_carry_out) == (-4, 0, -1)
    assert (x.carry_in_cents, x.payout_cents, x.carry_out_cents) == (70, 70, 0)
    assert (y.payout_cents, y.carry_out_cents) == (0, 0)


def test_minimum_payout_carries_small_amounts():
    result = calculate_month(
        [("a", 9), ("b", 1)], Figures(revenue_cents=2000, min_payout_cents=500)
    )
    a, b = result.rows
    assert (a.share_cents, a.payout_cents, a.carry_out_cents) == (900, 900, 0)
    assert (b.share_cents, b.payout_cents, b.carry_out_cents) == (100, 0, 100)


def test_carried_rows_appear_without_events_only_when_non_zero():
    previous = Carried(
        rows={
            "owed": PayoutRow("owed", 0, 0, 0, 0, 0, 0, 5, 0),
            "negative": PayoutRow("negative", 0, 0, 0, 0, 0, 0, 0, -2),
            "settled": PayoutRow("settled", 0, 0, 0, 0, 0, 0, 0, 0),
        }
    )
    result = calculate_month([], Figures(), previous)
    assert [row.contributor for row in result.rows] == ["negative", "owed"]
