"""Domain events on a Redis stream, read by every worker through one consumer group.

Why a stream and not a SAQ job per subscriber: each job costs the API an enqueue and its
worker about four Redis round trips and SAQ's bookkeeping, for every event and subscriber. An
event is one `XADD` here, and a worker reads and acknowledges up to `BATCH` events in one round
trip each, running their subscribers side by side (so the notification jobs among them commit
together, `notifications/batches.py`).

Delivery is at least once, as with SAQ jobs:
- an event is acknowledged (`XACK`) and deleted only after every subscriber of it finished, or
  failed and was handed to SAQ as a job of its own with the attempts it has left;
- while a worker works on a batch it touches the batch's entries every third of
  `SELFLINK_JOB_HEARTBEAT_SECONDS`; entries a worker left untouched that long (it died) are
  claimed by another worker (`XAUTOCLAIM`) and their subscribers run again.
The format is in docs/operations.md ("The event stream").
"""

import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from redis.exceptions import RedisError, ResponseError

from selflink_api.platform.jobs import JobDefinition

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from selflink_api.platform.events import EventBus
    from selflink_api.platform.jobs import JobContext, SaqJobRunner

logger = structlog.get_logger("selflink.events")

GROUP = "subscribers"
BATCH = 100
"""Events a worker reads at once."""
READ_BLOCK_MS = 1_000
"""How long a read waits for events; also how soon a stopping worker notices."""
RETRY_AFTER_REDIS_ERROR_SECONDS = 1.0


def stream_key(queue_name: str) -> str:
    return f"selflink:{queue_name}:events"


def consumer_name() -> str:
    """This process, as the group knows it (pending entries are listed per consumer)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class EventStream:
    """Where API processes and jobs append events (`SaqJobRunner.announce`)."""

    redis: "Redis"
    key: str

    async def append(self, event: str, payload: Mapping[str, Any]) -> None:
        await self.redis.xadd(self.key, {"event": event, "payload": json.dumps(dict(payload))})


Entry = tuple[str, str, dict[str, Any]]
"""An entry's id, event name and payload."""


