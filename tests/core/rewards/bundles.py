"""Building bundles from generated ledgers, month after month, for the rewards tests."""

from collections.abc import Sequence

from selflink_core.rewards import (
    EMPTY_LEDGER_HEAD,
    Bundle,
    Event,
    Figures,
    LedgerHead,
    build_bundle,
    period_event,
)


def month_bundle(
    events: Sequence[Event], period: str, figures: Figures, previous: Bundle | None = None
) -> Bundle:
    """The bundle of `period` from a whole ledger, whatever order its events are given in."""
    selected = sorted((e for e in events if e.period == period), key=lambda e: e.seq)
    last = max(events, key=lambda e: e.seq, default=None)
    head = EMPTY_LEDGER_HEAD if last is None else LedgerHead(last.seq, last.hash)
    return build_bundle(
        period, [period_event(e) for e in selected], figures, previous=previous, ledger_head=head
    )


def consecutive_bundles(
    events: Sequence[Event], periods: Sequence[str], figures: Sequence[Figures]
) -> list[Bundle]:
    bundles: list[Bundle] = []
    for period, month in zip(periods, figures, strict=True):
        bundles.append(month_bundle(events, period, month, bundles[-1] if bundles else None))
    return bundles
