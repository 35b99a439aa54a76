"""Group commit for notification jobs: in one process, the jobs that arrive while a batch is
being recorded are recorded together by the next batch, in one transaction.

`notify` runs the same dozen statements for one event or for fifty (`services.notify`), so a
worker that ran one `notify` per job spent most of its time on statements a neighbour job was
about to run too. Nothing waits for a batch to fill: a job arriving while nothing is being
recorded is recorded at once, so a quiet worker tells people as fast as before.

What a job can rely on:
- it returns only once its events committed, so a worker killed mid-batch leaves every job of
  the batch unfinished, and SAQ retries each one (at least once, as before);
- it gets back the rows its events went into (a row several jobs' events met in goes to the
  first of them), and announces those itself, so one job's end never loses another's live
  events;
- a batch that fails is not retried as a whole: each job records its own events alone, so an
  event that cannot be recorded fails its own job only;
- a job cancelled (its timeout) while its batch still gathers leaves the batch. Once the batch
  has closed its events are recorded even if the job ends first, and again by the job's retry:
  a notification may then count an event twice, as when a job timed out after its commit.
"""

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from selflink_api.notifications.services import Event, Told

logger = structlog.get_logger("selflink.notifications")

Commit = Callable[[list[Event]], Awaitable[list[Told]]]
"""Records events in one transaction that has committed when it returns."""


@dataclass
class _Batch:
    parts: list[Sequence[Event]]
    shares: "asyncio.Future[list[list[Told]] | None]" = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    """Once committed, each part's rows (in the parts' order); None when each part must
    record itself alone."""


class GroupCommit:
    """One process's notification batches over one database: one commits at a time, the next
    gathers meanwhile."""

    def __init__(self) -> None:
        self._turn = asyncio.Lock()
        self._gathering: _Batch | None = None

    async def record(self, events: Sequence[Event], commit: Commit) -> list[Told]:
        """Record `events`, alone or with other jobs'; returns the rows the caller announces.

        A batch is committed with the `commit` of the job that opened it (one process has one
        context, so they are alike); the others' are used only to record alone."""
        batch = self._gathering
        if batch is not None:
            return await self._join(batch, events, commit)
        batch = self._gathering = _Batch([events])
        try:
            async with self._turn:
                self._gathering = None  # closed: later jobs gather the next batch
                everything = [event for part in batch.parts for event in part]
                try:
                    told = await commit(everything)
                except Exception:
                    if len(batch.parts) == 1:
                        raise
                    # each part again alone, so only the bad one fails
                    logger.warning(
                        "notification_batch_failed", jobs=len(batch.parts), exc_info=True
                    )
                else:
                    shares = _shares(batch.parts, told)
                    batch.shares.set_result(shares)
                    return shares[0]
                batch.shares.set_result(None)
            return await commit(list(events))
        finally:
            if self._gathering is batch:
                self._gathering = None
            if not batch.shares.done():  # cancelled or failed: the others record alone
                batch.shares.set_result(None)

    async def _join(self, batch: _Batch, events: Sequence[Event], commit: Commit) -> list[Told]:
        batch.parts.append(events)
        try:
            shares = await asyncio.shield(batch.shares)
        except asyncio.CancelledError:
            if self._gathering is batch:  # not closed yet: leave it
                batch.parts[:] = [part for part in batch.parts if part is not events]
            raise
        if shares is None:
            return await commit(list(events))
        return shares[next(i for i, part in enumerate(batch.parts) if part is events)]


def _shares(parts: Sequence[Sequence[Event]], told: Sequence[Told]) -> list[list[Told]]:
    """Each part's rows: those its events went into, a row shared going to the first part."""
    rows = {(result.recipient, result.open_key): result for result in told}
    shares: list[list[Told]] = []
    for part in parts:
        share = []
        for event in part:
            result = rows.pop((event.recipient, event.open_key), None)
            if result is not None:
                share.append(result)
        shares.append(share)
    return shares


_OfLoop = weakref.WeakKeyDictionary[Any, GroupCommit]
_BATCHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _OfLoop] = (
    weakref.WeakKeyDictionary()
)


def group_commit_for(session_maker: Any) -> GroupCommit:
    """The batches of this process over the database `session_maker` opens (per event loop:
    a batch's lock and futures belong to the loop it was made in)."""
    loop = asyncio.get_running_loop()
    of_loop = _BATCHES.get(loop)
    if of_loop is None:
        of_loop = _BATCHES[loop] = weakref.WeakKeyDictionary()
    batches = of_loop.get(session_maker)
    if batches is None:
        batches = of_loop[session_maker] = GroupCommit()
    return batches
