"""Hypothesis strategies for valid rewards data: events with awkward strings, ledgers, figures."""

from collections.abc import Sequence

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from selflink_core.rewards import (
    EMPTY_LEDGER_HEAD,
    Event,
    EventDraft,
    Figures,
    LedgerHead,
    seal,
)

fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Enough examples to find format bugs while keeping each test file to a few seconds."""

PERIODS = ("2025-01", "2025-02", "2025-03")

AWKWARD = '\x00\x01\x1f\x7f"\\/\b\f\n\r\t\u2028\u2029\u00e9\u20ac\U0001f600\U00010000\ufeff\ufffe'
"""Characters JCS escapes, or must leave alone, and ones serializers often get wrong."""

text_chars = st.one_of(
    st.sampled_from(AWKWARD), st.characters(codec="utf-8"), st.characters(max_codepoint=0x7F)
)


def free_text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(text_chars, min_size=min_size, max_size=max_size)


contributors = st.from_regex(r"[A-Za-z0-9._:@/+-]{1,12}", fullmatch=True)
timestamps = st.builds(
    lambda y, mo, d, h, mi, s: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}Z",
    st.integers(2000, 2099),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)
hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)

_SIGNED_KINDS = {
    "pr_merged": st.integers(0, 1_000_000),
    "bounty": st.integers(0, 1_000_000),
    "bonus": st.integers(0, 1_000_000),
    "penalty": st.integers(-1_000_000, 0),
    "adjustment": st.integers(-1_000_000, 1_000_000),
}


@st.composite
def drafts(
    draw: st.DrawFn,
    *,
    people: Sequence[str] | None = None,
    periods: Sequence[str] = PERIODS,
    small_points: bool = False,
) -> EventDraft:
    """A valid non-reversal draft; ids are made unique by `ledgers`."""
    kind = draw(st.sampled_from(sorted(_SIGNED_KINDS)))
    points = draw(_SIGNED_KINDS[kind])
    if small_points:
        points = max(-50, min(50, points))
    return EventDraft(
        id=draw(free_text(1, 30)),
        period=draw(st.sampled_from(periods)),
        occurred_at=draw(timestamps),
        contributor=draw(st.sampled_from(people) if people else contributors),
        kind=kind,
        points=points,
        rules=draw(st.from_regex(r"[A-Za-z0-9._-]{1,6}", fullmatch=True)),
        ref=draw(free_text(0, 40)),
        source_sha256=draw(st.one_of(st.just(""), hex64)),
    )


@st.composite
def ledgers(
    draw: st.DrawFn,
    *,
    max_size: int = 30,
    periods: Sequence[str] = PERIODS,
    small_points: bool = True,
) -> list[Event]:
    """A valid sealed ledger over `periods`, with unique ids and some valid reversals."""
    people = draw(st.lists(contributors, min_size=1, max_size=6, unique=True))
    size = draw(st.integers(0, max_size))
    events: list[Event] = []
    head: LedgerHead = EMPTY_LEDGER_HEAD
    reversible: list[Event] = []
    for index in range(size):
        if reversible and draw(st.integers(0, 5)) == 0:
            target = reversible.pop(draw(st.integers(0, len(reversible) - 1)))
            draft = EventDraft(
                id=f"reversal-{index}",
                period=draw(st.sampled_from(periods)),
                occurred_at=draw(timestamps),
                contributor=target.contributor,
                kind="reversal",
                points=-target.points,
                rules="manual",
                reverses=target.id,
            )
        else:
            base = draw(drafts(people=people, periods=periods, small_points=small_points))
            draft = EventDraft(**{**base.as_json_object(), "id": f"{index}:{base.id}"})  # type: ignore[arg-type]
        event = seal(draft, head)
        if draft.kind != "reversal":
            reversible.append(event)
        events.append(event)
        head = LedgerHead(event.seq, event.hash)
    return events


figures = st.builds(
    Figures,
    currency=st.sampled_from(["USD", "EUR", "JPY"]),
    revenue_cents=st.integers(0, 10**12),
    costs_cents=st.integers(0, 10**12),
    pool_bps=st.integers(0, 10_000),
    min_payout_cents=st.integers(0, 10_000),
)


def ledger_bytes(events: Sequence[Event]) -> bytes:
    return b"".join(event.line() for event in events)


three_months = st.lists(figures, min_size=3, max_size=3).map(
    lambda months: [
        Figures(**{**{n: getattr(m, n) for n in Figures.__slots__}, "currency": months[0].currency})
        for m in months
    ]
)
"""Figures for three consecutive months (one currency, as carries require)."""