@dataclass
class EventConsumer:
    """A worker's reader of the stream: runs each event's subscribers, then acknowledges it."""

    stream: EventStream
    events: "EventBus"
    context: "JobContext"
    retries: "SaqJobRunner"
    """Where a failed subscriber goes, as a SAQ job with the attempts it has left."""
    concurrency: int
    heartbeat_seconds: int
    name: str = field(default_factory=consumer_name)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    read_block_ms: int = READ_BLOCK_MS
    gather_ms: int = 0
    """After a read of fewer than `BATCH` events, wait this long and read what came meanwhile."""
    claim_idle_ms: int | None = None
    """How long an entry must be untouched before another consumer claims it (default: the
    heartbeat)."""

    async def run(self) -> None:
        """Read, deliver and acknowledge until `stopping` is set; survives Redis outages."""
        next_claim = 0.0
        while not self.stopping.is_set():
            try:
                entries: list[Entry] = []
                if time.monotonic() >= next_claim:
                    entries = await self.claim_abandoned()
                    if len(entries) < BATCH:  # else more are waiting: claim again at once
                        next_claim = time.monotonic() + self.heartbeat_seconds
                if not entries:
                    entries = await self.gather(await self.read())
                if entries:
                    await self.deliver(entries)
            except (RedisError, OSError) as exc:
                logger.warning("event_stream_unreachable", error=type(exc).__name__)
                await self._pause()
            except Exception:  # a bug must not leave this worker reading no events at all
                logger.exception("event_stream_failed")
                await self._pause()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), RETRY_AFTER_REDIS_ERROR_SECONDS)

    async def read(self) -> list[Entry]:
        """The next new events for this consumer (waiting up to `read_block_ms` for some)."""
        try:
            return await self._read_new(BATCH, self.read_block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.create_group()
            return []

    async def _read_new(self, count: int, block_ms: int | None) -> list[Entry]:
        answer = await self.stream.redis.xreadgroup(
            GROUP, self.name, {self.stream.key: ">"}, count=count, block=block_ms
        )
        return [entry for _, entries in answer or () for entry in _decoded(entries)]

    async def gather(self, entries: list[Entry]) -> list[Entry]:
        """`entries` and those appended during the next `gather_ms`, up to `BATCH`.

        Each delivery costs a few statements and round trips whatever its size, and on a busy
        worker most events arrive a few milliseconds apart: at 120 messages a second, waiting
        50 ms halved the worker's CPU (benchmarks/README.md). A stopping worker waits no more."""
        if not entries or len(entries) >= BATCH or not self.gather_ms:
            return entries
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), self.gather_ms / 1000)
        return entries + await self._read_new(BATCH - len(entries), block_ms=None)

    async def claim_abandoned(self) -> list[Entry]:
        """Entries another consumer read but left untouched for a heartbeat (it died)."""
        idle = self.claim_idle_ms
        if idle is None:
            idle = self.heartbeat_seconds * 1000
        try:
            answer = await self.stream.redis.xautoclaim(
                self.stream.key, GROUP, self.name, idle, start_id="0-0", count=BATCH
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.create_group()
            return []
        claimed = list(_decoded(answer[1]))
        if claimed:
            logger.info("events_claimed", events=len(claimed))
        return claimed

    async def create_group(self) -> None:
        """The group, reading the stream from its start (so no event appended before is missed)."""
        try:
            await self.stream.redis.xgroup_create(self.stream.key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):  # another worker created it first
                raise

    async def deliver(self, entries: Sequence[Entry]) -> None:
        """Run every subscriber of every entry, then acknowledge and delete the entries whose
        subscribers all finished or were handed to SAQ."""
        ids = [entry_id for entry_id, _, _ in entries]
        touching = asyncio.create_task(self._touch(ids))
        gate = asyncio.Semaphore(self.concurrency)
        try:
            outcomes = await asyncio.gather(*(self._deliver_one(entry, gate) for entry in entries))
        finally:
            touching.cancel()
            await asyncio.gather(touching, return_exceptions=True)
        done = [entry_id for entry_id, delivered in zip(ids, outcomes, strict=True) if delivered]
        if done:
            async with self.stream.redis.pipeline(transaction=True) as pipe:
                pipe.xack(self.stream.key, GROUP, *done)
                pipe.xdel(self.stream.key, *done)
                await pipe.execute()

    async def _deliver_one(self, entry: Entry, gate: asyncio.Semaphore) -> bool:
        _, event, payload = entry
        subscribers = self.events.subscribers_of(event)
        outcomes = await asyncio.gather(*(self._run(job, payload, gate) for job in subscribers))
        return all(outcomes)

    async def _run(
        self, job: JobDefinition, payload: dict[str, Any], gate: asyncio.Semaphore
    ) -> bool:
        """Run one subscriber; False when it failed and could not be handed to SAQ either."""
        async with gate:
            try:
                async with asyncio.timeout(job.timeout_seconds):
                    await job(self.context, **payload)
            except Exception as exc:  # one subscriber's failure is its own, never the batch's
                retrying = job.attempts > 1
                logger.warning(
                    "job_failed",
                    job=job.name,
                    attempt=1,
                    retrying=retrying,
                    error=type(exc).__name__,
                    exc_info=not retrying,
                )
                if retrying:
                    try:
                        await self.retries.retry(job, payload)
                    except (RedisError, OSError):
                        return False  # left unacknowledged: claimed and run again later
            else:
                logger.info("job_done", job=job.name, attempt=1)
            return True

    async def _touch(self, entry_ids: Sequence[str]) -> None:
        """Touch our entries every third of a heartbeat while their subscribers run."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds / 3)
            try:
                await self.touch(entry_ids)
            except (RedisError, OSError) as exc:  # try again next beat
                logger.warning("event_touch_failed", error=type(exc).__name__)

    async def touch(self, entry_ids: Sequence[str]) -> None:
        """Claim our own entries again, which resets their idle time, so that no other
        consumer takes them while they run."""
        ids: list[int | bytes | str | memoryview] = [*entry_ids]
        await self.stream.redis.xclaim(self.stream.key, GROUP, self.name, 0, ids, justid=True)


def _decoded(entries: Any) -> "list[Entry]":
    """Entries as (id, event, payload); one that cannot be read becomes an event nobody
    subscribes to, so it is acknowledged instead of being read again forever."""
    decoded: list[Entry] = []
    for entry_id, fields in entries:
        try:
            values = {_text(k): _text(v) for k, v in fields.items()}
            payload = json.loads(values["payload"])
            event = values["event"]
            if not isinstance(payload, dict):
                raise TypeError
        except (KeyError, TypeError, AttributeError, ValueError):
            logger.error("event_unreadable", entry=_text(entry_id))
            event, payload = "", {}
        decoded.append((_text(entry_id), event, payload))
    return decoded


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
