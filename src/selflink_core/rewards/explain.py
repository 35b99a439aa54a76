"""Explaining one payouts row: the contributor's events and the arithmetic of spec §3, in words."""

from dataclasses import dataclass

from selflink_core.rewards.bundle import Bundle
from selflink_core.rewards.calculation import PayoutRow
from selflink_core.rewards.events import Event, parse_event_line


@dataclass(frozen=True, slots=True)
class RowExplanation:
    index: int
    row: PayoutRow
    events: tuple[Event, ...]
    steps: tuple[str, ...]


class NoSuchRowError(LookupError):
    """The bundle has no row for this contributor."""


def explain_row(bundle: Bundle, contributor: str) -> RowExplanation:
    """How `contributor`'s row of `bundle` follows from their events, carries and the pool."""
    found = bundle.row(contributor)
    if found is None:
        raise NoSuchRowError(f"payouts.csv of {bundle.period} has no row for {contributor!r}")
    index, row = found
    events = tuple(
        event
        for event in (parse_event_line(line) for line in bundle.event_lines)
        if event.contributor == contributor
    )
    manifest = bundle.manifest
    pool, total = manifest.pool_cents, manifest.total_eligible_points
    net = row.period_points + row.points_carry_in
    steps = [
        f"period_points = {' + '.join(f'({e.points})' for e in events) or '0'} "
        f"= {row.period_points} (sum of {len(events)} event(s) in {bundle.period})",
        f"points_carry_in = {row.points_carry_in} (the previous month's points_carry_out)",
        f"net = {row.period_points} + ({row.points_carry_in}) = {net}; "
        f"eligible_points = max(0, net) = {row.eligible_points}; "
        f"points_carry_out = min(0, net) = {row.points_carry_out}",
        f"pool_cents = {manifest.pool_new_cents} new + {manifest.rollover_in_cents} rolled over "
        f"= {pool}; total eligible points T = {total}",
    ]
    if total == 0:
        steps.append(
            "T = 0: nobody has eligible points, so every share is 0 and the pool rolls over"
        )
    else:
        base, remainder = divmod(pool * row.eligible_points, total)
        extra = row.share_cents - base
        steps.append(
            f"share base = floor({pool} x {row.eligible_points} / {total}) = {base}, "
            f"remainder {remainder}"
        )
        left = pool - sum(pool * r.eligible_points // total for r in bundle.rows)
        steps.append(
            f"{left} leftover cent(s) go to the rows with the largest remainders "
            f"(ties: smaller contributor first): this row gets {extra}; "
            f"share_cents = {row.share_cents}"
        )
    due = row.share_cents + row.carry_in_cents
    steps.append(
        f"due = share {row.share_cents} + carry_in {row.carry_in_cents} = {due}; "
        f"min_payout_cents = {manifest.min_payout_cents}"
    )
    if row.payout_cents:
        steps.append(f"due > 0 and due >= minimum: payout_cents = {row.payout_cents}")
    else:
        steps.append(
            f"due is {'0' if due == 0 else 'below the minimum'}: payout_cents = 0, "
            f"carry_out_cents = {row.carry_out_cents}"
        )
    return RowExplanation(index=index, row=row, events=events, steps=tuple(steps))
