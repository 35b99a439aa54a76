"""Group commit for notification jobs: in one process, the jobs that arrive while a batch is
being recorded are recorded together by the next batch, in one transaction.

`notify` runs the same dozen statements for one event or for fifty (`services.notify`), so a
worker that ran one `notify` per job spent most of its time on statements a neighbour job was
about to run too. Nothing waits for a batch to fill: a job arriving while nothing is being
recorded is recorded at once, so a quiet worker tells people as fast as before. A job returns
only once its events committed, so a worker killed mid-batch leaves every job of the batch
unfinished, and SAQ retries each one (at least once, as before). A batch that fails is not
retried as a whole: each job records its own events alone, so an event that cannot be recorded
fails its own job only.
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
    committed: "asyncio.Future[bool]" = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    """True once the batch committed; False when each part must record itself alone."""


class GroupCommit:
    """One process's notification batches over one database: one commits at a time, the next
    gathers meanwhile."""

    def __init__(self) -> None:
        self._turn = asyncio.Lock()
        self._gathering: _Batch | None = None

    async def record(self, events: Sequence[Event], commit: Commit) -> list[Told]:
        """Record `events`, alone or with other jobs'; returns what the caller must announce:
        the whole batch's results for the job that committed it, nothing for the others."""
        batch = self._gathering
        if batch is not None:
            batch.parts.append(events)
            if await asyncio.shield(batch.committed):
                return []
            return await commit(list(events))
        batch = self._gathering = _Batch([events])
        try:
            async with self._turn:
                self._gathering = None  # closed: later jobs gather the next batch
                everything = [event for part in batch.parts for event in part]
                if len(batch.parts) == 1:
                    told = await commit(everything)
                    batch.committed.set_result(True)
                    return told
                try:
                    told = await commit(everything)
                except Exception as exc:  # each part again alone, so only the bad one fails
                    logger.warning(
                        "notification_batch_failed",
                        jobs=len(batch.parts),
                        error=type(exc).__name__,
                    )
                else:
                    batch.committed.set_result(True)
                    return told
                batch.committed.set_result(False)
            return await commit(list(events))
        finally:
            if self._gathering is batch:
                self._gathering = None
            if not batch.committed.done():  # cancelled or failed: the others record alone
                batch.committed.set_result(False)


_OfLoop = weakref.WeakKeyDictionary[Any, GroupCommit]
_BATCHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _OfLoop] = (
    weakref.WeakKeyDictionary()
)


def group_commit_for(session_maker: Any) -> GroupCommit:
    """The batches of this process over the database `session_maker` opens (per event loop:
    a batch's lock and futures belong to the loop it was made in)."""
    of_loop = _BATCHES.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
    batches = of_loop.get(session_maker)
    if batches is None:
        batches = of_loop[session_maker] = GroupCommit()
    return batches
