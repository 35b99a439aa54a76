"""Replies written in the API process: streamed to the client over SSE, and stored whatever
the client does.

A reply runs as a task of this process, not of the request: the request only reads the
task's events. So a client that disconnects stops receiving, while the task finishes, stores
the full reply and counts its tokens. A person's own provider key (BYO) exists only in this
task's arguments and the provider client's request; it is never stored, queued or logged.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec
import structlog
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.mentor.providers import Provider, ProviderError, ProviderRequest, Usage
from selflink_api.mentor.schemas import Ask
from selflink_api.mentor.services import (
    Finished,
    MentorService,
    MentorToolkit,
    Prepared,
    ReplyStore,
)
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.problems import UNAVAILABLE, ProblemError, ProblemKind
from selflink_core.mentor import estimate_tokens, stream_pieces

logger = structlog.get_logger("selflink.mentor")

UPSTREAM_FAILED = ProblemKind("mentor-upstream", "The mentor's model failed", 502)
UPSTREAM_TIMEOUT = ProblemKind("mentor-timeout", "The mentor's model did not answer in time", 504)
PROBLEM_OF = {"upstream": UPSTREAM_FAILED, "timeout": UPSTREAM_TIMEOUT}
DETAIL_OF = {
    "upstream": "The mentor's model failed to answer; nothing was made up in its place. "
    "Try again later.",
    "timeout": "The mentor's model did not answer in time; try again later.",
}
FINAL_EVENTS = frozenset({"end", "error"})

SessionMaker = Callable[[], AsyncSession]


@dataclass(frozen=True)
class Event:
    """One SSE event of a reply: `start`, `token`, `end` or `error`."""

    name: str
    data: dict[str, Any]

    def message(self) -> ServerSentEventMessage:
        return ServerSentEventMessage(event=self.name, data=msgspec.json.encode(self.data).decode())


def error_event(reply_id: UUID, kind: str) -> Event:
    problem = PROBLEM_OF[kind]
    return Event(
        "error",
        {
            "message_id": str(reply_id),
            "type": problem.type_uri,
            "title": problem.title,
            "status": problem.status,
            "detail": DETAIL_OF[kind],
        },
    )


def end_event(finished: Finished) -> Event:
    data: dict[str, Any] = {
        "message_id": str(finished.message_id),
        "prompt_tokens": finished.prompt_tokens,
        "completion_tokens": finished.completion_tokens,
        "safety": list(finished.safety),
        "safety_action": finished.action,
    }
    if finished.action:
        data["text"] = finished.text  # what the policy made of the streamed text
    return Event("end", data)


@dataclass
class ReplyEvents:
    """The events of one reply, as its task produces them."""

    queue: "asyncio.Queue[Event]" = field(default_factory=asyncio.Queue)

    def put(self, event: Event) -> None:
        self.queue.put_nowait(event)

    async def opening(self) -> list[Event]:
        """The events up to the first that is not `start`: the handler reads them before
        answering, so a provider failing at once is a 502/504 problem, not a stream."""
        events = [await self.queue.get()]
        while events[-1].name == "start":
            events.append(await self.queue.get())
        return events

    async def rest(self, opening: list[Event]) -> AsyncIterator[ServerSentEventMessage]:
        for event in opening:
            yield event.message()
        if opening[-1].name in FINAL_EVENTS:
            return
        while True:
            event = await self.queue.get()
            yield event.message()
            if event.name in FINAL_EVENTS:
                return


class Replies:
    """The mentor's replies in flight in this process, under the global concurrency cap."""

    def __init__(self, toolkit: MentorToolkit, provider: Provider) -> None:
        self.toolkit = toolkit
        self.provider = provider
        self.active = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def reserve(self) -> None:
        """Take a place under `MENTOR_MAX_CONCURRENT`, or refuse with a 503."""
        if self.active >= self.toolkit.settings.mentor_max_concurrent:
            raise ProblemError(
                UNAVAILABLE,
                "The mentor is answering as many people as it can; try again in a moment.",
                headers={"Retry-After": "5"},
            )
        self.active += 1

    def release(self) -> None:
        self.active -= 1

    async def prepare(
        self,
        session_maker: SessionMaker,
        user_id: UUID,
        ask: Ask,
        *,
        jobs: JobQueue,
        client_ip: str,
    ) -> Prepared:
        """Store the question and the pending reply in a transaction of their own, committed
        before any provider runs, so the reply's task and the job always find them."""
        async with session_maker() as session, session.begin():
            service = MentorService(session, self.toolkit, jobs=jobs, client_ip=client_ip)
            return await service.prepare(
                user_id, ask, provider=self.provider.name, model=self.provider.model
            )

    def start(
        self,
        prepared: Prepared,
        session_maker: SessionMaker,
        api_key: str | None,
        *,
        reserved: bool = True,
    ) -> ReplyEvents:
        """Begin the reply; a place the caller `reserved` is released when it ends."""
        events = ReplyEvents()
        events.put(
            Event(
                "start",
                {
                    "message_id": str(prepared.reply_id),
                    "session_id": str(prepared.session_id),
                    "mode": prepared.mode,
                    "provider": prepared.provider,
                    "model": prepared.model,
                },
            )
        )
        if prepared.answer is not None or prepared.request is None:
            self._replay(prepared, events)
            if reserved:
                self.release()
            return events
        if not reserved:
            msg = "a reply written by a provider needs a place under the concurrency cap"
            raise RuntimeError(msg)
        task = asyncio.create_task(
            self._write(prepared.reply_id, prepared.request, session_maker, api_key, events),
            name="mentor:reply",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return events

    @staticmethod
    def _replay(prepared: Prepared, events: ReplyEvents) -> None:
        """A reply known without a model (crisis answer, today's note) streams at once."""
        text = prepared.answer or ""
        for piece in stream_pieces(text):
            events.put(Event("token", {"text": piece}))
        safety = ["crisis"] if prepared.provider == "safety" else []
        events.put(
            Event(
                "end",
                {
                    "message_id": str(prepared.reply_id),
                    "prompt_tokens": 0,
                    "completion_tokens": estimate_tokens(text) if not safety else 0,
                    "safety": safety,
                    "safety_action": "resources" if safety else "",
                },
            )
        )

    async def _write(
        self,
        reply_id: UUID,
        request: ProviderRequest,
        session_maker: SessionMaker,
        api_key: str | None,
        events: ReplyEvents,
    ) -> None:
        try:
            outcome = await collect(
                self.provider,
                request,
                api_key,
                events,
                self.toolkit.settings.mentor_reply_timeout_seconds,
            )
            del api_key
            async with session_maker() as session, session.begin():
                store = ReplyStore(session, self.toolkit.cipher, self.toolkit.settings)
                if isinstance(outcome, str):
                    await store.fail(reply_id, outcome)
                    finished = None
                else:
                    text, usage = outcome
                    finished = await store.finish(
                        reply_id,
                        text,
                        usage,
                        provider=self.provider.name,
                        model=self.provider.model,
                    )
            if finished is None:
                events.put(
                    error_event(reply_id, outcome if isinstance(outcome, str) else "upstream")
                )
            else:
                events.put(end_event(finished))
        except Exception as error:  # storing failed: the client hears of it, the log says why
            logger.error("mentor_reply_not_stored", error=type(error).__name__, exc_info=True)
            events.put(error_event(reply_id, "upstream"))
        finally:
            self.release()

    async def wait_idle(self) -> None:
        """Wait until every reply in flight is stored (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """When the app stops: give replies in flight their timeout to finish (then stop
        them), and close the provider's connections."""
        if self._tasks:
            _, running = await asyncio.wait(
                list(self._tasks), timeout=self.toolkit.settings.mentor_reply_timeout_seconds
            )
            for task in running:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*running, return_exceptions=True)
        await self.provider.close()


async def collect(
    provider: Provider,
    request: ProviderRequest,
    api_key: str | None,
    events: ReplyEvents | None,
    timeout_seconds: float,
) -> tuple[str, Usage] | str:
    """Run the provider to the end: the whole text and its usage, or the failure's kind.
    Each piece also goes to `events` when someone may be listening."""
    pieces: list[str] = []
    usage = Usage(0, 0)
    try:
        async with asyncio.timeout(timeout_seconds):
            async for item in provider.stream(request, api_key=api_key):
                if isinstance(item, Usage):
                    usage = item
                    continue
                pieces.append(item)
                if events is not None:
                    events.put(Event("token", {"text": item}))
    except ProviderError as error:
        return error.kind
    except TimeoutError:
        return "timeout"
    return "".join(pieces), usage
