"""HTTP endpoints of the mentor: a streamed reply (SSE), a queued one to poll, the history,
and the staff's view of usage."""

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import ServerSentEvent
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.services import Principal
from selflink_api.mentor.jobs import write_reply
from selflink_api.mentor.replies import DETAIL_OF, PROBLEM_OF, Replies
from selflink_api.mentor.schemas import (
    Ask,
    MessageView,
    ReplyTicket,
    SessionView,
    StreamEvent,
    UsageView,
)
from selflink_api.mentor.services import MentorService, Prepared
from selflink_api.platform.http import client_ip
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.openapi import problems
from selflink_api.platform.pagination import CursorPage, PageRequest
from selflink_api.platform.problems import ProblemError
from selflink_api.platform.security import requires_staff
from selflink_core.mentor import is_crisis

BYO_KEY_HEADER = "X-Mentor-Key"
MAX_KEY_CHARACTERS = 512
STREAM_DESCRIPTION = (
    "Server-sent events: `start` {message_id, session_id, mode, provider, model}, then "
    "`token` {text} per piece, then `end` {message_id, prompt_tokens, completion_tokens, "
    "safety, safety_action[, text]} or `error` {message_id, type, title, status, detail}. "
    f"An optional `{BYO_KEY_HEADER}` header carries the caller's own provider key, used for "
    "this call only. See docs/mentor.md."
)


def provide_mentor_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    jobs: NamedDependency[JobQueue],
) -> MentorService:
    return MentorService(
        db_session, request.app.state.mentor.toolkit, jobs=jobs, client_ip=client_ip(request)
    )


MENTOR_DEPENDENCIES = {
    **ACCOUNT_DEPENDENCIES,
    "mentor": Provide(provide_mentor_service, sync_to_thread=False),
}


def byo_key(request: Request[Any, Any, Any]) -> str | None:
    """The caller's own provider key, if sent; refused (without echoing it) if unusable."""
    key = request.headers.get(BYO_KEY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_CHARACTERS or not key.isprintable() or not key.isascii():
        raise ProblemError.invalid(
            BYO_KEY_HEADER, "must be 1 to 512 printable ASCII characters", source="header"
        )
    return key


async def _begin(
    request: Request[Any, Any, Any], principal: Principal, ask: Ask, jobs: JobQueue
) -> tuple[Replies, Prepared, bool]:
    """Store the question and the pending reply, under the concurrency cap unless the
    question is a crisis (answered without a provider: nobody in crisis is told to wait).
    Also says whether a place was taken."""
    replies: Replies = request.app.state.mentor
    reserved = not is_crisis(ask.text)
    if reserved:
        replies.reserve()
    try:
        prepared = await replies.prepare(
            request.app.state.session_maker,
            principal.id,
            ask,
            jobs=jobs,
            client_ip=client_ip(request),
        )
    except BaseException:
        if reserved:
            replies.release()
        raise
    return replies, prepared, reserved


class MentorController(Controller):
    path = "/mentor"
    tags = ["mentor"]  # noqa: RUF012
    dependencies = MENTOR_DEPENDENCIES

    @post(
        "/stream",
        summary="Ask the mentor; the reply streams as server-sent events",
        description=STREAM_DESCRIPTION,
        status_code=200,
        responses={
            200: ResponseSpec(
                data_container=StreamEvent,
                media_type="text/event-stream",
                description="The reply's events",
                generate_examples=False,
            ),
            **problems(404, 409, 422, 429, 502, 503, 504),
        },
    )
    async def stream(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Ask],
        principal: NamedDependency[Principal],
        jobs: NamedDependency[JobQueue],
    ) -> ServerSentEvent:
        key = byo_key(request)
        replies, prepared, reserved = await _begin(request, principal, data, jobs)
        events = replies.start(prepared, request.app.state.session_maker, key, reserved=reserved)
        opening = await events.opening()
        failed = opening[-1]
        if failed.name == "error":
            kind = "timeout" if failed.data["status"] == 504 else "upstream"
            raise ProblemError(
                PROBLEM_OF[kind], DETAIL_OF[kind], message_id=failed.data["message_id"]
            )
        return ServerSentEvent(events.rest(opening))

    @post(
        "/replies",
        summary="Ask the mentor; the reply is written in the background and polled",
        description="Answers 202 with the reply's id; poll GET /api/v1/mentor/messages/{id}. "
        f"With the `{BYO_KEY_HEADER}` header the reply is written in this process, never "
        "through the job queue.",
        status_code=202,
        responses=problems(404, 409, 422, 429, 503),
    )
    async def reply(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Ask],
        principal: NamedDependency[Principal],
        jobs: NamedDependency[JobQueue],
    ) -> ReplyTicket:
        key = byo_key(request)
        replies, prepared, reserved = await _begin(request, principal, data, jobs)
        written = prepared.answer is not None
        if key is not None or written:
            replies.start(prepared, request.app.state.session_maker, key, reserved=reserved)
        else:
            if reserved:
                replies.release()  # the queued job is bounded by the workers' concurrency
            await jobs.enqueue(write_reply, message_id=str(prepared.reply_id))
        return ReplyTicket(
            message_id=prepared.reply_id,
            session_id=prepared.session_id,
            status="complete" if written else "pending",
        )

    @get("/messages/{message_id:uuid}", summary="A mentor message of mine", responses=problems(404))
    async def message(
        self,
        message_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        mentor: NamedDependency[MentorService],
    ) -> MessageView:
        return await mentor.message(principal.id, message_id)

    @get("/sessions", summary="My mentor conversations, most recent first")
    async def sessions(
        self, principal: NamedDependency[Principal], mentor: NamedDependency[MentorService]
    ) -> list[SessionView]:
        return await mentor.sessions(principal.id)

    @get(
        "/sessions/{session_id:uuid}/messages",
        summary="The messages of one of my conversations, newest first",
        responses=problems(404),
    )
    async def history(
        self,
        session_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        mentor: NamedDependency[MentorService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[MessageView]:
        items, cursor = await mentor.history(principal.id, session_id, page)
        return CursorPage(items=items, next_cursor=cursor)

    @delete(
        "/sessions/{session_id:uuid}",
        summary="Forget one of my conversations",
        responses=problems(404),
    )
    async def forget(
        self,
        session_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        mentor: NamedDependency[MentorService],
    ) -> None:
        await mentor.forget_session(principal.id, session_id)


class MentorStaffController(Controller):
    path = "/staff/mentor"
    tags = ["staff"]  # noqa: RUF012
    guards = [requires_staff]  # noqa: RUF012
    dependencies = MENTOR_DEPENDENCIES

    @get("/usage", summary="Mentor requests, tokens and cost per person on a UTC day")
    async def usage(
        self,
        mentor: NamedDependency[MentorService],
        day: Annotated[
            dt.date | None,
            QueryParameter(description="The UTC day (YYYY-MM-DD); today by default."),
        ] = None,
    ) -> list[UsageView]:
        return await mentor.usage(day or dt.datetime.now(dt.UTC).date())
