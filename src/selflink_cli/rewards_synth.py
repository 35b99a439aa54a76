"""`ledger synth`: a deterministic synthetic ledger for demos and benchmarks.

Randomness is drawn here, from `random.Random(seed)`, never in the core; the same arguments give
the same bytes on every supported Python. Every event kind appears (given at least six events),
including valid reversals, late events booked into the next month, and a few references that
need escaping or are not ASCII.
"""

import calendar
import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from typing import Final

from selflink_core.rewards import EMPTY_LEDGER_HEAD, EventDraft, LedgerHead, next_period, seal

_REPOS: Final = ("selflink", "selflink-app", "selflink-docs", "astro-engine")
_SIZES: Final = (1, 3, 5, 8, 13)
_CANDIDATE_LIMIT: Final = 100_000
_SHOWCASE_KINDS: Final = ("pr_merged", "bounty", "bonus", "penalty", "adjustment", "reversal")


def periods_between(first: str, last: str) -> list[str]:
    periods = [first]
    while periods[-1] != last:
        periods.append(next_period(periods[-1]))
    return periods


def _timestamp(period: str, fraction: float) -> str:
    year, month = int(period[:4]), int(period[5:])
    seconds = int(calendar.monthrange(year, month)[1] * 86_400 * fraction)
    moment = dt.datetime(year, month, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


class _Synthesizer:
    def __init__(self, contributors: int, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        self.names = [f"github:{n}" for n in self.rng.sample(range(1, 100_000_000), contributors)]
        self.pr_numbers = dict.fromkeys(_REPOS, 0)
        self.reversible: list[tuple[str, str, int]] = []

    def contributor(self) -> str:
        # Skewed like real projects: a few people make most of the contributions.
        return self.names[int(len(self.names) * self.rng.random() ** 2)]

    def kind(self) -> str:
        draw = self.rng.random()
        for kind, limit in (
            ("pr_merged", 0.80),
            ("bounty", 0.84),
            ("bonus", 0.88),
            ("penalty", 0.91),
            ("adjustment", 0.96),
        ):
            if draw < limit:
                return kind
        return "reversal"

    def draft(self, seq: int, kind: str, period: str, occurred_at: str) -> EventDraft:
        rng = self.rng
        if kind == "reversal" and self.reversible:
            index = rng.randrange(len(self.reversible))
            self.reversible[index], self.reversible[-1] = (
                self.reversible[-1],
                self.reversible[index],
            )
            target_id, contributor, points = self.reversible.pop()
            return EventDraft(
                id=f"synth:reversal:{seq}",
                period=period,
                occurred_at=occurred_at,
                contributor=contributor,
                kind="reversal",
                points=-points,
                rules="manual",
                ref=f"https://selflink.example/corrections/{seq}",
                reverses=target_id,
            )
        if kind == "reversal":
            kind = "pr_merged"
        contributor = self.contributor()
        if kind == "pr_merged":
            repo = _REPOS[int(len(_REPOS) * rng.random() ** 2)]
            self.pr_numbers[repo] += 1
            number = self.pr_numbers[repo]
            size_labels = rng.random()
            points = (
                0 if size_labels < 0.02 else rng.choice(_SIZES) + rng.choice((0, 0, 0, 1, 2, 3))
            )
            draft = EventDraft(
                id=f"github:pr:selflink/{repo}#{number}",
                period=period,
                occurred_at=occurred_at,
                contributor=contributor,
                kind=kind,
                points=points,
                rules="v1",
                ref=f"https://github.com/selflink/{repo}/pull/{number}",
                source_sha256=hashlib.sha256(f"synthetic payload {seq}".encode()).hexdigest(),
            )
        else:
            points = {
                "bounty": rng.randrange(10, 101),
                "bonus": rng.randrange(1, 11),
                "penalty": -rng.randrange(1, 14),
                "adjustment": rng.randrange(-5, 6),
            }[kind]
            ref = f"https://selflink.example/{kind}/{seq}"
            if kind == "adjustment" and rng.random() < 0.1:
                ref = f'size label "s" → "m" corrigé, café\t#{seq}'
            draft = EventDraft(
                id=f"synth:{kind}:{seq}",
                period=period,
                occurred_at=occurred_at,
                contributor=contributor,
                kind=kind,
                points=points,
                rules="manual",
                ref=ref,
            )
        self.reversible.append((draft.id, draft.contributor, draft.points))
        if len(self.reversible) > _CANDIDATE_LIMIT:
            del self.reversible[: _CANDIDATE_LIMIT // 2]
        return draft


def synth_ledger(events: int, contributors: int, periods: list[str], seed: int) -> Iterator[bytes]:
    """`events` sealed ledger lines spread evenly over `periods`, in seq order."""
    synthesizer = _Synthesizer(contributors, seed)
    rng = synthesizer.rng
    head = EMPTY_LEDGER_HEAD
    seq = 0
    for index, period in enumerate(periods):
        count = events // len(periods) + (1 if index < events % len(periods) else 0)
        for position in range(count):
            seq += 1
            kind = _SHOWCASE_KINDS[seq - 1] if seq <= len(_SHOWCASE_KINDS) else synthesizer.kind()
            occurred_at = _timestamp(period, position / count)
            if index > 0 and rng.random() < 0.02:
                # Arrived after the previous month was locked: booked into this one.
                occurred_at = _timestamp(periods[index - 1], 0.999)
            event = seal(synthesizer.draft(seq, kind, period, occurred_at), head)
            head = LedgerHead(event.seq, event.hash)
            yield event.line()
